"""Collaboration: in-app notifications, tasks for a user or a role, comments on documents."""

from datetime import date, datetime

from sqlalchemy import CheckConstraint, Date, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from cangliu.db.base import Base, BigId


class Notification(Base):
    """One message in one user's inbox. ``title`` is an English msgid filled with ``params``
    (JSON) when shown, so each reader sees it in their own language."""

    __tablename__ = "notification"
    __table_args__ = (Index("ix_notification_user_read", "user_id", "read_at"),
                      Index("ix_notification_user_id_id", "user_id", "id"))
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("app_user.id"))
    kind: Mapped[str] = mapped_column(String(20))
    title: Mapped[str] = mapped_column(String(200))
    params: Mapped[str] = mapped_column(Text, default="{}")
    body: Mapped[str] = mapped_column(Text, default="")
    link: Mapped[str] = mapped_column(String(200), default="")
    created_at: Mapped[datetime]
    read_at: Mapped[datetime | None]


class Task(Base):
    """Work for one user or for whoever holds a role, optionally about one document."""

    __tablename__ = "task"
    __table_args__ = (
        CheckConstraint("status IN ('open', 'done', 'cancelled')", name="status"),
        # Exactly one assignee: a user or a role.
        CheckConstraint("(assignee_id IS NULL AND assignee_role IS NOT NULL) OR "
                        "(assignee_id IS NOT NULL AND assignee_role IS NULL)", name="one_assignee"),
        Index("ix_task_status_due", "status", "due_date"),
        Index("ix_task_document", "document_kind", "document_number"),
    )
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    title: Mapped[str] = mapped_column(String(200))
    note: Mapped[str] = mapped_column(Text, default="")
    assignee_id: Mapped[int | None] = mapped_column(ForeignKey("app_user.id"), index=True)
    assignee_role: Mapped[str | None] = mapped_column(String(40), index=True)
    due_date: Mapped[date | None] = mapped_column(Date)
    status: Mapped[str] = mapped_column(String(10), default="open")
    document_kind: Mapped[str | None] = mapped_column(String(20))
    document_number: Mapped[str | None] = mapped_column(String(40))
    created_by_id: Mapped[int] = mapped_column(ForeignKey("app_user.id"), index=True)
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]
    version: Mapped[int] = mapped_column(Integer, default=1)


class DocumentComment(Base):
    """A remark on a document; ``mentions`` holds the @usernames it notified, space-separated."""

    __tablename__ = "document_comment"
    __table_args__ = (Index("ix_document_comment_document", "document_kind", "document_number",
                            "id"),)
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    document_kind: Mapped[str] = mapped_column(String(20))
    document_number: Mapped[str] = mapped_column(String(40))
    author_id: Mapped[int] = mapped_column(ForeignKey("app_user.id"))
    body: Mapped[str] = mapped_column(Text)
    mentions: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime]
