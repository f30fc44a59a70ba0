"""Lots about to expire, and lots already expired, that are still in stock.

One row per SKU × site × lot with available stock (summed over the site's bins), its expiry
date, the days left (negative once expired), the quantity and its value at the SKU's
moving-average cost. The cost sits under ``avg_cost`` and the value under ``value`` so the
"cost" and "valuation" field groups hide them from roles that may not see them.
"""

from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session

from cangliu.core.ledger import StockStatus
from cangliu.db.models import Location, Lot, Sku, SkuCost, StockBalance

Scope = frozenset[int] | None
WINDOWS = (7, 30, 60, 90)  # the day windows offered by the page
CENTS = Decimal("0.01")
COST_PLACES = Decimal("0.0001")


@dataclass(frozen=True)
class Page:
    rows: list[dict[str, Any]]
    total: int


def near_expiry(session: Session, *, today: date, days: int = 30, site: str | None = None,
                sku: str | None = None, scope: Scope = None, include_expired: bool = True,
                limit: int = 50, offset: int = 0) -> Page:
    """Lots in stock expiring within ``days`` of ``today`` (and, with ``include_expired``, those
    already expired), soonest first."""
    last = today + timedelta(days=days)
    first = None if include_expired else today
    return _page(session, today, first, last, site=site, sku=sku, scope=scope, limit=limit,
                 offset=offset)


def expired(session: Session, *, today: date, site: str | None = None, sku: str | None = None,
            scope: Scope = None, limit: int = 50, offset: int = 0) -> Page:
    """Lots in stock whose expiry date is before ``today``, longest expired first."""
    return _page(session, today, None, today - timedelta(days=1), site=site, sku=sku,
                 scope=scope, limit=limit, offset=offset)


def _page(session: Session, today: date, first: date | None, last: date, *, site: str | None,
          sku: str | None, scope: Scope, limit: int, offset: int) -> Page:
    query = _grouped(first, last, site=site, sku=sku, scope=scope)
    total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
    rows = session.execute(query.order_by(Lot.expiry_date, Sku.code, Location.code, Lot.code)
                           .limit(limit).offset(offset)).all()
    costs = _average_costs(session, sorted({r.sku_id for r in rows}))
    return Page([_row(r, today, costs.get(r.sku_id)) for r in rows], total)


def _grouped(first: date | None, last: date, *, site: str | None, sku: str | None,
             scope: Scope) -> Select[Any]:
    qty = func.sum(StockBalance.qty)
    query = (select(StockBalance.sku_id, Sku.code.label("sku"), Sku.name, Sku.uom,
                    Location.code.label("site"), Lot.code.label("lot"), Lot.production_date,
                    Lot.expiry_date, qty.label("qty"))
             .join(Lot, (Lot.sku_id == StockBalance.sku_id) & (Lot.code == StockBalance.lot))
             .join(Sku, Sku.id == StockBalance.sku_id)
             .join(Location, Location.id == StockBalance.site_id)
             .where(StockBalance.status == StockStatus.AVAILABLE.value,
                    Lot.expiry_date.is_not(None), Lot.expiry_date <= last)
             .group_by(StockBalance.sku_id, Sku.code, Sku.name, Sku.uom, Location.code, Lot.code,
                       Lot.production_date, Lot.expiry_date)
             .having(qty > 0))
    if first is not None:
        query = query.where(Lot.expiry_date >= first)
    if site:
        query = query.where(Location.code == site)
    if sku:
        query = query.where(Sku.code == sku)
    if scope is not None:
        query = query.where(StockBalance.site_id.in_(sorted(scope)))
    return query


def _average_costs(session: Session, sku_ids: list[int]) -> dict[int, Decimal]:
    """The moving-average unit cost of each SKU that has a valued position."""
    if not sku_ids:
        return {}
    rows = session.execute(select(SkuCost.sku_id, SkuCost.qty, SkuCost.value)
                           .where(SkuCost.sku_id.in_(sku_ids), SkuCost.qty > 0))
    return {sku_id: value / qty for sku_id, qty, value in rows}


def _row(r: Any, today: date, cost: Decimal | None) -> dict[str, Any]:
    qty = Decimal(r.qty)
    return {"sku": r.sku, "name": r.name, "uom": r.uom, "site": r.site, "lot": r.lot,
            "production_date": r.production_date, "expiry_date": r.expiry_date,
            "days_left": (r.expiry_date - today).days, "qty": qty,
            "avg_cost": None if cost is None else cost.quantize(COST_PLACES),
            "value": None if cost is None else (qty * cost).quantize(CENTS)}


def urgency(days_left: int) -> str:
    """The colour class of a row: expired, within 7 days, within 30 days, later."""
    if days_left < 0:
        return "expired"
    if days_left <= 7:
        return "critical"
    if days_left <= 30:
        return "soon"
    return "later"
