"""Label templates (标签模板): a label's size, how labels sit on a page and what each shows."""

from datetime import datetime

from sqlalchemy import CheckConstraint, Integer, Numeric, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from cangliu.db.base import Base, BigId

MM = Numeric(6, 1, asdecimal=False)  # layout sizes, read as floats


class LabelTemplate(Base):
    """One template. ``sheet`` single: a page of the label's own size per label (thermal
    printers); a4: ``columns`` × ``rows`` labels per A4 sheet. ``fields`` is a JSON list of what
    each label shows (name, sku, serial, lot, expiry, qr, code128, site)."""

    __tablename__ = "label_template"
    __table_args__ = (CheckConstraint("sheet IN ('single', 'a4')", name="sheet"),)
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    code: Mapped[str] = mapped_column(String(40), unique=True)
    name: Mapped[str] = mapped_column(String(100))
    width_mm: Mapped[float] = mapped_column(MM)
    height_mm: Mapped[float] = mapped_column(MM)
    sheet: Mapped[str] = mapped_column(String(10))
    columns: Mapped[int] = mapped_column(Integer)
    rows: Mapped[int] = mapped_column(Integer)
    margin_mm: Mapped[float] = mapped_column(MM)
    gap_mm: Mapped[float] = mapped_column(MM)
    fields: Mapped[str] = mapped_column(Text)
    font_size: Mapped[float] = mapped_column(MM)
    builtin: Mapped[bool] = mapped_column(default=False)
    version: Mapped[int] = mapped_column(Integer, default=1)
    updated_by: Mapped[str] = mapped_column(String(64))
    updated_at: Mapped[datetime]
