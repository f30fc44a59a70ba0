"""Document tables: number counters and transfer orders with their lines."""

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
    UniqueConstraint,
    false,
)
from sqlalchemy.orm import Mapped, mapped_column

from cangliu.db.base import Base, BigId
from cangliu.db.models.custom_fields import CustomJson
from cangliu.db.types import Exact


class NumberCounter(Base):
    """The last number handed out per document type and period (day, month, year or ever)."""

    __tablename__ = "number_counter"
    doc_type: Mapped[str] = mapped_column(String(30), primary_key=True)
    period: Mapped[str] = mapped_column(String(10), primary_key=True)
    last: Mapped[int] = mapped_column(Integer)


class TransferOrder(Base):
    __tablename__ = "transfer_order"
    __table_args__ = (CheckConstraint("source_site_id <> dest_site_id", name="two_sites"),)
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    number: Mapped[str] = mapped_column(String(40), unique=True)
    state: Mapped[str] = mapped_column(String(20), index=True)
    source_site_id: Mapped[int] = mapped_column(ForeignKey("location.id"), index=True)
    dest_site_id: Mapped[int] = mapped_column(ForeignKey("location.id"), index=True)
    expected_arrival: Mapped[date | None] = mapped_column(Date)
    reason: Mapped[str] = mapped_column(String(200), default="")
    created_by: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime]
    shipped_at: Mapped[datetime | None]
    received_at: Mapped[datetime | None]
    version: Mapped[int] = mapped_column(Integer, default=1)
    custom: Mapped[dict[str, Any] | None] = mapped_column(CustomJson)  # custom field values
    # The planning rule whose suggestion created it ('' when entered by hand), and whether it
    # moves stock from a faster-selling site to a slower one (approval then asks the director).
    generated_by_rule: Mapped[str] = mapped_column(String(60), default="", server_default="")
    exception: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())


class TransferLine(Base):
    __tablename__ = "transfer_line"
    __table_args__ = (
        UniqueConstraint("transfer_id", "line_no"),
        CheckConstraint("qty > 0", name="qty_positive"),
        CheckConstraint("received_qty + damaged_qty + shortage_qty <= shipped_qty",
                        name="receipt_within_shipment"),
    )
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    transfer_id: Mapped[int] = mapped_column(ForeignKey("transfer_order.id"), index=True)
    line_no: Mapped[int] = mapped_column(Integer)
    sku_id: Mapped[int] = mapped_column(ForeignKey("sku.id"))
    lot: Mapped[str] = mapped_column(String(64), default="")
    qty: Mapped[Decimal] = mapped_column(Exact)
    shipped_qty: Mapped[Decimal] = mapped_column(Exact, default=Decimal(0))
    received_qty: Mapped[Decimal] = mapped_column(Exact, default=Decimal(0))
    damaged_qty: Mapped[Decimal] = mapped_column(Exact, default=Decimal(0))
    shortage_qty: Mapped[Decimal] = mapped_column(Exact, default=Decimal(0))


class SupplierPrice(Base):
    """A supplier's price for a SKU: the default on new purchase orders."""

    __tablename__ = "supplier_price"
    __table_args__ = (UniqueConstraint("supplier_id", "sku_id"),
                      CheckConstraint("price >= 0", name="price_not_negative"))
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    supplier_id: Mapped[int] = mapped_column(ForeignKey("supplier.id"))
    sku_id: Mapped[int] = mapped_column(ForeignKey("sku.id"), index=True)
    price: Mapped[Decimal] = mapped_column(Exact)
    currency: Mapped[str] = mapped_column(String(3), default="CNY")
    min_order_qty: Mapped[Decimal] = mapped_column(Exact, default=Decimal(0))
    lead_time_days: Mapped[int | None] = mapped_column(Integer)


class PurchaseOrder(Base):
    __tablename__ = "purchase_order"
    __table_args__ = (CheckConstraint("rate > 0", name="rate_positive"),)
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    number: Mapped[str] = mapped_column(String(40), unique=True)
    state: Mapped[str] = mapped_column(String(20), index=True)
    supplier_id: Mapped[int] = mapped_column(ForeignKey("supplier.id"), index=True)
    site_id: Mapped[int] = mapped_column(ForeignKey("location.id"), index=True)
    currency: Mapped[str] = mapped_column(String(3), default="CNY")
    rate: Mapped[Decimal] = mapped_column(Exact, default=Decimal(1))
    expected_date: Mapped[date | None] = mapped_column(Date)
    reason: Mapped[str] = mapped_column(String(200), default="")
    created_by: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime]
    version: Mapped[int] = mapped_column(Integer, default=1)
    custom: Mapped[dict[str, Any] | None] = mapped_column(CustomJson)  # custom field values


class PurchaseLine(Base):
    __tablename__ = "purchase_line"
    __table_args__ = (
        UniqueConstraint("purchase_id", "line_no"),
        CheckConstraint("qty > 0", name="qty_positive"),
        CheckConstraint("received_qty >= 0", name="received_not_negative"),
        CheckConstraint("returned_qty <= received_qty", name="return_within_receipt"),
        Index("ix_purchase_line_sku_open", "sku_id", "purchase_id"),
    )
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    purchase_id: Mapped[int] = mapped_column(ForeignKey("purchase_order.id"), index=True)
    line_no: Mapped[int] = mapped_column(Integer)
    sku_id: Mapped[int] = mapped_column(ForeignKey("sku.id"))
    qty: Mapped[Decimal] = mapped_column(Exact)
    price: Mapped[Decimal] = mapped_column(Exact)
    received_qty: Mapped[Decimal] = mapped_column(Exact, default=Decimal(0))
    # Given back to the supplier (supplier returns); never more than was received.
    returned_qty: Mapped[Decimal] = mapped_column(Exact, default=Decimal(0), server_default="0")


class CustomerPrice(Base):
    __tablename__ = "customer_price"
    __table_args__ = (UniqueConstraint("customer_id", "sku_id"),
                      CheckConstraint("price >= 0", name="price_not_negative"))
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customer.id"))
    sku_id: Mapped[int] = mapped_column(ForeignKey("sku.id"), index=True)
    price: Mapped[Decimal] = mapped_column(Exact)


class SalesOrder(Base):
    __tablename__ = "sales_order"
    __table_args__ = (CheckConstraint("rate > 0", name="rate_positive"),)
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    number: Mapped[str] = mapped_column(String(40), unique=True)
    state: Mapped[str] = mapped_column(String(20), index=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customer.id"), index=True)
    site_id: Mapped[int] = mapped_column(ForeignKey("location.id"), index=True)
    channel: Mapped[str] = mapped_column(String(20), default="store")
    currency: Mapped[str] = mapped_column(String(3), default="CNY")
    rate: Mapped[Decimal] = mapped_column(Exact, default=Decimal(1))
    reason: Mapped[str] = mapped_column(String(200), default="")
    created_by: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime]
    version: Mapped[int] = mapped_column(Integer, default=1)
    custom: Mapped[dict[str, Any] | None] = mapped_column(CustomJson)  # custom field values


class SalesLine(Base):
    __tablename__ = "sales_line"
    __table_args__ = (
        UniqueConstraint("sales_id", "line_no"),
        CheckConstraint("qty > 0", name="qty_positive"),
        CheckConstraint("shipped_qty <= qty", name="ship_within_order"),
        CheckConstraint("returned_qty <= shipped_qty", name="return_within_shipment"),
    )
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    sales_id: Mapped[int] = mapped_column(ForeignKey("sales_order.id"), index=True)
    line_no: Mapped[int] = mapped_column(Integer)
    sku_id: Mapped[int] = mapped_column(ForeignKey("sku.id"))
    qty: Mapped[Decimal] = mapped_column(Exact)
    price: Mapped[Decimal] = mapped_column(Exact)
    # The reservation holding this line's unshipped quantity while the order is confirmed.
    reservation: Mapped[str | None] = mapped_column(String(40))
    shipped_qty: Mapped[Decimal] = mapped_column(Exact, default=Decimal(0))
    returned_qty: Mapped[Decimal] = mapped_column(Exact, default=Decimal(0))


class StockCount(Base):
    """A count of one site (or one zone): the snapshot it starts from and the counts recorded."""

    __tablename__ = "stock_count"
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    number: Mapped[str] = mapped_column(String(40), unique=True)
    state: Mapped[str] = mapped_column(String(20), index=True)
    site_id: Mapped[int] = mapped_column(ForeignKey("location.id"), index=True)
    zone_id: Mapped[int | None] = mapped_column(ForeignKey("location.id"))
    blind: Mapped[bool] = mapped_column(default=True)
    snapshot_at: Mapped[datetime]
    created_by: Mapped[str] = mapped_column(String(64))
    posted_at: Mapped[datetime | None]
    version: Mapped[int] = mapped_column(Integer, default=1)


class StockCountLine(Base):
    __tablename__ = "stock_count_line"
    __table_args__ = (UniqueConstraint("count_id", "sku_id", "location_id", "lot"),
                      CheckConstraint("counted_qty >= 0", name="counted_not_negative"))
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    count_id: Mapped[int] = mapped_column(ForeignKey("stock_count.id"), index=True)
    sku_id: Mapped[int] = mapped_column(ForeignKey("sku.id"))
    location_id: Mapped[int] = mapped_column(ForeignKey("location.id"))
    lot: Mapped[str] = mapped_column(String(64), default="")
    snapshot_qty: Mapped[Decimal] = mapped_column(Exact, default=Decimal(0))
    counted_qty: Mapped[Decimal | None] = mapped_column(Exact)
    counted_at: Mapped[datetime | None]
    counted_by: Mapped[str | None] = mapped_column(String(64))


class HeldDocument(Base):
    """A posting waiting for its approval: a scrap or a customer return above its policy's
    threshold. It keeps the request as submitted and the fields the policy read; approval posts
    it under its number, rejection ends it without a move."""

    __tablename__ = "held_document"
    __table_args__ = (
        CheckConstraint("state IN ('pending_approval', 'posted', 'rejected', 'cancelled')",
                        name="state"),
        UniqueConstraint("document_type", "number"),
    )
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    document_type: Mapped[str] = mapped_column(String(20))
    number: Mapped[str] = mapped_column(String(40), index=True)
    state: Mapped[str] = mapped_column(String(20), index=True)
    site_id: Mapped[int] = mapped_column(ForeignKey("location.id"), index=True)
    parent: Mapped[str | None] = mapped_column(String(40), index=True)  # a return's sales order
    request: Mapped[str] = mapped_column(Text)  # JSON, as the service received it
    fields: Mapped[str] = mapped_column(Text)  # JSON, what the approval policy read
    created_by: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime]
    version: Mapped[int] = mapped_column(Integer, default=1)
