"""Valuation: moving-average cost per SKU across the company.

Stock entering the company (receipts, count gains, returns) adds its cost to the SKU's value;
stock leaving (shipments, scrap, count losses, supplier returns) takes value out at the current
average; moves inside the company carry the average and change nothing. When the quantity
reaches zero the value is exactly zero, so no rounding dust is left behind.
"""

from dataclasses import dataclass
from decimal import ROUND_HALF_EVEN, Decimal

COST_PLACES = Decimal("0.000001")  # unit costs and values kept to the millionth


@dataclass(frozen=True)
class Position:
    qty: Decimal
    value: Decimal

    @property
    def average(self) -> Decimal:
        if self.qty <= 0:
            return Decimal(0)
        return (self.value / self.qty).quantize(COST_PLACES, ROUND_HALF_EVEN)


EMPTY = Position(Decimal(0), Decimal(0))


def enter(pos: Position, qty: Decimal, unit_cost: Decimal | None) -> tuple[Position, Decimal]:
    """Stock arrives at ``unit_cost`` (the current average when none is known)."""
    cost = pos.average if unit_cost is None else unit_cost
    return Position(pos.qty + qty, pos.value + value_of(qty, cost)), cost


def leave(pos: Position, qty: Decimal) -> tuple[Position, Decimal]:
    """Stock leaves at the current average; the last unit takes whatever value remains."""
    cost = pos.average
    remaining = pos.qty - qty
    if remaining == 0:
        return EMPTY, (pos.value / qty).quantize(COST_PLACES, ROUND_HALF_EVEN)
    return Position(remaining, pos.value - value_of(qty, cost)), cost


def value_of(qty: Decimal, unit_cost: Decimal) -> Decimal:
    return (qty * unit_cost).quantize(COST_PLACES, ROUND_HALF_EVEN)
