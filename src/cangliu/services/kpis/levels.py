"""Stock levels now: the water-level view (available against safety stock, reorder point and
max), bin occupancy for the heatmap, and the risk lists (over-stock, stores about to run out)."""

from collections import defaultdict
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session, aliased

from cangliu.core.locations import LocationKind, SiteKind
from cangliu.db.models import Location, Sku, SkuCost, StockBalance, StockMove
from cangliu.db.repositories import masterdata as md
from cangliu.services import thresholds
from cangliu.services.kpis.reading import Filters, filters

ZERO = Decimal(0)
LEVELS = ("red", "yellow", "green", "over")
DEMAND_DAYS = 28  # the window daily demand is averaged over, for the run-out risk
STORE_KINDS = (SiteKind.STORE.value, SiteKind.ONLINE.value)


def level(available: Decimal, ss: Decimal, rop: Decimal, top: Decimal) -> str:
    """red: below safety stock; yellow: at or below the reorder point; green: up to max; over."""
    if available < ss:
        return "red"
    if available <= rop:
        return "yellow"
    return "green" if available <= top else "over"


def _available(session: Session, f: Filters) -> dict[tuple[int, int], Decimal]:
    """Available to promise per (sku_id, site_id), within the filters."""
    query = (select(StockBalance.sku_id, StockBalance.site_id,
                    func.sum(StockBalance.qty - StockBalance.reserved))
             .join(Sku, Sku.id == StockBalance.sku_id)
             .where(StockBalance.status == "available", StockBalance.site_id.is_not(None))
             .group_by(StockBalance.sku_id, StockBalance.site_id))
    if f.sites is not None:
        query = query.where(StockBalance.site_id.in_(f.sites))
    if f.categories is not None:
        query = query.where(func.coalesce(Sku.category_id, 0).in_(f.categories))
    return {(k, s): q for k, s, q in session.execute(query).tuples() if s is not None}


def _codes(session: Session, pairs: Any) -> tuple[dict[int, Sku], dict[int, Location]]:
    skus = {s.id: s for s in session.scalars(select(Sku).where(Sku.id.in_({p[0] for p in pairs})))}
    sites = {s.id: s for s in session.scalars(
        select(Location).where(Location.id.in_({p[1] for p in pairs})))}
    return skus, sites


def water_levels(session: Session, today: date, *, scope: frozenset[int] | None = None,
                 region: str | None = None, site: str | None = None, category: str | None = None,
                 limit: int = 200) -> dict[str, Any]:
    """Every SKU × site with levels: its colour, counted per colour, and the rows (the most
    urgent first, at most ``limit``)."""
    f = filters(session, scope=scope, region=region, site=site, category=category)
    available = _available(session, f)
    levels = {p: v for p, v in thresholds.current(session, today).items()
              if (f.sites is None or p[1] in f.sites)}
    if f.categories is not None:
        skus_in = set(session.scalars(select(Sku.id).where(
            func.coalesce(Sku.category_id, 0).in_(f.categories))))
        levels = {p: v for p, v in levels.items() if p[0] in skus_in}
    skus, sites = _codes(session, levels)
    rows = []
    for (sku_id, site_id), lv in levels.items():
        qty = available.get((sku_id, site_id), ZERO)
        rows.append({"sku": skus[sku_id].code, "sku_name": skus[sku_id].name,
                     "site": sites[site_id].code, "available": qty,
                     "safety_stock": lv.safety_stock, "reorder_point": lv.reorder_point,
                     "max_stock": lv.max_stock,
                     "level": level(qty, lv.safety_stock, lv.reorder_point, lv.max_stock)})
    counts = {c: sum(r["level"] == c for r in rows) for c in LEVELS}
    rows.sort(key=lambda r: (LEVELS.index(r["level"]), r["sku"], r["site"]))
    return {"counts": counts, "items": rows[:limit], "truncated": len(rows) > limit}


def bin_heatmap(session: Session, site: str, *, scope: frozenset[int] | None = None
                ) -> list[dict[str, Any]]:
    """Each bin of the site: its zone, load by weight and volume against its capacity, and the
    occupancy (the larger of the two percentages; None without capacity)."""
    f = filters(session, scope=scope, site=site)
    site_row = md.site_by_code(session, site)
    if f.sites is not None and site_row.id not in f.sites:
        return []
    zone = aliased(Location)
    bins = session.execute(select(Location, zone.code).outerjoin(zone, zone.id == Location.parent_id)
                           .where(Location.site_id == site_row.id, Location.kind == LocationKind.BIN,
                                  Location.deleted_at.is_(None)).order_by(Location.code)).all()
    load: dict[int, list[Decimal]] = defaultdict(lambda: [ZERO, ZERO])
    for loc, qty, kg, litres in session.execute(
            select(StockBalance.location_id, StockBalance.qty, Sku.weight_kg, Sku.volume_l)
            .join(Sku, Sku.id == StockBalance.sku_id)
            .where(StockBalance.site_id == site_row.id, StockBalance.qty > 0)):
        load[loc][0] += qty * (kg or ZERO)
        load[loc][1] += qty * (litres or ZERO)
    return [_bin_row(b, zone_code, *load[b.id]) for b, zone_code in bins]


def _pct(load: Decimal, capacity: Decimal | None) -> Decimal | None:
    return None if not capacity else (load * 100 / capacity).quantize(Decimal("0.1"))


def _bin_row(b: Location, zone_code: str | None, kg: Decimal, litres: Decimal) -> dict[str, Any]:
    by_weight, by_volume = _pct(kg, b.capacity_weight_kg), _pct(litres, b.capacity_volume_l)
    known = [p for p in (by_weight, by_volume) if p is not None]
    return {"bin": b.code, "zone": zone_code if zone_code and zone_code != "" else "-",
            "weight_kg": kg, "capacity_weight_kg": b.capacity_weight_kg, "weight_pct": by_weight,
            "volume_l": litres, "capacity_volume_l": b.capacity_volume_l,
            "volume_pct": by_volume, "occupancy_pct": max(known) if known else None}


def risks(session: Session, today: date, days: int = 7, limit: int = 20, *,
          scope: frozenset[int] | None = None, region: str | None = None,
          site: str | None = None, category: str | None = None) -> dict[str, Any]:
    """The top over-stock SKU × sites by the value above their max, and the store SKUs whose
    available stock covers fewer than ``days`` days of their recent daily demand."""
    f = filters(session, scope=scope, region=region, site=site, category=category)
    available = _available(session, f)
    return {"overstock": _overstock(session, today, available, limit),
            "runout": _runout(session, today, available, days, limit, f), "days": days}


def _overstock(session: Session, today: date, available: dict[tuple[int, int], Decimal],
               limit: int) -> list[dict[str, Any]]:
    levels = thresholds.current(session, today, list(available) or None) if available else {}
    costs = {c.sku_id: (c.value / c.qty if c.qty else ZERO) for c in session.scalars(
        select(SkuCost).where(SkuCost.sku_id.in_({p[0] for p in available})))}
    found = []
    for pair, qty in available.items():
        lv = levels.get(pair)
        if lv is not None and qty > lv.max_stock:
            excess = qty - lv.max_stock
            found.append((pair, qty, lv.max_stock, excess,
                          (excess * costs.get(pair[0], ZERO)).quantize(Decimal("0.01"))))
    found.sort(key=lambda x: (-x[4], -x[3]))
    skus, sites = _codes(session, [x[0] for x in found[:limit]])
    return [{"sku": skus[p[0]].code, "sku_name": skus[p[0]].name, "site": sites[p[1]].code,
             "available": q, "max_stock": m, "excess": e, "excess_value": v}
            for p, q, m, e, v in found[:limit]]


def _runout(session: Session, today: date, available: dict[tuple[int, int], Decimal], days: int,
            limit: int, f: Filters) -> list[dict[str, Any]]:
    demand = _daily_demand(session, today, f)
    stores = set(session.scalars(select(Location.id).where(Location.site_kind.in_(STORE_KINDS))))
    found = []
    for pair, daily in demand.items():
        if pair[1] in stores and daily > 0:
            left = available.get(pair, ZERO) / daily
            if left < days:
                found.append((pair, available.get(pair, ZERO), daily, left.quantize(Decimal("0.1"))))
    found.sort(key=lambda x: (x[3], -x[2]))
    skus, sites = _codes(session, [x[0] for x in found[:limit]])
    return [{"sku": skus[p[0]].code, "sku_name": skus[p[0]].name, "site": sites[p[1]].code,
             "available": q, "daily_demand": d.quantize(Decimal("0.01")), "days_left": left}
            for p, q, d, left in found[:limit]]


def _daily_demand(session: Session, today: date, f: Filters) -> dict[tuple[int, int], Decimal]:
    """Mean daily quantity shipped to customers per (sku_id, site_id) over the last 28 days."""
    since = datetime.combine(today - timedelta(days=DEMAND_DAYS - 1), time(), tzinfo=UTC)
    src, dst = aliased(Location), aliased(Location)
    query = (select(StockMove.sku_id, src.site_id, func.sum(StockMove.qty))
             .join(src, src.id == StockMove.from_location_id)
             .join(dst, dst.id == StockMove.to_location_id)
             .join(Sku, Sku.id == StockMove.sku_id)
             .where(dst.kind == LocationKind.CUSTOMER, src.site_id.is_not(None),
                    StockMove.occurred_at >= since)
             .group_by(StockMove.sku_id, src.site_id))
    if f.sites is not None:
        query = query.where(src.site_id.in_(f.sites))
    if f.categories is not None:
        query = query.where(func.coalesce(Sku.category_id, 0).in_(f.categories))
    return {(k, s): q / DEMAND_DAYS for k, s, q in session.execute(query).tuples()
            if s is not None}
