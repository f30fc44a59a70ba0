"""Accounting periods: after a close date nothing may be posted on or before it."""

from datetime import date, datetime

from cangliu.core.errors import ValidationFailed
from cangliu.core.permissions import Actor
from cangliu.db.models import Setting
from cangliu.db.uow import UnitOfWork

CLOSE_SETTING = "period_closed_through"


def closed_through(uow: UnitOfWork) -> date | None:
    row = uow.session.get(Setting, CLOSE_SETTING)
    return date.fromisoformat(row.value) if row else None


def check_open(uow: UnitOfWork, occurred: datetime) -> None:
    """Refuse a posting dated inside a closed period."""
    through = closed_through(uow)
    if through is not None and occurred.date() <= through:
        raise ValidationFailed.single("occurred_at", "falls in a closed period (closed through {date})",
                                      date=through.isoformat())


def close_period(uow: UnitOfWork, actor: Actor, *, through: date) -> dict[str, str]:
    """Close every day up to and including ``through``; a close date never moves backwards."""
    with uow:
        current = closed_through(uow)
        if current is not None and through < current:
            raise ValidationFailed.single("through", "periods up to {date} are already closed",
                                          date=current.isoformat())
        row = uow.session.get(Setting, CLOSE_SETTING)
        if row is None:
            uow.session.add(Setting(key=CLOSE_SETTING, value=through.isoformat()))
        else:
            row.value = through.isoformat()
        uow.commit()
    return {"closed_through": through.isoformat(), "closed_by": actor.username}
