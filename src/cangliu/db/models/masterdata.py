"""Master data: categories, SKUs and barcodes, lots, the location tree, suppliers and customers."""

from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    Date,
    Float,
    ForeignKey,
    Integer,
    String,
    UniqueConstraint,
    false,
)
from sqlalchemy.orm import Mapped, mapped_column

from cangliu.db.base import Base, BigId
from cangliu.db.models.custom_fields import CustomJson
from cangliu.db.types import Exact


class Versioned:
    """Optimistic locking: every edit bumps ``version`` and a stale one is refused."""

    version: Mapped[int] = mapped_column(Integer, default=1)


class Deletable:
    """Soft delete: a deleted record leaves lists and pickers but keeps its code and its history."""

    deleted_at: Mapped[datetime | None] = mapped_column(default=None)


class Category(Versioned, Deletable, Base):
    __tablename__ = "category"
    __table_args__ = (CheckConstraint("valuation IN ('moving_average', 'fifo')", name="valuation"),)
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    code: Mapped[str] = mapped_column(String(40), unique=True)
    name: Mapped[str] = mapped_column(String(100))
    name_en: Mapped[str] = mapped_column(String(100), default="")
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("category.id"))
    # How the SKUs of this category (not of its subcategories) are valued; a SKU without a
    # category is valued by moving average.
    valuation: Mapped[str] = mapped_column(String(20), default="moving_average",
                                           server_default="moving_average")


class Sku(Versioned, Deletable, Base):
    __tablename__ = "sku"
    __table_args__ = (
        CheckConstraint("decimals BETWEEN 0 AND 6", name="decimals"),
        CheckConstraint("tracking IN ('none', 'lot', 'serial')", name="tracking"),
    )
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    code: Mapped[str] = mapped_column(String(40), unique=True)
    name: Mapped[str] = mapped_column(String(200), index=True)
    name_en: Mapped[str] = mapped_column(String(200), default="")
    category_id: Mapped[int | None] = mapped_column(ForeignKey("category.id"), index=True)
    uom: Mapped[str] = mapped_column(String(20), default="pcs")
    decimals: Mapped[int] = mapped_column(Integer, default=0)
    tracking: Mapped[str] = mapped_column(String(10), default="none")
    shelf_life_days: Mapped[int | None] = mapped_column(Integer)
    weight_kg: Mapped[Decimal | None] = mapped_column(Exact)
    volume_l: Mapped[Decimal | None] = mapped_column(Exact)
    fragile: Mapped[bool] = mapped_column(Boolean, default=False)
    high_value: Mapped[bool] = mapped_column(Boolean, default=False)
    bonded: Mapped[bool] = mapped_column(Boolean, default=False)
    perishable: Mapped[bool] = mapped_column(Boolean, default=False)
    # Receipts of this SKU go to quality hold until inspected.
    inspection: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    # Units per pack: planned transfers move whole packs.
    pack_size: Mapped[Decimal] = mapped_column(Exact, default=Decimal(1), server_default="1")
    # Warranty from the ship date, for repair tickets; 0: none.
    warranty_days: Mapped[int] = mapped_column(Integer, default=365, server_default="365")
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    # Values of the custom fields an administrator defined (key → value), see custom_field.
    custom: Mapped[dict[str, Any] | None] = mapped_column(CustomJson)


class Barcode(Base):
    __tablename__ = "barcode"
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    sku_id: Mapped[int] = mapped_column(ForeignKey("sku.id"), index=True)
    code: Mapped[str] = mapped_column(String(64), unique=True)


class Lot(Base):
    __tablename__ = "lot"
    __table_args__ = (UniqueConstraint("sku_id", "code"),)
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    sku_id: Mapped[int] = mapped_column(ForeignKey("sku.id"))
    code: Mapped[str] = mapped_column(String(64))
    production_date: Mapped[date | None] = mapped_column(Date)
    expiry_date: Mapped[date | None] = mapped_column(Date)
    # Tagged for clearance (a near-expiry alert's automatic response), with when and by which rule.
    clearance_at: Mapped[datetime | None]
    clearance_note: Mapped[str] = mapped_column(String(200), default="", server_default="")


class Location(Versioned, Deletable, Base):
    """A node of the location tree (site, zone, bin) or a virtual location (supplier, transit …)."""

    __tablename__ = "location"
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    code: Mapped[str] = mapped_column(String(40), unique=True)
    name: Mapped[str] = mapped_column(String(100))
    name_en: Mapped[str] = mapped_column(String(100), default="")
    kind: Mapped[str] = mapped_column(String(20), index=True)
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("location.id"), index=True)
    # The site a zone or bin belongs to (a site is its own); NULL for virtual locations.
    site_id: Mapped[int | None] = mapped_column(ForeignKey("location.id"), index=True)
    # A transit location carries one route: stock shipped from one site and bound for another.
    route_from_id: Mapped[int | None] = mapped_column(ForeignKey("location.id"))
    route_to_id: Mapped[int | None] = mapped_column(ForeignKey("location.id"))
    site_kind: Mapped[str | None] = mapped_column(String(20))
    region: Mapped[str] = mapped_column(String(40), default="", index=True)
    channel: Mapped[str | None] = mapped_column(String(20))
    address: Mapped[str] = mapped_column(String(200), default="")
    latitude: Mapped[float | None] = mapped_column(Float)
    longitude: Mapped[float | None] = mapped_column(Float)
    capacity_volume_l: Mapped[Decimal | None] = mapped_column(Exact)
    capacity_weight_kg: Mapped[Decimal | None] = mapped_column(Exact)
    allow_negative: Mapped[bool] = mapped_column(Boolean, default=False)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    # Values of the custom fields an administrator defined (key → value), see custom_field.
    custom: Mapped[dict[str, Any] | None] = mapped_column(CustomJson)


class Supplier(Versioned, Deletable, Base):
    __tablename__ = "supplier"
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    code: Mapped[str] = mapped_column(String(40), unique=True)
    name: Mapped[str] = mapped_column(String(200), index=True)
    contact: Mapped[str] = mapped_column(String(100), default="")
    phone: Mapped[str] = mapped_column(String(40), default="")
    email: Mapped[str] = mapped_column(String(200), default="")
    address: Mapped[str] = mapped_column(String(200), default="")
    lead_time_days: Mapped[int] = mapped_column(Integer, default=7)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    # Values of the custom fields an administrator defined (key → value), see custom_field.
    custom: Mapped[dict[str, Any] | None] = mapped_column(CustomJson)


class Customer(Versioned, Deletable, Base):
    __tablename__ = "customer"
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    code: Mapped[str] = mapped_column(String(40), unique=True)
    name: Mapped[str] = mapped_column(String(200), index=True)
    channel: Mapped[str] = mapped_column(String(20), default="store")
    contact: Mapped[str] = mapped_column(String(100), default="")
    phone: Mapped[str] = mapped_column(String(40), default="")
    email: Mapped[str] = mapped_column(String(200), default="")
    address: Mapped[str] = mapped_column(String(200), default="")
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    # Values of the custom fields an administrator defined (key → value), see custom_field.
    custom: Mapped[dict[str, Any] | None] = mapped_column(CustomJson)
