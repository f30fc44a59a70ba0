"""Valuation inside a posting: stamp every move with its unit cost and value and keep each SKU's
position — by moving average, or from FIFO cost layers for SKUs whose category asks for it.

Also the inventory value report by site and category, at any past date, summed from the
values the moves carry, and the rule that a SKU changes valuation method only while the
company holds none of it.
"""

from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime
from decimal import Decimal
from functools import lru_cache
from typing import Any, cast

from sqlalchemy import BigInteger, String, Table, TextualSelect, bindparam, func, insert, select, text
from sqlalchemy.orm import Session, aliased

from cangliu.core import valuation
from cangliu.core.errors import Conflict
from cangliu.core.ledger import Move
from cangliu.core.locations import HOLDS_STOCK
from cangliu.core.valuation import Layer, Layers, NotHeld, Position
from cangliu.db.models import Category, Location, Sku, SkuCost, StockMove
from cangliu.db.models.ledger import CostLayer
from cangliu.db.types import Exact

FIFO = "fifo"
LAYER = cast(Table, CostLayer.__table__)

# Prebuilt statements (SQLAlchemy cannot cache ON CONFLICT constructs; recompiling them on every
# posting cost more than the round trips). PostgreSQL and SQLite accept the same text.
_METHOD = ("(SELECT category.valuation FROM sku JOIN category ON category.id = sku.category_id"
           " WHERE sku.id = sku_cost.sku_id)")


@lru_cache(maxsize=64)
def _lock(count: int) -> TextualSelect:
    """Lock (creating on first use) the cost rows of ``count`` SKUs, given as :s0, :s1 … in id
    order, and read them with each SKU's valuation method: one round trip. The no-op update is
    what takes the row lock, like SELECT … FOR UPDATE would after an INSERT … DO NOTHING."""
    values = ", ".join(f"(:s{i}, 0, 0)" for i in range(count))
    return text(f"INSERT INTO sku_cost (sku_id, qty, value) VALUES {values} ON CONFLICT (sku_id)"
                f" DO UPDATE SET qty = sku_cost.qty RETURNING sku_id, qty, value, {_METHOD}"
                ).columns(sku_id=BigInteger, qty=Exact, value=Exact, valuation=String)


_SAVE = text("UPDATE sku_cost SET qty = :qty, value = :value WHERE sku_id = :sku_id").bindparams(
    bindparam("qty", type_=Exact()), bindparam("value", type_=Exact()))
_OPEN_LAYERS = (select(LAYER.c.id, LAYER.c.sku_id, LAYER.c.ref, LAYER.c.remaining, LAYER.c.value,
                       LAYER.c.unit_cost, LAYER.c.qty)
                # a literal 0, so both databases see the open-layer index's own predicate
                .where(LAYER.c.sku_id.in_(bindparam("sku_ids", expanding=True)),
                       text("cost_layer.remaining > 0"))
                .order_by(LAYER.c.sku_id, LAYER.c.id))
_SAVE_LAYER = text("UPDATE cost_layer SET remaining = :remaining, value = :value WHERE id = :id"
                   ).bindparams(bindparam("remaining", type_=Exact()),
                                bindparam("value", type_=Exact()))


def _positions(session: Session, sku_ids: list[int]) -> tuple[dict[int, Position], set[int]]:
    """Lock each SKU's cost row (created on first use) in id order, and read it with the SKU's
    valuation method: the positions, and which SKUs are valued FIFO."""
    positions, fifo = {}, set()
    rows = session.execute(_lock(len(sku_ids)), {f"s{i}": s for i, s in enumerate(sku_ids)})
    for sku_id, qty, value, method in rows:
        positions[sku_id] = Position(qty, value)
        if method == FIFO:
            fifo.add(sku_id)
    return positions, fifo


def _open_layers(session: Session, fifo: set[int]) -> dict[int, Layers]:
    """The open cost layers of the FIFO SKUs, oldest first (their cost rows are locked)."""
    found: dict[int, list[Layer]] = {s: [] for s in fifo}
    for layer_id, sku_id, ref, remaining, value, unit_cost, qty in session.execute(
            _OPEN_LAYERS, {"sku_ids": sorted(fifo)}):
        found[sku_id].append(Layer(ref, remaining, value, unit_cost, qty, layer_id))
    return {s: tuple(layers) for s, layers in found.items()}


def cost_moves(session: Session, moves: list[Move], holds_stock: Callable[[int], bool], *,
               ref: str | None = None, at: datetime | None = None) -> list[Move]:
    """Moves with their unit cost and exact value: stock entering at its own cost (or the
    average), leaving at the average or from the oldest FIFO layers, moving inside the company
    at that cost without changing anything. ``ref`` and ``at`` name the posting and when it
    happened, for the layers it creates."""
    if not moves:
        return moves
    positions, fifo = _positions(session, sorted({m.sku_id for m in moves}))
    stored = _open_layers(session, fifo) if fifo else {}
    layers = {s: valuation.fifo_reconcile(stored[s], positions[s]) for s in fifo}
    costed = []
    for m in moves:
        entering, leaving = holds_stock(m.to_location), holds_stock(m.from_location)
        if m.sku_id in layers:
            try:
                layers[m.sku_id], cost, value = _fifo_step(layers[m.sku_id], m, entering, leaving,
                                                           ref)
            except NotHeld as short:
                raise _not_held(session, m, short.held) from None
        else:
            positions[m.sku_id], cost, value = average_step(positions[m.sku_id], m, entering,
                                                             leaving)
        costed.append(replace(m, unit_cost=cost, value=value))
    if layers:
        _save_layers(session, stored, layers, at or datetime.now(UTC))
        positions.update({s: valuation.fifo_position(la) for s, la in layers.items()})
    session.execute(_SAVE, [{"sku_id": sku_id, "qty": pos.qty, "value": pos.value}
                            for sku_id, pos in positions.items()])
    return costed


def average_step(pos: Position, m: Move, entering: bool, leaving: bool
                  ) -> tuple[Position, Decimal, Decimal]:
    if entering and not leaving:
        new, cost = valuation.enter(pos, m.qty, m.unit_cost, m.value)
        return new, cost, new.value - pos.value
    if leaving and not entering:
        new, cost = valuation.leave(pos, m.qty)
        return new, cost, pos.value - new.value
    cost = pos.average
    return pos, cost, valuation.value_of(m.qty, cost)


def _fifo_step(layers: Layers, m: Move, entering: bool, leaving: bool, ref: str | None
               ) -> tuple[Layers, Decimal, Decimal]:
    if entering and not leaving:
        return valuation.fifo_enter(layers, m.qty, m.unit_cost, ref, m.value)
    if leaving and not entering:
        return valuation.fifo_leave(layers, m.qty, m.cost_source)
    cost, value = valuation.fifo_peek(layers, m.qty)
    return layers, cost, value


def _not_held(session: Session, m: Move, held: Decimal) -> Conflict:
    sku = session.scalar(select(Sku.code).where(Sku.id == m.sku_id))
    return Conflict("{sku} is valued first in, first out and the company holds only {held}: "
                    "FIFO cannot value the {qty} leaving, as they were never received",
                    sku=sku, held=held, qty=m.qty)


def _save_layers(session: Session, stored: dict[int, Layers], layers: dict[int, Layers],
                 at: datetime) -> None:
    """Write back the layers a posting consumed and insert the ones it created."""
    before = {la.id: la for found in stored.values() for la in found}
    changed = [{"id": la.id, "remaining": la.qty, "value": la.value}
               for found in layers.values() for la in found
               if la.id is not None and la != before[la.id]]
    created = [{"sku_id": sku_id, "ref": la.source, "entered_at": at, "qty": la.entered,
                "remaining": la.qty, "unit_cost": la.unit_cost, "value": la.value}
               for sku_id, found in layers.items() for la in found if la.id is None]
    if changed:
        session.execute(_SAVE_LAYER, changed)
    if created:
        session.execute(insert(LAYER), created)


def check_method_change(session: Session, kind: str, row: Any, values: dict[str, Any]) -> None:
    """A SKU changes valuation method (its category's, or by moving to another category) only
    while the company holds none of it: the other method would read a position it never built.
    Locking the cost rows first lets postings in flight finish before the check."""
    if kind == "category" and values.get("valuation", row.valuation) != row.valuation:
        held = _held(session, Sku.category_id == row.id)
        if held:
            raise Conflict("Category {code} cannot change its valuation method while the company "
                           "holds stock of its SKUs ({skus}): bring it to zero first",
                           code=row.code, skus=", ".join(held[:5]))
    elif (kind == "sku" and "category_id" in values
          and _method(session, values["category_id"]) != _method(session, row.category_id)
          and _held(session, Sku.id == row.id)):
        raise Conflict("SKU {code} cannot move to a category with another valuation method "
                       "while the company holds stock of it", code=row.code)


def _method(session: Session, category_id: int | None) -> str:
    if category_id is None:
        return "moving_average"
    return session.scalar(select(Category.valuation).where(Category.id == category_id)) or ""


def _held(session: Session, which: Any) -> list[str]:
    rows = session.execute(select(Sku.code, SkuCost.qty).join(SkuCost, SkuCost.sku_id == Sku.id)
                           .where(which).order_by(Sku.code).with_for_update(of=SkuCost))
    return [code for code, qty in rows if qty != 0]


def inventory_value(session: Session, *, at: datetime | None = None,
                    sites: frozenset[int] | None = None) -> list[dict[str, Any]]:
    """Value per site and category from the ledger, as it stood at ``at`` (default: now);
    ``sites``: only those (None: every site)."""
    loc, site = aliased(Location), aliased(Location)
    rows: dict[tuple[str, str], Decimal] = {}
    for column, sign in ((StockMove.to_location_id, 1), (StockMove.from_location_id, -1)):
        query = (select(site.code, func.coalesce(Category.code, ""), func.sum(StockMove.value))
                 .join(loc, loc.id == column).join(site, site.id == loc.site_id)
                 .join(Sku, Sku.id == StockMove.sku_id)
                 .outerjoin(Category, Category.id == Sku.category_id)
                 .group_by(site.code, Category.code))
        if at is not None:
            query = query.where(StockMove.occurred_at <= at)
        if sites is not None:
            query = query.where(site.id.in_(sites))
        for site_code, category, value in session.execute(query):
            key = (site_code, category)
            rows[key] = rows.get(key, Decimal(0)) + sign * (value or Decimal(0))
    return [{"site": s, "category": c, "value": v.quantize(Decimal("0.01"))}
            for (s, c), v in sorted(rows.items()) if v]


def cost_differences(session: Session) -> list[dict[str, Any]]:
    """SKUs whose cost position disagrees with the ledger (the quantity and value its moves put
    into and took out of stock) or, under FIFO, with the sum of its open layers; [] when sound."""
    held = [k.value for k in HOLDS_STOCK]
    ledger: dict[int, Position] = {}
    for column, sign in ((StockMove.to_location_id, 1), (StockMove.from_location_id, -1)):
        query = (select(StockMove.sku_id, func.sum(StockMove.qty),
                        func.coalesce(func.sum(StockMove.value), 0))
                 .join(Location, Location.id == column).where(Location.kind.in_(held))
                 .group_by(StockMove.sku_id))
        for sku_id, qty, value in session.execute(query):
            pos = ledger.get(sku_id, valuation.EMPTY)
            ledger[sku_id] = Position(pos.qty + sign * qty, pos.value + sign * Decimal(value))
    layers: dict[int, Position] = {
        sku_id: Position(qty, value) for sku_id, qty, value in session.execute(
            select(CostLayer.sku_id, func.sum(CostLayer.remaining), func.sum(CostLayer.value))
            .where(CostLayer.remaining > 0).group_by(CostLayer.sku_id))}
    found = []
    for sku_id, code, qty, value, method in session.execute(
            select(Sku.id, Sku.code, SkuCost.qty, SkuCost.value, Category.valuation)
            .join(SkuCost, SkuCost.sku_id == Sku.id)
            .outerjoin(Category, Category.id == Sku.category_id).order_by(Sku.code)):
        pos = Position(qty, value)
        expected = {"ledger": ledger.get(sku_id, valuation.EMPTY)}
        if method == FIFO:
            expected["layers"] = layers.get(sku_id, valuation.EMPTY)
        found += [{"sku": code, "source": source, "expected": other, "actual": pos}
                  for source, other in expected.items() if other != pos]
    return found
