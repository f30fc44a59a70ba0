"""Accounting periods: after a close date nothing may be posted on or before it."""

from datetime import date, datetime

from sqlalchemy import text
from sqlalchemy.orm import Session

from cangliu.core.errors import ValidationFailed
from cangliu.core.permissions import Actor
from cangliu.db.models import Setting
from cangliu.db.models.system import PERIOD_CLOSED_THROUGH
from cangliu.db.uow import UnitOfWork

CLOSE_SETTING = PERIOD_CLOSED_THROUGH
_CLOSED_THROUGH = text(f"SELECT value FROM setting WHERE key = '{CLOSE_SETTING}'")


def closed_through(uow: UnitOfWork) -> date | None:
    return closed_on(uow.session)


def closed_on(session: Session) -> date | None:
    """The last closed day, or None when no period was ever closed."""
    value = session.scalar(_CLOSED_THROUGH)
    return date.fromisoformat(value) if value else None


def check_open(uow: UnitOfWork, occurred: datetime) -> None:
    """Refuse a posting dated inside a closed period.

    Postings call this after writing their moves: on PostgreSQL a posting then holds its lock on
    ``stock_move`` while it reads the close date, and ``close_period`` takes a SHARE lock on that
    table first, so either the close waits for the posting or the posting sees the new date.
    """
    through = closed_through(uow)
    if through is not None and occurred.date() <= through:
        raise ValidationFailed.single("occurred_at", "falls in a closed period (closed through {date})",
                                      date=through.isoformat())


def close_period(uow: UnitOfWork, actor: Actor, *, through: date) -> dict[str, str]:
    """Close every day up to and including ``through``; a close date never moves backwards."""
    with uow:
        if uow.dialect == "postgresql":  # wait for postings in flight; block new ones until commit
            uow.session.execute(text("LOCK TABLE stock_move IN SHARE MODE"))
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
