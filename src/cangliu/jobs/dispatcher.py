"""The dispatcher loop: woken by committed events (this process's commits, and other processes'
through PostgreSQL NOTIFY), it dispatches the outbox to alert evaluation and the webhook fan-out,
then runs the follow-up steps it was given (sending due deliveries). It polls every few seconds
as well, so a missed wake-up or a delivery waiting for its retry time is never stuck."""

import logging
import threading
from collections.abc import Callable, Sequence
from typing import Any

from cangliu.db.uow import Database
from cangliu.services import events

log = logging.getLogger(__name__)


class Dispatcher:
    def __init__(self, db: Database, *, then: Sequence[Callable[[], Any]] = (),
                 poll: float = 2.0, listen: bool = True) -> None:
        """``listen``: also wake on other processes' NOTIFY (PostgreSQL; CANGLIU_EVENTS_LISTEN)."""
        self.db, self.then, self.poll, self.listen = db, tuple(then), poll, listen
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._waker: events.Waker | None = None

    def run_once(self) -> int:
        """Dispatch what is waiting, then the follow-up steps; failures are logged, not raised."""
        taken = 0
        try:
            taken = events.dispatch_all(self.db)
        except Exception:
            log.exception("dispatching the outbox failed")
        for step in self.then:
            try:
                step()
            except Exception:
                log.exception("dispatcher step %s failed", getattr(step, "__name__", step))
        return taken

    def loop(self) -> None:
        self._waker = waker = events.Waker(self.db, listen=self.listen)
        seen = waker.seq()
        while not self._stop.is_set():
            self.run_once()
            seen = waker.wait(seen, timeout=self.poll)
        waker.close()

    def start(self) -> None:
        self._thread = threading.Thread(target=self.loop, name="cangliu-dispatcher", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._waker is not None:
            self._waker.poke()
        if self._thread is not None:
            self._thread.join(timeout=10)
