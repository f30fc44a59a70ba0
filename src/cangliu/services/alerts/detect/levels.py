"""Stock level detectors per SKU × site: low stock (available below the safety stock or the
reorder point in force), stock-out (nothing available where there is a threshold or there was
stock) and over stock (above the maximum, or more days of cover than the rule allows).

Available is on hand in status available less what is reserved, over all bins of the site; the
thresholds are those in force (an unexpired override, else the newest computed), and the daily
demand is the newest computed one, so days of cover is available / daily demand (none without
demand)."""

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session

from cangliu.core.alerts import Check, Finding, Rule
from cangliu.core.ledger import StockStatus
from cangliu.db.models import Category, Sku, StockBalance, StockThreshold
from cangliu.services import thresholds
from cangliu.services.alerts.detect.findings import (
    Pair,
    Site,
    checked,
    number,
    settings,
    shown,
    stock_lines,
    touched,
    watched,
)
from cangliu.services.alerts.detect.findings import sites as site_rows
from cangliu.services.events import Event
from cangliu.services.thresholds import Levels


@dataclass
class _Stock:
    on_hand: Decimal = Decimal(0)
    reserved: Decimal = Decimal(0)


@dataclass(frozen=True)
class Position:
    """One SKU at one site with its thresholds (None: none computed) and demand."""

    pair: Pair
    sku: str
    site: Site
    category: str
    stock: _Stock
    levels: Levels | None
    demand: float | None
    abc: str | None

    @property
    def available(self) -> Decimal:
        return self.stock.on_hand - self.stock.reserved

    @property
    def key(self) -> str:
        return f"{self.sku}@{self.site.code}"

    @property
    def cover(self) -> float | None:
        return float(self.available) / self.demand if self.demand else None

    def values(self) -> dict[str, Any]:
        lv = self.levels
        return {"sku": self.sku, "site": self.site.code, "region": self.site.region,
                "category": self.category, "abc": self.abc, "on_hand": number(self.stock.on_hand),
                "available": number(self.available), "reserved": number(self.stock.reserved),
                "safety_stock": number(lv.safety_stock) if lv else None,
                "reorder_point": number(lv.reorder_point) if lv else None,
                "max_stock": number(lv.max_stock) if lv else None,
                "days_of_cover": self.cover, "daily_demand": self.demand}

    def finding(self, title: str, **params: str) -> Finding:
        return Finding(self.key, title, {"sku": self.sku, "site": self.site.code,
                                         "available": shown(self.available), **params},
                       site_id=self.pair[1], sku_id=self.pair[0], link=f"/stock/{self.sku}",
                       values=self.values())


def _narrowed(query: Select[Any], sku: Any, site: Any, pairs: set[Pair] | None,
              site_ids: frozenset[int] | None) -> Select[Any]:
    if pairs is not None:
        query = query.where(sku.in_({p[0] for p in pairs}), site.in_({p[1] for p in pairs}))
    if site_ids is not None:
        query = query.where(site.in_(site_ids))
    return query


def _stock(session: Session, pairs: set[Pair] | None, site_ids: frozenset[int] | None
           ) -> dict[Pair, _Stock]:
    """On hand and reserved in status available per pair; a pair with balances in another
    status only is there with nothing available (it had stock)."""
    query = _narrowed(select(StockBalance.sku_id, StockBalance.site_id, StockBalance.status,
                             func.sum(StockBalance.qty), func.sum(StockBalance.reserved))
                      .where(StockBalance.site_id.is_not(None))
                      .group_by(StockBalance.sku_id, StockBalance.site_id, StockBalance.status),
                      StockBalance.sku_id, StockBalance.site_id, pairs, site_ids)
    out: dict[Pair, _Stock] = {}
    for sku_id, site_id, status, qty, reserved in session.execute(query):
        found = out.setdefault((sku_id, site_id), _Stock())
        if status == StockStatus.AVAILABLE.value:
            found.on_hand += qty or 0
            found.reserved += reserved or 0
    return out


def _demand(session: Session, pairs: set[Pair] | None, site_ids: frozenset[int] | None
            ) -> dict[Pair, tuple[float | None, str | None]]:
    """The newest computed mean daily demand and ABC class per pair."""
    query = _narrowed(thresholds.newest(select(StockThreshold.sku_id, StockThreshold.site_id,
                                               StockThreshold.demand, StockThreshold.abc)),
                      StockThreshold.sku_id, StockThreshold.site_id, pairs, site_ids)
    return {(a, b): (d, abc) for a, b, d, abc in session.execute(query)}


def positions(session: Session, now: datetime, pairs: set[Pair] | None,
              site_ids: frozenset[int] | None) -> list[Position]:
    """Every pair with a threshold or a balance (only ``pairs`` when given), in ``site_ids``."""
    stock = _stock(session, pairs, site_ids)
    levels = thresholds.current(session, now.date(), None if pairs is None else list(pairs))
    demand = _demand(session, pairs, site_ids)
    keys = {p for p in {*stock, *levels} if (pairs is None or p in pairs)
            and (site_ids is None or p[1] in site_ids)}
    skus = {i: (code, cat or "") for i, code, cat in session.execute(
        select(Sku.id, Sku.code, Category.code).outerjoin(Category, Category.id == Sku.category_id)
        .where(Sku.id.in_({p[0] for p in keys})))} if keys else {}
    where = site_rows(session, {p[1] for p in keys}) if keys else {}
    return [Position(p, skus[p[0]][0], where[p[1]], skus[p[0]][1], stock.get(p, _Stock()),
                     levels.get(p), *demand.get(p, (None, None)))
            for p in sorted(keys) if p[0] in skus and p[1] in where]


Judge = Callable[[Position, dict[str, Any]], Finding | None]


def _run(session: Session, rule: Rule, now: datetime, event: Event | None,
         judge: Judge) -> Check | None:
    pairs = None if event is None else touched(session, rule, event)
    if pairs is not None and not pairs:
        return None
    found = positions(session, now, pairs, rule.site_ids)
    params = settings(rule)
    findings = [f for p in found if (f := judge(p, params)) is not None]
    if event is None:
        return checked(rule, findings, None)
    return checked(rule, findings, {f"{x['sku']}@{x['site']}" for x in stock_lines(event)
                                    if watched(rule, x.get("site_id"))})


def _low(p: Position, params: dict[str, Any]) -> Finding | None:
    level = "reorder_point" if params.get("level") == "reorder_point" else "safety_stock"
    if p.levels is None or p.available >= getattr(p.levels, level):
        return None
    return p.finding("Low stock: {sku} at {site} ({available} below {level})",
                     level=shown(getattr(p.levels, level)))


def _out(p: Position, params: dict[str, Any]) -> Finding | None:
    if p.available > 0:
        return None
    return p.finding("Stock-out: {sku} at {site} ({available} available)")


def _over(p: Position, params: dict[str, Any]) -> Finding | None:
    if p.levels is None or p.available <= 0:
        return None
    if p.available > p.levels.max_stock:
        return p.finding("Over stock: {sku} at {site} ({available} available, max {max_stock})",
                         max_stock=shown(p.levels.max_stock))
    days, cover = params.get("days_of_cover"), p.cover
    if days is not None and cover is not None and cover > float(days):
        return p.finding("Over stock: {sku} at {site} ({days} days of cover, more than {limit})",
                         days=shown(cover), limit=shown(float(days)))
    return None


def low_stock(session: Session, rule: Rule, now: datetime, event: Event | None) -> Check | None:
    return _run(session, rule, now, event, _low)


def stock_out(session: Session, rule: Rule, now: datetime, event: Event | None) -> Check | None:
    return _run(session, rule, now, event, _out)


def over_stock(session: Session, rule: Rule, now: datetime, event: Event | None) -> Check | None:
    return _run(session, rule, now, event, _over)
