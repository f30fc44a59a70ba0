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
    Text,
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
    # route: learned from the supplying route's own legs; site: from every leg into the site;
    # default: the route kind's default (too few legs). Rows before 0023 say "learned".
    lead_time_source: Mapped[str] = mapped_column(String(10))
    route: Mapped[str | None] = mapped_column(String(90))  # e.g. "supplier→WH", "WH→S1"
    abc: Mapped[str | None] = mapped_column(String(1))
    pattern: Mapped[str | None] = mapped_column(String(20))  # Syntetos–Boylan class
    model: Mapped[str | None] = mapped_column(String(30))  # the forecast's; None: history's mean
    lifecycle: Mapped[str | None] = mapped_column(String(10))  # new | growth | mature | decline
    xyz: Mapped[str | None] = mapped_column(String(1))
    mase: Mapped[float | None] = mapped_column(Float)  # backtest of the forecast; None: too short
    bias: Mapped[float | None] = mapped_column(Float)
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


class PlanningSuggestion(Base):
    """A transfer or purchase a planning run proposes, with the rule and the values that triggered
    it; open until a user accepts it (it then names the document made from it) or dismisses it, or
    a later run no longer proposes it (superseded)."""

    __tablename__ = "planning_suggestion"
    __table_args__ = (
        CheckConstraint("qty > 0", name="qty_positive"),
        CheckConstraint("kind IN ('transfer', 'purchase')", name="kind"),
        CheckConstraint("state IN ('open', 'accepted', 'dismissed', 'superseded')", name="state"),
        Index("ix_planning_suggestion_state", "state", "rule"),
    )
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    kind: Mapped[str] = mapped_column(String(10))
    rule: Mapped[str] = mapped_column(String(60))
    sku_id: Mapped[int] = mapped_column(ForeignKey("sku.id"))
    from_site_id: Mapped[int | None] = mapped_column(ForeignKey("location.id"))  # None: a purchase
    to_site_id: Mapped[int] = mapped_column(ForeignKey("location.id"))
    qty: Mapped[Decimal] = mapped_column(Exact)
    trigger: Mapped[str] = mapped_column(Text)  # JSON: the values the rule's conditions read
    cover_before: Mapped[float | None] = mapped_column(Float)  # target's days of cover
    cover_after: Mapped[float | None] = mapped_column(Float)
    exception: Mapped[bool] = mapped_column(Boolean)
    state: Mapped[str] = mapped_column(String(12))
    run_on: Mapped[date] = mapped_column(Date)  # the run that last proposed it
    created_at: Mapped[datetime]
    document: Mapped[str | None] = mapped_column(String(40))
    decided_by: Mapped[str | None] = mapped_column(String(64))
    decided_at: Mapped[datetime | None]
    reason: Mapped[str | None] = mapped_column(String(200))
