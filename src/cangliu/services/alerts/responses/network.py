"""Where one SKU stands across the network, as the replenishing responses read it: per site what
it has (available, plus what is on the way: in transit, on order, on transfers not shipped yet),
what it can give (available above its own safety stock, less what unshipped transfers take away)
and the levels in force. A site without levels gives nothing, as in the planning run."""

from dataclasses import dataclass
from datetime import date
from decimal import ROUND_DOWN, Decimal

from sqlalchemy import select
from sqlalchemy.orm import Session

from cangliu.db import queries
from cangliu.db.models import Location, Sku, TransferLine, TransferOrder
from cangliu.services import thresholds
from cangliu.services.planning_state import UNSHIPPED
from cangliu.services.thresholds import Levels

ZERO = Decimal(0)


@dataclass(frozen=True)
class Position:
    """One site's standing for the SKU; ``has`` counts what is on the way to it."""

    site_id: int
    site: str
    available: Decimal
    inbound: Decimal  # in transit to it, on open purchase orders, on unshipped transfers
    outbound: Decimal  # on unshipped transfers out of it
    levels: Levels | None

    @property
    def has(self) -> Decimal:
        return self.available + self.inbound - self.outbound

    @property
    def surplus(self) -> Decimal:
        """What it may give: available above its safety stock (nothing without levels)."""
        if self.levels is None:
            return ZERO
        return max(ZERO, self.available - self.outbound - self.levels.safety_stock)

    @property
    def above_max(self) -> Decimal:
        """What an over-stocked site may give: available above its max (and its safety stock)."""
        if self.levels is None:
            return ZERO
        floor = max(self.levels.max_stock, self.levels.safety_stock)
        return max(ZERO, self.available - self.outbound - floor)

    def lacks(self, up_to_max: bool) -> Decimal:
        """What it needs to reach its max stock (else its reorder point), counting the way."""
        if self.levels is None:
            return ZERO
        level = self.levels.max_stock if up_to_max else self.levels.reorder_point
        return max(ZERO, level - self.has)


def _unshipped(session: Session, sku_id: int) -> tuple[dict[int, Decimal], dict[int, Decimal]]:
    """Units of the SKU on transfers not shipped yet: (coming per destination, going per source)."""
    coming: dict[int, Decimal] = {}
    going: dict[int, Decimal] = {}
    for src, dst, qty in session.execute(
            select(TransferOrder.source_site_id, TransferOrder.dest_site_id, TransferLine.qty)
            .join(TransferOrder, TransferOrder.id == TransferLine.transfer_id)
            .where(TransferLine.sku_id == sku_id, TransferOrder.state.in_(UNSHIPPED))):
        coming[dst] = coming.get(dst, ZERO) + qty
        going[src] = going.get(src, ZERO) + qty
    return coming, going


def positions(session: Session, sku: Sku, today: date) -> dict[int, Position]:
    """Every active site's position for ``sku`` (sites without stock or levels included)."""
    sites = dict(session.execute(select(Location.id, Location.code).where(
        Location.kind == "site", Location.active, Location.deleted_at.is_(None))).tuples().all())
    figures = {r["site"]: r for r in queries.single_view(session, sku.code)["sites"]}
    levels = thresholds.current(session, today, [(sku.id, site_id) for site_id in sites])
    coming, going = _unshipped(session, sku.id)
    out = {}
    for site_id, code in sites.items():
        f = figures.get(code, {})
        out[site_id] = Position(
            site_id, code, f.get("available", ZERO),
            f.get("in_transit_in", ZERO) + f.get("on_order", ZERO) + coming.get(site_id, ZERO),
            going.get(site_id, ZERO), levels.get((sku.id, site_id)))
    return out


def best_source(network: dict[int, Position], target: int) -> Position | None:
    """The site with the most to give, other than ``target``; None when nobody can give."""
    givers = [p for p in network.values() if p.site_id != target and p.surplus > 0]
    return max(givers, key=lambda p: (p.surplus, -p.site_id), default=None)


def neediest(network: dict[int, Position], source: int) -> Position | None:
    """The site lacking most up to its reorder point, other than ``source``; None: none lacks."""
    takers = [p for p in network.values() if p.site_id != source and p.lacks(up_to_max=False) > 0]
    return max(takers, key=lambda p: (p.lacks(up_to_max=False), -p.site_id), default=None)


def whole(qty: Decimal, sku: Sku) -> Decimal:
    """``qty`` cut down to the SKU's decimals (a response never moves more than it may)."""
    return qty.quantize(Decimal(1).scaleb(-sku.decimals), rounding=ROUND_DOWN)
