"""Demand classes per SKU × site: ABC by value, XYZ by variability of demand, and the
Syntetos–Boylan demand pattern (smooth, erratic, intermittent, lumpy) — every series at once.

Stock-out days are censored: demand on them was lost, not zero, so they are dropped from every
statistic rather than counted as zero-demand days.
"""

from dataclasses import dataclass
from datetime import date
from typing import Final, Literal

import polars as pl

Period = Literal["day", "week"]
Scope = Literal["site", "network"]
KEYS: Final = ("sku", "site")
# Cumulative shares are float sums; a share within this of a cut-off counts as on the cut-off.
_EPS: Final = 1e-9


@dataclass(frozen=True)
class AbcCutoffs:
    """Cumulative value shares: A up to ``a``, B up to ``b``, C the rest."""

    a: float = 0.80
    b: float = 0.95


@dataclass(frozen=True)
class XyzCutoffs:
    """Coefficient of variation of demand per period: X up to ``x``, Y up to ``y``, Z above."""

    x: float = 0.5
    y: float = 1.0


@dataclass(frozen=True)
class PatternCutoffs:
    """Syntetos, A. A., Boylan, J. E. & Croston, J. D. (2005) "On the categorization of demand
    patterns", Journal of the Operational Research Society 56(5):495–503,
    doi:10.1057/palgrave.jors.2601841 — ADI cut-off 1.32 periods, CV² cut-off 0.49."""

    adi: float = 1.32
    cv2: float = 0.49


def abc_classes(values: pl.DataFrame, *, cutoffs: AbcCutoffs = AbcCutoffs(),
                scope: Scope = "site") -> pl.DataFrame:
    """Classes A/B/C by cumulative share of value over a period.

    ``values``: ``sku, site, value`` (e.g. COGS of the period; negative values count as 0).
    ``scope="site"`` ranks the SKUs of each site among themselves (a store's A items are its own
    best sellers); ``scope="network"`` ranks SKUs by their value summed over all sites and gives
    every site the SKU's network class. SKUs are ranked by value, highest first (ties by SKU
    code); a SKU is A while the SKUs ranked above it hold less than ``a`` of the value — so the
    SKU that crosses the line is A and the top SKU is always A — likewise B with ``b``. When the
    whole scope has no value, every SKU is C.

    Returns ``sku, site, value, share, cumulative_share, abc``; share and cumulative share are
    of the scope (the site, or the network).
    """
    values = values.select("sku", "site", pl.col("value").cast(pl.Float64).clip(lower_bound=0))
    if scope == "site":
        ranked = values.rename({"site": "_scope"}).with_columns(site=pl.col("_scope"))
    else:
        ranked = values.group_by("sku").agg(pl.col("value").sum()).with_columns(_scope=pl.lit(""))
    ranked = ranked.sort(["_scope", "value", "sku"], descending=[False, True, False])
    total = pl.col("value").sum().over("_scope")
    before = (pl.col("value").cum_sum().over("_scope") - pl.col("value")) / total
    ranked = ranked.with_columns(
        share=pl.col("value") / total,
        cumulative_share=pl.col("value").cum_sum().over("_scope") / total,
        abc=pl.when(total <= 0).then(pl.lit("C"))
        .when(before < cutoffs.a - _EPS).then(pl.lit("A"))
        .when(before < cutoffs.b - _EPS).then(pl.lit("B"))
        .otherwise(pl.lit("C")),
    )
    columns = ["share", "cumulative_share", "abc"]
    if scope == "site":
        return ranked.select("sku", "site", "value", *columns)
    return values.join(ranked.select("sku", *columns), on="sku", how="left").sort("sku", "site")


def complete_days(history: pl.DataFrame, *, start: date, end: date,
                  series: pl.DataFrame | None = None) -> pl.DataFrame:
    """Every day from ``start`` to ``end`` for every series, a day with no row being a day with
    no demand (qty 0, not a stock-out). For callers whose history stores only days with sales;
    ``series`` (``sku, site``) adds series that sold nothing. Choose ``start`` no earlier than
    the SKU was listed, or the days before it read as days without demand."""
    keys = history.select(KEYS) if series is None else pl.concat([history.select(KEYS), series.select(KEYS)])
    days = pl.DataFrame({"day": pl.date_range(start, end, "1d", eager=True)})
    grid = keys.unique().join(days, how="cross")
    window = history.filter(pl.col("day").is_between(start, end))
    return grid.join(window, on=[*KEYS, "day"], how="left").with_columns(
        pl.col("qty").fill_null(0.0), pl.col("stockout").fill_null(False))


def demand_classes(history: pl.DataFrame, *, period: Period = "day",
                   xyz: XyzCutoffs = XyzCutoffs(),
                   pattern: PatternCutoffs = PatternCutoffs()) -> pl.DataFrame:
    """Demand statistics and classes per SKU × site from ``sku, site, day, qty, stockout``.

    The history lists every observed day, zero-demand days included (see ``complete_days``); a
    day with no row is unobserved, like a stock-out day, and several rows for one day add up
    (a day with any stock-out row is censored). Negative quantities (returns) count as 0.

    ``period="day"`` buckets by day. ``period="week"`` buckets by ISO week (Monday start), and
    keeps a week only if all 7 of its days are observed: a week with a stock-out or missing day
    is censored whole, since its total would understate demand.

    Returns one row per series: ``periods`` (observed buckets), ``censored_periods``,
    ``demand_periods`` (observed buckets with qty > 0), ``mean`` and ``std`` (sample, n − 1) of
    qty per observed bucket, ``cv`` = std / mean, ``adi``, ``cv2``, ``xyz`` and ``pattern``.
    ADI = periods / demand_periods, the average number of observed buckets per demand
    occurrence (1.0 when every bucket has demand). CV² = (std / mean)² of the non-zero demand
    sizes, sample std. See ``xyz_of`` and ``pattern_of`` for the classes and their edge cases.
    """
    buckets = _buckets(history, period)
    observed = ~pl.col("censored")
    demand = observed & (pl.col("qty") > 0)
    stats = buckets.group_by(KEYS).agg(
        periods=observed.sum(),
        censored_periods=pl.col("censored").sum(),
        demand_periods=demand.sum(),
        mean=pl.col("qty").filter(observed).mean(),
        std=pl.col("qty").filter(observed).std(ddof=1),
        _size_mean=pl.col("qty").filter(demand).mean(),
        _size_std=pl.col("qty").filter(demand).std(ddof=1),
    )
    stats = stats.with_columns(
        cv=pl.when(pl.col("mean") > 0).then(pl.col("std") / pl.col("mean")),
        adi=pl.when(pl.col("demand_periods") > 0)
        .then(pl.col("periods") / pl.col("demand_periods")),
        cv2=pl.when(pl.col("demand_periods") > 1)
        .then((pl.col("_size_std") / pl.col("_size_mean")) ** 2),
    )
    return stats.with_columns(xyz_of(xyz), pattern_of(pattern)).drop(
        "_size_mean", "_size_std").sort(KEYS)


def xyz_of(cutoffs: XyzCutoffs = XyzCutoffs()) -> pl.Expr:
    """X when ``cv`` ≤ x, Y when ≤ y, else Z; null when cv is undefined (fewer than 2 observed
    periods, or no demand at all)."""
    cv = pl.col("cv")
    return (pl.when(cv.is_null()).then(pl.lit(None, dtype=pl.Utf8))
            .when(cv <= cutoffs.x).then(pl.lit("X"))
            .when(cv <= cutoffs.y).then(pl.lit("Y"))
            .otherwise(pl.lit("Z"))
            .alias("xyz"))


def pattern_of(cutoffs: PatternCutoffs = PatternCutoffs()) -> pl.Expr:
    """The Syntetos–Boylan quadrant from ``adi`` and ``cv2``: smooth (ADI < 1.32, CV² < 0.49),
    erratic (ADI < 1.32, CV² ≥ 0.49), intermittent (ADI ≥ 1.32, CV² < 0.49), lumpy (both ≥).
    Series the quadrants cannot place: ``no_history`` (no observed period), ``no_demand``
    (observed, never any demand) and ``insufficient`` (one demand occurrence: CV² undefined)."""
    adi_low = pl.col("adi") < cutoffs.adi
    cv2_low = pl.col("cv2") < cutoffs.cv2
    return (pl.when(pl.col("periods") == 0).then(pl.lit("no_history"))
            .when(pl.col("demand_periods") == 0).then(pl.lit("no_demand"))
            .when(pl.col("cv2").is_null()).then(pl.lit("insufficient"))
            .when(adi_low & cv2_low).then(pl.lit("smooth"))
            .when(adi_low).then(pl.lit("erratic"))
            .when(cv2_low).then(pl.lit("intermittent"))
            .otherwise(pl.lit("lumpy"))
            .alias("pattern"))


def _buckets(history: pl.DataFrame, period: Period) -> pl.DataFrame:
    days = history.group_by([*KEYS, "day"]).agg(
        qty=pl.col("qty").cast(pl.Float64).clip(lower_bound=0).sum(),
        censored=pl.col("stockout").fill_null(False).any(),
    )
    if period == "day":
        return days
    if period != "week":
        raise ValueError(f"period must be 'day' or 'week', not {period!r}")
    return days.group_by([*KEYS, pl.col("day").dt.truncate("1w")]).agg(
        qty=pl.col("qty").sum(),
        censored=pl.col("censored").any() | (pl.len() < 7),
    )
