"""The double-entry stock ledger: immutable moves between two locations and the balances they imply.

Every move takes ``qty`` out of (from_location, from_status) and puts it into (to_location,
to_status), so one SKU's moves always sum to zero. Balances are kept only where stock lives
(internal and transit locations); virtual locations are the other side of the entry.
"""

from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace
from decimal import Decimal, InvalidOperation
from enum import StrEnum

from cangliu.core.errors import FieldError, ValidationFailed
from cangliu.core.locations import LocationKind

MAX_DECIMALS = 6
MAX_QTY = Decimal("1e12")


class StockStatus(StrEnum):
    AVAILABLE = "available"
    QUALITY_HOLD = "quality_hold"
    DAMAGED = "damaged"


class Operation(StrEnum):
    RECEIVE = "receive"
    ISSUE = "issue"
    MOVE = "move"
    ADJUST = "adjust"
    STATUS = "status"
    REVERSAL = "reversal"
    TRANSFER_SHIP = "transfer_ship"
    TRANSFER_RECEIVE = "transfer_receive"
    CANCEL = "cancel"
    SCRAP = "scrap"
    SUPPLIER_RETURN = "supplier_return"  # goods given back to the supplier: not a sale, no COGS
    CONSUME = "consume"  # components into production or into a unit (assembly, repair)
    PRODUCE = "produce"  # finished goods out of production, or a component taken out of a unit


class ScrapReason(StrEnum):
    EXPIRED = "expired"
    DAMAGED = "damaged"
    QUALITY = "quality"
    OBSOLETE = "obsolete"
    LOST = "lost"
    OTHER = "other"


@dataclass(frozen=True)
class Move:
    sku_id: int
    qty: Decimal
    from_location: int
    to_location: int
    from_status: StockStatus = StockStatus.AVAILABLE
    to_status: StockStatus = StockStatus.AVAILABLE
    lot: str = ""
    serial: str | None = None
    unit_cost: Decimal | None = None
    # The posting ref of an earlier receipt this move gives back (a supplier return): FIFO
    # valuation takes its cost from that receipt's layer; moving average ignores it.
    cost_source: str | None = None
    # The move's exact value (qty × unit cost, or the sum of the FIFO slices it took), set by
    # valuation; a reversal passes the original's value so stock re-enters at what it left with.
    value: Decimal | None = None


BalanceKey = tuple[int, int, str, str]  # sku_id, location_id, lot, status


def parse_qty(raw: object, *, field: str, decimals: int = MAX_DECIMALS) -> Decimal:
    """A positive quantity with at most ``decimals`` places, or a ValidationFailed naming the field."""
    try:
        qty = Decimal(str(raw).strip())
    except (InvalidOperation, ValueError):
        raise ValidationFailed.single(field, "must be a number") from None
    if not qty.is_finite():
        raise ValidationFailed.single(field, "must be a number")
    if qty <= 0:
        raise ValidationFailed.single(field, "must be greater than 0")
    if qty >= MAX_QTY:
        raise ValidationFailed.single(field, "is too large")
    if _places(qty) > decimals:
        raise ValidationFailed.single(field, "allows at most {decimals} decimal places",
                                      decimals=decimals)
    return qty


def parse_money(raw: object, *, field: str) -> Decimal:
    """A price, cost or rate: a finite decimal, zero or more."""
    try:
        value = Decimal(str(raw).strip())
    except (InvalidOperation, ValueError):
        raise ValidationFailed.single(field, "must be a number") from None
    if not value.is_finite() or value < 0:
        raise ValidationFailed.single(field, "must be 0 or more")
    if value >= MAX_QTY:
        raise ValidationFailed.single(field, "is too large")
    if _places(value) > MAX_DECIMALS:
        raise ValidationFailed.single(field, "allows at most {decimals} decimal places",
                                      decimals=MAX_DECIMALS)
    return value


def _places(value: Decimal) -> int:
    exponent = value.normalize().as_tuple().exponent
    return -exponent if isinstance(exponent, int) and exponent < 0 else 0


# Which kinds of location each operation may take stock from and put it into.
_FLOWS: dict[Operation, tuple[frozenset[LocationKind], frozenset[LocationKind]]] = {
    Operation.RECEIVE: (frozenset({LocationKind.SUPPLIER}), frozenset({LocationKind.SITE,
                        LocationKind.ZONE, LocationKind.BIN})),
    Operation.ISSUE: (frozenset({LocationKind.SITE, LocationKind.ZONE, LocationKind.BIN}),
                      frozenset({LocationKind.CUSTOMER})),
    Operation.MOVE: (frozenset({LocationKind.SITE, LocationKind.ZONE, LocationKind.BIN}),
                     frozenset({LocationKind.SITE, LocationKind.ZONE, LocationKind.BIN})),
    Operation.STATUS: (frozenset({LocationKind.SITE, LocationKind.ZONE, LocationKind.BIN}),
                       frozenset({LocationKind.SITE, LocationKind.ZONE, LocationKind.BIN})),
}


def check_flow(operation: Operation, src: LocationKind, dst: LocationKind,
               *, src_field: str = "from", dst_field: str = "to") -> None:
    """Refuse a move whose endpoints the operation cannot use (e.g. issuing from a supplier)."""
    if operation not in _FLOWS:
        return
    sources, targets = _FLOWS[operation]
    errors = []
    if src not in sources:
        errors.append(FieldError(src_field, "cannot give stock for this operation (a {kind} location)",
                                 {"kind": src.value}))
    if dst not in targets:
        errors.append(FieldError(dst_field, "cannot take stock for this operation (a {kind} location)",
                                 {"kind": dst.value}))
    if errors:
        raise ValidationFailed(errors)


def reverse(move: Move) -> Move:
    """The correcting entry for a move: same quantity, the other way round."""
    return replace(move, from_location=move.to_location, to_location=move.from_location,
                   from_status=move.to_status, to_status=move.from_status)


def balance_deltas(moves: Iterable[Move], holds_stock: Callable[[int], bool]
                   ) -> list[tuple[BalanceKey, Decimal]]:
    """Net change per balance, in a fixed key order so concurrent postings lock rows alike."""
    deltas: dict[BalanceKey, Decimal] = {}
    for m in moves:
        if holds_stock(m.from_location):
            key = (m.sku_id, m.from_location, m.lot, m.from_status.value)
            deltas[key] = deltas.get(key, Decimal(0)) - m.qty
        if holds_stock(m.to_location):
            key = (m.sku_id, m.to_location, m.lot, m.to_status.value)
            deltas[key] = deltas.get(key, Decimal(0)) + m.qty
    return sorted((k, v) for k, v in deltas.items() if v != 0)


def replay(moves: Iterable[Move], holds_stock: Callable[[int], bool]) -> dict[BalanceKey, Decimal]:
    """Balances as the ledger says they must be; zero balances are left out."""
    totals: dict[BalanceKey, Decimal] = {}
    for key, delta in balance_deltas(moves, holds_stock):
        totals[key] = totals.get(key, Decimal(0)) + delta
    return {k: v for k, v in totals.items() if v != 0}


@dataclass(frozen=True)
class BalanceDiff:
    key: BalanceKey
    expected: Decimal
    actual: Decimal


def compare(expected: dict[BalanceKey, Decimal], actual: dict[BalanceKey, Decimal]
            ) -> list[BalanceDiff]:
    """Balances that differ from the ledger replay, in key order."""
    keys = sorted(set(expected) | set(actual))
    return [BalanceDiff(k, expected.get(k, Decimal(0)), actual.get(k, Decimal(0)))
            for k in keys if expected.get(k, Decimal(0)) != actual.get(k, Decimal(0))]


@dataclass(frozen=True)
class Free:
    """Free (available − reserved) quantity at one location and lot."""

    location: int
    lot: str
    qty: Decimal


def allocate(wanted: Decimal, candidates: Iterable[Free]) -> list[Free] | None:
    """Take ``wanted`` from the candidates in their order; None when they hold too little."""
    picked: list[Free] = []
    remaining = wanted
    for c in candidates:
        if remaining <= 0:
            break
        take = min(c.qty, remaining)
        if take > 0:
            picked.append(Free(c.location, c.lot, take))
            remaining -= take
    return picked if remaining <= 0 else None
