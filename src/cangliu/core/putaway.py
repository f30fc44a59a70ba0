"""Put-away: which bins of a site should take an arriving quantity, judged by their free capacity.

The rule, in order:
1. Bins that already hold the SKU come first (one SKU stays together, picking walks fewer bins).
2. Then the bin that can take the most of this SKU (its free volume and free weight, whichever
   runs out first, divided by the SKU's unit volume / weight); ties go to the lower bin code.
3. A quantity one bin cannot take is split over the next bins in that order; what no bin can
   take is reported as unplaced (it can still be received at the site itself).

A bin without capacity data counts as unlimited only when no bin of the site has capacity data
at all; otherwise it is not proposed (its size is unknown). A dimension limits a bin only when
both the bin's capacity and the SKU's unit size are known for it.
"""

from collections.abc import Iterable
from dataclasses import dataclass
from decimal import ROUND_FLOOR, Decimal


@dataclass(frozen=True)
class Unit:
    """The size of one unit of a SKU; None where the master data does not say."""

    volume: Decimal | None = None
    weight: Decimal | None = None
    decimals: int = 0  # how finely the SKU's quantity may be split


@dataclass(frozen=True)
class BinLoad:
    """A bin with its capacity (None = not recorded) and what its current stock already fills."""

    code: str
    capacity_volume: Decimal | None = None
    capacity_weight: Decimal | None = None
    used_volume: Decimal = Decimal(0)
    used_weight: Decimal = Decimal(0)
    holds_sku: bool = False

    @property
    def sized(self) -> bool:
        return self.capacity_volume is not None or self.capacity_weight is not None


@dataclass(frozen=True)
class Placement:
    bin: str
    qty: Decimal


@dataclass(frozen=True)
class PutawayPlan:
    placements: tuple[Placement, ...]
    unplaced: Decimal


def _floor(value: Decimal, decimals: int) -> Decimal:
    """Round down to the SKU's places, without trailing zeros (40, not 40.000)."""
    floored = value.quantize(Decimal(1).scaleb(-decimals), rounding=ROUND_FLOOR)
    return Decimal(format(floored.normalize(), "f"))


def _free(capacity: Decimal | None, used: Decimal) -> Decimal:
    return Decimal(0) if capacity is None else capacity - used


def room(bin_: BinLoad, unit: Unit) -> Decimal | None:
    """How much of the SKU fits in the bin; None when nothing limits it."""
    fits: list[Decimal] = []
    for capacity, used, size in ((bin_.capacity_volume, bin_.used_volume, unit.volume),
                                 (bin_.capacity_weight, bin_.used_weight, unit.weight)):
        if capacity is None:
            continue
        free = max(capacity - used, Decimal(0))
        if size is None or size <= 0:
            if free <= 0:  # a full bin takes nothing, whatever the unit's size
                fits.append(Decimal(0))
            continue
        fits.append(_floor(free / size, unit.decimals))
    return min(fits) if fits else None


def plan_putaway(qty: Decimal, unit: Unit, bins: Iterable[BinLoad]) -> PutawayPlan:
    """Proposed bins for ``qty`` units, following the rule in this module's docstring."""
    every = list(bins)
    sized_site = any(b.sized for b in every)
    candidates = [(b, room(b, unit)) for b in every if b.sized or not sized_site]

    def order(item: tuple[BinLoad, Decimal | None]) -> tuple[object, ...]:
        b, fits = item  # unlimited first; for a SKU of unknown size, the emptier bin first
        return (not b.holds_sku, fits is not None, -(fits or Decimal(0)),
                -_free(b.capacity_volume, b.used_volume), -_free(b.capacity_weight, b.used_weight),
                b.code)

    placements, left = [], qty
    for b, fits in sorted(candidates, key=order):
        if left <= 0:
            break
        take = left if fits is None else min(fits, left)
        if take > 0:
            placements.append(Placement(b.code, take))
            left -= take
    return PutawayPlan(tuple(placements), left)

