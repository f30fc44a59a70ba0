"""Daily KPI snapshots: per day × site × category the stock position at the end of the day and
the day's flows, and per day × site the day's document measures (orders, transfers, approvals).

History reads these rows instead of the ledger; ``services.kpis.snapshot`` recomputes one day's
rows (idempotent). ``category_id`` 0 stands for SKUs without a category.
"""

from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import Date, ForeignKey, Integer, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from cangliu.db.base import Base, BigId
from cangliu.db.types import Exact


class KpiSnapshot(Base):
    """One site's stock of one category at the end of ``day`` and the category's flows that day."""

    __tablename__ = "kpi_snapshot"
    __table_args__ = (UniqueConstraint("day", "site_id", "category_id",
                                       name="uq_kpi_snapshot_key"),)
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    day: Mapped[date] = mapped_column(Date, index=True)
    site_id: Mapped[int] = mapped_column(ForeignKey("location.id"))
    # No foreign key: 0 is "no category", and a deleted category keeps its history.
    category_id: Mapped[int] = mapped_column(Integer)
    on_hand_qty: Mapped[Decimal] = mapped_column(Exact, default=Decimal(0))
    stock_value: Mapped[Decimal] = mapped_column(Exact, default=Decimal(0))
    # Cost of goods shipped to customers, less the cost of what customers returned.
    cogs: Mapped[Decimal] = mapped_column(Exact, default=Decimal(0))
    receipts_value: Mapped[Decimal] = mapped_column(Exact, default=Decimal(0))
    issues_qty: Mapped[Decimal] = mapped_column(Exact, default=Decimal(0))
    # Sales order lines of orders created that day, and those not (yet) fully shipped.
    lines: Mapped[int] = mapped_column(Integer, default=0)
    lines_short: Mapped[int] = mapped_column(Integer, default=0)
    transfers_value: Mapped[Decimal] = mapped_column(Exact, default=Decimal(0))
    # Purchase order lines whose last receipt was that day, and those received exactly as ordered.
    receipt_lines: Mapped[int] = mapped_column(Integer, default=0)
    receipt_lines_exact: Mapped[int] = mapped_column(Integer, default=0)
    # When it was computed: a row taken before its day ended is not a base for later days.
    taken_at: Mapped[datetime]


class KpiSiteSnapshot(Base):
    """One site's document measures for ``day``: they belong to whole documents, not categories."""

    __tablename__ = "kpi_site_snapshot"
    __table_args__ = (UniqueConstraint("day", "site_id", name="uq_kpi_site_snapshot_key"),)
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    day: Mapped[date] = mapped_column(Date, index=True)
    site_id: Mapped[int] = mapped_column(ForeignKey("location.id"))
    orders: Mapped[int] = mapped_column(Integer, default=0)
    orders_short: Mapped[int] = mapped_column(Integer, default=0)
    transfers_shipped: Mapped[int] = mapped_column(Integer, default=0)  # from this site
    transit_count: Mapped[int] = mapped_column(Integer, default=0)  # received at this site
    transit_hours_sum: Mapped[Decimal] = mapped_column(Exact, default=Decimal(0))
    approvals: Mapped[int] = mapped_column(Integer, default=0)  # finished that day
    approval_hours_sum: Mapped[Decimal] = mapped_column(Exact, default=Decimal(0))
