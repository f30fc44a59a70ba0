"""The daily planning job: demand history rebuilt from the ledger, the stock thresholds, then the
transfer rules' suggestions."""

from collections.abc import Callable
from datetime import datetime
from typing import Any

from cangliu.db.uow import Database, utcnow
from cangliu.services import planning


def run(db: Database, *, clock: Callable[[], datetime] = utcnow) -> dict[str, Any]:
    now = clock()
    return planning.refresh(lambda: db.uow(clock=lambda: now), today=now.date())
