"""The KPI snapshot as a job: yesterday is retaken (its late postings settle) and today's is
refreshed, so history reads snapshots and only the current day is computed live."""

from collections.abc import Callable
from datetime import datetime, timedelta

from cangliu.db.uow import Database, utcnow
from cangliu.services import kpis


def run(db: Database, *, clock: Callable[[], datetime] = utcnow) -> dict[str, int]:
    """Snapshot yesterday, then today (which builds on yesterday's). Answers rows written."""
    now = clock()
    today = now.date()
    return {"yesterday": kpis.snapshot(db.uow(clock=lambda: now), today - timedelta(days=1)),
            "today": kpis.snapshot(db.uow(clock=lambda: now), today)}
