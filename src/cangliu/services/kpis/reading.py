"""Reading the KPIs: the snapshot rows of a period (today's computed live), filtered by site
scope, region, site and category, summed into ``Totals`` per group and evaluated."""

from collections import defaultdict
from collections.abc import Callable, Hashable
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from cangliu.core.errors import ValidationFailed
from cangliu.db.models import Category, Location
from cangliu.db.models.kpis import KpiSiteSnapshot, KpiSnapshot
from cangliu.services.kpis.definitions import Totals, evaluate
from cangliu.services.kpis.snapshots import CategoryDay, SiteDay, compute, values

CATEGORY_FIELDS = tuple(values(CategoryDay()))
SITE_FIELDS = tuple(values(SiteDay()))


@dataclass(frozen=True)
class Filters:
    """Which sites (None: all) and categories (None: all) a question covers."""

    sites: frozenset[int] | None
    categories: frozenset[int] | None


@dataclass(frozen=True)
class Row:
    day: date
    site_id: int
    category_id: int | None  # None: a site row (document measures)
    measures: dict[str, Any]


def _subtree(session: Session, code: str) -> frozenset[int]:
    rows = session.execute(select(Category.id, Category.code, Category.parent_id)).all()
    root = next((r.id for r in rows if r.code == code), None)
    if root is None:
        raise ValidationFailed.single("category", "unknown {label} {code}", label="category",
                                      code=code)
    found, frontier = {root}, {root}
    while frontier:
        frontier = {r.id for r in rows if r.parent_id in frontier} - found
        found |= frontier
    return frozenset(found)


def filters(session: Session, *, scope: frozenset[int] | None = None, region: str | None = None,
            site: str | None = None, category: str | None = None) -> Filters:
    """The site and category ids the filters leave (site scope always applies)."""
    sites: frozenset[int] | None = scope
    if region or site:
        query = select(Location.id).where(Location.kind == "site")
        if region:
            query = query.where(Location.region == region)
        if site:
            query = query.where(Location.code == site)
        chosen = frozenset(session.scalars(query))
        if site and not chosen:
            raise ValidationFailed.single("site", "unknown {label} {code}", label="site", code=site)
        sites = chosen if sites is None else sites & chosen
    categories = None
    if category:
        categories = _subtree(session, category) if category != "-" else frozenset({0})
    return Filters(sites, categories)


def rows(session: Session, start: date, end: date, f: Filters, *, today: date | None = None
         ) -> list[Row]:
    """The period's rows: stored snapshots, except ``today`` (when given) computed live."""
    last = end if today is None or today > end else today - timedelta(days=1)
    cat_q = select(KpiSnapshot).where(KpiSnapshot.day >= start, KpiSnapshot.day <= last)
    site_q = select(KpiSiteSnapshot).where(KpiSiteSnapshot.day >= start, KpiSiteSnapshot.day <= last)
    if f.sites is not None:
        cat_q = cat_q.where(KpiSnapshot.site_id.in_(f.sites))
        site_q = site_q.where(KpiSiteSnapshot.site_id.in_(f.sites))
    if f.categories is not None:
        cat_q = cat_q.where(KpiSnapshot.category_id.in_(f.categories))
    out = [Row(r.day, r.site_id, r.category_id, {k: getattr(r, k) for k in CATEGORY_FIELDS})
           for r in session.scalars(cat_q)]
    out += [Row(r.day, r.site_id, None, {k: getattr(r, k) for k in SITE_FIELDS})
            for r in session.scalars(site_q)]
    if today is not None and start <= today <= end:
        out += live_rows(session, today, f)
    return out


def live_rows(session: Session, day: date, f: Filters) -> list[Row]:
    """The day's rows computed from the live tables, once per session (a page asks several
    questions about today)."""
    cache: dict[date, Any] = session.info.setdefault("cangliu.kpis.live", {})
    found = cache.get(day) or cache.setdefault(day, compute(session, day))
    out = [Row(day, s, c, values(v)) for (s, c), v in found.categories.items()
           if (f.sites is None or s in f.sites) and (f.categories is None or c in f.categories)]
    out += [Row(day, s, None, values(v)) for s, v in found.sites.items()
            if f.sites is None or s in f.sites]
    return out


def totals(group: list[Row], start: date, end: date, *, by_lines: bool) -> Totals:
    """The sums of one group's rows over [start, end]."""
    t = Totals(days=(end - start).days + 1, by_lines=by_lines)
    sums: dict[str, Any] = defaultdict(int)
    last = max((r.day for r in group if r.category_id is not None), default=None)
    for r in group:
        if r.category_id is not None:
            t.value_days += r.measures["stock_value"]
            if r.day == last:
                t.end_value += r.measures["stock_value"]
                t.end_qty += r.measures["on_hand_qty"]
        for k, v in r.measures.items():
            sums[k] += v
    t.sums = dict(sums)
    return t


def grouped(session: Session, start: date, end: date, f: Filters, key: Callable[[Row], Hashable],
            *, today: date | None = None, by_lines: bool | None = None
            ) -> dict[Hashable, dict[str, Decimal | None]]:
    """KPIs per group of rows (``key`` None drops a row); ``by_lines``: count stock-outs by
    order line (the default when categories are filtered)."""
    groups: dict[Hashable, list[Row]] = defaultdict(list)
    for r in rows(session, start, end, f, today=today):
        k = key(r)
        if k is not None:
            groups[k].append(r)
    lines = f.categories is not None if by_lines is None else by_lines
    return {k: evaluated(totals(g, start, end, by_lines=lines))
            for k, g in groups.items()}


def evaluated(t: Totals) -> dict[str, Decimal | None]:
    """The KPIs of the totals, with the quantity on hand at the end."""
    return {**evaluate(t), "on_hand_qty": t.end_qty}


def summary(session: Session, start: date, end: date, *, scope: frozenset[int] | None = None,
            region: str | None = None, site: str | None = None, category: str | None = None,
            today: date | None = None) -> dict[str, Decimal | None]:
    """KPI code → value for the period [start, end] (days inclusive)."""
    if end < start:
        raise ValidationFailed.single("end", "must not be before the start date")
    f = filters(session, scope=scope, region=region, site=site, category=category)
    found = grouped(session, start, end, f, lambda r: "all", today=today)
    if "all" in found:
        return found["all"]
    return evaluated(Totals(days=(end - start).days + 1, by_lines=f.categories is not None))
