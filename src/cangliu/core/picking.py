"""Picking: which bins and lots an order line is taken from.

Lot-tracked stock leaves first-expiry-first-out (FEFO): the lot that expires first goes first,
lots without an expiry date last, ties by first receipt. Within one lot, and for stock without
lots, the picker visits as few bins as possible, in walking order (bin code order). Given the
day (``today``), a plan never takes a lot that has expired (expiry date before that day).
"""

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from itertools import groupby


@dataclass(frozen=True)
class Stock:
    """Free quantity of one lot in one bin, with what ordering needs to know about it."""

    location: int
    code: str  # the bin's code: walking order follows it
    lot: str
    qty: Decimal
    expires_on: date | None = None
    received: int = 0  # first-receipt rank of the lot: smaller arrived earlier


@dataclass(frozen=True)
class Pick:
    location: int
    code: str
    lot: str
    qty: Decimal
    expires_on: date | None = None


@dataclass(frozen=True)
class Plan:
    """Picks in the order they are taken; ``short`` is what the stock could not cover."""

    picks: tuple[Pick, ...]
    short: Decimal

    @property
    def complete(self) -> bool:
        return self.short <= 0


def walking_order(s: Stock) -> tuple[str, str, int]:
    return s.code, s.lot, s.location


def fefo_order(s: Stock) -> tuple[bool, date, int, str]:
    """Earliest expiry first; a lot that never expires goes after every lot that does."""
    return s.expires_on is None, s.expires_on or date.max, s.received, s.lot


def expired(s: Stock | Pick, today: date) -> bool:
    """The lot's expiry date has passed: on its expiry date a lot may still be sold."""
    return s.expires_on is not None and s.expires_on < today


def plan(wanted: Decimal, stock: Iterable[Stock], *, by_lot: bool,
         today: date | None = None) -> Plan:
    """Where to take ``wanted`` from: FEFO across lots when ``by_lot``, fewest bins within;
    with ``today``, lots expired by then are left where they are."""
    usable = [s for s in stock if s.qty > 0 and (today is None or not expired(s, today))]
    groups: list[list[Stock]] = [usable]
    if by_lot:
        ordered = sorted(usable, key=fefo_order)
        groups = [list(g) for _k, g in groupby(ordered, key=fefo_order)]
    picks: list[Pick] = []
    remaining = wanted
    for group in groups:
        if remaining <= 0:
            break
        chosen = fewest_bins(remaining, group)
        picks.extend(chosen)
        remaining -= sum((p.qty for p in chosen), Decimal(0))
    return Plan(tuple(picks), max(remaining, Decimal(0)))


def fewest_bins(wanted: Decimal, stock: Sequence[Stock]) -> list[Pick]:
    """Cover ``wanted`` from as few bins as possible, listed in walking order.

    Taking the largest bins first needs the fewest bins; the last one is the first bin in
    walking order that covers what is left, so big bins are not broken into needlessly.
    When the stock cannot cover ``wanted`` it is all taken.
    """
    left = sorted(stock, key=walking_order)
    taken: list[Pick] = []
    remaining = wanted
    while left and remaining > 0:
        last = next((s for s in left if s.qty >= remaining), None)
        if last is not None:
            taken.append(_pick(last, remaining))
            break
        largest = max(left, key=lambda s: s.qty)  # max keeps the first in walking order on ties
        taken.append(_pick(largest, largest.qty))
        remaining -= largest.qty
        left.remove(largest)
    return sorted(taken, key=lambda p: (p.code, p.lot, p.location))


def _pick(s: Stock, qty: Decimal) -> Pick:
    return Pick(s.location, s.code, s.lot, qty, s.expires_on)
