"""Lot detectors per SKU × site × lot with stock available there (summed over the site's bins,
as on the near-expiry page): near expiry (expiring within the rule's days, not yet expired)
and expired (expiry date before today). Value is at the SKU's moving-average cost."""

from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from cangliu.core.alerts import Check, Finding, Rule
from cangliu.core.ledger import StockStatus
from cangliu.db.models import Category, Location, Lot, Sku, SkuCost, StockBalance
from cangliu.services.alerts.detect.findings import checked, number, settings, shown
from cangliu.services.events import Event


def _lots(session: Session, rule: Rule, first: date | None, last: date) -> list[Any]:
    qty = func.sum(StockBalance.qty)
    query = (select(StockBalance.sku_id, StockBalance.site_id, Sku.code.label("sku"),
                    Category.code.label("category"), Location.code.label("site"),
                    Location.region, Lot.code.label("lot"), Lot.expiry_date, qty.label("qty"),
                    SkuCost.qty.label("cost_qty"), SkuCost.value.label("cost_value"))
             .join(Lot, (Lot.sku_id == StockBalance.sku_id) & (Lot.code == StockBalance.lot))
             .join(Sku, Sku.id == StockBalance.sku_id)
             .outerjoin(Category, Category.id == Sku.category_id)
             .outerjoin(SkuCost, SkuCost.sku_id == StockBalance.sku_id)
             .join(Location, Location.id == StockBalance.site_id)
             .where(StockBalance.status == StockStatus.AVAILABLE.value,
                    Lot.expiry_date.is_not(None), Lot.expiry_date <= last)
             .group_by(StockBalance.sku_id, StockBalance.site_id, Sku.code, Category.code,
                       Location.code, Location.region, Lot.code, Lot.expiry_date, SkuCost.qty,
                       SkuCost.value)
             .having(qty > 0))
    if first is not None:
        query = query.where(Lot.expiry_date >= first)
    if rule.site_ids is not None:
        query = query.where(StockBalance.site_id.in_(rule.site_ids))
    return list(session.execute(query))


def _finding(row: Any, today: date, title: str) -> Finding:
    days_left = (row.expiry_date - today).days
    cost = row.cost_value / row.cost_qty if row.cost_qty else None
    value = row.qty * cost if cost is not None else None
    values = {"sku": row.sku, "site": row.site, "region": row.region or "",
              "category": row.category or "", "lot": row.lot, "days_left": float(days_left),
              "qty": number(row.qty), "value": number(value)}
    return Finding(f"lot:{row.sku}@{row.site}:{row.lot}", title,
                   {"sku": row.sku, "site": row.site, "lot": row.lot, "qty": shown(row.qty),
                    "days": str(abs(days_left)), "expiry": row.expiry_date.isoformat()},
                   site_id=row.site_id, sku_id=row.sku_id, link=f"/stock/{row.sku}",
                   values=values)


def near_expiry(session: Session, rule: Rule, now: datetime, event: Event | None
                ) -> Check | None:
    if event is not None:
        return None
    today = now.date()
    days = int(float(str(settings(rule)["days"])))
    rows = _lots(session, rule, today, today + timedelta(days=days))
    title = "Lot {lot} of {sku} at {site} expires in {days} days ({expiry}, {qty} in stock)"
    return checked(rule, [_finding(r, today, title) for r in rows], None)


def expired(session: Session, rule: Rule, now: datetime, event: Event | None) -> Check | None:
    if event is not None:
        return None
    today = now.date()
    rows = _lots(session, rule, None, today - timedelta(days=1))
    title = "Lot {lot} of {sku} at {site} expired {days} days ago ({expiry}, {qty} in stock)"
    return checked(rule, [_finding(r, today, title) for r in rows], None)

