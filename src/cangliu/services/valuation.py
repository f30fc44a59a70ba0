"""Valuation inside a posting: stamp every move with its unit cost and keep each SKU's position.

Also the inventory value report by site and category, at any past date, summed from the
values the moves carry.
"""

from collections.abc import Callable
from dataclasses import replace
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import bindparam, func, select, text
from sqlalchemy.orm import Session, aliased

from cangliu.core import valuation
from cangliu.core.ledger import Move
from cangliu.core.valuation import Position
from cangliu.db.models import Category, Location, Sku, SkuCost, StockMove
from cangliu.db.types import Exact

# Prebuilt statements (SQLAlchemy cannot cache ON CONFLICT constructs; recompiling them on every
# posting cost more than the round trips). PostgreSQL and SQLite accept the same text.
_ENSURE = text("INSERT INTO sku_cost (sku_id, qty, value) VALUES (:sku_id, 0, 0)"
               " ON CONFLICT (sku_id) DO NOTHING")
_LOCK = (select(SkuCost.sku_id, SkuCost.qty, SkuCost.value)
         .where(SkuCost.sku_id.in_(bindparam("sku_ids", expanding=True)))
         .order_by(SkuCost.sku_id).with_for_update())
_SAVE = text("UPDATE sku_cost SET qty = :qty, value = :value WHERE sku_id = :sku_id").bindparams(
    bindparam("qty", type_=Exact()), bindparam("value", type_=Exact()))


def _positions(session: Session, sku_ids: list[int]) -> dict[int, Position]:
    """Lock each SKU's cost row (created on first use) in id order, and read it."""
    session.execute(_ENSURE, [{"sku_id": s} for s in sku_ids])
    rows = session.execute(_LOCK, {"sku_ids": sku_ids})
    return {sku_id: Position(qty, value) for sku_id, qty, value in rows}


def cost_moves(session: Session, moves: list[Move], holds_stock: Callable[[int], bool]
               ) -> list[Move]:
    """Moves with their unit cost: stock entering at its own cost (or the average), leaving
    and moving inside the company at the average."""
    if not moves:
        return moves
    positions = _positions(session, sorted({m.sku_id for m in moves}))
    costed = []
    for m in moves:
        pos = positions[m.sku_id]
        entering, leaving = holds_stock(m.to_location), holds_stock(m.from_location)
        if entering and not leaving:
            pos, cost = valuation.enter(pos, m.qty, m.unit_cost)
        elif leaving and not entering:
            pos, cost = valuation.leave(pos, m.qty)
        else:
            cost = pos.average
        positions[m.sku_id] = pos
        costed.append(replace(m, unit_cost=cost))
    session.execute(_SAVE, [{"sku_id": sku_id, "qty": pos.qty, "value": pos.value}
                            for sku_id, pos in positions.items()])
    return costed


def inventory_value(session: Session, *, at: datetime | None = None) -> list[dict[str, Any]]:
    """Value per site and category from the ledger, as it stood at ``at`` (default: now)."""
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
        for site_code, category, value in session.execute(query):
            key = (site_code, category)
            rows[key] = rows.get(key, Decimal(0)) + sign * (value or Decimal(0))
    return [{"site": s, "category": c, "value": v.quantize(Decimal("0.01"))}
            for (s, c), v in sorted(rows.items()) if v]
