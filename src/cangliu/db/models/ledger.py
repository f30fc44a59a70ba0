"""The ledger tables: immutable moves, the balance projection, reservations, idempotency records,
and each SKU's cost position (FIFO cost layers included)."""

from datetime import datetime
from decimal import Decimal

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from cangliu.db.base import Base, BigId
from cangliu.db.types import Exact


class StockMove(Base):
    """One immutable entry: qty leaves (from_location, from_status) and enters (to_location, to_status)."""

    __tablename__ = "stock_move"
    __table_args__ = (
        CheckConstraint("qty > 0", name="qty_positive"),
        CheckConstraint("from_location_id <> to_location_id OR from_status <> to_status",
                        name="moves_somewhere"),
        Index("ix_stock_move_sku_occurred", "sku_id", "occurred_at"),
        # Unusual-operation alerts: one user's adjustments within a recent window.
        Index("ix_stock_move_operation_recorded", "operation", "recorded_at"),
    )
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    ref: Mapped[str] = mapped_column(String(40), index=True)
    operation: Mapped[str] = mapped_column(String(20))
    sku_id: Mapped[int] = mapped_column(ForeignKey("sku.id"))
    qty: Mapped[Decimal] = mapped_column(Exact)
    uom: Mapped[str] = mapped_column(String(20))
    from_location_id: Mapped[int] = mapped_column(ForeignKey("location.id"))
    to_location_id: Mapped[int] = mapped_column(ForeignKey("location.id"))
    from_status: Mapped[str] = mapped_column(String(20), default="available")
    to_status: Mapped[str] = mapped_column(String(20), default="available")
    lot: Mapped[str] = mapped_column(String(64), default="")
    serial: Mapped[str | None] = mapped_column(String(64))
    unit_cost: Mapped[Decimal | None] = mapped_column(Exact)
    # qty × unit_cost: summing it per location gives inventory value at any past date.
    value: Mapped[Decimal | None] = mapped_column(Exact)
    document_type: Mapped[str | None] = mapped_column(String(30))
    document_number: Mapped[str | None] = mapped_column(String(40), index=True)
    document_line: Mapped[int | None] = mapped_column(Integer)
    reason: Mapped[str] = mapped_column(String(200), default="")
    operator: Mapped[str] = mapped_column(String(64))
    device: Mapped[str] = mapped_column(String(64), default="")
    occurred_at: Mapped[datetime]
    recorded_at: Mapped[datetime]
    idempotency_key: Mapped[str] = mapped_column(String(120), unique=True)
    reversal_of_id: Mapped[int | None] = mapped_column(ForeignKey("stock_move.id"), unique=True)


class StockBalance(Base):
    """Projection of the ledger per SKU × location × lot × status, updated in the move's transaction."""

    __tablename__ = "stock_balance"
    __table_args__ = (
        UniqueConstraint("sku_id", "location_id", "lot", "status", name="uq_stock_balance_key"),
        CheckConstraint("reserved >= 0", name="reserved_not_negative"),
        CheckConstraint("qty >= reserved OR allow_negative", name="available_not_negative"),
        CheckConstraint("status = 'available' OR reserved = 0", name="reserve_only_available"),
        Index("ix_stock_balance_site_sku", "site_id", "sku_id"),
    )
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    sku_id: Mapped[int] = mapped_column(ForeignKey("sku.id"))
    location_id: Mapped[int] = mapped_column(ForeignKey("location.id"))
    # Denormalised from the location so the single view groups by site without a tree walk.
    site_id: Mapped[int | None] = mapped_column(ForeignKey("location.id"))
    lot: Mapped[str] = mapped_column(String(64), default="")
    status: Mapped[str] = mapped_column(String(20))
    qty: Mapped[Decimal] = mapped_column(Exact, default=Decimal(0))
    reserved: Mapped[Decimal] = mapped_column(Exact, default=Decimal(0))
    # Copied from the site's negative-stock setting: the CHECK above needs it on the row.
    allow_negative: Mapped[bool] = mapped_column(Boolean, default=False)
    version: Mapped[int] = mapped_column(Integer, default=1)


class Reservation(Base):
    """Quantity held at one balance for a document; ``ref`` groups the parts of one request."""

    __tablename__ = "reservation"
    __table_args__ = (CheckConstraint("qty >= 0", name="qty_not_negative"),)
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    ref: Mapped[str] = mapped_column(String(40), index=True)
    sku_id: Mapped[int] = mapped_column(ForeignKey("sku.id"))
    location_id: Mapped[int] = mapped_column(ForeignKey("location.id"))
    lot: Mapped[str] = mapped_column(String(64), default="")
    qty: Mapped[Decimal] = mapped_column(Exact)
    state: Mapped[str] = mapped_column(String(12), default="open")
    document_type: Mapped[str | None] = mapped_column(String(30))
    document_number: Mapped[str | None] = mapped_column(String(40))
    reason: Mapped[str] = mapped_column(String(200), default="")
    operator: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime]


class IdempotencyRecord(Base):
    """The first answer to a write carrying an Idempotency-Key, replayed for every retry."""

    __tablename__ = "idempotency_record"
    key: Mapped[str] = mapped_column(String(120), primary_key=True)
    request_hash: Mapped[str] = mapped_column(String(64))
    status_code: Mapped[int] = mapped_column(Integer)
    response: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime]


class SkuCost(Base):
    """The company-wide moving-average position of a SKU: quantity valued and its total value."""

    __tablename__ = "sku_cost"
    sku_id: Mapped[int] = mapped_column(ForeignKey("sku.id"), primary_key=True)
    qty: Mapped[Decimal] = mapped_column(Exact, default=Decimal(0))
    value: Mapped[Decimal] = mapped_column(Exact, default=Decimal(0))


class CostLayer(Base):
    """One entry of stock of a FIFO-valued SKU: what is left of it and its value. Stock leaving
    the company consumes the open layers in the order they were booked (by id); ``sku_cost``
    holds their sum."""

    __tablename__ = "cost_layer"
    __table_args__ = (
        CheckConstraint("remaining >= 0 AND remaining <= qty", name="remaining_within_qty"),
        CheckConstraint("value >= 0", name="value_not_negative"),
        Index("ix_cost_layer_open", "sku_id", "id", postgresql_where=text("remaining > 0"),
              sqlite_where=text("remaining > 0")),
    )
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    sku_id: Mapped[int] = mapped_column(ForeignKey("sku.id"))
    # The posting (stock_move.ref) that brought the stock in; NULL for an opening balance.
    ref: Mapped[str | None] = mapped_column(String(40), index=True)
    entered_at: Mapped[datetime]
    qty: Mapped[Decimal] = mapped_column(Exact)
    remaining: Mapped[Decimal] = mapped_column(Exact)
    unit_cost: Mapped[Decimal] = mapped_column(Exact)
    # The value of what remains: exact, so an emptied layer is worth exactly zero.
    value: Mapped[Decimal] = mapped_column(Exact)
