"""Demand forecasts per SKU × site: a model family per demand pattern, fitted over every series of
a pattern at once with statsforecast; lifecycle stage and promotions adjust them; a backtest
scores them (MASE, bias). Floats throughout, like the rest of planning.

Censoring: a stock-out day (or a day with no row, as in ``classify``) is unobserved — its demand
was lost, not zero. The weekly-seasonal models need an unbroken series, so there such a day is
imputed with the series' mean for that weekday over its observed days of the last 8 weeks
(else of its whole window, else its overall mean); the Croston family models demand occurrences
and has no season, so there unobserved days are simply dropped. Imputed days never enter σ.
"""

import warnings
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, timedelta
from types import MappingProxyType
from typing import Any, Final, TypeVar

import polars as pl

from cangliu.core.planning.events import event_factors, with_events

KEYS: Final = ["sku", "site"]
WEEK: Final = 7
SEASONAL: Final = frozenset({"smooth", "erratic"})
# The other patterns (intermittent, lumpy, and classify's no_demand / insufficient / no_history)
# go to the Croston family: it copes with zeros and with a handful of demand occurrences.
Num = TypeVar("Num", float, pl.Expr)


@dataclass(frozen=True)
class Lifecycle:
    """Lifecycle stage from the demand rate (per observed day) of the last ``window_days`` against
    the ``window_days`` before: new while the first sale is under ``new_days`` old (both windows
    not yet full), growth at a ratio ≥ ``growth``, decline at ≤ ``decline`` (or no sale in
    either window), else mature. The models only see a level and a weekday shape — trend is
    left to this factor, so a model's own trend never doubles it."""

    new_days: int = 112
    window_days: int = 56
    growth: float = 1.2
    decline: float = 0.8
    factors: Mapping[str, float] = field(default_factory=lambda: MappingProxyType(
        {"new": 1.0, "growth": 1.1, "mature": 1.0, "decline": 0.9}))


@dataclass(frozen=True)
class Forecast:
    """``daily``: sku, site, day, base (the model), stage_factor, promo_factor, event_factor,
    forecast (their product). ``summary``: one row per series — sb_class, model, stage, stage_factor,
    observed_days, censored_days (stock-out days in the fitted window), d (mean of the adjusted
    daily forecast over the horizon) and sd (σ of daily demand: RMSE of the model's one-step
    in-sample residuals on observed days, times the stage factor; null with fewer than 2).
    A series with no row in the fitted window has no daily rows, model "none" and null d."""

    daily: pl.DataFrame
    summary: pl.DataFrame


def lead_time_demand(d: Num, sd: Num, lead_time: Num, lead_time_sd: Num) -> tuple[Num, Num]:
    """Mean and σ of demand over a lead time: d·L and √(L·σd² + d²·σL²) (daily demand and lead
    time independent). Floats, or Polars expressions for a whole frame."""
    return d * lead_time, (lead_time * sd**2 + d**2 * lead_time_sd**2) ** 0.5


def forecast(history: pl.DataFrame, classes: pl.DataFrame, *, horizon: int = 28,
             as_of: date | None = None, promotions: pl.DataFrame | None = None,
             lifecycle: Lifecycle = Lifecycle(), fit_days: int = 364,
             weekday_indices: bool = False, n_jobs: int = 1,
             first_sales: pl.DataFrame | None = None,
             events: pl.DataFrame | None = None,
             event_effects: pl.DataFrame | None = None) -> Forecast:
    """Forecast the ``horizon`` days after ``as_of`` (default: the last day in the history).

    ``history``: sku, site, day, qty, stockout — rows of one day add up, any stock-out row
    censors the day, negative qty counts as 0. ``classes``: sku, site, sb_class, one row per
    series. Models see the last ``fit_days`` days: AutoETS (additive error and weekly season,
    no trend) for smooth and erratic, TSB for lumpy (it lets the occurrence probability decay
    when demand stops), Croston SBA otherwise. ``weekday_indices`` spreads the Croston family's
    flat forecast over the weekdays by the series' observed weekday shares. ``promotions``:
    start, end (inclusive), sku and site (null = all), uplift_pct. ``first_sales``: sku, site,
    first_sale — for a history that starts after some series' first sale, so that a series
    older than the history is not taken for new. ``events``: day, name — calendar events; their
    effects are learned from the history up to ``as_of`` (or given as ``event_effects``, the
    ``event_factors`` of a longer history) and applied on the horizon's days.
    """
    days = _days(history)
    as_of = as_of or _last_day(days)
    series = _series(days, classes)
    start = as_of - timedelta(days=fit_days - 1)
    window = days.filter(pl.col("day").is_between(start, as_of))
    seasonal = series.filter(pl.col("sb_class").is_in(list(SEASONAL)))
    croston = series.filter(~pl.col("sb_class").is_in(list(SEASONAL)))
    parts = [_fit(_imputed(window, seasonal, as_of), horizon, n_jobs),
             _fit(_observed(window, croston), horizon, n_jobs)]
    base = pl.concat([p for p, _ in parts]).with_columns(
        day=pl.lit(as_of) + pl.duration(days=pl.col("step")))
    if weekday_indices:
        base = _weekday_shaped(base, window, croston)
    stages = _stages(days, as_of, lifecycle, first_sales)
    daily = (series.select("uid", *KEYS).join(base, on="uid").join(stages, on=KEYS)
             .pipe(_with_promotions, promotions).pipe(_with_events, days, events, as_of, event_effects)
             .with_columns(forecast=pl.col("base") * pl.col("stage_factor") * pl.col("promo_factor")
                           * pl.col("event_factor"))
             .sort(*KEYS, "day"))
    summary = _summary(series.join(pl.concat([s for _, s in parts]), on="uid", how="left"),
                       _counts(window), stages, daily)
    return Forecast(daily=daily.select(
        *KEYS, "day", "base", "stage_factor", "promo_factor", "event_factor", "forecast"),
        summary=summary)


def backtest(history: pl.DataFrame, classes: pl.DataFrame, *, horizon: int = 28,
             as_of: date | None = None, **options: Any) -> pl.DataFrame:
    """Hold out the last ``horizon`` days, forecast them from the days before (``options`` as for
    ``forecast``) and score each series with ``accuracy`` — seasonal scaling (m = 7) for smooth
    and erratic, naive (m = 1) for the rest. Stock-out days of the holdout are not scored."""
    days = _days(history)
    as_of = as_of or _last_day(days)
    cut = as_of - timedelta(days=horizon)
    train = days.filter(pl.col("day") <= cut)
    result = forecast(train, classes, horizon=horizon, as_of=cut, **options)
    test = days.filter(pl.col("day") > cut).join(
        result.daily.select(*KEYS, "day", "forecast"), on=[*KEYS, "day"])
    seasonal = pl.col("sb_class").is_in(list(SEASONAL))
    scored = [accuracy(*(frame.join(classes.filter(keep), on=KEYS, how="semi") for frame in (train, test)),
                       season=m) for keep, m in ((seasonal, WEEK), (~seasonal, 1))]
    return classes.select(*KEYS, "sb_class").join(pl.concat(scored), on=KEYS).sort(KEYS)


def accuracy(train: pl.DataFrame, test: pl.DataFrame, *, season: int = 1) -> pl.DataFrame:
    """MASE and bias per series (Hyndman, R. J. & Koehler, A. B. (2006) "Another look at measures
    of forecast accuracy", International Journal of Forecasting 22(4):679–688).

    ``train``: sku, site, day, qty, stockout — the scale is the in-sample MAE of the
    ``season``-naive forecast, over pairs of days ``season`` apart that are both observed.
    ``test``: sku, site, day, qty, stockout, forecast — observed days only are scored. MASE =
    MAE / scale, bias = mean(forecast − actual) / mean(actual), positive when over-forecast; each
    null where its divisor is 0 (a constant history, a holdout without demand) or undefined.
    Returns sku, site, test_days, mae, scale, mase, bias.
    """
    observed = train.filter(~pl.col("stockout")).select(*KEYS, "day", "qty")
    earlier = observed.select(*KEYS, pl.col("day") + timedelta(days=season), lag=pl.col("qty"))
    scale = observed.join(earlier, on=[*KEYS, "day"]).group_by(KEYS).agg(
        scale=(pl.col("qty") - pl.col("lag")).abs().mean())
    error = pl.col("forecast") - pl.col("qty")
    scored = test.filter(~pl.col("stockout")).group_by(KEYS).agg(
        test_days=pl.len(), mae=error.abs().mean(), _err=error.mean(), _act=pl.col("qty").mean())
    return scored.join(scale, on=KEYS, how="left").with_columns(
        mase=pl.when(pl.col("scale") > 0).then(pl.col("mae") / pl.col("scale")),
        bias=pl.when(pl.col("_act") > 0).then(pl.col("_err") / pl.col("_act")),
    ).select(*KEYS, "test_days", "mae", "scale", "mase", "bias").sort(KEYS)


def _days(history: pl.DataFrame) -> pl.DataFrame:
    return history.group_by(*KEYS, "day").agg(
        qty=pl.col("qty").cast(pl.Float64).clip(lower_bound=0).sum(),
        stockout=pl.col("stockout").fill_null(False).any())


def _last_day(days: pl.DataFrame) -> date:
    last = days["day"].max()
    if not isinstance(last, date):
        raise ValueError("history has no rows")
    return last


def _first_day(spans: pl.DataFrame, default: date) -> date:
    first = spans["first"].min()
    return first if isinstance(first, date) else default


def _series(days: pl.DataFrame, classes: pl.DataFrame) -> pl.DataFrame:
    series = days.select(KEYS).unique().sort(KEYS)
    joined = series.join(classes.select(*KEYS, "sb_class"), on=KEYS, how="left")
    missing = joined.filter(pl.col("sb_class").is_null()).height
    if missing:
        raise ValueError(f"{missing} series have no sb_class")
    return joined.with_row_index("uid")


def _observed(window: pl.DataFrame, series: pl.DataFrame) -> tuple[pl.DataFrame, str]:
    """The Croston family's input: observed days only, in order (unobserved ones dropped)."""
    frame = (window.filter(~pl.col("stockout")).join(series, on=KEYS)
             .sort("uid", "day").select("uid", "sb_class", "qty", observed=pl.lit(True)))
    return frame, "croston"


def _imputed(window: pl.DataFrame, series: pl.DataFrame, as_of: date) -> tuple[pl.DataFrame, str]:
    """The seasonal models' input: every day from the series' first to ``as_of``, unobserved days
    imputed (see the module docstring)."""
    spans = window.join(series, on=KEYS).group_by("uid", "sb_class", *KEYS).agg(
        first=pl.col("day").min())
    calendar = pl.DataFrame({"day": pl.date_range(_first_day(spans, as_of), as_of, eager=True)})
    grid = spans.join(calendar, how="cross").filter(pl.col("day") >= pl.col("first"))
    frame = grid.join(window, on=[*KEYS, "day"], how="left").with_columns(
        observed=pl.col("stockout").is_not_null() & ~pl.col("stockout").fill_null(True))
    seen = pl.when(pl.col("observed")).then(pl.col("qty"))
    recent = pl.when(pl.col("observed") & (pl.col("day") > as_of - timedelta(days=8 * WEEK)))
    weekday = ["uid", pl.col("day").dt.weekday()]
    fill = pl.coalesce(recent.then(pl.col("qty")).mean().over(weekday),
                       seen.mean().over(weekday), seen.mean().over("uid"), pl.lit(0.0))
    frame = frame.sort("uid", "day").with_columns(qty=pl.when(pl.col("observed"))
                                                  .then(pl.col("qty")).otherwise(fill))
    return frame.select("uid", "sb_class", "qty", "observed"), "seasonal"


def _models(family: str, sb_class: str) -> tuple[Any, Any]:
    # Imported here: statsforecast pulls in pandas, scipy and statsmodels (seconds of import).
    from statsforecast.models import TSB, AutoETS, CrostonSBA, HistoricAverage

    if family == "seasonal":  # too short a series for a weekly ETS falls back to its mean
        return AutoETS(season_length=WEEK, model="ANA", alias="model"), HistoricAverage(alias="model")
    if sb_class == "lumpy":
        return TSB(alpha_d=0.1, alpha_p=0.1, alias="model"), None
    return CrostonSBA(alias="model"), None


def _fit(prepared: tuple[pl.DataFrame, str], horizon: int, n_jobs: int
         ) -> tuple[pl.DataFrame, pl.DataFrame]:
    """(forecast: uid, step, base; per series: uid, model, rmse) for one family's input."""
    frame, family = prepared
    bases, stats = [], []
    for (sb_class,), group in frame.group_by("sb_class", maintain_order=True):
        model, fallback = _models(family, str(sb_class))
        data = group.select(unique_id="uid", ds=pl.int_range(pl.len()).over("uid"),
                            y="qty", observed="observed")
        out, fitted = _run(data.drop("observed"), model, fallback, horizon, n_jobs)
        bases.append(out.select(uid="unique_id", step=pl.int_range(1, pl.len() + 1).over("unique_id"),
                                base=pl.col("model").clip(lower_bound=0).fill_nan(None)))
        residual = pl.when(pl.col("observed")).then(pl.col("y") - pl.col("model")).fill_nan(None)
        stats.append(data.join(fitted.drop("y"), on=["unique_id", "ds"]).group_by(uid="unique_id").agg(
            model=pl.lit(type(model).__name__),
            rmse=pl.when(residual.count() >= 2).then(residual.pow(2).mean().sqrt())))
    base_schema = pl.Schema({"uid": pl.UInt32, "step": pl.Int64, "base": pl.Float64})
    stat_schema = pl.Schema({"uid": pl.UInt32, "model": pl.Utf8, "rmse": pl.Float64})
    return (pl.concat([pl.DataFrame(schema=base_schema), *(b.cast(base_schema) for b in bases)]),
            pl.concat([pl.DataFrame(schema=stat_schema), *(s.cast(stat_schema) for s in stats)]))


def _run(data: pl.DataFrame, model: Any, fallback: Any, horizon: int, n_jobs: int
         ) -> tuple[pl.DataFrame, pl.DataFrame]:
    """statsforecast over every series of ``data`` at once: (forecasts, in-sample fitted values).
    It takes and returns Polars frames itself (unique_id, ds, y); ds is a position with freq 1,
    since the Croston family's series skip unobserved days."""
    from statsforecast import StatsForecast

    engine: Any = StatsForecast(models=[model], freq=1, n_jobs=n_jobs, fallback_model=fallback)
    with warnings.catch_warnings():
        # Its helper library still calls Polars' explode without empty_as_null: not ours to fix.
        warnings.filterwarnings("ignore", "In Polars 2.0", DeprecationWarning)
        out = engine.forecast(h=horizon, df=data, fitted=True)
        fitted = engine.forecast_fitted_values()
    assert isinstance(out, pl.DataFrame) and isinstance(fitted, pl.DataFrame)
    return out, fitted


def _weekday_shaped(base: pl.DataFrame, window: pl.DataFrame, croston: pl.DataFrame
                    ) -> pl.DataFrame:
    """Spread the Croston family's flat forecast by observed weekday shares (mean 1 per week)."""
    seen = window.filter(~pl.col("stockout")).join(croston, on=KEYS).with_columns(
        weekday=pl.col("day").dt.weekday())
    means = seen.group_by("uid", "weekday").agg(pl.col("qty").mean())
    index = means.with_columns(index=pl.when(pl.col("qty").sum().over("uid") > 0).then(
        pl.col("qty") / pl.col("qty").mean().over("uid")).otherwise(1.0))
    shaped = base.with_columns(weekday=pl.col("day").dt.weekday()).join(
        index.select("uid", "weekday", "index"), on=["uid", "weekday"], how="left")
    is_croston = pl.col("uid").is_in(croston["uid"].implode())
    return shaped.with_columns(base=pl.when(is_croston).then(
        pl.col("base") * pl.col("index").fill_null(1.0)).otherwise(pl.col("base"))
    ).drop("weekday", "index")


def _stages(days: pl.DataFrame, as_of: date, cycle: Lifecycle,
            first_sales: pl.DataFrame | None = None) -> pl.DataFrame:
    seen = ~pl.col("stockout")
    recent = pl.col("day") > as_of - timedelta(days=cycle.window_days)
    previous = ~recent & (pl.col("day") > as_of - timedelta(days=2 * cycle.window_days))
    rates = days.group_by(KEYS).agg(
        first_sale=pl.col("day").filter(seen & (pl.col("qty") > 0)).min(),
        recent=pl.col("qty").filter(seen & recent).mean(),
        previous=pl.col("qty").filter(seen & previous).mean())
    if first_sales is not None:
        earlier = first_sales.select(*KEYS, earlier=pl.col("first_sale").cast(pl.Date)).cast(
            {key: rates.schema[key] for key in KEYS})
        rates = rates.join(earlier, on=KEYS, how="left").with_columns(
            first_sale=pl.min_horizontal("first_sale", "earlier")).drop("earlier")
    age = (pl.lit(as_of) - pl.col("first_sale")).dt.total_days() + 1
    ratio = pl.col("recent") / pl.col("previous")
    stage = (pl.when(pl.col("first_sale").is_null() | (age < cycle.new_days)).then(pl.lit("new"))
             .when(pl.col("recent").is_null() | pl.col("previous").is_null()).then(pl.lit("mature"))
             .when(pl.col("recent") == 0).then(pl.lit("decline"))
             .when(ratio >= cycle.growth).then(pl.lit("growth"))
             .when(ratio <= cycle.decline).then(pl.lit("decline"))
             .otherwise(pl.lit("mature")))
    return rates.select(*KEYS, stage=stage).with_columns(stage_factor=pl.col("stage").replace_strict(
        dict(cycle.factors), return_dtype=pl.Float64))


def _with_promotions(daily: pl.DataFrame, promotions: pl.DataFrame | None) -> pl.DataFrame:
    """Add promo_factor to ``daily`` (sku, site, day): the product of 1 + uplift_pct/100 over the
    promotions covering the day (overlapping promotions compound), 1.0 where none does."""
    if promotions is None or promotions.is_empty() or daily.is_empty():
        return daily.with_columns(promo_factor=pl.lit(1.0))
    promo = promotions.select(
        "start", "end", p_sku=pl.col("sku").cast(daily.schema["sku"]),
        p_site=pl.col("site").cast(daily.schema["site"]),
        factor=1 + pl.col("uplift_pct").cast(pl.Float64) / 100,
    ).join(daily.select("day").unique(), how="cross").filter(
        pl.col("day").is_between("start", "end"))
    hits = daily.select(*KEYS, "day").join(promo, on="day").filter(
        (pl.col("p_sku").is_null() | (pl.col("p_sku") == pl.col("sku")))
        & (pl.col("p_site").is_null() | (pl.col("p_site") == pl.col("site"))))
    factors = hits.group_by(*KEYS, "day").agg(promo_factor=pl.col("factor").product())
    return daily.join(factors, on=[*KEYS, "day"], how="left").with_columns(
        pl.col("promo_factor").fill_null(1.0))


def _with_events(daily: pl.DataFrame, days: pl.DataFrame, events: pl.DataFrame | None,
                 as_of: date, effects: pl.DataFrame | None) -> pl.DataFrame:
    """Add event_factor to ``daily``: ``effects``, else those learned from the days up to
    ``as_of``."""
    if events is None or events.is_empty():
        return daily.with_columns(event_factor=pl.lit(1.0))
    if effects is None:
        effects = event_factors(days.filter(pl.col("day") <= as_of),
                                events.filter(pl.col("day") <= as_of))
    return with_events(daily, events.filter(pl.col("day") > as_of), effects)


def _summary(fits: pl.DataFrame, counts: pl.DataFrame, stages: pl.DataFrame, daily: pl.DataFrame
             ) -> pl.DataFrame:
    return (fits.join(counts, on=KEYS, how="left").join(stages, on=KEYS)
            .join(daily.group_by(KEYS).agg(d=pl.col("forecast").mean()), on=KEYS, how="left")
            .with_columns(pl.col("model").fill_null("none"),
                          pl.col("observed_days", "censored_days").fill_null(0),
                          sd=pl.col("rmse") * pl.col("stage_factor"))
            .select(*KEYS, "sb_class", "model", "stage", "stage_factor", "observed_days",
                    "censored_days", "d", "sd").sort(KEYS))


def _counts(window: pl.DataFrame) -> pl.DataFrame:
    return window.group_by(KEYS).agg(observed_days=(~pl.col("stockout")).sum().cast(pl.Int64),
                                     censored_days=pl.col("stockout").sum().cast(pl.Int64))
