"""Forecast throughput: every series of a demand pattern fitted at once, against a per-series loop.

Synthetic two-year daily histories (2% stock-out days), no database. *Vectorised*: the whole
``cangliu.core.planning.forecast.forecast`` call (Polars preparation, statsforecast over each
class at once, lifecycle, summary) on 10,000 intermittent/lumpy series (Croston SBA / TSB) and
on a smaller smooth batch (AutoETS with a weekly season). *Baseline*: the same models, one
series at a time, in a plain Python loop over a 200-series sample — each series' observed days
(smooth: imputed) handed to the model's own ``forecast(y=..., h=..., fitted=True)``, with
nothing else around it. The ratio is vectorised series/s over loop series/s.

    python bench/forecast.py [--series 10000] [--smooth 500] [--sample 200] [--n-jobs 1]

The last line of output is one JSON object with every figure.
"""

import argparse
import json
import os
import time
from datetime import date, timedelta
from typing import Any

import numpy as np
import polars as pl

from cangliu.core.planning.forecast import forecast

DAYS = 730
HORIZON = 28
FIT_DAYS = 364  # forecast()'s default window, used by the baseline too
TARGETS = {"intermittent_series_per_s": 500.0}
START = date(2024, 11, 25)


def histories(kind: str, n: int, seed: int) -> tuple[pl.DataFrame, pl.DataFrame]:
    """``n`` series of ``DAYS`` days: (history, classes). Intermittent: demand on 20% of days,
    1 + Poisson(3) units; lumpy (every third series): on 10% of days, geometric sizes of mean 8;
    smooth: Poisson around 20 with a weekday shape."""
    rng = np.random.default_rng(seed)
    if kind == "smooth":
        shape = np.array([1.0, 0.9, 0.9, 1.0, 1.2, 1.6, 1.4])
        qty = rng.poisson(20 * shape[np.arange(DAYS) % 7], (n, DAYS)).astype(float)
        pattern = np.full(n, "smooth")
    else:
        lumpy = np.arange(n) % 3 == 2
        hit = rng.random((n, DAYS)) < np.where(lumpy, 0.1, 0.2)[:, None]
        sizes = np.where(lumpy[:, None], rng.geometric(1 / 8, (n, DAYS)), rng.poisson(3, (n, DAYS)) + 1)
        qty = np.where(hit, sizes, 0).astype(float)
        pattern = np.where(lumpy, "lumpy", "intermittent")
    skus = np.array([f"{kind[0].upper()}{i:05d}" for i in range(n)])
    frame = pl.DataFrame({
        "sku": np.repeat(skus, DAYS), "site": "W01",
        "day": np.tile(np.arange(np.datetime64(START), np.datetime64(START) + DAYS), n),
        "qty": qty.ravel(), "stockout": rng.random(n * DAYS) < 0.02})
    classes = pl.DataFrame({"sku": skus, "site": "W01", "sb_class": pattern})
    return frame.with_columns(pl.col("day").cast(pl.Date)), classes


def model_for(sb_class: str) -> Any:
    from statsforecast.models import TSB, AutoETS, CrostonSBA

    if sb_class == "smooth":
        return AutoETS(season_length=7, model="ANA")
    return TSB(alpha_d=0.1, alpha_p=0.1) if sb_class == "lumpy" else CrostonSBA()


def loop_baseline(history: pl.DataFrame, classes: pl.DataFrame, sample: int, *, engine: bool
                  ) -> dict[str, Any]:
    """The same models, one series at a time, from the same long frame: the last FIT_DAYS days,
    observed days only (smooth: stock-outs filled with the series' weekday mean), then per series
    a StatsForecast of its own (``engine``) or the bare model's forecast; mean and RMSE."""
    from statsforecast import StatsForecast

    picked = classes.head(sample)
    started = time.perf_counter()
    window = history.join(picked, on=["sku", "site"]).filter(
        pl.col("day") > START + timedelta(days=DAYS - FIT_DAYS - 1)).sort("sku", "day")
    for group in window.partition_by("sku", maintain_order=True):
        sb_class = group["sb_class"][0]
        y, out = group["qty"].to_numpy().copy(), group["stockout"].to_numpy()
        if sb_class == "smooth":
            weekday = np.arange(len(y)) % 7
            for w in range(7):
                seen = (weekday == w) & ~out
                y[(weekday == w) & out] = y[seen].mean() if seen.any() else 0.0
        else:
            y = y[~out]
        if engine:
            one: Any = StatsForecast(models=[model_for(sb_class)], freq=1)
            mean = one.forecast(h=HORIZON, df=pl.DataFrame(
                {"unique_id": 0, "ds": np.arange(len(y)), "y": y}), fitted=True)[:, 2].to_numpy()
            fitted = one.forecast_fitted_values()[:, 3].to_numpy()
        else:
            result = model_for(sb_class).forecast(y=y, h=HORIZON, fitted=True)
            mean, fitted = result["mean"], result["fitted"]
        _ = float(np.clip(mean, 0, None).mean()), float(np.sqrt(np.nanmean((y - fitted) ** 2)))
    seconds = time.perf_counter() - started
    return {"series": picked.height, "seconds": round(seconds, 3),
            "series_per_s": round(picked.height / seconds, 1)}


def vectorised(history: pl.DataFrame, classes: pl.DataFrame, n_jobs: int) -> dict[str, Any]:
    started = time.perf_counter()
    result = forecast(history, classes, horizon=HORIZON, fit_days=FIT_DAYS, n_jobs=n_jobs)
    seconds = time.perf_counter() - started
    n = result.summary.height
    assert result.daily.height == n * HORIZON
    return {"series": n, "seconds": round(seconds, 3), "series_per_s": round(n / seconds, 1),
            "mean_d": result.summary["d"].mean(),
            "models": dict(result.summary.group_by("model").len().iter_rows())}


def measure(kind: str, n: int, sample: int, n_jobs: int, seed: int) -> dict[str, Any]:
    history, classes = histories(kind, n, seed)
    fast = vectorised(history, classes, n_jobs)
    loop = loop_baseline(history, classes, sample, engine=True)
    bare = loop_baseline(history, classes, sample, engine=False)
    return {"vectorised": fast, "loop_statsforecast": loop, "loop_bare_model": bare,
            "ratio": round(fast["series_per_s"] / loop["series_per_s"], 2),
            "ratio_to_bare_model_loop": round(fast["series_per_s"] / bare["series_per_s"], 2)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--series", type=int, default=10_000, help="intermittent/lumpy series")
    parser.add_argument("--smooth", type=int, default=500, help="smooth series")
    parser.add_argument("--sample", type=int, default=200, help="series in the loop baseline")
    parser.add_argument("--n-jobs", type=int, default=1, help="statsforecast worker processes")
    args = parser.parse_args()
    load_before = list(os.getloadavg())
    started = time.perf_counter()
    import statsforecast  # noqa: F401  (import time is reported, not measured in the runs)

    import_s = time.perf_counter() - started
    warm, warm_classes = histories("intermittent", 30, 0)  # first calls pay one-off set-up
    forecast(warm, warm_classes, horizon=HORIZON)
    forecast(warm, warm_classes.with_columns(sb_class=pl.lit("smooth")), horizon=HORIZON)
    report: dict[str, Any] = {
        "benchmark": "forecast", "cpus": os.cpu_count(), "n_jobs": args.n_jobs,
        "days": DAYS, "fit_days": FIT_DAYS, "horizon": HORIZON,
        "statsforecast_import_s": round(import_s, 2),
        "intermittent": measure("intermittent", args.series, args.sample, args.n_jobs, 1),
        "smooth": measure("smooth", args.smooth, args.sample, args.n_jobs, 2),
        "load_average_before": load_before, "load_average_after": list(os.getloadavg()),
        "targets": TARGETS,
    }
    report["intermittent_ok"] = (report["intermittent"]["vectorised"]["series_per_s"]
                                 >= TARGETS["intermittent_series_per_s"])
    rows = [(f"{kind}: {r['vectorised']['series']} series at once",
             f"{r['vectorised']['series_per_s']:.0f} series/s",
             f"loop of {r['loop_statsforecast']['series']}: "
             f"{r['loop_statsforecast']['series_per_s']:.0f}/s (ratio {r['ratio']:.1f}); bare model "
             f"{r['loop_bare_model']['series_per_s']:.0f}/s (ratio {r['ratio_to_bare_model_loop']:.2f})")
            for kind, r in ((k, report[k]) for k in ("intermittent", "smooth"))]
    print("\n".join(f"{a:<40} {b:<18} {c}" for a, b, c in rows))
    print(f"target ≥ {TARGETS['intermittent_series_per_s']:g} intermittent series/s: "
          f"{'met' if report['intermittent_ok'] else 'not met'}")
    print(json.dumps(report))


if __name__ == "__main__":
    main()
