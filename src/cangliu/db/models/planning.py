"""Planning tables: daily demand history per SKU × site, the input of forecasts and stock levels."""

from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    Date,
    Float,
    ForeignKey,
    Index,
    String,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from cangliu.db.base import Base, BigId
from cangliu.db.types import Exact


class DemandDay(Base):
    """What customers took of one SKU at one site on one (UTC) day, and whether the site was out
    of stock then, so a day of lost sales is not read as a day without demand.

    Only days with demand or a stock-out are stored (imports keep the zero days they bring):
    readers fill the missing days of a series with zero demand.
    """

    __tablename__ = "demand_day"
    __table_args__ = (
        UniqueConstraint("sku_id", "site_id", "day"),
        CheckConstraint("qty >= 0", name="qty_not_negative"),
        CheckConstraint("lost_qty IS NULL OR lost_qty >= 0", name="lost_qty_not_negative"),
        CheckConstraint("source IN ('ledger', 'import')", name="source"),
        Index("ix_demand_day_site_day", "site_id", "day"),
    )
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    sku_id: Mapped[int] = mapped_column(ForeignKey("sku.id"))
    # location.id of a site (never a zone or bin): demand is planned per site.
    site_id: Mapped[int] = mapped_column(ForeignKey("location.id"))
    day: Mapped[date] = mapped_column(Date)
    qty: Mapped[Decimal] = mapped_column(Exact)
    # Available stock was 0 or less at the day's end, or lost sales were recorded.
    stockout: Mapped[bool] = mapped_column(Boolean, default=False)
    # Demand turned away for want of stock, when known (imports only: the ledger cannot see it).
    lost_qty: Mapped[Decimal | None] = mapped_column(Exact)
    # "ledger": rebuilt from shipments and replaced by every rebuild; "import": loaded from a
    # file and never touched by a rebuild.
    source: Mapped[str] = mapped_column(String(10))


class StockThreshold(Base):
    """Safety stock, reorder point and max of one SKU at one site as computed on one day, with
    the inputs they came from: the rows of earlier days are the history."""

    __tablename__ = "stock_threshold"
    __table_args__ = (UniqueConstraint("sku_id", "site_id", "computed_on"),
                      Index("ix_stock_threshold_computed_on", "computed_on"))
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    sku_id: Mapped[int] = mapped_column(ForeignKey("sku.id"))
    site_id: Mapped[int] = mapped_column(ForeignKey("location.id"))
    computed_on: Mapped[date] = mapped_column(Date)
    demand: Mapped[float] = mapped_column(Float)  # mean daily demand
    demand_sd: Mapped[float] = mapped_column(Float)
    lead_time: Mapped[float] = mapped_column(Float)  # days
    lead_time_sd: Mapped[float] = mapped_column(Float)
    lead_time_source: Mapped[str] = mapped_column(String(10))  # learned | default
    abc: Mapped[str | None] = mapped_column(String(1))
    pattern: Mapped[str | None] = mapped_column(String(20))  # Syntetos–Boylan class
    model: Mapped[str | None] = mapped_column(String(30))  # the forecast's; None: history's mean
    z: Mapped[float] = mapped_column(Float)
    safety_stock: Mapped[Decimal] = mapped_column(Exact)
    reorder_point: Mapped[Decimal] = mapped_column(Exact)
    max_stock: Mapped[Decimal] = mapped_column(Exact)
    explanation: Mapped[str] = mapped_column(String(400))
    note: Mapped[str | None] = mapped_column(String(200))  # inputs that fell back to defaults


class ThresholdOverride(Base):
    """A user's own levels for one SKU at one site, with the reason, until they expire."""

    __tablename__ = "threshold_override"
    __table_args__ = (CheckConstraint("safety_stock >= 0 AND reorder_point >= safety_stock "
                                      "AND max_stock >= reorder_point", name="levels_ordered"),
                      Index("ix_threshold_override_key", "sku_id", "site_id"))
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    sku_id: Mapped[int] = mapped_column(ForeignKey("sku.id"))
    site_id: Mapped[int] = mapped_column(ForeignKey("location.id"))
    safety_stock: Mapped[Decimal] = mapped_column(Exact)
    reorder_point: Mapped[Decimal] = mapped_column(Exact)
    max_stock: Mapped[Decimal] = mapped_column(Exact)
    reason: Mapped[str] = mapped_column(String(200))
    expires_on: Mapped[date] = mapped_column(Date)  # the last day it applies
    created_by: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime]
