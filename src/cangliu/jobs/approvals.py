"""The approval timeout sweep as a job: the scheduler calls ``run`` every few minutes."""

from collections.abc import Callable
from datetime import datetime

from cangliu.db.uow import Database, utcnow
from cangliu.services import approvals


def run(db: Database, *, clock: Callable[[], datetime] = utcnow) -> dict[str, int]:
    """Remind, escalate, auto-approve or auto-reject every step past its timeout; safe to run
    twice or from two workers at once. Answers how many steps each action touched."""
    now = clock()
    return approvals.sweep_timeouts(db.uow(clock=lambda: now), now)
