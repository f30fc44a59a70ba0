"""Valuation: each SKU's cost across the company, by moving average (the default) or FIFO.

Stock entering the company (receipts, count gains, returns) adds its cost to the SKU's value;
stock leaving (shipments, scrap, count losses, supplier returns) takes value out at the current
average, or under FIFO from the oldest cost layers; moves inside the company carry the cost and
change nothing. When the quantity reaches zero the value is exactly zero, so no rounding dust
is left behind.
"""

from dataclasses import dataclass, replace
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


def enter(pos: Position, qty: Decimal, unit_cost: Decimal | None, value: Decimal | None = None
          ) -> tuple[Position, Decimal]:
    """Stock arrives at ``unit_cost`` (the current average when none is known); ``value``, when
    given with the cost, is its exact value (a reversal puts back exactly what it took out)."""
    cost = pos.average if unit_cost is None else unit_cost
    added = value if value is not None and unit_cost is not None else value_of(qty, cost)
    return Position(pos.qty + qty, pos.value + added), cost


def leave(pos: Position, qty: Decimal) -> tuple[Position, Decimal]:
    """Stock leaves at the current average; the last unit takes whatever value remains."""
    cost = pos.average
    remaining = pos.qty - qty
    if remaining == 0:
        return EMPTY, (pos.value / qty).quantize(COST_PLACES, ROUND_HALF_EVEN)
    return Position(remaining, pos.value - value_of(qty, cost)), cost


def value_of(qty: Decimal, unit_cost: Decimal) -> Decimal:
    return (qty * unit_cost).quantize(COST_PLACES, ROUND_HALF_EVEN)


# --- FIFO ------------------------------------------------------------------------------------
# Under FIFO every entry of stock is a layer (quantity at a unit cost); stock leaving the
# company consumes the oldest layers first, so what is left is valued at the latest costs.


@dataclass(frozen=True)
class Layer:
    """What is left of one entry of stock: quantity, value and the unit cost it entered at."""

    source: str | None  # the posting that brought it in (None: an opening balance)
    qty: Decimal  # remaining
    value: Decimal  # remaining value
    unit_cost: Decimal
    entered: Decimal  # the quantity it entered with
    id: int | None = None  # the stored layer; None until saved


Layers = tuple[Layer, ...]  # oldest first; emptied layers stay (qty 0) until they are saved


class NotHeld(Exception):
    """FIFO cannot value stock the company never received: the layers hold only ``held``."""

    def __init__(self, held: Decimal) -> None:
        super().__init__(f"only {held} held")
        self.held = held


def fifo_position(layers: Layers) -> Position:
    return Position(sum((la.qty for la in layers), Decimal(0)),
                    sum((la.value for la in layers), Decimal(0)))


def fifo_enter(layers: Layers, qty: Decimal, unit_cost: Decimal | None, source: str | None,
               value: Decimal | None = None) -> tuple[Layers, Decimal, Decimal]:
    """Stock arrives as a new layer at ``unit_cost`` (the average of what is held when none is
    known); ``value``, when given, is its exact value (a reversal puts back what it took)."""
    cost = (fifo_position(layers).average if unit_cost is None
            else unit_cost.quantize(COST_PLACES, ROUND_HALF_EVEN))
    if value is None or unit_cost is None:
        value = value_of(qty, cost)
    return (*layers, Layer(source, qty, value, cost, qty)), cost, value


def fifo_leave(layers: Layers, qty: Decimal, source: str | None = None
               ) -> tuple[Layers, Decimal, Decimal]:
    """Stock leaves from the layers of ``source`` first (a return to the supplier it came from),
    then from the oldest; the value is the exact sum of the slices taken. Returns the layers,
    the unit cost (value / qty, rounded) and the value."""
    order = sorted(range(len(layers)), key=lambda i: source is None or layers[i].source != source)
    taken = list(layers)
    remaining, value = qty, Decimal(0)
    for i in order:
        if remaining <= 0:
            break
        layer = taken[i]
        take = min(layer.qty, remaining)
        if take <= 0:
            continue
        taken[i], part = _slice(layer, take)
        value += part
        remaining -= take
    if remaining > 0:
        raise NotHeld(qty - remaining)
    return tuple(taken), unit_cost_of(qty, value), value


def fifo_peek(layers: Layers, qty: Decimal) -> tuple[Decimal, Decimal]:
    """The unit cost and value ``qty`` would leave with, consuming nothing: stock moving inside
    the company carries it. Beyond what the layers hold, the newest cost applies."""
    held = fifo_position(layers).qty
    if held >= qty:
        _layers, cost, value = fifo_leave(layers, qty)
        return cost, value
    _layers, _cost, value = fifo_leave(layers, held) if held > 0 else ((), Decimal(0), Decimal(0))
    newest = next((la.unit_cost for la in reversed(layers) if la.qty > 0), Decimal(0))
    value += value_of(qty - held, newest)
    return unit_cost_of(qty, value), value


def fifo_reconcile(layers: Layers, pos: Position) -> Layers:
    """Layers that add up to the SKU's position: the open layers when they do, else (the SKU was
    valued by moving average meanwhile) one opening layer holding the whole position."""
    if fifo_position(layers) == pos:
        return layers
    closed = tuple(replace(la, qty=Decimal(0), value=Decimal(0)) for la in layers)
    if pos.qty <= 0:
        return closed
    return (*closed, Layer(None, pos.qty, max(pos.value, Decimal(0)), pos.average, pos.qty))


def _slice(layer: Layer, take: Decimal) -> tuple[Layer, Decimal]:
    """Take ``take`` from a layer: at its unit cost, and the last of it takes all that is left,
    so an emptied layer is worth exactly zero."""
    if take == layer.qty:
        return replace(layer, qty=Decimal(0), value=Decimal(0)), layer.value
    part = min(value_of(take, layer.unit_cost), layer.value)
    return replace(layer, qty=layer.qty - take, value=layer.value - part), part


def unit_cost_of(qty: Decimal, value: Decimal) -> Decimal:
    return (value / qty).quantize(COST_PLACES, ROUND_HALF_EVEN)
