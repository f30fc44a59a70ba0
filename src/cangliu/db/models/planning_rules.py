"""Transfer rules as data: each rule's YAML as saved, and every earlier version of it."""

from datetime import datetime

from sqlalchemy import Boolean, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from cangliu.db.base import Base, BigId


class TransferRule(Base):
    """One rule in force. ``yaml`` is the source of truth; kind, priority and enabled repeat what
    it says so the rules can be listed and ordered without parsing every one."""

    __tablename__ = "transfer_rule"
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    name: Mapped[str] = mapped_column(String(60), unique=True)
    yaml: Mapped[str] = mapped_column(Text)
    kind: Mapped[str] = mapped_column(String(12))
    priority: Mapped[int] = mapped_column(Integer)
    enabled: Mapped[bool] = mapped_column(Boolean)
    # One of the four shipped with Cangliu: it may be disabled or reset, never deleted.
    builtin: Mapped[bool] = mapped_column(Boolean, default=False)
    version: Mapped[int] = mapped_column(Integer, default=1)
    updated_by: Mapped[str] = mapped_column(String(64))
    updated_at: Mapped[datetime]


class TransferRuleVersion(Base):
    """Version ``version`` of the rule ``rule_name`` as saved (the newest is the one in force);
    kept after the rule is deleted, so the history still tells what it was."""

    __tablename__ = "transfer_rule_version"
    __table_args__ = (UniqueConstraint("rule_name", "version",
                                       name="uq_transfer_rule_version_rule_name_version"),)
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    rule_name: Mapped[str] = mapped_column(String(60))
    version: Mapped[int] = mapped_column(Integer)
    # create, update, enable, disable, restore, reset, delete
    action: Mapped[str] = mapped_column(String(10))
    yaml: Mapped[str] = mapped_column(Text)
    saved_by: Mapped[str] = mapped_column(String(64))
    saved_at: Mapped[datetime]
