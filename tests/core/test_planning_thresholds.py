"""Safety stock, reorder point and max with their explanations; lead times learned per route,
with the site's pooled history and the defaults behind them."""

import math
import re

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cangliu.core.planning.thresholds import (
    DemandDefaults,
    RouteDefault,
    ServiceLevels,
    lead_times,
    route_lead_times,
    stock_levels,
    z_for,
)

EXPLANATION = re.compile(
    r"SS (\S+) = (\S+) × √\((\S+) × (\S+)² \+ (\S+)² × (\S+)²\); "
    r"ROP (\S+) = (\S+) × (\S+) \+ (\S+); max (\S+) = (\S+) \+ (\S+) × (\S+)")


def levels(**columns: list[object]) -> pl.DataFrame:
    base: dict[str, list[object]] = {"d": [20.0], "sd": [5.0], "L": [4.0], "sL": [1.0],
                                     "review_days": [7.0], "service_level": [0.95]}
    n = len(next(iter(columns.values()))) if columns else 1
    frame = {name: values * n for name, values in base.items()} | columns
    return stock_levels(pl.DataFrame(frame, strict=False))


def rounded_up(value: float, decimals: int) -> float:
    scale = 10**decimals
    return math.ceil(round(value * scale, 6)) / scale


# --- z ---------------------------------------------------------------------------------------

@pytest.mark.parametrize(("service_level", "z"), [(0.90, 1.282), (0.95, 1.645), (0.98, 2.054), (0.99, 2.326)])
def test_z_matches_the_standard_normal_table(service_level: float, z: float) -> None:
    assert round(z_for(service_level), 3) == z


@pytest.mark.parametrize("service_level", [0.0, 1.0, -0.5, 1.2])
def test_a_service_level_outside_zero_and_one_is_refused(service_level: float) -> None:
    with pytest.raises(ValueError, match="between 0 and 1"):
        z_for(service_level)


def test_service_level_follows_the_abc_class_and_an_unclassified_sku_gets_c() -> None:
    rows = pl.DataFrame({"d": 20.0, "sd": 5.0, "L": 4.0, "sL": 1.0, "review_days": 7.0,
                         "abc": ["A", "B", "C", None]})
    z = stock_levels(rows)["z"].round(3).to_list()
    assert z == [2.054, 1.645, 1.282, 1.282]
    z = stock_levels(rows, levels=ServiceLevels(a=0.99, b=0.9, c=0.5))["z"].round(3).to_list()
    assert z == [2.326, 1.282, 0.0, 0.0]


# --- the formulas ------------------------------------------------------------------------------

def test_safety_stock_combines_demand_and_lead_time_variability() -> None:
    # Formula from King (2011), APICS Magazine July/August, 33–36; our own numbers:
    # d = 20/day, σd = 5, L = 4 days, σL = 1 day, 95 % (z = 1.6449):
    # SS = 1.6449 × √(4 × 25 + 400 × 1) = 1.6449 × 22.3607 = 36.78 → 37 (rounded up);
    # ROP = 20 × 4 + 37 = 117; max = 117 + 20 × 7 = 257.
    row = levels().row(0, named=True)
    assert (row["ss"], row["rop"], row["max"]) == (37.0, 117.0, 257.0)
    assert row["explanation"] == (
        "SS 37 = 1.645 × √(4 × 5² + 20² × 1²); ROP 117 = 20 × 4 + 37; max 257 = 117 + 20 × 7")
    assert row["note"] is None


def test_with_a_fixed_lead_time_safety_stock_is_z_sigma_root_l() -> None:
    # The textbook special case σL = 0: SS = z·σd·√L = 1.6449 × 5 × 2 = 16.45 → 17.
    assert levels(sL=[0.0])["ss"].to_list() == [17.0]


def test_with_steady_demand_safety_stock_covers_lead_time_variability_only() -> None:
    # σd = 0: SS = z·d·σL = 1.6449 × 20 × 1 = 32.9 → 33.
    assert levels(sd=[0.0])["ss"].to_list() == [33.0]


def test_quantities_round_up_to_the_skus_decimals() -> None:
    row = levels(decimals=[1]).row(0, named=True)
    # SS 36.78 → 36.8; ROP 80 + 36.8 = 116.8; max 116.8 + 140 = 256.8.
    assert (row["ss"], row["rop"], row["max"]) == (36.8, 116.8, 256.8)
    assert row["explanation"].startswith("SS 36.8 = 1.645 × ")


def test_an_explicit_z_overrides_the_service_level() -> None:
    assert levels(z=[2.0])["ss"].to_list() == [math.ceil(2 * math.sqrt(500))]


def test_missing_demand_history_falls_back_to_defaults_and_says_so() -> None:
    result = levels(d=[None, 20.0, 20.0], sd=[None, None, 5.0],
                    lead_time_source=["learned", "learned", "default"])
    notes = result["note"].to_list()
    assert notes[0] == "no demand history: default demand 0/day, σ 0"
    assert notes[1] == "too little demand history for σ: default σ 0"
    assert notes[2] == "too few completed legs: default lead time for the route"
    assert result["ss"].to_list()[:2] == [0.0, math.ceil(1.6448536 * 20)]
    with_defaults = stock_levels(pl.DataFrame({"d": [None], "sd": [None], "L": [4.0], "sL": [0.0],
                                               "review_days": [7.0], "z": [1.0]}, strict=False),
                                 demand_defaults=DemandDefaults(mean=2.5, sd=1.0))
    row = with_defaults.row(0, named=True)
    assert (row["d"], row["ss"], row["rop"]) == (2.5, 2.0, 12.0)
    assert row["note"] == "no demand history: default demand 2.5/day, σ 1"


def test_negative_inputs_and_a_missing_service_level_are_refused() -> None:
    with pytest.raises(ValueError, match=r"negative values in \['sL'\]"):
        levels(sL=[-1.0])
    with pytest.raises(ValueError, match="z, service_level or abc"):
        stock_levels(pl.DataFrame({"d": [1.0], "sd": [1.0], "L": [1.0], "sL": [0.0], "review_days": [1.0]}))


# --- properties --------------------------------------------------------------------------------

hundredths = st.integers(min_value=0, max_value=100_000).map(lambda n: n / 100)
zs = st.sampled_from([0.0, 1.282, 1.645, 2.054, 2.326, 3.09])


@settings(max_examples=60)
@given(hundredths, hundredths, hundredths, hundredths, zs, hundredths, hundredths, zs)
def test_safety_stock_is_non_negative_and_grows_with_sigma_and_z(
        d: float, sd: float, lt: float, slt: float, z: float,
        more_sd: float, more_slt: float, other_z: float) -> None:
    frame = pl.DataFrame({
        "d": [d] * 4, "L": [lt] * 4, "review_days": [7.0] * 4,
        "sd": [sd, sd + more_sd, sd, sd], "sL": [slt, slt, slt + more_slt, slt],
        "z": [z, z, z, max(z, other_z)]})
    base, wider_sd, wider_sl, higher_z = stock_levels(frame)["ss"].to_list()
    assert base >= 0
    assert wider_sd >= base and wider_sl >= base and higher_z >= base


@settings(max_examples=80)
@given(st.lists(st.tuples(hundredths, hundredths, hundredths, hundredths, hundredths, zs,
                          st.integers(min_value=0, max_value=3)), min_size=1, max_size=20))
def test_every_explanation_shows_the_numbers_that_give_its_results(
        rows: list[tuple[float, float, float, float, float, float, int]]) -> None:
    names = ["d", "sd", "L", "sL", "review_days", "z", "decimals"]
    result = stock_levels(pl.DataFrame(rows, schema=names, orient="row"))
    for row in result.iter_rows(named=True):
        match = EXPLANATION.fullmatch(row["explanation"])
        assert match, row["explanation"]
        ss, z, lt, sd, d, slt, rop, d2, lt2, ss2, mx, rop2, d3, review = map(float, match.groups())
        assert (ss, rop, mx) == (row["ss"], row["rop"], row["max"])
        assert (z, lt, sd, d, slt, review) == (row["z"], row["L"], row["sd"], row["d"], row["sL"],
                                               row["review_days"])
        assert (d2, d3, lt2, ss2, rop2) == (d, d, lt, ss, rop)
        decimals = row["decimals"]
        assert ss == rounded_up(z * math.sqrt(lt * sd**2 + d**2 * slt**2), decimals)
        assert rop == rounded_up(d * lt + ss, decimals)
        assert mx == rounded_up(rop + d * review, decimals)


# --- lead times --------------------------------------------------------------------------------

ROUTES = pl.DataFrame({"route_from": ["SUP1", "CW", "SUP2"], "route_to": ["CW", "ST1", "CW"],
                       "kind": ["purchase", "transfer", "purchase"]})


def test_lead_time_is_learned_from_enough_completed_legs_and_defaults_otherwise() -> None:
    legs = pl.DataFrame({"route_from": ["SUP1"] * 3 + ["CW"] * 2, "route_to": ["CW"] * 3 + ["ST1"] * 2,
                         "days": [5.0, 7.0, 9.0, 1.0, 3.0]})
    result = {r["route_from"]: r for r in lead_times(legs, ROUTES).iter_rows(named=True)}
    assert (result["SUP1"]["L"], result["SUP1"]["sL"], result["SUP1"]["lead_time_source"]) == (
        7.0, 2.0, "learned")
    assert (result["CW"]["L"], result["CW"]["sL"], result["CW"]["observations"]) == (2.0, 0.5, 2)
    assert result["CW"]["lead_time_source"] == "default"
    assert (result["SUP2"]["L"], result["SUP2"]["observations"]) == (7.0, 0)
    learned = lead_times(legs, ROUTES, min_observations=2,
                         defaults={"purchase": RouteDefault(10, 3), "transfer": RouteDefault(1, 0.2)})
    by_route = {r["route_from"]: (r["L"], r["lead_time_source"]) for r in learned.iter_rows(named=True)}
    assert by_route == {"SUP1": (7.0, "learned"), "CW": (2.0, "learned"), "SUP2": (10.0, "default")}


def test_a_route_kind_without_a_default_is_refused() -> None:
    routes = pl.DataFrame({"route_from": ["X"], "route_to": ["Y"], "kind": ["drone"]})
    legs = pl.DataFrame({"route_from": [], "route_to": [], "days": []},
                        schema={"route_from": pl.Utf8, "route_to": pl.Utf8, "days": pl.Float64})
    with pytest.raises(ValueError, match="drone"):
        lead_times(legs, routes)


def test_a_site_takes_its_routes_lead_time_else_its_pooled_one_else_the_default() -> None:
    legs = pl.DataFrame({
        "route_from": ["supplier"] * 3 + ["CW"] * 3 + ["CW", "ST9"] + ["CW", "CW", "ST9", "ST8"],
        "route_to": ["CW"] * 3 + ["ST1"] * 3 + ["ST2", "ST2"] + ["ST3"] * 4,
        "kind": ["purchase"] * 3 + ["transfer"] * 9,
        "days": [5.0, 7.0, 9.0, 1.0, 2.0, 3.0, 1.0, 2.0, 1.0, 3.0, 5.0, 7.0]})
    sites = pl.DataFrame({"route_from": ["supplier", "CW", "CW", "CW", None],
                          "route_to": ["CW", "ST1", "ST2", "ST3", "ST4"],
                          "kind": ["purchase", "transfer", "transfer", "transfer", "transfer"]})
    result = {r["route_to"]: r for r in route_lead_times(legs, sites).iter_rows(named=True)}
    got = {site: (r["L"], r["sL"], r["lead_time_source"], r["route"], r["observations"])
           for site, r in result.items()}
    assert got == {
        "CW": (7.0, 2.0, "route", "supplier→CW", 3),
        "ST1": (2.0, 1.0, "route", "CW→ST1", 3),
        "ST2": (2.0, 0.5, "default", "CW→ST2", 0),  # two legs in all: too few even pooled
        "ST3": (4.0, math.sqrt(20 / 3), "site", "CW→ST3", 4),  # 2 on its route, 4 into ST3
        "ST4": (2.0, 0.5, "default", "?→ST4", 0),
    }
    assert result["CW"]["lead_basis"] == "from 3 purchases on supplier→CW"
    assert result["ST3"]["lead_basis"] == "from 4 transfers into ST3 (2 on CW→ST3)"
    assert result["ST2"]["lead_basis"] == "by default for CW→ST2 (transfers into ST2: 2 of 3 needed)"


def test_the_explanation_says_where_the_lead_time_came_from() -> None:
    sites = pl.DataFrame({"route_from": ["CW"], "route_to": ["ST1"], "kind": ["transfer"]})
    legs = pl.DataFrame({"route_from": ["CW"] * 3, "route_to": ["ST1"] * 3,
                         "kind": ["transfer"] * 3, "days": [3.0, 4.0, 5.0]})
    frame = route_lead_times(legs, sites).with_columns(d=20.0, sd=5.0, review_days=7.0,
                                                       service_level=0.95)
    row = stock_levels(frame).row(0, named=True)
    # L 4, σL 1: the worked numbers of the King (2011) test above.
    assert row["explanation"] == (
        "SS 37 = 1.645 × √(4 × 5² + 20² × 1²); ROP 117 = 20 × 4 + 37; max 257 = 117 + 20 × 7; "
        "L 4 ± 1 days from 3 transfers on CW→ST1")
    assert row["note"] is None  # a learned lead time is no default


def test_a_site_route_kind_without_a_default_is_refused() -> None:
    sites = pl.DataFrame({"route_from": ["X"], "route_to": ["Y"], "kind": ["drone"]})
    legs = pl.DataFrame(schema={"route_from": pl.Utf8, "route_to": pl.Utf8, "kind": pl.Utf8,
                                "days": pl.Float64})
    with pytest.raises(ValueError, match="drone"):
        route_lead_times(legs, sites)
