"""The audit log: one append-only row per changed business row, chained by SHA-256."""

from datetime import datetime

from sqlalchemy import BigInteger, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from cangliu.db.base import Base, BigId


class AuditEvent(Base):
    """Who changed which row, when and from where, with the changed columns before and after.

    ``id`` is handed out from the chain head, not by the database, so it is part of the hash:
    a deleted or reordered row breaks the chain.
    """

    __tablename__ = "audit_event"
    __table_args__ = (
        Index("ix_audit_event_entity_id", "entity", "id"),
        Index("ix_audit_event_username_id", "username", "id"),
    )
    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=False)
    at: Mapped[datetime] = mapped_column(index=True)
    user_id: Mapped[int | None] = mapped_column(BigInteger)
    username: Mapped[str] = mapped_column(String(64))
    address: Mapped[str] = mapped_column(String(64))
    device: Mapped[str] = mapped_column(String(64))
    request_id: Mapped[str] = mapped_column(String(64))
    action: Mapped[str] = mapped_column(String(10))
    entity: Mapped[str] = mapped_column(String(40))
    entity_key: Mapped[str] = mapped_column(String(120))
    before: Mapped[str | None] = mapped_column(Text)
    after: Mapped[str | None] = mapped_column(Text)
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64))


class AuditHead(Base):
    """The chain's last id and hash in one row: writers lock it to append, so the chain stays linear."""

    __tablename__ = "audit_head"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    last_id: Mapped[int] = mapped_column(BigInteger)
    hash: Mapped[str] = mapped_column(String(64))
