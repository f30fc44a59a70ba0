"""Stock flows of one simulation run — on hand, in transit, on order, sales and lost demand per
store × item × day — and the day's moves: arrivals, sales, warehouse shipments, supplier
orders (the rule engine's transfers are shipped by simulate_rules). Arrays are indexed
[day, store, item]; a run mutates its own."""

from dataclasses import dataclass, field
from typing import Literal, NamedTuple

import numpy as np

from cangliu.core.planning.simulate_data import Demand

Censoring = Literal["exclude", "impute"]


class Levels(NamedTuple):
    """Store thresholds, [store, item] in units, and the demand estimate they stand on."""

    ss: np.ndarray
    rop: np.ndarray
    max: np.ndarray
    d: np.ndarray


@dataclass(eq=False)
class Flows:
    """One run's stock: on hand, pipelines by arrival day, and the sales history it learns from."""

    store: np.ndarray
    warehouse: np.ndarray
    store_transit: np.ndarray
    on_order: np.ndarray
    to_store: np.ndarray  # arrivals due at the stores, by day
    to_warehouse: np.ndarray
    sales: np.ndarray
    lost: np.ndarray
    censored: np.ndarray
    price: np.ndarray
    start_day: int
    on_hand_units: np.ndarray
    on_hand_value: np.ndarray
    shipments: int = 0
    laterals: int = 0
    orders: int = 0
    abc: np.ndarray | None = field(default=None)

    @classmethod
    def start(cls, demand: Demand, *, warmup_days: int, longest_lead: int) -> "Flows":
        """Empty network; the warmup days' demand counts as fully observed sales (history)."""
        days, stores, items = demand.qty.shape
        horizon = days + longest_lead + 1
        sales = np.zeros_like(demand.qty)
        sales[:warmup_days] = demand.qty[:warmup_days]
        return cls(
            store=np.zeros((stores, items)), warehouse=np.zeros(items),
            store_transit=np.zeros((stores, items)), on_order=np.zeros(items),
            to_store=np.zeros((horizon, stores, items)), to_warehouse=np.zeros((horizon, items)),
            sales=sales, lost=np.zeros_like(demand.qty),
            censored=np.zeros(demand.qty.shape, dtype=bool), price=demand.price,
            start_day=warmup_days, on_hand_units=np.zeros(days),
            on_hand_value=np.zeros(days))

    def arrive(self, t: int) -> None:
        self.store += self.to_store[t]
        self.store_transit -= self.to_store[t]
        self.warehouse += self.to_warehouse[t]
        self.on_order -= self.to_warehouse[t]

    def serve(self, t: int, wanted: np.ndarray) -> None:
        """Sell what is on the shelf; the rest is lost. A day that ends with nothing available
        is censored: its demand may have been higher than its sales."""
        sold = np.minimum(self.store, wanted)
        self.store -= sold
        self.sales[t] = sold
        self.lost[t] = wanted - sold
        self.censored[t] = self.store <= 0

    def ship(self, t: int, qty: np.ndarray, lead: int) -> None:
        """Warehouse → stores: stock leaves the warehouse today, reaches the stores ``lead`` days on."""
        self.warehouse -= qty.sum(axis=0)
        self.to_store[t + lead] += qty
        self.store_transit += qty
        self.shipments += int((qty > 0).sum())

    def order(self, t: int, target: np.ndarray, lead: int) -> float:
        """Supplier order up to the echelon ``target`` (warehouse + stores + all pipelines)."""
        position = self.warehouse + self.on_order + (self.store + self.store_transit).sum(axis=0)
        qty = np.maximum(target - position, 0.0)
        self.to_warehouse[t + lead] += qty
        self.on_order += qty
        self.orders += int((qty > 0).sum())
        return float(qty.sum())

    def snapshot(self, t: int, ordered: float) -> dict[str, float | int]:
        """Network totals at day end; records on-hand units and value for the metrics."""
        self.on_hand_units[t] = self.store.sum() + self.warehouse.sum()
        self.on_hand_value[t] = ((self.store * self.price).sum()
                                 + (self.warehouse * self.price.mean(axis=0)).sum())
        sold, lost = float(self.sales[t].sum()), float(self.lost[t].sum())
        return {"day": t, "demand": sold + lost, "served": sold, "lost": lost,
                "store_on_hand": float(self.store.sum()),
                "warehouse_on_hand": float(self.warehouse.sum()),
                "in_transit": float(self.store_transit.sum()), "on_order": float(self.on_order.sum()),
                "received": float(self.to_warehouse[t].sum()), "ordered": ordered,
                "min_on_hand": float(min(self.store.min(), self.warehouse.min()))}


def estimate(flows: Flows, t: int, window_days: int, min_observed: int,
             censoring: Censoring = "impute") -> tuple[np.ndarray, np.ndarray]:
    """Mean and σ (sample) of daily demand per store × item over the ``window_days`` up to day
    ``t``. ``censoring="exclude"`` drops censored days (the planning module's rule); ``"impute"``
    counts a censored day as max(sales, the mean of observed days) — its demand was at least
    its sales, and dropping it drops exactly the days whose demand outran the stock.

    A series with fewer than ``min_observed`` observed days (out of stock nearly all the window,
    e.g. an item never stocked) uses its recorded demand — sales plus recorded lost sales — over
    the whole window: without it a series whose levels are 0 would never be stocked again."""
    window = slice(max(0, t - window_days + 1), t + 1)
    sales, seen = flows.sales[window], ~flows.censored[window]
    n = seen.sum(axis=0)
    mean = np.where(seen, sales, 0.0).sum(axis=0) / np.maximum(n, 1)
    if censoring == "impute":
        sales, seen = np.where(seen, sales, np.maximum(sales, mean)), np.ones_like(seen)
        mean = sales.mean(axis=0)
    squares = np.where(seen, (sales - mean) ** 2, 0.0).sum(axis=0)
    sd = np.sqrt(squares / np.maximum(seen.sum(axis=0) - 1, 1))
    recorded = flows.sales[window] + flows.lost[window]
    few = n < min_observed
    return (np.where(few, recorded.mean(axis=0), mean),
            np.where(few, recorded.std(axis=0, ddof=1) if recorded.shape[0] > 1 else 0.0, sd))


def allocate(flows: Flows, t: int, rop: np.ndarray, up_to: np.ndarray, lead: int) -> np.ndarray:
    """Stores at or below their reorder point (on hand + in transit) ask for max − position;
    the warehouse serves each item's stores most urgent first (lowest position − ROP) while it
    has stock. Returns what each store asked for and did not get."""
    position = flows.store + flows.store_transit
    asked = np.where(position <= rop, np.maximum(up_to - position, 0.0), 0.0)
    order = np.argsort(position - rop, axis=0, kind="stable")
    asked_sorted = np.take_along_axis(asked, order, axis=0)
    before = np.cumsum(asked_sorted, axis=0) - asked_sorted
    given_sorted = np.clip(flows.warehouse[None, :] - before, 0.0, asked_sorted)
    given = np.empty_like(asked)
    np.put_along_axis(given, order, given_sorted, axis=0)
    flows.ship(t, given, lead)
    return asked - given
