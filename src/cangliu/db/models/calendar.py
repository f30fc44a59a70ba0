"""Calendar events (节假日与活动): named days — holidays, festivals, sporting and commercial
events — whose effect on demand the forecasts learn from the history and apply ahead."""

from datetime import date

from sqlalchemy import CheckConstraint, Date, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from cangliu.db.base import Base, BigId

KINDS = ("national", "religious", "cultural", "sporting", "commercial", "other")
SOURCES = ("manual", "import")


class CalendarEvent(Base):
    """One event on one day; an event over several days has a row per day. ``source``: typed in
    (manual) or read from a calendar file (import)."""

    __tablename__ = "calendar_event"
    __table_args__ = (
        CheckConstraint("source IN ('manual', 'import')", name="source"),
        UniqueConstraint("day", "name"),
    )
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    day: Mapped[date] = mapped_column(Date)
    name: Mapped[str] = mapped_column(String(60))
    kind: Mapped[str] = mapped_column(String(20))
    source: Mapped[str] = mapped_column(String(10))
