"""Calendar-event effects (春节, 国庆, Black Friday, the Super Bowl …): how much an event day's
demand differs from a normal day of the same series, learned from the history and applied as a
multiplicative ``event_factor`` on the forecast days the event falls on.

An observation is one series (SKU × site) on one event day it was observed (a row, not out of
stock). Its baseline is the series' mean demand on the same weekday of the ``weeks`` weeks before
and after (4 surrounding weeks by default), leaving out stock-out days, days without a row and
other event days — so neither lost demand nor another event is read as the normal level.

Per event name the pooled factor is Σ demand / Σ baseline over its observations with a positive
baseline, shrunk toward 1 by ``shrink`` pseudo-observations: (n·raw + shrink) / (n + shrink).
Fewer than ``min_occurrences`` observations: no factor (1.0). A series' own factor is its own
ratio shrunk toward the pooled one by ``series_units`` units of baseline demand (a gamma–Poisson
prior): (Σ demand + u·pooled) / (Σ baseline + u), so a slow mover keeps about the pooled factor
and a fast mover with several occurrences mostly its own. Only the days near event days are
read, so a long history costs little.
"""

from typing import Final

import polars as pl

KEYS: Final = ["sku", "site"]
FACTORS_SCHEMA: Final = {"name": pl.String, "sku": pl.Int64, "site": pl.Int64,
                         "factor": pl.Float64, "occurrences": pl.UInt32}


def event_factors(history: pl.DataFrame, events: pl.DataFrame, *, min_occurrences: int = 2,
                  shrink: float = 0.5, series_units: float = 20.0, weeks: int = 2,
                  missing_is_zero: bool = False) -> pl.DataFrame:
    """Learned effects. ``history``: sku, site, day, qty, stockout (rows of one day add up, any
    stock-out row censors the day); ``events``: day, name. A day without a row is unobserved, or
    with ``missing_is_zero`` (a history that stores only days with demand) a day without demand
    from the series' first row on. Returns name, sku, site, factor, occurrences: one pooled row
    per event name (sku and site null) and one per series with ``min_occurrences`` or more."""
    if history.is_empty() or events.is_empty():
        return _empty(history)
    marked = events.select(pl.col("day").cast(pl.Date), pl.col("name").cast(pl.String)).unique()
    obs = _observations(_days(history), marked, weeks, missing_is_zero)
    pooled = obs.group_by("name").agg(
        occurrences=pl.len(), _qty=pl.col("qty").sum(), _base=pl.col("base").sum()
    ).filter(pl.col("occurrences") >= min_occurrences).with_columns(
        factor=(pl.col("occurrences") * pl.col("_qty") / pl.col("_base") + shrink)
        / (pl.col("occurrences") + shrink))
    own = obs.group_by("name", *KEYS).agg(
        occurrences=pl.len(), _qty=pl.col("qty").sum(), _base=pl.col("base").sum()
    ).filter(pl.col("occurrences") >= min_occurrences).join(
        pooled.select("name", pooled="factor"), on="name"
    ).with_columns(factor=(pl.col("_qty") + series_units * pl.col("pooled"))
                   / (pl.col("_base") + series_units))
    schema = _schema(history)
    return pl.concat([
        pooled.select("name", sku=pl.lit(None), site=pl.lit(None), factor="factor",
                      occurrences="occurrences").cast(schema),
        own.select("name", *KEYS, "factor", "occurrences").cast(schema),
    ]).sort("name", *KEYS, nulls_last=False)


def _observations(days: pl.DataFrame, marked: pl.DataFrame, weeks: int, missing_is_zero: bool
                  ) -> pl.DataFrame:
    """sku, site, day, name, qty (on the event day), base (the baseline, > 0): one row per
    series × event day observed. Built from the rows near event days only (sparse)."""
    offsets = pl.DataFrame({"offset": list(range(-7 * weeks, 7 * weeks + 1, 7))})
    event_days = marked.select("day").unique()
    windows = event_days.join(offsets, how="cross").select(
        event_day="day", offset="offset", day=pl.col("day") - pl.duration(days=pl.col("offset")))
    pairs = days.join(windows, on="day").select(*KEYS, "event_day").unique()
    cells = pairs.join(offsets, how="cross").with_columns(
        day=pl.col("event_day") + pl.duration(days=pl.col("offset"))
    ).join(days, on=[*KEYS, "day"], how="left")
    if missing_is_zero:
        first = days.group_by(KEYS).agg(first=pl.col("day").min())
        cells = cells.join(first, on=KEYS).filter(pl.col("day") >= pl.col("first")).with_columns(
            pl.col("qty").fill_null(0.0), pl.col("stockout").fill_null(False))
    seen = cells.filter(pl.col("stockout").is_not_null() & ~pl.col("stockout"))
    base = seen.filter(pl.col("offset") != 0).join(event_days, on="day", how="anti").group_by(
        *KEYS, "event_day").agg(base=pl.col("qty").mean())
    return (seen.filter(pl.col("offset") == 0).join(base, on=[*KEYS, "event_day"])
            .filter(pl.col("base") > 0).join(marked, on="day")
            .select(*KEYS, "day", "name", "qty", "base"))


def with_events(daily: pl.DataFrame, events_ahead: pl.DataFrame, factors: pl.DataFrame
                ) -> pl.DataFrame:
    """``daily`` (sku, site, day, …) with ``event_factor``: on a day with events, the product over
    them of the series' own factor, else the pooled one, else 1.0 (an event never seen)."""
    if daily.is_empty() or events_ahead.is_empty() or factors.is_empty():
        return daily.with_columns(event_factor=pl.lit(1.0))
    ahead = events_ahead.select(pl.col("day").cast(pl.Date), pl.col("name").cast(pl.String)).unique()
    keyed = factors.select("name", *(pl.col(k).cast(daily.schema[k]) for k in KEYS), "factor")
    pooled = keyed.filter(pl.col("sku").is_null()).select("name", pooled="factor")
    own = keyed.filter(pl.col("sku").is_not_null())
    hits = (daily.select(*KEYS, "day").unique().join(ahead, on="day")
            .join(own, on=["name", *KEYS], how="left").join(pooled, on="name", how="left")
            .group_by(*KEYS, "day").agg(
                event_factor=pl.coalesce("factor", "pooled", pl.lit(1.0)).product()))
    return daily.join(hits, on=[*KEYS, "day"], how="left").with_columns(
        pl.col("event_factor").fill_null(1.0))


def _days(history: pl.DataFrame) -> pl.DataFrame:
    return history.group_by(*KEYS, "day").agg(
        qty=pl.col("qty").cast(pl.Float64).clip(lower_bound=0).sum(),
        stockout=pl.col("stockout").fill_null(False).any())


def _schema(history: pl.DataFrame) -> pl.Schema:
    return pl.Schema({**FACTORS_SCHEMA, **{k: history.schema.get(k, pl.Int64) for k in KEYS}})


def _empty(history: pl.DataFrame) -> pl.DataFrame:
    return pl.DataFrame(schema=_schema(history))
