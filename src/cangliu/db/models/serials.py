"""Serial numbers (一物一码): generation rules, their counters, the serials themselves, the
batches they were generated in and every event of their lifecycle."""

from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    Date,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
)
from sqlalchemy.orm import Mapped, mapped_column

from cangliu.db.base import Base, BigId
from cangliu.db.models.custom_fields import CustomJson
from cangliu.db.models.masterdata import Versioned
from cangliu.db.types import Exact


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
                        "'returned', 'in_repair', 'installed', 'scrapped', 'retired')",
                        name="status"),
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
    custom: Mapped[dict[str, Any] | None] = mapped_column(CustomJson)  # custom field values


class SerialEvent(Base):
    """One thing that happened to a serial: when, who, on which device, by which document."""

    __tablename__ = "serial_event"
    # A document's serials are read by its type and number; analytics scan shipments by time.
    __table_args__ = (Index("ix_serial_event_document", "document_type", "document_number"),
                      Index("ix_serial_event_kind_at", "kind", "at"))
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


class WorkOrder(Versioned, Base):
    """Production (light): ``qty`` units of a finished SKU made on a line at a site from the
    components recorded in :class:`WorkOrderComponent`."""

    __tablename__ = "work_order"
    __table_args__ = (
        CheckConstraint("status IN ('draft', 'completed', 'cancelled')", name="status"),
        CheckConstraint("qty > 0", name="qty_positive"),
    )
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    number: Mapped[str] = mapped_column(String(40), unique=True)
    sku_id: Mapped[int] = mapped_column(ForeignKey("sku.id"), index=True)
    site_id: Mapped[int] = mapped_column(ForeignKey("location.id"))
    line: Mapped[str] = mapped_column(String(40), default="")
    qty: Mapped[Decimal] = mapped_column(Exact)
    lot: Mapped[str] = mapped_column(String(64), default="")  # the finished lot, if any
    status: Mapped[str] = mapped_column(String(20), default="draft")
    note: Mapped[str] = mapped_column(Text, default="")
    created_by: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime]
    completed_by: Mapped[str | None] = mapped_column(String(64))
    completed_at: Mapped[datetime | None]


class WorkOrderComponent(Base):
    """What a work order consumed: a quantity of a component SKU, from one lot or as one serial."""

    __tablename__ = "work_order_component"
    __table_args__ = (
        CheckConstraint("qty > 0", name="qty_positive"),
        Index("ix_work_order_component_lot", "sku_id", "lot"),
    )
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    work_order_id: Mapped[int] = mapped_column(ForeignKey("work_order.id"), index=True)
    sku_id: Mapped[int] = mapped_column(ForeignKey("sku.id"))
    lot: Mapped[str] = mapped_column(String(64), default="")
    serial_id: Mapped[int | None] = mapped_column(ForeignKey("serial.id"), index=True)
    qty: Mapped[Decimal] = mapped_column(Exact)


class AssemblyLink(Base):
    """One component in one parent unit, for as long as it was there: a child serial, or a
    quantity of a component SKU from a lot. ``removed_at`` is set when it comes out; the row
    stays as history. ``Serial.parent_id`` mirrors the links still in place."""

    __tablename__ = "assembly_link"
    __table_args__ = (
        CheckConstraint("qty > 0", name="qty_positive"),
        Index("ix_assembly_link_lot", "child_sku_id", "child_lot"),
    )
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    parent_id: Mapped[int] = mapped_column(ForeignKey("serial.id"), index=True)
    child_serial_id: Mapped[int | None] = mapped_column(ForeignKey("serial.id"), index=True)
    child_sku_id: Mapped[int] = mapped_column(ForeignKey("sku.id"))
    child_lot: Mapped[str] = mapped_column(String(64), default="")
    qty: Mapped[Decimal] = mapped_column(Exact, default=Decimal(1))
    work_order_id: Mapped[int | None] = mapped_column(ForeignKey("work_order.id"), index=True)
    repair_ticket_id: Mapped[int | None] = mapped_column(ForeignKey("repair_ticket.id"))
    installed_by: Mapped[str] = mapped_column(String(64))
    installed_at: Mapped[datetime]
    removed_by: Mapped[str | None] = mapped_column(String(64))
    removed_at: Mapped[datetime | None]
    removal_reason: Mapped[str] = mapped_column(Text, default="")


class RepairTicket(Versioned, Base):
    """After-sales (维修/保修) on one serial: the fault reported, the warranty it fell under,
    and the outcome."""

    __tablename__ = "repair_ticket"
    __table_args__ = (
        CheckConstraint("status IN ('open', 'in_progress', 'closed', 'cancelled')", name="status"),
        CheckConstraint("warranty IN ('in_warranty', 'out_of_warranty', 'unknown')",
                        name="warranty"),
        Index("ix_repair_ticket_status_opened", "status", "opened_at"),
    )
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    number: Mapped[str] = mapped_column(String(40), unique=True)
    serial_id: Mapped[int] = mapped_column(ForeignKey("serial.id"), index=True)
    sku_id: Mapped[int] = mapped_column(ForeignKey("sku.id"), index=True)
    customer_id: Mapped[int | None] = mapped_column(ForeignKey("customer.id"))
    site_id: Mapped[int | None] = mapped_column(ForeignKey("location.id"))  # service site
    fault: Mapped[str] = mapped_column(Text)
    fault_code: Mapped[str] = mapped_column(String(40), default="")
    warranty: Mapped[str] = mapped_column(String(20), default="unknown")
    warranty_until: Mapped[date | None] = mapped_column(Date)
    status: Mapped[str] = mapped_column(String(20), default="open")
    # The unit's state when the ticket opened, so closing can send it back where it came from.
    serial_status_before: Mapped[str] = mapped_column(String(20))
    resolution: Mapped[str] = mapped_column(Text, default="")
    opened_by: Mapped[str] = mapped_column(String(64))
    opened_at: Mapped[datetime]
    closed_by: Mapped[str | None] = mapped_column(String(64))
    closed_at: Mapped[datetime | None]


class RepairAction(Base):
    """One step on a ticket: a diagnosis, a repair, a test, or a part replaced (old serial out,
    returned or scrapped; new serial in, bound as a child of the unit)."""

    __tablename__ = "repair_action"
    __table_args__ = (
        CheckConstraint("kind IN ('diagnose', 'repair', 'replace_part', 'test', 'note')",
                        name="kind"),
        CheckConstraint("old_part_fate IN ('', 'returned', 'scrapped')", name="old_part_fate"),
    )
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("repair_ticket.id"), index=True)
    at: Mapped[datetime]
    operator: Mapped[str] = mapped_column(String(64))
    kind: Mapped[str] = mapped_column(String(20))
    note: Mapped[str] = mapped_column(Text, default="")
    old_serial_id: Mapped[int | None] = mapped_column(ForeignKey("serial.id"))
    new_serial_id: Mapped[int | None] = mapped_column(ForeignKey("serial.id"))
    old_part_fate: Mapped[str] = mapped_column(String(20), default="")


class Recall(Base):
    """A recall (召回) from a component or finished lot or serial: the units found, frozen at
    the time of the search so the list and its export do not drift."""

    __tablename__ = "recall"
    __table_args__ = (CheckConstraint("status IN ('open', 'closed')", name="status"),)
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    number: Mapped[str] = mapped_column(String(40), unique=True)
    sku_id: Mapped[int] = mapped_column(ForeignKey("sku.id"))
    lot: Mapped[str] = mapped_column(String(64), default="")
    serial_id: Mapped[int | None] = mapped_column(ForeignKey("serial.id"))
    reason: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(20), default="open")
    unit_count: Mapped[int] = mapped_column(Integer, default=0)
    held_count: Mapped[int] = mapped_column(Integer, default=0)
    created_by: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime]
    held_at: Mapped[datetime | None]
    held_by: Mapped[str | None] = mapped_column(String(64))


class RecallUnit(Base):
    """One finished unit a recall found: how deep the affected part sits (1 = the unit itself
    contains it directly), and where the unit was when found."""

    __tablename__ = "recall_unit"
    __table_args__ = (Index("ix_recall_unit_recall_serial", "recall_id", "serial_id",
                            unique=True),)
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    recall_id: Mapped[int] = mapped_column(ForeignKey("recall.id"))
    serial_id: Mapped[int] = mapped_column(ForeignKey("serial.id"), index=True)
    depth: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(20))
    site_id: Mapped[int | None] = mapped_column(ForeignKey("location.id"))
    customer_id: Mapped[int | None] = mapped_column(ForeignKey("customer.id"))
    held: Mapped[bool] = mapped_column(Boolean, default=False)
