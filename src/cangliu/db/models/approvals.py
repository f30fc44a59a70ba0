"""Approvals: policies as versioned YAML, an instance per submitted document version, and one
task per approver and step."""

from datetime import datetime

from sqlalchemy import Boolean, CheckConstraint, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from cangliu.db.base import Base, BigId


class ApprovalPolicy(Base):
    """One saved version of a document type's policy; the newest active one applies to new
    submissions, while running instances keep the version they started with."""

    __tablename__ = "approval_policy"
    __table_args__ = (UniqueConstraint("document_type", "version",
                                       name="uq_approval_policy_document_type_version"),)
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    document_type: Mapped[str] = mapped_column(String(20))
    version: Mapped[int] = mapped_column(Integer)
    yaml: Mapped[str] = mapped_column(Text)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_by: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime]


class ApprovalInstance(Base):
    """The approval of one submitted version of one document."""

    __tablename__ = "approval_instance"
    __table_args__ = (
        CheckConstraint("state IN ('pending', 'approved', 'rejected', 'returned', 'cancelled')",
                        name="state"),
        Index("ix_approval_instance_document", "document_type", "document_number"),
        Index("ix_approval_instance_state", "state", "step_started_at"),
    )
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    document_type: Mapped[str] = mapped_column(String(20))
    document_number: Mapped[str] = mapped_column(String(40))
    document_version: Mapped[int] = mapped_column(Integer)
    policy_version: Mapped[int] = mapped_column(Integer)
    branch: Mapped[str] = mapped_column(String(100))
    step_index: Mapped[int] = mapped_column(Integer, default=0)
    state: Mapped[str] = mapped_column(String(10), default="pending")
    submitter_id: Mapped[int] = mapped_column(ForeignKey("app_user.id"))
    started_at: Mapped[datetime]
    step_started_at: Mapped[datetime]
    finished_at: Mapped[datetime | None]
    escalations: Mapped[int] = mapped_column(Integer, default=0)
    reminded_at: Mapped[datetime | None]


class ApprovalTask(Base):
    """One approver's part in one step; the unique key keeps one decision per approver."""

    __tablename__ = "approval_task"
    __table_args__ = (
        UniqueConstraint("instance_id", "step_index", "approver_id",
                         name="uq_approval_task_instance_id_step_index_approver_id"),
        CheckConstraint("state IN ('pending', 'approved', 'rejected', 'delegated', 'skipped')",
                        name="state"),
        Index("ix_approval_task_approver_state", "approver_id", "state"),
    )
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    instance_id: Mapped[int] = mapped_column(ForeignKey("approval_instance.id"), index=True)
    step_index: Mapped[int] = mapped_column(Integer)
    approver_id: Mapped[int] = mapped_column(ForeignKey("app_user.id"))
    state: Mapped[str] = mapped_column(String(10), default="pending")
    decided_at: Mapped[datetime | None]
    comment: Mapped[str] = mapped_column(Text, default="")
    delegated_to_id: Mapped[int | None] = mapped_column(ForeignKey("app_user.id"))
    # Who put this approver on the step: "policy", "escalation", or the username who added them.
    added_by: Mapped[str] = mapped_column(String(64), default="policy")


class ApprovalLinkUse(Base):
    """A signed one-time approval link that was opened: a link works once, so a forwarded or
    leaked message cannot be replayed."""

    __tablename__ = "approval_link_use"
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    token_id: Mapped[str] = mapped_column(String(64), unique=True)
    instance_id: Mapped[int] = mapped_column(ForeignKey("approval_instance.id"))
    user_id: Mapped[int] = mapped_column(ForeignKey("app_user.id"))
    used_at: Mapped[datetime]
