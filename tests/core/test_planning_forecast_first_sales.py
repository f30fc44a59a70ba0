"""Lifecycle stage of a series whose history window starts after its first sale."""

from datetime import date, timedelta

import polars as pl
import pytest

from cangliu.core.planning.forecast import forecast

AS_OF = date(2026, 11, 22)


def _history(quantities: list[float]) -> pl.DataFrame:
    n = len(quantities)
    return pl.DataFrame({"sku": [1] * n, "site": [7] * n, "qty": quantities, "stockout": [False] * n,
                         "day": [AS_OF - timedelta(days=n - 1 - i) for i in range(n)]})


def test_a_series_sold_before_its_window_is_not_new() -> None:
    # 2 a day, then 4 a day for the last eight weeks: a rising series, 91 days of it in view.
    history = _history([2.0] * 35 + [4.0] * 56)
    classes = pl.DataFrame({"sku": [1], "site": [7], "sb_class": ["smooth"]})
    seen_alone = forecast(history, classes).summary.row(0, named=True)
    earlier = pl.DataFrame({"sku": [1], "site": [7], "first_sale": [AS_OF - timedelta(days=300)]})
    with_past = forecast(history, classes, first_sales=earlier).summary.row(0, named=True)
    assert (seen_alone["stage"], with_past["stage"]) == ("new", "growth")
    assert with_past["d"] == pytest.approx(seen_alone["d"] * 1.1)  # the growth factor
