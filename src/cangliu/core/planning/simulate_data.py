"""Demand for the replenishment simulation: daily demand per store × item as a dense array, from
a frame (real history such as M5) or from a seeded synthetic generator."""

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, timedelta

import numpy as np
import polars as pl

# Weekly shape of demand, Monday first: weekends sell more, as in retail.
WEEKDAY_SHAPE = np.array([0.85, 0.85, 0.9, 0.95, 1.1, 1.3, 1.25])
PATTERNS = ("smooth", "intermittent", "lumpy", "erratic")


@dataclass(frozen=True)
class Demand:
    """``qty[day, store, item]`` in units (every day from ``first_day``), ``price[store, item]``
    (a unit's value, used to value stock and to rank items ABC), and each store's region (empty:
    read from the store codes, see ``store_regions``)."""

    qty: np.ndarray
    price: np.ndarray
    stores: tuple[str, ...]
    items: tuple[str, ...]
    first_day: date
    regions: tuple[str, ...] = ()

    @property
    def days(self) -> int:
        return int(self.qty.shape[0])

    @property
    def store_regions(self) -> tuple[str, ...]:
        return self.regions or store_regions(self.stores)


def store_regions(stores: tuple[str, ...], known: Mapping[str, str] | None = None
                  ) -> tuple[str, ...]:
    """Each store's region: ``known[store]``, else its code up to the first "_" (the M5 store
    CA_1 is in CA; a synthetic R2_S05 in R2)."""
    return tuple((known or {}).get(s) or s.split("_")[0] for s in stores)


def demand_arrays(sales: pl.DataFrame, prices: pl.DataFrame | None = None,
                  *, default_price: float = 1.0, regions: Mapping[str, str] | None = None
                  ) -> Demand:
    """``sales``: ``day, store, item, qty`` (a day with no row has no demand; rows of one day add
    up; negative qty counts as 0). ``prices``: ``store, item, price`` (several rows are averaged);
    a series without a price takes its item's mean price over stores, else ``default_price``.
    ``regions``: store → region (see ``store_regions``)."""
    stores = tuple(sorted(sales["store"].unique().cast(pl.Utf8).to_list()))
    items = tuple(sorted(sales["item"].unique().cast(pl.Utf8).to_list()))
    first, last = sales["day"].min(), sales["day"].max()
    if not isinstance(first, date) or not isinstance(last, date):
        raise ValueError("sales need at least one row with a date in column day")
    qty = np.zeros(((last - first).days + 1, len(stores), len(items)))
    rows = sales.select(
        (pl.col("day") - pl.lit(first)).dt.total_days().alias("t"),
        pl.col("store").cast(pl.Utf8).replace_strict({s: k for k, s in enumerate(stores)},
                                                     return_dtype=pl.Int64),
        pl.col("item").cast(pl.Utf8).replace_strict({s: k for k, s in enumerate(items)},
                                                    return_dtype=pl.Int64),
        pl.col("qty").cast(pl.Float64).fill_null(0).clip(lower_bound=0))
    np.add.at(qty, (rows["t"].to_numpy(), rows["store"].to_numpy(), rows["item"].to_numpy()),
              rows["qty"].to_numpy())
    return Demand(qty=qty, price=_prices(prices, stores, items, default_price),
                  stores=stores, items=items, first_day=first,
                  regions=store_regions(stores, regions))


def _prices(prices: pl.DataFrame | None, stores: tuple[str, ...], items: tuple[str, ...],
            default: float) -> np.ndarray:
    grid = np.full((len(stores), len(items)), np.nan)
    if prices is not None and prices.height:
        mean = prices.group_by("store", "item").agg(pl.col("price").cast(pl.Float64).mean())
        at = {(s, i): p for s, i, p in mean.iter_rows() if p is not None}
        for (s, i), p in at.items():
            if s in stores and i in items:
                grid[stores.index(s), items.index(i)] = p
    known = ~np.isnan(grid)
    count = known.sum(axis=0)
    item_mean = np.where(count > 0, np.where(known, grid, 0.0).sum(axis=0) / np.maximum(count, 1),
                         default)
    return np.where(known, grid, item_mean[None, :])


def synthetic(stores: int = 4, items: int = 8, days: int = 365, *, seed: int = 0,
              start: date = date(2024, 1, 1)) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Seeded demand ``day, store, item, qty`` and prices ``store, item, price``. Items cycle
    through the Syntetos–Boylan patterns — smooth (Poisson every day), intermittent (rare small
    orders), lumpy (rare large orders), erratic (frequent orders of very variable size) — with
    a weekly shape; each store sells at its own scale. Stores are spread over three regions
    (codes ``R1_S01``, ``R2_S02``, …)."""
    rng = np.random.default_rng(seed)
    shape = WEEKDAY_SHAPE[[(start + timedelta(days=t)).weekday() for t in range(days)]]
    qty = np.zeros((days, stores, items))
    for i in range(items):
        base = rng.uniform(2.0, 12.0) * rng.uniform(0.6, 1.4, size=stores)
        qty[:, :, i] = _pattern(PATTERNS[i % 4], base[None, :] * shape[:, None], rng)
    day_ix, store_ix, item_ix = np.indices(qty.shape).reshape(3, -1)
    store_codes = [f"R{k % 3 + 1}_S{k + 1:02d}" for k in range(stores)]
    item_codes = [f"{PATTERNS[k % 4][:3].upper()}-{k + 1:03d}" for k in range(items)]
    sales = pl.DataFrame({
        "day": [start + timedelta(days=int(k)) for k in range(days)],
    }).with_row_index("t").join(pl.DataFrame({
        "t": day_ix.astype(np.uint32), "store": np.array(store_codes)[store_ix],
        "item": np.array(item_codes)[item_ix], "qty": qty.reshape(-1)}), on="t").drop("t")
    prices = pl.DataFrame({"store": np.repeat(store_codes, items), "item": item_codes * stores,
                           "price": np.round(np.tile(rng.uniform(1.0, 30.0, items), stores), 2)})
    return sales.select("day", "store", "item", "qty"), prices


def _pattern(kind: str, rate: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    if kind == "smooth":
        return rng.poisson(rate).astype(float)
    if kind == "erratic":
        occurs = rng.random(rate.shape) < 0.85
        return np.asarray(occurs * np.round(rng.lognormal(np.log(rate) - 0.5, 1.0)))
    occurs = rng.random(rate.shape) < (0.15 if kind == "lumpy" else 0.25)
    size = (np.round(rng.lognormal(np.log(rate * 2), 0.9)) if kind == "lumpy"
            else 1 + rng.poisson(rate * 0.3))
    return np.asarray(occurs * size, dtype=float)
