"""Custom fields: administrators' own fields on SKUs, sites, partners, serials and documents.

A definition lives in ``custom_field``; the values live beside the record, in its JSON column
``custom`` (see ``CustomJson``), keyed by the definition's key.
"""

from datetime import datetime

from sqlalchemy import JSON, Boolean, Integer, String, Text, UniqueConstraint
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from cangliu.db.base import Base, BigId

# The values column of every record that carries custom fields: JSONB on PostgreSQL.
CustomJson = JSON(none_as_null=True).with_variant(JSONB(none_as_null=True), "postgresql")


class CustomField(Base):
    """One field an administrator added to an entity (``sku``, ``site``, ``purchase_order`` …).
    The key never changes once values may use it; a field with values is deactivated, not
    removed."""

    __tablename__ = "custom_field"
    __table_args__ = (UniqueConstraint("entity", "key"),)
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    entity: Mapped[str] = mapped_column(String(30))
    key: Mapped[str] = mapped_column(String(40))
    label_zh: Mapped[str] = mapped_column(String(100))
    label_en: Mapped[str] = mapped_column(String(100), default="")
    type: Mapped[str] = mapped_column(String(20))
    required: Mapped[bool] = mapped_column(Boolean, default=False)
    default: Mapped[str | None] = mapped_column(Text)  # JSON
    rules: Mapped[str] = mapped_column(Text, default="{}")  # JSON: options, min, max, pattern …
    position: Mapped[int] = mapped_column(Integer, default=0)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    version: Mapped[int] = mapped_column(Integer, default=1)
    created_at: Mapped[datetime]
    created_by: Mapped[str] = mapped_column(String(64))
    updated_at: Mapped[datetime]
    updated_by: Mapped[str] = mapped_column(String(64))
