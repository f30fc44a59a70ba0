"""Edit locks: who is editing which record right now, until when."""

from datetime import datetime

from sqlalchemy import BigInteger, String
from sqlalchemy.orm import Mapped, mapped_column

from cangliu.db.base import Base


class EditLock(Base):
    """One row per record being edited; the primary key makes two holders impossible.

    A lock past ``expires_at`` is dead: anyone may take it over. The holder renews it while the
    edit page stays open.
    """

    __tablename__ = "edit_lock"
    entity: Mapped[str] = mapped_column(String(40), primary_key=True)
    entity_key: Mapped[str] = mapped_column(String(120), primary_key=True)
    holder_id: Mapped[int] = mapped_column(BigInteger)
    holder: Mapped[str] = mapped_column(String(64))
    acquired_at: Mapped[datetime]
    expires_at: Mapped[datetime]
