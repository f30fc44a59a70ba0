"""The report job: the scheduler calls ``run`` (hourly is plenty) to generate the reports due —
yesterday's daily, last week's weekly, last month's monthly, and any missed — and send them."""

from collections.abc import Callable
from datetime import datetime

from cangliu.db.uow import Database, utcnow
from cangliu.services import reports


def run(db: Database, *, clock: Callable[[], datetime] = utcnow) -> dict[str, int]:
    """Safe to run often, twice, or from two workers at once: a complete report is made once and
    sent once. Answers how many reports were generated."""
    now = clock()
    made = reports.generate_due(db.uow(clock=lambda: now), now.date())
    return {"generated": len(made)}
