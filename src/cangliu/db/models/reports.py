"""Scheduled inventory reports (daily, weekly, monthly) kept with their XLSX and PDF files, and
who receives them (a user or a role, in-app or by e-mail)."""

from datetime import date, datetime

from sqlalchemy import (
    CheckConstraint,
    ForeignKey,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from cangliu.db.base import Base, BigId

REPORT_KINDS = ("daily", "weekly", "monthly")
KINDS_SQL = "kind IN ('daily', 'weekly', 'monthly')"


class Report(Base):
    """One period's report: ``summary`` is its data as JSON (every figure the files show, so a
    reader in another language or scope gets them re-rendered), ``xlsx`` and ``pdf`` the files
    as generated in the default language. Regenerating a period replaces the row's content;
    ``sent_at`` is stamped once subscribers were told of the complete report."""

    __tablename__ = "report"
    __table_args__ = (
        UniqueConstraint("kind", "period_start", name="uq_report_kind_period"),
        CheckConstraint(KINDS_SQL, name="kind"),
        CheckConstraint("period_end >= period_start", name="period"),
    )
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    kind: Mapped[str] = mapped_column(String(10))
    period_start: Mapped[date]
    period_end: Mapped[date]
    generated_at: Mapped[datetime]
    generated_by: Mapped[str] = mapped_column(String(64))
    xlsx: Mapped[bytes] = mapped_column(LargeBinary)
    pdf: Mapped[bytes] = mapped_column(LargeBinary)
    summary: Mapped[str] = mapped_column(Text, default="{}")
    sent_at: Mapped[datetime | None]


class ReportSubscription(Base):
    """A user (their own choice) or a role (set by an administrator) receives one kind of report
    in-app or by e-mail."""

    __tablename__ = "report_subscription"
    __table_args__ = (
        CheckConstraint("(user_id IS NULL) <> (role IS NULL)", name="one_subscriber"),
        CheckConstraint("channel IN ('in_app', 'email')", name="channel"),
        CheckConstraint(KINDS_SQL, name="kind"),
    )
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("app_user.id"), index=True)
    role: Mapped[str | None] = mapped_column(String(40))
    kind: Mapped[str] = mapped_column(String(10))
    channel: Mapped[str] = mapped_column(String(10), default="in_app")
    created_at: Mapped[datetime]
