"""Stock thresholds per SKU × site — safety stock, reorder point, max — with the arithmetic
written out so every number can be explained; and lead times learned per route.

SS = z · √(L·σd² + d²·σL²), ROP = d·L + SS, max = ROP + d·review_days: safety stock against
variable daily demand over a variable lead time (demand and lead time independent). Formula as
given by King, P. L. (2011) "Crack the Code: Understanding safety stock and mastering its
equations", APICS Magazine, July/August 2011, pp. 33–36.
"""

from collections.abc import Mapping
from dataclasses import dataclass
from statistics import NormalDist
from types import MappingProxyType
from typing import Final

import polars as pl

_INPUTS: Final = ("d", "sd", "L", "sL", "review_days")


@dataclass(frozen=True)
class ServiceLevels:
    """Cycle service level (probability of no stock-out in a replenishment cycle) per ABC class."""

    a: float = 0.98
    b: float = 0.95
    c: float = 0.90


@dataclass(frozen=True)
class RouteDefault:
    """Lead time assumed for a route with too few completed legs to learn from."""

    mean_days: float
    sd_days: float


@dataclass(frozen=True)
class DemandDefaults:
    """Daily demand assumed for a SKU × site without demand history."""

    mean: float = 0.0
    sd: float = 0.0


# Route kinds: a purchase comes from a supplier to a site, a transfer from a site to a site.
DEFAULT_LEAD_TIMES: Final[Mapping[str, RouteDefault]] = MappingProxyType({
    "purchase": RouteDefault(mean_days=7.0, sd_days=2.0),
    "transfer": RouteDefault(mean_days=2.0, sd_days=0.5),
})


def z_for(service_level: float) -> float:
    """The standard normal quantile for a cycle service level, e.g. 0.95 → 1.645."""
    if not 0 < service_level < 1:
        raise ValueError(f"service level must be between 0 and 1, not {service_level}")
    return NormalDist().inv_cdf(service_level)


def lead_times(legs: pl.DataFrame, routes: pl.DataFrame, *, min_observations: int = 3,
               defaults: Mapping[str, RouteDefault] = DEFAULT_LEAD_TIMES) -> pl.DataFrame:
    """Mean and σ (sample, n − 1) of lead time in days per route.

    ``legs``: completed legs ``route_from, route_to, days``. ``routes``: the routes to plan
    for, ``route_from, route_to, kind`` with kind a key of ``defaults``. A route with fewer than
    ``min_observations`` legs takes its kind's default. Returns ``route_from, route_to, kind,
    observations, L, sL, lead_time_source`` ("learned" or "default").
    """
    if min_observations < 2:
        raise ValueError("min_observations must be at least 2 to learn a standard deviation")
    unknown = set(routes["kind"].unique().to_list()) - set(defaults)
    if unknown:
        raise ValueError(f"no default lead time for route kind(s) {sorted(map(str, unknown))}")
    route = ["route_from", "route_to"]
    learned = legs.group_by(route).agg(
        observations=pl.len(),
        _mean=pl.col("days").cast(pl.Float64).mean(),
        _sd=pl.col("days").cast(pl.Float64).std(ddof=1),
    )
    kinds = pl.DataFrame({
        "kind": list(defaults),
        "_default_mean": [float(d.mean_days) for d in defaults.values()],
        "_default_sd": [float(d.sd_days) for d in defaults.values()],
    }, schema_overrides={"kind": routes.schema["kind"]})
    enough = pl.col("observations") >= min_observations
    return (routes.select(*route, "kind")
            .join(learned, on=route, how="left")
            .join(kinds, on="kind", how="left")
            .with_columns(pl.col("observations").fill_null(0).cast(pl.UInt32))
            .with_columns(
                L=pl.when(enough).then(pl.col("_mean")).otherwise(pl.col("_default_mean")),
                sL=pl.when(enough).then(pl.col("_sd")).otherwise(pl.col("_default_sd")),
                lead_time_source=pl.when(enough).then(pl.lit("learned")).otherwise(pl.lit("default")))
            .drop("_mean", "_sd", "_default_mean", "_default_sd"))


def route_lead_times(legs: pl.DataFrame, sites: pl.DataFrame, *, min_observations: int = 3,
                     defaults: Mapping[str, RouteDefault] = DEFAULT_LEAD_TIMES) -> pl.DataFrame:
    """Lead time of the route that supplies each site, with where it came from.

    ``legs``: completed legs ``route_from, route_to, kind, days``. ``sites``: ``route_to`` (the
    site), ``route_from`` (its supplying source, null when none is known) and ``kind`` (a key of
    ``defaults``). Mean and σ (n − 1) come from the pair's own legs when it has at least
    ``min_observations`` (``lead_time_source`` "route"), else from every leg of that kind into
    the site ("site"), else the kind's default ("default"). Adds ``route`` ("WH→S1"; "?" for an
    unknown source), ``observations`` (legs behind L, 0 for a default), ``pair_observations``
    and ``lead_basis``, the words the explanation gives for L and σL.
    """
    if min_observations < 2:
        raise ValueError("min_observations must be at least 2 to learn a standard deviation")
    unknown = set(sites["kind"].unique().to_list()) - set(defaults)
    if unknown:
        raise ValueError(f"no default lead time for route kind(s) {sorted(map(str, unknown))}")
    days = pl.col("days").cast(pl.Float64)
    stats = {"n": pl.len(), "mean": days.mean(), "sd": days.std(ddof=1)}
    pair = legs.group_by("route_from", "route_to").agg(**{f"p_{k}": v for k, v in stats.items()})
    pool = legs.group_by("route_to", "kind").agg(**{f"s_{k}": v for k, v in stats.items()})
    kinds = pl.DataFrame({"kind": list(defaults),
                          "d_mean": [float(d.mean_days) for d in defaults.values()],
                          "d_sd": [float(d.sd_days) for d in defaults.values()]},
                         schema_overrides={"kind": sites.schema["kind"]})
    by_pair = pl.col("p_n") >= min_observations
    by_site = pl.col("s_n") >= min_observations
    frame = (sites.select("route_from", "route_to", "kind")
             .join(pair, on=["route_from", "route_to"], how="left")
             .join(pool, on=["route_to", "kind"], how="left").join(kinds, on="kind", how="left")
             .with_columns(pl.col("p_n", "s_n").fill_null(0).cast(pl.UInt32)))
    return frame.select(
        "route_from", "route_to", "kind",
        route=pl.concat_str(pl.col("route_from").fill_null("?"), pl.lit("→"), "route_to"),
        lead_time_source=pl.when(by_pair).then(pl.lit("route")).when(by_site).then(pl.lit("site"))
        .otherwise(pl.lit("default")),
        observations=pl.when(by_pair).then("p_n").when(by_site).then("s_n").otherwise(0),
        pair_observations="p_n",
        L=pl.when(by_pair).then("p_mean").when(by_site).then("s_mean").otherwise("d_mean"),
        sL=pl.when(by_pair).then("p_sd").when(by_site).then("s_sd").otherwise("d_sd"),
        lead_basis=_lead_basis(by_pair, by_site, min_observations),
    )


def _lead_basis(by_pair: pl.Expr, by_site: pl.Expr, needed: int) -> pl.Expr:
    """E.g. "from 4 transfers on WH→S1", "from 3 transfers into S1 (1 on WH→S1)", "by default
    for WH→S1 (transfers into S1: 2 of 3 needed)"."""
    noun = pl.when(pl.col("kind") == "purchase").then(pl.lit("purchases")).otherwise(
        pl.lit("transfers"))
    route = pl.concat_str(pl.col("route_from").fill_null("?"), pl.lit("→"), "route_to")
    return (pl.when(by_pair).then(pl.format("from {} {} on {}", "p_n", noun, route))
            .when(by_site).then(pl.format("from {} {} into {} ({} on {})", "s_n", noun,
                                          "route_to", "p_n", route))
            .otherwise(pl.format("by default for {} ({} into {}: {} of {} needed)", route, noun,
                                 "route_to", "s_n", pl.lit(needed))))


def stock_levels(frame: pl.DataFrame, *, levels: ServiceLevels = ServiceLevels(),
                 demand_defaults: DemandDefaults = DemandDefaults()) -> pl.DataFrame:
    """Safety stock, reorder point and max stock for every row at once.

    ``frame`` columns (any others pass through): ``d`` mean daily demand and ``sd`` its σ
    (null = no demand history: ``demand_defaults`` are used), ``L`` and ``sL`` mean and σ of
    lead time in days, ``review_days``, and one of — by precedence — ``z``, ``service_level``
    or ``abc`` (levels per class; a null level or class takes C's level). Optional: ``decimals`` (the
    SKU's unit decimals, 0 when absent or null), ``lead_time_source`` (from ``lead_times``) and
    ``lead_basis`` (from ``route_lead_times``: then the explanation ends with where L and σL
    came from, e.g. "; L 2 ± 0.5 days from 4 transfers on WH→S1").

    Adds ``z``, ``ss``, ``rop``, ``max``, ``explanation`` and ``note``. SS, ROP and max are
    rounded *up* to the SKU's decimals — stock is counted in whole units, and rounding down
    would quietly lower the service level; ROP and max build on the rounded SS and ROP, so the
    explanation adds up. ``note`` says per row which inputs fell back to defaults (null when
    none did). A null ``L``, ``sL`` or ``review_days`` gives null results (join ``lead_times``
    first: it always has a value). Raises ValueError on a negative input.
    """
    missing = [name for name in _INPUTS if name not in frame.columns]
    if missing:
        raise ValueError(f"stock_levels needs columns {missing}")
    negative = frame.select((pl.col(name) < 0).any() for name in _INPUTS)
    bad = [name for name, found in negative.row(0, named=True).items() if found]
    if bad:
        raise ValueError(f"negative values in {bad}")
    decimals = pl.col("decimals").fill_null(0) if "decimals" in frame.columns else pl.lit(0)
    frame = frame.with_columns(
        note=_note(frame, demand_defaults),
        d=pl.col("d").cast(pl.Float64).fill_null(demand_defaults.mean),
        sd=pl.col("sd").cast(pl.Float64).fill_null(demand_defaults.sd),
        z=_z(frame, levels),
        _scale=pl.lit(10.0).pow(decimals),
    )
    d, sd, lt, slt = pl.col("d"), pl.col("sd"), pl.col("L"), pl.col("sL")
    ss = _ceil(pl.col("z") * (lt * sd**2 + d**2 * slt**2).sqrt())
    frame = frame.with_columns(ss=ss).with_columns(rop=_ceil(d * lt + pl.col("ss")))
    frame = frame.with_columns(max=_ceil(pl.col("rop") + d * pl.col("review_days")))
    explanation = _explanation()
    if "lead_basis" in frame.columns:
        explanation = pl.concat_str(explanation, pl.format(
            "; L {} ± {} days {}", _fmt("L"), _fmt("sL"), pl.col("lead_basis")), ignore_nulls=True)
    return frame.with_columns(explanation=explanation).drop("_scale")


def _z(frame: pl.DataFrame, levels: ServiceLevels) -> pl.Expr:
    if "z" in frame.columns:
        return pl.col("z").cast(pl.Float64)
    if "service_level" in frame.columns:
        # inv_cdf per distinct level, not per row: a run has a handful of levels.
        distinct = frame["service_level"].drop_nulls().unique().to_list()
        return pl.col("service_level").replace_strict(
            {level: z_for(level) for level in distinct}, default=None, return_dtype=pl.Float64,
        ).fill_null(z_for(levels.c))
    if "abc" in frame.columns:
        by_class = {"A": z_for(levels.a), "B": z_for(levels.b), "C": z_for(levels.c)}
        return pl.col("abc").replace_strict(by_class, default=by_class["C"], return_dtype=pl.Float64)
    raise ValueError("stock_levels needs a z, service_level or abc column")


def _ceil(value: pl.Expr) -> pl.Expr:
    # Round away float noise (41.000000000001) before rounding up, or it costs a whole unit.
    return (value * pl.col("_scale")).round(6).ceil() / pl.col("_scale")


def _note(frame: pl.DataFrame, defaults: DemandDefaults) -> pl.Expr:
    no_history = pl.col("d").is_null()
    parts = [
        pl.when(no_history).then(pl.lit(
            f"no demand history: default demand {_number(defaults.mean)}/day, "
            f"σ {_number(defaults.sd)}")),
        pl.when(~no_history & pl.col("sd").is_null()).then(pl.lit(
            f"too little demand history for σ: default σ {_number(defaults.sd)}")),
    ]
    if "lead_time_source" in frame.columns:
        parts.append(pl.when(pl.col("lead_time_source") == "default").then(
            pl.lit("too few completed legs: default lead time for the route")))
    joined = pl.concat_str(parts, separator="; ", ignore_nulls=True)
    return pl.when(joined == "").then(pl.lit(None, dtype=pl.Utf8)).otherwise(joined)


def _explanation() -> pl.Expr:
    d, lt, rop, ss = _fmt("d"), _fmt("L"), _fmt("rop", 6), _fmt("ss", 6)
    return pl.format(
        "SS {} = {} × √({} × {}² + {}² × {}²); ROP {} = {} × {} + {}; max {} = {} + {} × {}",
        ss, _fmt("z", 3), lt, _fmt("sd"), d, _fmt("sL"),
        rop, d, lt, ss,
        _fmt("max", 6), rop, d, _fmt("review_days"),
    )


def _fmt(name: str, decimals: int = 2) -> pl.Expr:
    """At most ``decimals`` decimals, no trailing zeros: 42.0 → "42", 6.20 → "6.2"."""
    rounded = pl.col(name).cast(pl.Float64).round(decimals, mode="half_away_from_zero") + 0.0
    return rounded.cast(pl.Utf8).str.replace(r"\.0$", "")


def _number(value: float) -> str:
    return f"{value:.2f}".rstrip("0").rstrip(".")
