"""Serial numbers (一物一码): generation rules, their counters, the serials themselves, the
batches they were generated in and every event of their lifecycle."""

from datetime import datetime

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
)
from sqlalchemy.orm import Mapped, mapped_column

from cangliu.db.base import Base, BigId
from cangliu.db.models.masterdata import Versioned


class SerialRule(Versioned, Base):
    """A template for one SKU, one category, or (neither) the default for every SKU."""

    __tablename__ = "serial_rule"
    __table_args__ = (
        CheckConstraint("kind IN ('serial', 'lot')", name="kind"),
        CheckConstraint("sku_id IS NULL OR category_id IS NULL", name="one_scope"),
    )
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    code: Mapped[str] = mapped_column(String(40), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(10), default="serial")
    template: Mapped[str] = mapped_column(Text)
    sku_id: Mapped[int | None] = mapped_column(ForeignKey("sku.id"), index=True)
    category_id: Mapped[int | None] = mapped_column(ForeignKey("category.id"), index=True)
    line: Mapped[str] = mapped_column(String(40), default="")  # production line code
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    updated_by: Mapped[str] = mapped_column(String(64))
    updated_at: Mapped[datetime]


class SerialCounter(Base):
    """The last ``{seq}`` handed out per rule and reset period ('' when it never resets)."""

    __tablename__ = "serial_counter"
    rule_id: Mapped[int] = mapped_column(ForeignKey("serial_rule.id"), primary_key=True)
    period: Mapped[str] = mapped_column(String(10), primary_key=True)
    last: Mapped[int] = mapped_column(Integer, default=0)


class SerialBatch(Base):
    __tablename__ = "serial_batch"
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    number: Mapped[str] = mapped_column(String(40), unique=True)
    rule_id: Mapped[int] = mapped_column(ForeignKey("serial_rule.id"))
    sku_id: Mapped[int] = mapped_column(ForeignKey("sku.id"), index=True)
    count: Mapped[int] = mapped_column(Integer)
    first_code: Mapped[str] = mapped_column(String(64))
    last_code: Mapped[str] = mapped_column(String(64))
    site_id: Mapped[int | None] = mapped_column(ForeignKey("location.id"))
    line: Mapped[str] = mapped_column(String(40), default="")
    created_by: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime]


class Serial(Base):
    """One unit. ``unique_key`` carries the database's uniqueness: the code itself when serials
    are unique across the network, ``"<sku_id>:<code>"`` when only per SKU (setting
    ``serial_uniqueness``)."""

    __tablename__ = "serial"
    __table_args__ = (
        CheckConstraint("status IN ('generated', 'in_stock', 'reserved', 'in_transit', 'sold', "
                        "'returned', 'in_repair', 'scrapped', 'retired')", name="status"),
        Index("ix_serial_sku_status", "sku_id", "status"),
    )
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    sku_id: Mapped[int] = mapped_column(ForeignKey("sku.id"))
    code: Mapped[str] = mapped_column(String(64), index=True)
    unique_key: Mapped[str] = mapped_column(String(100), unique=True)
    status: Mapped[str] = mapped_column(String(20), default="generated")
    rule_id: Mapped[int | None] = mapped_column(ForeignKey("serial_rule.id"))
    batch_id: Mapped[int | None] = mapped_column(ForeignKey("serial_batch.id"), index=True)
    site_id: Mapped[int | None] = mapped_column(ForeignKey("location.id"))
    location_id: Mapped[int | None] = mapped_column(ForeignKey("location.id"))
    lot: Mapped[str] = mapped_column(String(64), default="")
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("serial.id"), index=True)
    customer_id: Mapped[int | None] = mapped_column(ForeignKey("customer.id"))
    sales_order: Mapped[str | None] = mapped_column(String(40))
    purchase_order: Mapped[str | None] = mapped_column(String(40))
    created_at: Mapped[datetime]


class SerialEvent(Base):
    """One thing that happened to a serial: when, who, on which device, by which document."""

    __tablename__ = "serial_event"
    # A document's serials are read by its type and number.
    __table_args__ = (Index("ix_serial_event_document", "document_type", "document_number"),)
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    serial_id: Mapped[int] = mapped_column(ForeignKey("serial.id"), index=True)
    at: Mapped[datetime]
    kind: Mapped[str] = mapped_column(String(20))
    status: Mapped[str] = mapped_column(String(20))  # the serial's state after the event
    operator: Mapped[str] = mapped_column(String(64))
    device: Mapped[str] = mapped_column(String(64), default="")
    document_type: Mapped[str | None] = mapped_column(String(30))
    document_number: Mapped[str | None] = mapped_column(String(40))
    site_id: Mapped[int | None] = mapped_column(ForeignKey("location.id"))
    detail: Mapped[str] = mapped_column(Text, default="{}")  # JSON
