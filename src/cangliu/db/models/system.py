"""Key/value settings kept in the database (e.g. the generated session signing key)."""

from sqlalchemy import String, Text
from sqlalchemy.orm import Mapped, mapped_column

from cangliu.db.base import Base

PERIOD_CLOSED_THROUGH = "period_closed_through"  # the setting holding the last closed day


class Setting(Base):
    __tablename__ = "setting"
    key: Mapped[str] = mapped_column(String(100), primary_key=True)
    value: Mapped[str] = mapped_column(Text)
