"""Drill-down: the period's KPIs per region, then per site of a region, per category of a site,
and per SKU of a category (computed from the ledger: SKUs have no snapshot)."""

from collections import defaultdict
from collections.abc import Hashable
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, aliased

from cangliu.core.errors import ValidationFailed
from cangliu.core.locations import LocationKind
from cangliu.db.models import Category, Location, Sku, StockMove
from cangliu.services.kpis.definitions import ZERO, Totals
from cangliu.services.kpis.reading import Filters, evaluated, filters, grouped
from cangliu.services.kpis.snapshots import bounds

LEVELS = ("region", "site", "category", "sku")
NEXT = {"region": "site", "site": "category", "category": "sku", "sku": None}


def drill(session: Session, start: date, end: date, level: str, *,
          scope: frozenset[int] | None = None, region: str | None = None, site: str | None = None,
          category: str | None = None, today: date | None = None) -> list[dict[str, Any]]:
    """One row per region, site, category or SKU (``level``) within the filters, largest
    inventory value first: its key (code), name and KPIs."""
    if level not in LEVELS:
        raise ValidationFailed.single("level", "must be one of {names}", names=", ".join(LEVELS))
    f = filters(session, scope=scope, region=region, site=site, category=category)
    if level == "sku":
        if not category:
            raise ValidationFailed.single("category", "choose a category to see its SKUs")
        found = _by_sku(session, start, end, f)
    else:
        names = _names(session, level)
        per = grouped(session, start, end, f, _keyer(session, level), today=today,
                      by_lines=level == "category" or category is not None)
        found = {names.get(k, (str(k), str(k))): v for k, v in per.items()}
    out = [{"key": key, "name": name, **kpis} for (key, name), kpis in found.items()]
    return sorted(out, key=lambda r: (-(r["inventory_value"] or ZERO), r["key"]))


def _keyer(session: Session, level: str) -> Any:
    if level == "region":
        regions = dict(session.execute(select(Location.id, Location.region).where(
            Location.kind == LocationKind.SITE)).tuples().all())
        return lambda r: regions.get(r.site_id) or "-"
    if level == "site":
        return lambda r: r.site_id
    return lambda r: r.category_id  # site rows (None) carry no category: dropped


def _names(session: Session, level: str) -> dict[Hashable, tuple[str, str]]:
    if level == "region":
        return {}
    if level == "site":
        return {i: (c, n) for i, c, n in session.execute(select(
            Location.id, Location.code, Location.name).where(Location.kind == LocationKind.SITE))}
    out: dict[Hashable, tuple[str, str]] = {i: (c, n) for i, c, n in session.execute(
        select(Category.id, Category.code, Category.name))}
    out[0] = ("-", "-")
    return out


def _by_sku(session: Session, start: date, end: date, f: Filters
            ) -> dict[tuple[str, str], dict[str, Decimal | None]]:
    """Per SKU of the categories: end-of-day value replayed from the ledger for every day of
    the period, and the period's COGS (SKUs without a move until the end are left out)."""
    skus = {i: (c, n) for i, c, n in session.execute(select(Sku.id, Sku.code, Sku.name).where(
        Sku.category_id.in_(f.categories or ()) if f.categories != frozenset({0})
        else Sku.category_id.is_(None)))}
    src, dst = aliased(Location), aliased(Location)
    moves = session.execute(
        select(StockMove.sku_id, StockMove.occurred_at, StockMove.qty, StockMove.value,
               src.site_id, dst.site_id, src.kind, dst.kind)
        .join(src, src.id == StockMove.from_location_id)
        .join(dst, dst.id == StockMove.to_location_id)
        .where(StockMove.sku_id.in_(skus), StockMove.occurred_at < bounds(end)[1])
        .order_by(StockMove.occurred_at)).all()
    totals: dict[int, Totals] = defaultdict(lambda: Totals(days=(end - start).days + 1,
                                                           by_lines=True))
    state: dict[int, list[Decimal]] = defaultdict(lambda: [ZERO, ZERO])  # qty, value
    day, i = start, 0
    while day <= end:
        limit = bounds(day)[1]
        while i < len(moves) and moves[i].occurred_at < limit:
            _apply(moves[i], f.sites, state, totals, start)
            i += 1
        for sku_id, (qty, value) in state.items():
            totals[sku_id].value_days += value
            totals[sku_id].end_qty, totals[sku_id].end_value = qty, value
        day += timedelta(days=1)
    return {skus[k]: evaluated(t) for k, t in totals.items()}


def _apply(move: Any, sites: frozenset[int] | None, state: dict[int, list[Decimal]],
           totals: dict[int, Totals], start: date) -> None:
    sku_id, at, qty, value, src_site, dst_site, src_kind, dst_kind = move
    value = value or ZERO

    def inside(site: int | None) -> bool:
        return site is not None and (sites is None or site in sites)

    sign = inside(dst_site) - inside(src_site)
    state[sku_id][0] += sign * qty
    state[sku_id][1] += sign * value
    if at >= bounds(start)[0]:
        cogs = totals[sku_id].sums.setdefault("cogs", ZERO)
        if dst_kind == LocationKind.CUSTOMER and inside(src_site):
            totals[sku_id].sums["cogs"] = cogs + value
        elif src_kind == LocationKind.CUSTOMER and inside(dst_site):
            totals[sku_id].sums["cogs"] = cogs - value
