"""Print templates (打印模板): an administrator's Jinja2 body for one document type's print view.

A stored template marked ``is_default`` replaces the built-in one for its document type;
deleting it ("reset to default") brings the built-in back."""

from datetime import datetime

from sqlalchemy import String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from cangliu.db.base import Base, BigId


class PrintTemplate(Base):
    __tablename__ = "print_template"
    __table_args__ = (UniqueConstraint("document_type", "name"),)
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    document_type: Mapped[str] = mapped_column(String(30))
    name: Mapped[str] = mapped_column(String(60))
    body: Mapped[str] = mapped_column(Text)
    is_default: Mapped[bool] = mapped_column(default=True)
    version: Mapped[int] = mapped_column(default=1)
    updated_at: Mapped[datetime]
    updated_by: Mapped[str] = mapped_column(String(64))
