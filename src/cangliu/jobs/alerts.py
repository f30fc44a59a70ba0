"""Alert rules that no single event triggers (expiry, overdue transfers and approvals, the
ledger check, escalation) as a job: the scheduler calls ``run`` every few minutes; the outbox's
old events are purged once a day."""

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from cangliu.db.uow import Database, utcnow
from cangliu.services import alerts, events

KEEP_EVENTS = timedelta(days=7)  # browsers catch up over minutes; webhooks keep their own log


def run(db: Database, *, clock: Callable[[], datetime] = utcnow) -> dict[str, Any]:
    """Evaluate every enabled rule against the whole network, auto-resolving what cleared."""
    now = clock()
    return alerts.scan(db.uow(clock=lambda: now))


def purge(db: Database, *, clock: Callable[[], datetime] = utcnow) -> int:
    """Forget dispatched events older than a week."""
    now = clock()
    return events.purge(db.uow(clock=lambda: now), before=now - KEEP_EVENTS)
