"""Events out of the outbox: the dispatcher that hands each event, at least once, to the consumers
that must see it (alert evaluation, the webhook fan-out), the tail that browsers read, and the
wake-up that tells a process new events were committed.

Dispatch takes the undispatched events in id order, calls every consumer for each inside a
savepoint (alert evaluation once per run of stock changes) and stamps the events dispatched,
all in one transaction per batch: a crash before the commit leaves the batch to be taken
again, so consumers are idempotent (a delivery is queued once per channel and event, an alert
is opened once per rule and key). One process dispatches at
a time (a transaction-scoped advisory lock on PostgreSQL; SQLite writers are serialised anyway).

Wake-up: ``Waker`` listens on PostgreSQL's ``cangliu_outbox`` channel with one connection per
process, and is also poked by this process's own commits; waiters fall back to polling.
"""

import json
import logging
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import psycopg
from sqlalchemy import func, select, text, update
from sqlalchemy.orm import Session

from cangliu.db import outbox
from cangliu.db.models import OutboxEvent
from cangliu.db.uow import Database, UnitOfWork

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 5  # a consumer failing this often on one event gives up on it (logged on the event)
STOCK = "stock.changed"
# Consumers that read the current state rather than the event (alert evaluation) get each run
# of consecutive stock changes merged into one: under load a batch costs one evaluation.
MERGED = frozenset({"alerts"})
DISPATCH_LOCK = 0x63616E67  # advisory lock key: one dispatcher at a time across processes


@dataclass(frozen=True)
class Event:
    id: int
    at: datetime
    kind: str
    payload: dict[str, Any]


# A consumer: called with the dispatcher's session, the event and the time; must be idempotent.
Consumer = Callable[[Session, Event, datetime], None]


def _event(row: Any) -> Event:
    return Event(row.id, row.at, row.kind, json.loads(row.payload))


def consumers() -> list[tuple[str, Consumer]]:
    """Who sees every event: alert evaluation, then the webhook fan-out."""
    from cangliu.services import alerts, deliveries

    return [("alerts", alerts.on_event), ("webhooks", deliveries.on_event)]


def _leader(session: Session) -> bool:
    if session.get_bind().dialect.name != "postgresql":
        return True
    return bool(session.scalar(select(func.pg_try_advisory_xact_lock(DISPATCH_LOCK))))


def dispatch(uow: UnitOfWork, *, batch: int = 200,
             to: Sequence[tuple[str, Consumer]] | None = None) -> int:
    """Dispatch up to ``batch`` events; answers how many were taken (0: none, or another process
    is dispatching)."""
    handlers = consumers() if to is None else to
    with uow:
        session, now = uow.session, uow.now()
        if not _leader(session):
            return 0
        rows = list(session.scalars(select(OutboxEvent).where(OutboxEvent.dispatched_at.is_(None))
                                    .order_by(OutboxEvent.id).limit(batch)))
        taken = [_event(row) for row in rows]
        errors: dict[int, list[str]] = {e.id: [] for e in taken}
        for name, handler in handlers:
            groups = merged(taken) if name in MERGED else [[e] for e in taken]
            for group in groups:
                _consume_group(session, name, handler, group, now, errors)
        for row in rows:
            row.attempts += 1
            row.error = "; ".join(errors[row.id])[:2000]
            if not errors[row.id] or row.attempts >= MAX_ATTEMPTS:
                row.dispatched_at = now
        uow.commit()
    return len(rows)


def merged(batch: Sequence[Event]) -> list[list[Event]]:
    """Runs of consecutive ``stock.changed`` events grouped, every other event alone."""
    groups: list[list[Event]] = []
    for event in batch:
        if groups and event.kind == STOCK and groups[-1][-1].kind == STOCK:
            groups[-1].append(event)
        else:
            groups.append([event])
    return groups


def _merge(group: Sequence[Event]) -> Event:
    """Several stock changes as one: every (SKU, site) they touched, every posting they made."""
    lines = {(x["sku"], x["site"]): x for e in group for x in e.payload.get("lines", [])}
    postings = [p for e in group for p in e.payload.get("postings", [])]
    last = group[-1]
    return Event(last.id, last.at, STOCK, {"lines": list(lines.values()), "postings": postings})


def _consume_group(session: Session, name: str, handler: Consumer, group: Sequence[Event],
                   now: datetime, errors: dict[int, list[str]]) -> None:
    event = group[0] if len(group) == 1 else _merge(group)
    failure = _call(session, name, handler, event, now)
    if failure is None:
        return
    if len(group) == 1:
        errors[event.id].append(failure)
        return
    for one in group:  # find which of them fails
        if (again := _call(session, name, handler, one, now)) is not None:
            errors[one.id].append(again)


def _call(session: Session, name: str, handler: Consumer, event: Event, now: datetime
          ) -> str | None:
    try:
        with session.begin_nested():
            handler(session, event, now)
    except Exception as exc:
        log.exception("consumer %s failed on event %s", name, event.id)
        return f"{name}: {exc}"
    return None


def dispatch_all(db: Database, *, batch: int = 200) -> int:
    """Dispatch until nothing is left (or another process has the lock)."""
    total = 0
    while taken := dispatch(db.uow(), batch=batch):
        total += taken
    return total


def pending(session: Session) -> int:
    return int(session.scalar(select(func.count()).select_from(OutboxEvent)
                              .where(OutboxEvent.dispatched_at.is_(None))) or 0)


def last_id(session: Session) -> int:
    return int(session.scalar(select(func.max(OutboxEvent.id))) or 0)


def after(session: Session, last: int, *, also: Sequence[int] = (), limit: int = 500
          ) -> list[Event]:
    """Committed events after ``last`` (and the ids in ``also``), oldest first."""
    where = OutboxEvent.id > last
    if also:
        where = where | OutboxEvent.id.in_(list(also))
    query = (select(OutboxEvent.id, OutboxEvent.at, OutboxEvent.kind, OutboxEvent.payload)
             .where(where).order_by(OutboxEvent.id).limit(limit))
    return [_event(r) for r in session.execute(query)]


def purge(uow: UnitOfWork, *, before: datetime) -> int:
    """Forget dispatched events older than ``before`` (browsers catch up over minutes, not days)."""
    with uow:
        result = uow.session.execute(
            text("DELETE FROM outbox_event WHERE dispatched_at IS NOT NULL AND at < :before "
                 "AND id NOT IN (SELECT event_id FROM delivery WHERE event_id IS NOT NULL)"),
            {"before": before})
        uow.commit()
    return int(getattr(result, "rowcount", 0) or 0)


def skip_pending(uow: UnitOfWork, note: str) -> int:
    """Mark every undispatched event dispatched without handing it to anyone (history loaded in
    bulk, such as the demo's, is not news); ``note`` says why on each row."""
    with uow:
        result = uow.session.execute(update(OutboxEvent).where(OutboxEvent.dispatched_at.is_(None))
                                     .values(dispatched_at=uow.now(), error=note))
        uow.commit()
    return int(getattr(result, "rowcount", 0) or 0)


class Tail:
    """Reads a process's way through the outbox by id without missing a late commit.

    PostgreSQL hands out ids at insert, so a transaction can commit id 11 before id 10. Ids
    skipped in the sequence are remembered for ``grace`` seconds and asked for again; one that
    never shows up belonged to a transaction that rolled back."""

    def __init__(self, start: int, *, grace: float = 10.0,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.last = start
        self.grace = grace
        self.clock = clock
        self.holes: dict[int, float] = {}

    def read(self, session: Session, limit: int = 500) -> list[Event]:
        now = self.clock()
        self.holes = {i: t for i, t in self.holes.items() if now - t < self.grace}
        events = after(session, self.last, also=sorted(self.holes), limit=limit)
        for event in events:
            self.holes.pop(event.id, None)
            if event.id > self.last:
                self.holes.update({i: now for i in range(self.last + 1, event.id)})
                self.last = event.id
        return events


class Waker:
    """Tells waiting threads that events were committed: this process's commits poke it at once,
    and on PostgreSQL one LISTEN connection per process hears the other processes' commits."""

    def __init__(self, db: Database, *, listen: bool = True) -> None:
        self.db = db
        self._cond = threading.Condition()
        self._seq = 0
        self._stop = threading.Event()
        self._unhook = outbox.on_commit(self.poke)
        self._thread: threading.Thread | None = None
        if listen and db.dialect == "postgresql":
            self._thread = threading.Thread(target=self._listen, name="cangliu-listen", daemon=True)
            self._thread.start()

    def poke(self, _last: int = 0) -> None:
        with self._cond:
            self._seq += 1
            self._cond.notify_all()

    def seq(self) -> int:
        return self._seq

    def wait(self, seen: int, timeout: float) -> int:
        """Wait until poked after ``seen`` (or ``timeout`` seconds); answers the new sequence."""
        with self._cond:
            self._cond.wait_for(lambda: self._seq != seen or self._stop.is_set(), timeout)
            return self._seq

    def _listen(self) -> None:
        url = self.db.writer.url.set(drivername="postgresql").render_as_string(hide_password=False)
        while not self._stop.is_set():
            try:
                with psycopg.connect(url, autocommit=True) as conn:
                    conn.execute(f"LISTEN {outbox.CHANNEL}")
                    while not self._stop.is_set():
                        for _ in conn.notifies(timeout=1.0, stop_after=1):
                            self.poke()
            except psycopg.Error:
                log.warning("outbox LISTEN connection lost; retrying", exc_info=True)
                self._stop.wait(1.0)

    def close(self) -> None:
        self._stop.set()
        self._unhook()
        self.poke()
        if self._thread is not None:
            self._thread.join(timeout=5)
