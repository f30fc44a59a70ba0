"""Put-away suggestions: the bins of a site that should take arriving stock, by their free capacity.

A bin's load is its current stock (every SKU, every status) times each SKU's unit volume and
weight, read from balances; the choice itself is ``core.putaway.plan_putaway``.
"""

from decimal import Decimal

from sqlalchemy import func, select

from cangliu.core.ledger import parse_qty
from cangliu.core.locations import LocationKind
from cangliu.core.putaway import BinLoad, Placement, PutawayPlan, Unit, plan_putaway
from cangliu.db.models import Location, Sku, StockBalance
from cangliu.db.repositories import masterdata as md
from cangliu.db.uow import UnitOfWork
from cangliu.services.idempotency import Result


def unit_of(sku: Sku) -> Unit:
    return Unit(volume=sku.volume_l, weight=sku.weight_kg, decimals=sku.decimals)


class SiteBins:
    """The bins of one site with their load; plans several lines in turn, each one seeing the
    space the lines before it were given."""

    def __init__(self, uow: UnitOfWork, site: Location) -> None:
        s = uow.session
        self.bins = {b.code: b for b in s.scalars(select(Location).where(
            Location.site_id == site.id, Location.kind == LocationKind.BIN.value,
            Location.active.is_(True)).order_by(Location.code))}
        ids = {b.id: b.code for b in self.bins.values()}
        stock = s.execute(select(StockBalance.location_id, StockBalance.sku_id,
                                 func.sum(StockBalance.qty))
                          .where(StockBalance.site_id == site.id, StockBalance.qty > 0,
                                 StockBalance.location_id.in_(list(ids)))
                          .group_by(StockBalance.location_id, StockBalance.sku_id)).tuples().all()
        sizes = {sid: (vol or Decimal(0), kg or Decimal(0)) for sid, vol, kg in s.execute(
            select(Sku.id, Sku.volume_l, Sku.weight_kg).where(
                Sku.id.in_({sku_id for _l, sku_id, _q in stock})))}
        self.volume = dict.fromkeys(self.bins, Decimal(0))
        self.weight = dict.fromkeys(self.bins, Decimal(0))
        self.skus: dict[str, set[int]] = {code: set() for code in self.bins}
        for location_id, sku_id, qty in stock:
            code = ids[location_id]
            self.volume[code] += qty * sizes[sku_id][0]
            self.weight[code] += qty * sizes[sku_id][1]
            self.skus[code].add(sku_id)

    def plan(self, sku: Sku, qty: Decimal) -> PutawayPlan:
        """Propose bins for ``qty`` of ``sku`` and count that space as taken for the next line."""
        unit = unit_of(sku)
        loads = [BinLoad(code, b.capacity_volume_l, b.capacity_weight_kg, self.volume[code],
                         self.weight[code], sku.id in self.skus[code])
                 for code, b in self.bins.items()]
        plan = plan_putaway(qty, unit, loads)
        for p in plan.placements:
            self.volume[p.bin] += p.qty * (unit.volume or Decimal(0))
            self.weight[p.bin] += p.qty * (unit.weight or Decimal(0))
            self.skus[p.bin].add(sku.id)
        return plan


def plan_answer(plan: PutawayPlan) -> Result:
    return {"placements": [_placement(p) for p in plan.placements], "unplaced": str(plan.unplaced)}


def _placement(p: Placement) -> dict[str, str]:
    return {"bin": p.bin, "qty": str(p.qty)}


def suggest_putaway(uow: UnitOfWork, *, site: str, sku: str, qty: Decimal | str) -> Result:
    """Where ``qty`` of ``sku`` arriving at ``site`` should be stored."""
    with uow:
        site_row = md.site_by_code(uow.session, site)
        item = md.sku_by_code(uow.session, sku)
        amount = parse_qty(qty, field="qty", decimals=item.decimals)
        plan = SiteBins(uow, site_row).plan(item, amount)
        return {"site": site, "sku": sku, "qty": str(amount), **plan_answer(plan)}
