"""The scheduler: runs each job at its interval. The embedded default runs it in the app process
(a daemon thread started with the app); at scale the app runs with ``CANGLIU_SCHEDULER=off`` and
``cangliu worker`` runs the same loop in a process of its own. Every job is idempotent, so two
schedulers at once, or a run repeated after a crash, do no harm."""

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from cangliu.db.uow import Database, utcnow
from cangliu.jobs import alerts, approvals, kpis, planning, reports

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Job:
    name: str
    run: Callable[..., Any]  # run(db, clock=...)
    every: timedelta


JOBS: tuple[Job, ...] = (Job("approval_timeouts", approvals.run, timedelta(minutes=5)),
                         Job("alert_scan", alerts.run, timedelta(minutes=5)),
                         Job("kpi_snapshots", kpis.run, timedelta(hours=1)),
                         Job("reports", reports.run, timedelta(hours=1)),
                         Job("planning", planning.run, timedelta(days=1)),
                         Job("outbox_purge", alerts.purge, timedelta(days=1)))


class Scheduler:
    def __init__(self, db: Database, jobs: tuple[Job, ...] = JOBS, *,
                 clock: Callable[[], datetime] = utcnow) -> None:
        self.db, self.jobs, self.clock = db, jobs, clock
        self.next_run: dict[str, datetime] = {}
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def run_due(self) -> dict[str, Any]:
        """Run every job whose time has come (each at once on the first call); a failing job is
        logged and tried again at its next interval, the others run regardless."""
        now, done = self.clock(), {}
        for job in self.jobs:
            if self.next_run.get(job.name, now) > now:
                continue
            self.next_run[job.name] = now + job.every
            try:
                done[job.name] = job.run(self.db, clock=self.clock)
            except Exception:
                log.exception("job %s failed", job.name)
                done[job.name] = None
        return done

    def loop(self, tick: float = 30.0) -> None:
        """Run due jobs every ``tick`` seconds until ``stop``."""
        while not self._stop.is_set():
            self.run_due()
            self._stop.wait(tick)

    def start(self, tick: float = 30.0) -> None:
        self._thread = threading.Thread(target=self.loop, args=(tick,), name="cangliu-scheduler",
                                        daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=10)
