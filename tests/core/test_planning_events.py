"""Calendar-event effects: learned per event name (pooled, and per series with enough data) from
event-day demand against the same weekday of the surrounding weeks, shrunk toward 1, and applied
on the next occurrence; stock-outs are not read as low demand; forecasts carry event_factor."""

from datetime import date, timedelta

import polars as pl
import pytest

from cangliu.core.planning.events import event_factors, with_events
from cangliu.core.planning.forecast import forecast

START = date(2022, 1, 3)  # a Monday
YEARS = 3
EVENT_DAYS = [date(2022, 11, 25), date(2023, 11, 24), date(2024, 11, 29)]  # Black Friday
NEXT = date(2025, 11, 28)


def _series(sku: int, site: int, level: float, *, spike: float = 3.0, days: int = 365 * YEARS,
            stockout_on: set[date] | None = None) -> pl.DataFrame:
    dates = [START + timedelta(days=i) for i in range(days)]
    qty = [level * (spike if d in EVENT_DAYS else 1.0) for d in dates]
    out = set(stockout_on or ())
    return pl.DataFrame({"sku": sku, "site": site, "day": dates,
                         "qty": [0.0 if d in out else q for d, q in zip(dates, qty, strict=True)],
                         "stockout": [d in out for d in dates]})


def _events(days: list[date], name: str = "BlackFriday") -> pl.DataFrame:
    return pl.DataFrame({"day": days, "name": [name] * len(days)})


def _pooled(factors: pl.DataFrame, name: str = "BlackFriday") -> float:
    return factors.filter(pl.col("name") == name, pl.col("sku").is_null())["factor"].item()


def test_a_yearly_three_fold_day_is_learned_as_three_and_applied_on_the_next_occurrence() -> None:
    history = pl.concat([_series(sku, 1, 10.0) for sku in range(1, 5)])
    exact = event_factors(history, _events(EVENT_DAYS), shrink=0)
    assert _pooled(exact) == pytest.approx(3.0)
    factors = event_factors(history, _events(EVENT_DAYS))
    assert _pooled(factors) == pytest.approx(3.0, rel=0.05)
    assert factors.filter(pl.col("sku").is_null())["occurrences"].item() == 4 * YEARS
    daily = pl.DataFrame({"sku": [1, 1, 2], "site": [1, 1, 1],
                          "day": [NEXT - timedelta(days=1), NEXT, NEXT]})
    applied = with_events(daily, _events([NEXT]), factors)
    assert applied["event_factor"][0] == 1.0
    assert applied["event_factor"][1] == pytest.approx(3.0, rel=0.05)
    assert applied["event_factor"][2] == pytest.approx(3.0, rel=0.05)


def test_few_observations_shrink_toward_one_and_too_few_give_no_factor() -> None:
    history = _series(1, 1, 10.0)
    one_year = event_factors(history, _events(EVENT_DAYS[:1]))
    assert one_year.is_empty()  # 1 observation < min_occurrences
    two = _pooled(event_factors(history, _events(EVENT_DAYS[:2])))
    three = _pooled(event_factors(history, _events(EVENT_DAYS)))
    assert 1.0 < two < three < 3.0
    assert two == pytest.approx((2 * 3 + 0.5) / 2.5)


def test_a_never_seen_event_gets_one() -> None:
    history = _series(1, 1, 10.0)
    factors = event_factors(history, _events(EVENT_DAYS))
    daily = pl.DataFrame({"sku": [1], "site": [1], "day": [NEXT]})
    applied = with_events(daily, _events([NEXT], "Superbowl"), factors)
    assert applied["event_factor"].to_list() == [1.0]
    assert with_events(daily, _events([]), factors)["event_factor"].to_list() == [1.0]


def test_stockout_days_are_not_read_as_low_demand() -> None:
    # Out of stock on the event day itself: no observation at all (not a factor of 0).
    dark = _series(1, 1, 10.0, stockout_on={EVENT_DAYS[0]})
    factors = event_factors(dark, _events(EVENT_DAYS), shrink=0)
    assert _pooled(factors) == pytest.approx(3.0)
    assert factors.filter(pl.col("sku").is_null())["occurrences"].item() == YEARS - 1
    # Out of stock on the baseline weekdays around it: they are left out of the baseline.
    around = {d + timedelta(days=7 * w) for d in EVENT_DAYS for w in (-2, -1, 1)}
    thin = _series(1, 1, 10.0, stockout_on=around)
    assert _pooled(event_factors(thin, _events(EVENT_DAYS), shrink=0)) == pytest.approx(3.0)


def test_other_event_days_stay_out_of_the_baseline() -> None:
    history = _series(1, 1, 10.0)
    christmas = [d + timedelta(days=28) for d in EVENT_DAYS]  # a Friday four weeks later …
    boosted = history.with_columns(qty=pl.when(pl.col("day").is_in(christmas))
                                   .then(pl.col("qty") * 5).otherwise(pl.col("qty")))
    events = pl.concat([_events(EVENT_DAYS), _events(christmas, "Christmas")])
    # … is in Black Friday's baseline weeks with weeks=4: it would raise the baseline if it counted.
    factors = event_factors(boosted, events, shrink=0, weeks=4)
    assert _pooled(factors) == pytest.approx(3.0)
    assert _pooled(factors, "Christmas") == pytest.approx(5.0)


def test_a_series_with_its_own_effect_keeps_it_and_a_slow_one_the_pooled() -> None:
    history = pl.concat([_series(1, 1, 100.0, spike=2.0), _series(2, 1, 100.0, spike=4.0),
                         _series(3, 1, 0.1, spike=10.0)])
    factors = event_factors(history, _events(EVENT_DAYS), shrink=0)
    own = dict(factors.filter(pl.col("sku").is_not_null()).select("sku", "factor").iter_rows())
    pooled = _pooled(factors)
    assert own[1] == pytest.approx(2.0, abs=0.15) and own[2] == pytest.approx(4.0, abs=0.15)
    assert abs(own[3] - pooled) < 0.2 * pooled
    daily = pl.DataFrame({"sku": [1, 2, 9], "site": [1, 1, 1], "day": [NEXT] * 3})
    applied = with_events(daily, _events([NEXT]), factors)["event_factor"].to_list()
    assert applied[0] == pytest.approx(own[1]) and applied[1] == pytest.approx(own[2])
    assert applied[2] == pytest.approx(pooled)  # no history of its own


def test_forecast_multiplies_the_event_factor_into_the_horizon() -> None:
    days = 364 * 2 + 7
    history = pl.concat([_series(sku, 1, 10.0, days=days) for sku in (1, 2)])
    as_of = START + timedelta(days=days - 1)
    ahead = as_of + timedelta(days=10)
    classes = pl.DataFrame({"sku": [1, 2], "site": [1, 1], "sb_class": ["smooth"] * 2})
    events = _events([*EVENT_DAYS[:2], ahead])
    plain = forecast(history, classes, as_of=as_of, horizon=14).daily
    result = forecast(history, classes, as_of=as_of, horizon=14, events=events).daily
    assert "event_factor" in result.columns and plain["event_factor"].unique().to_list() == [1.0]
    on = result.filter(pl.col("day") == ahead)
    pooled = (4 * 3 + 0.5) / 4.5  # 4 observations; each series' own: 2 of 10 units a day
    assert on["event_factor"].to_list() == pytest.approx([(60 + 20 * pooled) / (20 + 20)] * 2)
    assert on["forecast"].to_list() == pytest.approx(
        (on["base"] * on["stage_factor"] * on["promo_factor"] * on["event_factor"]).to_list())
    off = result.filter(pl.col("day") != ahead)
    assert off["event_factor"].unique().to_list() == [1.0]
    assert off["forecast"].to_list() == pytest.approx(
        plain.filter(pl.col("day") != ahead)["forecast"].to_list())


def test_a_history_of_demand_days_only_reads_missing_days_as_zero() -> None:
    closed = [d + timedelta(days=31) for d in EVENT_DAYS]  # Christmas-like: no sale, no row
    full = _series(1, 1, 10.0)
    sparse = full.filter(~pl.col("day").is_in(closed))
    events = pl.concat([_events(EVENT_DAYS), _events(closed, "Closed")])
    assert "Closed" not in event_factors(sparse, events)["name"].to_list()  # unobserved
    zero = event_factors(sparse, events, shrink=0, missing_is_zero=True)
    assert _pooled(zero, "Closed") == 0.0 and _pooled(zero) == pytest.approx(3.0)
    # Before a series' first row nothing is filled in.
    late = sparse.filter(pl.col("day") > closed[1])  # a row a week after it, none before
    assert event_factors(late, events, missing_is_zero=True, min_occurrences=1).filter(
        pl.col("sku").is_null())["occurrences"].to_list() == [1, 1]


def test_given_effects_replace_those_learned_from_the_history() -> None:
    days = 364 + 7
    history = _series(1, 1, 10.0, days=days)
    as_of = START + timedelta(days=days - 1)
    ahead = as_of + timedelta(days=5)
    classes = pl.DataFrame({"sku": [1], "site": [1], "sb_class": ["smooth"]})
    effects = pl.DataFrame({"name": ["BlackFriday"], "sku": [None], "site": [None],
                            "factor": [2.5], "occurrences": [9]},
                           schema_overrides={"sku": pl.Int64, "site": pl.Int64,
                                             "occurrences": pl.UInt32})
    result = forecast(history, classes, as_of=as_of, horizon=7, events=_events([ahead]),
                      event_effects=effects).daily
    assert result.filter(pl.col("day") == ahead)["event_factor"].to_list() == [2.5]
    learned = forecast(history, classes, as_of=as_of, horizon=7, events=_events([ahead])).daily
    assert learned["event_factor"].unique().to_list() == [1.0]  # one year: one occurrence
