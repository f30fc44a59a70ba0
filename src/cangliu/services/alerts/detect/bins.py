"""Bin capacity detector: the weight and the volume stored in a bin (each SKU's unit weight and
volume × its quantity there, whatever its status) against the bin's capacity; a bin over the
rule's percent of a capacity is one finding per measure ("bin:A1:weight", "bin:A1:volume").
On a stock event only the bins of the sites the event touched are examined."""

from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from cangliu.core.alerts import Check, Finding, Rule
from cangliu.db.models import Location, Sku, StockBalance
from cangliu.services.alerts.detect.findings import (
    checked,
    number,
    settings,
    shown,
    sites,
    stock_lines,
    watched,
)
from cangliu.services.events import Event

MEASURES = ("weight", "volume")
TITLES = {
    "weight": "Bin {bin} at {site} holds {pct}% of its weight capacity ({stored} of {capacity} kg)",
    "volume": "Bin {bin} at {site} holds {pct}% of its volume capacity ({stored} of {capacity} L)"}


@dataclass
class _Bin:
    id: int
    code: str
    site_id: int
    capacity: dict[str, Decimal | None]
    stored: dict[str, Decimal] = field(default_factory=lambda: {"weight": Decimal(0),
                                                                "volume": Decimal(0)})

    def percent(self, measure: str) -> float | None:
        cap = self.capacity[measure]
        return float(self.stored[measure] / cap * 100) if cap else None


def _bins(session: Session, site_ids: set[int] | frozenset[int] | None) -> dict[int, _Bin]:
    query = select(Location.id, Location.code, Location.site_id, Location.capacity_weight_kg,
                   Location.capacity_volume_l).where(
        Location.kind == "bin", Location.deleted_at.is_(None),
        or_(Location.capacity_weight_kg > 0, Location.capacity_volume_l > 0))
    if site_ids is not None:
        query = query.where(Location.site_id.in_(site_ids))
    return {i: _Bin(i, code, site, {"weight": kg, "volume": litres})
            for i, code, site, kg, litres in session.execute(query)}


def _fill(session: Session, bins: dict[int, _Bin]) -> None:
    """Add what each bin holds, SKU by SKU (stored quantities are exact decimals: multiply here)."""
    if not bins:
        return
    qty = func.sum(StockBalance.qty)
    rows = session.execute(
        select(StockBalance.location_id, Sku.weight_kg, Sku.volume_l, qty)
        .join(Sku, Sku.id == StockBalance.sku_id)
        .where(StockBalance.location_id.in_(set(bins)))
        .group_by(StockBalance.location_id, Sku.id, Sku.weight_kg, Sku.volume_l).having(qty > 0))
    for location_id, kg, litres, held in rows:
        stored = bins[location_id].stored
        stored["weight"] += (kg or 0) * held
        stored["volume"] += (litres or 0) * held


def _values(b: _Bin, site: Any) -> dict[str, Any]:
    return {"bin": b.code, "site": site.code, "region": site.region,
            "weight_pct": b.percent("weight"), "volume_pct": b.percent("volume"),
            "weight": number(b.stored["weight"]), "volume": number(b.stored["volume"])}


def _findings(b: _Bin, site: Any, percent: float) -> list[Finding]:
    out = []
    for measure in MEASURES:
        pct = b.percent(measure)
        if pct is None or pct <= percent:
            continue
        out.append(Finding(
            f"bin:{b.code}:{measure}", TITLES[measure],
            {"bin": b.code, "site": site.code, "pct": shown(pct),
             "stored": shown(b.stored[measure]), "capacity": shown(b.capacity[measure] or 0)},
            site_id=b.site_id, link=f"/md/locations/{b.code}", values=_values(b, site)))
    return out


def bin_over_capacity(session: Session, rule: Rule, now: datetime, event: Event | None
                      ) -> Check | None:
    scope: set[int] | frozenset[int] | None = rule.site_ids
    if event is not None:
        scope = {int(x["site_id"]) for x in stock_lines(event) if watched(rule, x.get("site_id"))}
        if not scope:
            return None
    bins = _bins(session, scope)
    _fill(session, bins)
    where = sites(session, {b.site_id for b in bins.values()})
    percent = float(settings(rule)["percent"])
    findings = [f for b in bins.values() for f in _findings(b, where[b.site_id], percent)]
    keys = None if event is None else {f"bin:{b.code}:{m}" for b in bins.values()
                                       for m in MEASURES if b.capacity[m]}
    return checked(rule, findings, keys)
