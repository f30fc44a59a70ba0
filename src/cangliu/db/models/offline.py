"""Offline operations: what scanning devices did while the network was down, replayed in order
per device exactly once, with the refused ones kept for a supervisor's review."""

from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from cangliu.db.base import Base, BigId

OP_STATES = ("queued", "applied", "failed", "dismissed")


class OfflineDevice(Base):
    """A scanning device: the next operation it will have applied, and who holds its replay
    lease (one replay per device at a time keeps its operations in order)."""

    __tablename__ = "offline_device"
    device: Mapped[str] = mapped_column(String(64), primary_key=True)
    next_seq: Mapped[int] = mapped_column(Integer, default=1)
    lease_token: Mapped[str | None] = mapped_column(String(32))
    lease_until: Mapped[datetime | None]
    last_user_id: Mapped[int | None] = mapped_column(ForeignKey("app_user.id"))
    last_seen_at: Mapped[datetime]


class OfflineOperation(Base):
    """One operation as the device sent it (``payload`` is JSON); ``result`` or ``error`` (JSON)
    is the answer the device gets back, for as long as it asks."""

    __tablename__ = "offline_op"
    __table_args__ = (
        UniqueConstraint("device", "client_id", name="uq_offline_op_device_client"),
        UniqueConstraint("device", "seq", name="uq_offline_op_device_seq"),
        CheckConstraint("seq >= 1", name="seq"),
        CheckConstraint("status IN ('queued', 'applied', 'failed', 'dismissed')", name="status"),
        Index("ix_offline_op_status", "status", "id"),
    )
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    device: Mapped[str] = mapped_column(String(64))
    client_id: Mapped[str] = mapped_column(String(64))
    seq: Mapped[int] = mapped_column(Integer)
    kind: Mapped[str] = mapped_column(String(32))
    payload: Mapped[str] = mapped_column(Text)
    request_hash: Mapped[str] = mapped_column(String(64))
    user_id: Mapped[int] = mapped_column(ForeignKey("app_user.id"))
    site_id: Mapped[int | None] = mapped_column(ForeignKey("location.id"))
    occurred_at: Mapped[datetime | None]
    received_at: Mapped[datetime]
    status: Mapped[str] = mapped_column(String(10), default="queued")
    result: Mapped[str | None] = mapped_column(Text)
    error: Mapped[str | None] = mapped_column(Text)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    applied_at: Mapped[datetime | None]
    reviewed_by: Mapped[int | None] = mapped_column(ForeignKey("app_user.id"))
    reviewed_at: Mapped[datetime | None]
    review_note: Mapped[str] = mapped_column(Text, default="")
