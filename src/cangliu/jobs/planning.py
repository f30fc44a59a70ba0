"""The daily planning job: demand history rebuilt from the ledger, then the stock thresholds."""

from collections.abc import Callable
from datetime import datetime
from typing import Any

from cangliu.db.uow import Database, utcnow
from cangliu.services import thresholds


def run(db: Database, *, clock: Callable[[], datetime] = utcnow) -> dict[str, Any]:
    now = clock()
    return thresholds.refresh(db.uow(clock=lambda: now), today=now.date())
