"""The promotion calendar (促销日历): dates, covered SKUs and sites, and the expected demand
uplift that adjusts forecasts and triggers promotion pre-stocking."""

from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import CheckConstraint, Date, ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from cangliu.db.base import Base, BigId
from cangliu.db.models.masterdata import Versioned
from cangliu.db.types import Exact


class Promotion(Versioned, Base):
    """A promotion from ``starts_on`` to ``ends_on`` (both inclusive). No SKU rows: it covers
    every SKU; no site rows: every site. A cancelled one stays for the record but adjusts nothing."""

    __tablename__ = "promotion"
    __table_args__ = (
        CheckConstraint("ends_on >= starts_on", name="dates_ordered"),
        # Exact stores millionths: -100 % < uplift ≤ 1000 %.
        CheckConstraint("uplift_pct > -100000000 AND uplift_pct <= 1000000000",
                        name="uplift_range"),
        Index("ix_promotion_dates", "starts_on", "ends_on"),
    )
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    code: Mapped[str] = mapped_column(String(40), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    starts_on: Mapped[date] = mapped_column(Date)
    ends_on: Mapped[date] = mapped_column(Date)
    uplift_pct: Mapped[Decimal] = mapped_column(Exact)
    note: Mapped[str] = mapped_column(String(200), default="")
    created_by: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime]
    cancelled_at: Mapped[datetime | None] = mapped_column(default=None)
    cancelled_by: Mapped[str | None] = mapped_column(String(64), default=None)


class PromotionSku(Base):
    __tablename__ = "promotion_sku"
    __table_args__ = (UniqueConstraint("promotion_id", "sku_id"),)
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    promotion_id: Mapped[int] = mapped_column(ForeignKey("promotion.id"))
    sku_id: Mapped[int] = mapped_column(ForeignKey("sku.id"), index=True)


class PromotionSite(Base):
    __tablename__ = "promotion_site"
    __table_args__ = (UniqueConstraint("promotion_id", "site_id"),)
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    promotion_id: Mapped[int] = mapped_column(ForeignKey("promotion.id"))
    # location.id of a site
    site_id: Mapped[int] = mapped_column(ForeignKey("location.id"), index=True)
