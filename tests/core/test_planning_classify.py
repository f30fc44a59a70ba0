"""Demand classes: ABC by value, XYZ by variability, Syntetos–Boylan patterns, censored days."""

import statistics
from datetime import date, timedelta

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cangliu.core.planning.classify import (
    AbcCutoffs,
    PatternCutoffs,
    Period,
    XyzCutoffs,
    abc_classes,
    complete_days,
    demand_classes,
    pattern_of,
    xyz_of,
)

MONDAY = date(2026, 1, 5)
STATS = ["periods", "demand_periods", "mean", "std", "cv", "adi", "cv2", "xyz", "pattern"]


def history(series: dict[str, list[float]], stockouts: dict[str, set[int]] | None = None) -> pl.DataFrame:
    """Daily rows from MONDAY for each SKU at site S1; ``stockouts`` lists censored day indexes."""
    stockouts = stockouts or {}
    rows = [{"sku": sku, "site": "S1", "day": MONDAY + timedelta(i), "qty": float(qty),
             "stockout": i in stockouts.get(sku, set())}
            for sku, qtys in series.items() for i, qty in enumerate(qtys)]
    return pl.DataFrame(rows, schema={"sku": pl.Utf8, "site": pl.Utf8, "day": pl.Date,
                                      "qty": pl.Float64, "stockout": pl.Boolean})


def one(frame: pl.DataFrame, sku: str = "X") -> dict[str, object]:
    return frame.filter(pl.col("sku") == sku).row(0, named=True)


# --- ABC -------------------------------------------------------------------------------------

def test_abc_gives_a_to_the_skus_that_make_up_the_first_80_percent_of_value() -> None:
    values = pl.DataFrame({"sku": list("ABCDE"), "site": "S1", "value": [500.0, 300, 100, 60, 40]})
    classes = dict(abc_classes(values).select("sku", "abc").iter_rows())
    # Cumulative shares 50 %, 80 %, 90 %, 96 %, 100 %: D is the SKU that crosses 95 %.
    assert classes == {"A": "A", "B": "A", "C": "B", "D": "B", "E": "C"}


def test_abc_top_sku_is_a_even_when_it_alone_passes_the_a_cut_off() -> None:
    values = pl.DataFrame({"sku": ["BIG", "MID", "SMALL"], "site": "S1", "value": [900.0, 60, 40]})
    # BIG alone holds 90 %; MID starts at 90 % (< 95 %) so is B; SMALL starts at 96 %.
    assert dict(abc_classes(values).select("sku", "abc").iter_rows()) == {
        "BIG": "A", "MID": "B", "SMALL": "C"}


def test_abc_cut_offs_are_configurable() -> None:
    values = pl.DataFrame({"sku": list("ABC"), "site": "S1", "value": [50.0, 30, 20]})
    classes = abc_classes(values, cutoffs=AbcCutoffs(a=0.5, b=0.8))
    assert classes["abc"].to_list() == ["A", "B", "C"]


def test_abc_per_site_ranks_each_site_on_its_own_and_network_ranks_the_totals() -> None:
    values = pl.DataFrame({"sku": ["P", "Q", "P", "Q"], "site": ["S1", "S1", "S2", "S2"],
                           "value": [900.0, 100, 10, 90]})
    per_site = {(r["sku"], r["site"]): r["abc"] for r in abc_classes(values).iter_rows(named=True)}
    assert per_site == {("P", "S1"): "A", ("Q", "S1"): "B", ("Q", "S2"): "A", ("P", "S2"): "B"}
    network = abc_classes(values, scope="network")
    assert {(r["sku"], r["site"]): r["abc"] for r in network.iter_rows(named=True)} == {
        ("P", "S1"): "A", ("P", "S2"): "A", ("Q", "S1"): "B", ("Q", "S2"): "B"}
    assert network.filter(pl.col("sku") == "P")["share"].to_list() == pytest.approx([910 / 1100] * 2)


def test_abc_of_a_site_without_value_is_all_c() -> None:
    values = pl.DataFrame({"sku": ["A", "B"], "site": "S1", "value": [0.0, -5.0]})
    assert abc_classes(values)["abc"].to_list() == ["C", "C"]


@given(st.lists(st.integers(min_value=0, max_value=10_000), min_size=1, max_size=30))
def test_abc_classes_never_rank_a_higher_value_below_a_lower_one(amounts: list[int]) -> None:
    values = pl.DataFrame({"sku": [f"K{i:02}" for i in range(len(amounts))], "site": "S1",
                           "value": [float(a) for a in amounts]})
    ranked = abc_classes(values).sort("value", descending=True)
    assert ranked["abc"].to_list() == sorted(ranked["abc"].to_list())
    total = sum(amounts)
    if total:
        a_items = ranked.filter(pl.col("abc") == "A")["value"].to_list()
        # The A set is the shortest head of the ranking that reaches 80 % of value.
        assert sum(a_items) >= 0.8 * total - 1e-6
        assert sum(a_items[:-1]) < 0.8 * total + 1e-6


# --- demand statistics -----------------------------------------------------------------------

def test_an_intermittent_series_has_adi_of_periods_per_demand_and_cv2_of_sizes() -> None:
    # 8 days, demand on 3: ADI = 8 / 3. Sizes 3, 5, 4: mean 4, sample variance 1, CV² = 1/16.
    row = one(demand_classes(history({"X": [0, 3, 0, 0, 5, 0, 0, 4]})))
    assert row["periods"] == 8 and row["demand_periods"] == 3
    assert row["adi"] == pytest.approx(8 / 3)
    assert row["cv2"] == pytest.approx(1 / 16)
    assert row["mean"] == pytest.approx(1.5)
    assert row["std"] == pytest.approx((32 / 7) ** 0.5)  # Σq² = 50, (50 − 8·1.5²) / 7
    assert row["pattern"] == "intermittent"
    assert row["xyz"] == "Z"  # cv = 2.14 / 1.5 = 1.43


@pytest.mark.parametrize(("qtys", "pattern", "xyz"), [
    ([4, 5, 6, 5, 4, 6], "smooth", "X"),         # ADI 1, CV² 0.032
    ([1, 10, 1, 12, 2, 9], "erratic", "Y"),      # ADI 1, CV² 0.71
    ([0, 0, 10, 0, 1, 0, 0, 20], "lumpy", "Z"),  # ADI 2.67, CV² 0.85
    ([0, 0, 0, 0], "no_demand", None),
    ([0, 0, 7, 0], "insufficient", "Z"),
])
def test_each_series_lands_in_its_syntetos_boylan_quadrant(
        qtys: list[float], pattern: str, xyz: str | None) -> None:
    row = one(demand_classes(history({"X": qtys})))
    assert (row["pattern"], row["xyz"]) == (pattern, xyz)


def test_a_series_with_only_stockout_days_has_no_history() -> None:
    row = one(demand_classes(history({"X": [5, 0, 3]}, {"X": {0, 1, 2}})))
    assert row["pattern"] == "no_history"
    assert (row["periods"], row["censored_periods"], row["mean"]) == (0, 3, None)


def test_stockout_days_are_dropped_not_counted_as_zero_demand() -> None:
    # Days 2 and 3 sold nothing because the shelf was empty: the mean is of days 0, 1, 4 only.
    row = one(demand_classes(history({"X": [6, 6, 0, 0, 6]}, {"X": {2, 3}})))
    assert (row["periods"], row["censored_periods"]) == (3, 2)
    assert row["mean"] == 6.0 and row["adi"] == 1.0 and row["pattern"] == "smooth"


def test_weekly_buckets_drop_a_week_with_a_stockout_or_missing_day() -> None:
    qtys = [*[1] * 7, *[2] * 7, *[9] * 7, 5, 5, 5]
    row = one(demand_classes(history({"X": qtys}, {"X": {16}}), period="week"))
    # Weeks: 7, 14, censored (stock-out on day 16), incomplete (3 days).
    assert (row["periods"], row["censored_periods"]) == (2, 2)
    assert row["mean"] == pytest.approx(10.5)


def test_xyz_cut_offs_are_configurable() -> None:
    cv = pl.DataFrame({"cv": [0.2, 0.5, 0.7, 1.0, 1.5, None]})
    assert cv.select(xyz_of())["xyz"].to_list() == ["X", "X", "Y", "Y", "Z", None]
    assert cv.select(xyz_of(XyzCutoffs(x=0.1, y=0.6)))["xyz"].to_list() == ["Y", "Y", "Z", "Z", "Z", None]


def test_complete_days_fills_days_without_rows_as_zero_demand_and_keeps_stockouts() -> None:
    sparse = pl.DataFrame({"sku": ["X", "X"], "site": "S1", "day": [MONDAY, MONDAY + timedelta(3)],
                           "qty": [4.0, 0.0], "stockout": [False, True]})
    dense = complete_days(sparse, start=MONDAY, end=MONDAY + timedelta(4),
                          series=pl.DataFrame({"sku": ["Y"], "site": ["S1"]})).sort("sku", "day")
    assert dense.filter(pl.col("sku") == "X")["qty"].to_list() == [4.0, 0, 0, 0, 0]
    assert dense.filter(pl.col("sku") == "X")["stockout"].to_list() == [False, False, False, True, False]
    assert dense.filter(pl.col("sku") == "Y").height == 5
    row = one(demand_classes(dense))
    assert (row["periods"], row["adi"]) == (4, 4.0)


# --- properties --------------------------------------------------------------------------------

CUTS = PatternCutoffs()
adi_values = st.one_of(st.just(CUTS.adi), st.floats(min_value=1.0, max_value=10.0))
cv2_values = st.one_of(st.just(CUTS.cv2), st.floats(min_value=0.0, max_value=5.0))


@given(st.lists(st.tuples(adi_values, cv2_values), min_size=1, max_size=50))
def test_the_four_patterns_partition_the_plane_at_the_published_cut_offs(
        points: list[tuple[float, float]]) -> None:
    # Syntetos, Boylan & Croston (2005), JORS 56(5):495–503: ADI 1.32, CV² 0.49, lower bound strict.
    frame = pl.DataFrame({"adi": [p[0] for p in points], "cv2": [p[1] for p in points],
                          "periods": 10, "demand_periods": 2})
    got = frame.select(pattern_of())["pattern"].to_list()
    want = [{(True, True): "smooth", (True, False): "erratic", (False, True): "intermittent",
             (False, False): "lumpy"}[(adi < 1.32, cv2 < 0.49)] for adi, cv2 in points]
    assert got == want


days = st.lists(st.tuples(st.integers(min_value=0, max_value=4).map(lambda q: q * q), st.booleans()),
                min_size=1, max_size=30)


@settings(max_examples=60)
@given(st.dictionaries(st.sampled_from(["X", "Y", "Z"]), days, min_size=1), st.sampled_from(["day", "week"]))
def test_stockout_days_give_the_same_statistics_as_days_that_are_absent(
        series: dict[str, list[tuple[int, bool]]], period: Period) -> None:
    full = history({sku: [q for q, _ in ds] for sku, ds in series.items()},
                   {sku: {i for i, (_, out) in enumerate(ds) if out} for sku, ds in series.items()})
    with_stockouts = demand_classes(full, period=period)
    without = demand_classes(full.filter(~pl.col("stockout")), period=period)
    joined = with_stockouts.join(without, on=["sku", "site"], how="left", suffix="_absent")
    for row in joined.iter_rows(named=True):
        if row["periods_absent"] is None:  # every day censored: the series only exists with them
            assert row["periods"] == 0 and row["pattern"] == "no_history"
            continue
        for name in STATS:
            assert row[name] == pytest.approx(row[f"{name}_absent"]), name


@settings(max_examples=60)
@given(days)
def test_daily_statistics_match_the_textbook_definitions_on_observed_days(ds: list[tuple[int, bool]]) -> None:
    stockouts = {i for i, (_, out) in enumerate(ds) if out}
    row = one(demand_classes(history({"X": [q for q, _ in ds]}, {"X": stockouts})))
    observed = [float(q) for q, out in ds if not out]
    sizes = [q for q in observed if q > 0]
    assert row["periods"] == len(observed)
    assert row["mean"] == (pytest.approx(statistics.mean(observed)) if observed else None)
    assert row["std"] == (pytest.approx(statistics.stdev(observed)) if len(observed) > 1 else None)
    assert row["adi"] == (pytest.approx(len(observed) / len(sizes)) if sizes else None)
    want_cv2 = (statistics.stdev(sizes) / statistics.mean(sizes)) ** 2 if len(sizes) > 1 else None
    assert row["cv2"] == (pytest.approx(want_cv2) if want_cv2 is not None else None)
