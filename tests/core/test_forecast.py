from datetime import date, timedelta
from typing import Any

import numpy as np
import polars as pl
import pytest

from cangliu.core.planning.forecast import Lifecycle, accuracy, backtest, forecast, lead_time_demand

START = date(2025, 1, 6)  # a Monday
WEEKDAY_SHAPE = [1.0, 0.9, 0.9, 1.0, 1.2, 1.6, 1.4]  # Monday .. Sunday


def history(sku: str, qty: list[float], *, site: str = "S1", stockout: list[bool] | None = None,
            start: date = START) -> pl.DataFrame:
    return pl.DataFrame({
        "sku": sku, "site": site, "day": [start + timedelta(days=i) for i in range(len(qty))],
        "qty": [float(q) for q in qty], "stockout": stockout or [False] * len(qty)})


def classes(frame: pl.DataFrame) -> pl.DataFrame:
    """Syntetos–Boylan quadrants, simply: ADI ≥ 1.32 and CV² ≥ 0.49 over observed days."""
    seen = frame.filter(~pl.col("stockout"))
    stats = seen.group_by("sku", "site").agg(
        adi=pl.len() / (pl.col("qty") > 0).sum(),
        cv2=(pl.col("qty").filter(pl.col("qty") > 0).std() / pl.col("qty").filter(pl.col("qty") > 0).mean())
        .fill_nan(0).fill_null(0) ** 2)
    return stats.select("sku", "site", sb_class=pl.when(pl.col("adi") < 1.32).then(
        pl.when(pl.col("cv2") < 0.49).then(pl.lit("smooth")).otherwise(pl.lit("erratic"))).otherwise(
        pl.when(pl.col("cv2") < 0.49).then(pl.lit("intermittent")).otherwise(pl.lit("lumpy"))))


def run(frame: pl.DataFrame, **options: Any) -> pl.DataFrame:
    return forecast(frame, classes(frame), **options).daily


def seasonal_qty(days: int, rng: np.random.Generator, level: float = 20.0) -> list[float]:
    return [float(q) for q in rng.poisson([level * WEEKDAY_SHAPE[i % 7] for i in range(days)])]


def intermittent_qty(days: int, rng: np.random.Generator, p: float = 0.2) -> list[float]:
    sizes = rng.poisson(3, days) + 1
    return [float(s) if hit else 0.0 for s, hit in zip(sizes, rng.random(days) < p, strict=True)]


def test_constant_series_forecasts_its_level() -> None:
    daily = run(history("A", [5.0] * 200))
    assert daily.height == 28
    assert daily["forecast"].to_list() == pytest.approx([5.0] * 28, abs=1e-6)
    assert daily["day"][0] == START + timedelta(days=200)


def test_weekly_seasonal_series_keeps_its_weekday_shape() -> None:
    frame = history("A", seasonal_qty(364, np.random.default_rng(1)))
    assert classes(frame)["sb_class"][0] == "smooth"
    daily = run(frame).with_columns(weekday=pl.col("day").dt.weekday() - 1)
    for weekday, value in daily.select("weekday", "forecast").iter_rows():
        assert value == pytest.approx(20 * WEEKDAY_SHAPE[weekday], rel=0.12)


def test_intermittent_series_get_croston_forecasts_near_their_demand_rate() -> None:
    rng = np.random.default_rng(2)
    frames = [history(f"I{i}", intermittent_qty(364, rng)) for i in range(4)]
    frame = pl.concat(frames)
    result = forecast(frame, classes(frame))
    assert set(result.summary["sb_class"]) <= {"intermittent", "lumpy"}
    assert set(result.summary["model"]) <= {"CrostonSBA", "TSB"}
    rates = frame.filter(pl.col("day") >= START + timedelta(days=182)).group_by("sku").agg(
        rate=pl.col("qty").mean())
    for sku, d, rate in result.summary.join(rates, on="sku").select("sku", "d", "rate").iter_rows():
        assert d == pytest.approx(rate, rel=0.3), sku
        assert result.daily.filter(pl.col("sku") == sku)["forecast"].n_unique() == 1  # flat


def test_censored_days_do_not_lower_the_forecast() -> None:
    rng = np.random.default_rng(3)
    truth = {"smooth": seasonal_qty(364, rng, level=10), "sparse": intermittent_qty(364, rng, 0.3)}
    out = rng.random(364) < 0.3  # stock-outs on 30% of days: nothing could be sold
    for sku, qty in truth.items():
        sold = [0.0 if o else q for q, o in zip(qty, out, strict=True)]
        true_class = classes(history(sku, qty))
        true_d = forecast(history(sku, qty), true_class).summary["d"][0]
        flagged = forecast(history(sku, sold, stockout=out.tolist()), true_class).summary["d"][0]
        unflagged = forecast(history(sku, sold), true_class).summary["d"][0]
        assert flagged >= 0.93 * true_d, sku
        assert unflagged < 0.85 * true_d, sku  # reading stock-outs as zero demand drags it down


def test_promotions_multiply_exactly_their_days() -> None:
    rng = np.random.default_rng(4)
    frame = pl.concat([history(sku, seasonal_qty(200, rng), site=site)
                       for sku in ("A", "B") for site in ("S1", "S2")])
    first = START + timedelta(days=200)
    promotions = pl.DataFrame({
        "start": [first + timedelta(days=3), first + timedelta(days=5), first - timedelta(days=9)],
        "end": [first + timedelta(days=9), first + timedelta(days=5), first],
        "sku": ["A", "A", None], "site": [None, "S2", None], "uplift_pct": [30.0, 50.0, 100.0]})
    plain, promoted = run(frame), run(frame, promotions=promotions)
    ratio = plain.join(promoted, on=["sku", "site", "day"]).select(
        "sku", "site", "day", ratio=pl.col("forecast_right") / pl.col("forecast"))
    for sku, site, day, value in ratio.iter_rows():
        offset = (day - first).days
        expected = 1.0
        if sku == "A" and 3 <= offset <= 9:
            expected *= 1.3
        if sku == "A" and site == "S2" and offset == 5:
            expected *= 1.5
        if offset == 0:
            expected *= 2.0
        assert value == pytest.approx(expected, rel=1e-12), (sku, site, day)


def test_mase_and_bias_against_a_hand_checked_example() -> None:
    train = history("A", [2, 4, 9, 4, 0], stockout=[False, False, True, False, False])
    test = history("A", [3, 1, 7], stockout=[False, False, True], start=START + timedelta(days=5))
    test = test.with_columns(forecast=pl.Series([3.0, 3.0, 0.0]))
    # Naive pairs with both days observed: (2→4), (4→0): scale = (2 + 4) / 2 = 3.
    # Observed test days: errors 0 and +2 → MAE 1, MASE 1/3; bias = mean error 1 / mean actual 2.
    row = accuracy(train, test, season=1).row(0, named=True)
    assert row["scale"] == pytest.approx(3.0)
    assert row["test_days"] == 2
    assert row["mase"] == pytest.approx(1 / 3)
    assert row["bias"] == pytest.approx(0.5)


def test_backtest_scores_the_held_out_days() -> None:
    rng = np.random.default_rng(5)
    frame = pl.concat([history("S", seasonal_qty(300, rng)), history("I", intermittent_qty(300, rng))])
    scores = backtest(frame, classes(frame))
    assert scores["sku"].to_list() == ["I", "S"]
    assert scores["test_days"].to_list() == [28, 28]
    seasonal = scores.filter(pl.col("sku") == "S").row(0, named=True)
    assert seasonal["mase"] < 1.0  # beats the seasonal naive forecast's in-sample error
    assert abs(seasonal["bias"]) < 0.1


def test_lead_time_demand_combines_demand_and_lead_time_variability() -> None:
    mean, sd = lead_time_demand(10.0, 3.0, 4.0, 1.0)
    assert mean == 40.0
    assert sd == pytest.approx((4 * 3.0**2 + 10.0**2 * 1.0**2) ** 0.5)
    frame = pl.DataFrame({"d": [10.0, 0.0], "sd": [3.0, 2.0], "L": [4.0, 9.0], "sL": [1.0, 3.0]})
    mean_e, sd_e = lead_time_demand(pl.col("d"), pl.col("sd"), pl.col("L"), pl.col("sL"))
    out = frame.select(mean=mean_e, sd=sd_e)
    assert out["mean"].to_list() == [40.0, 0.0]
    assert out["sd"].to_list() == pytest.approx([136**0.5, 6.0])


def test_lifecycle_stage_scales_the_forecast() -> None:
    rng = np.random.default_rng(6)
    old = seasonal_qty(308, rng, level=10)
    growing = old[:252] + [2 * q for q in old[252:]]  # the last 8 weeks sell twice as much
    frame = pl.concat([history("OLD", old), history("UP", growing),
                       history("NEW", seasonal_qty(60, rng), start=START + timedelta(days=248))])
    summary = forecast(frame, classes(frame), lifecycle=Lifecycle(factors={
        "new": 1.0, "growth": 1.25, "mature": 1.0, "decline": 0.8})).summary
    stages = dict(summary.select("sku", "stage").iter_rows())
    assert stages == {"NEW": "new", "OLD": "mature", "UP": "growth"}
    assert summary.filter(pl.col("sku") == "UP")["stage_factor"][0] == 1.25


def test_weekday_indices_put_intermittent_demand_on_its_selling_days() -> None:
    rng = np.random.default_rng(7)
    # Sells only at weekends (Saturday or Sunday), some weekends not at all.
    qty = [float(rng.poisson(4) + 1) if i % 7 >= 5 and rng.random() < 0.6 else 0.0 for i in range(280)]
    frame = history("W", qty)
    flat = forecast(frame, classes(frame))
    shaped = forecast(frame, classes(frame), weekday_indices=True)
    assert flat.daily["forecast"].n_unique() == 1
    weekdays = shaped.daily.with_columns(weekday=pl.col("day").dt.weekday())
    assert weekdays.filter(pl.col("weekday") <= 5)["forecast"].max() == 0.0
    assert shaped.summary["d"][0] == pytest.approx(flat.summary["d"][0])  # redistributed, not added


def test_a_series_with_no_observed_day_gets_no_forecast() -> None:
    frame = pl.concat([history("GONE", [3.0] * 10, stockout=[True] * 10),
                       history("A", [5.0] * 60)])
    result = forecast(frame, pl.DataFrame({"sku": ["A", "GONE"], "site": "S1",
                                           "sb_class": ["smooth", "intermittent"]}))
    gone = result.summary.filter(pl.col("sku") == "GONE").row(0, named=True)
    assert (gone["model"], gone["d"], gone["censored_days"]) == ("none", None, 10)
    assert result.daily["sku"].unique().to_list() == ["A"]
