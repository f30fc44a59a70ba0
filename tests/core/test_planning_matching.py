"""Matching needs to offers: preference order, whole packs, shared surplus, purchases."""

import math
import time
from collections import defaultdict
from collections.abc import Sequence
from typing import Any

import numpy as np
import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from polars.testing import assert_frame_equal

from cangliu.core.planning.matching import PREFERENCES, Plan, expected_days_of_cover, match

EPS = 1e-9
NO_LEADS = pl.DataFrame(schema={"from_site": pl.String, "to_site": pl.String, "days": pl.Float64})
NO_PACKS = pl.DataFrame(schema={"sku": pl.String, "pack_size": pl.Int64})
NEED_SCHEMA = {"rule": pl.String, "priority": pl.Int64, "sku": pl.String, "site": pl.String,
               "region": pl.String, "qty": pl.Float64, "trigger": pl.String}
OFFER_SCHEMA = {"rule": pl.String, "sku": pl.String, "site": pl.String, "region": pl.String,
                "qty": pl.Float64}


def needs_of(*rows: tuple[Any, ...]) -> pl.DataFrame:
    """(rule, priority, sku, site, region, qty); the trigger names the need."""
    return pl.DataFrame([(*row, f"{row[0]}@{row[3]}") for row in rows], schema=NEED_SCHEMA,
                        orient="row")


def offers_of(*rows: tuple[Any, ...]) -> pl.DataFrame:
    return pl.DataFrame(list(rows), schema=OFFER_SCHEMA, orient="row")


def leads(**days: float) -> pl.DataFrame:
    """leads(W1_S1=3) → W1 to S1 takes 3 days."""
    rows = [(*route.split("_"), float(d)) for route, d in days.items()]
    return pl.DataFrame(rows, schema=NO_LEADS.schema, orient="row")


def moved(plan: Plan) -> list[tuple[str, str, str, float]]:
    return [(r["rule"], r["from_site"], r["to_site"], r["qty"]) for r in plan.transfers.to_dicts()]


def bought(plan: Plan) -> list[tuple[str, str, float]]:
    return [(r["rule"], r["site"], r["qty"]) for r in plan.purchases.to_dicts()]


# --- hand examples ---------------------------------------------------------------------------

def test_a_need_is_served_from_its_own_region_before_a_closer_bigger_source_elsewhere() -> None:
    plan = match(needs_of(("replenish", 1, "A", "S1", "north", 10.0)),
                 offers_of(("replenish", "A", "W1", "north", 40.0),
                           ("replenish", "A", "W2", "south", 500.0)),
                 leads(W1_S1=4, W2_S1=1), NO_PACKS)
    assert moved(plan) == [("replenish", "W1", "S1", 10.0)]
    assert plan.purchases.is_empty()
    assert plan.unmet.is_empty()


def test_what_the_own_region_cannot_cover_comes_from_the_other_region() -> None:
    plan = match(needs_of(("replenish", 1, "A", "S1", "north", 30.0)),
                 offers_of(("replenish", "A", "W1", "north", 12.0),
                           ("replenish", "A", "W2", "south", 500.0)),
                 NO_LEADS, NO_PACKS)
    assert moved(plan) == [("replenish", "W1", "S1", 12.0), ("replenish", "W2", "S1", 18.0)]
    assert plan.transfers["trigger"].to_list() == ["replenish@S1"] * 2


def test_within_a_region_the_shortest_lead_time_wins_then_the_largest_surplus() -> None:
    offers = offers_of(("r", "A", "W1", "north", 50.0), ("r", "A", "W2", "north", 80.0),
                       ("r", "A", "W3", "north", 60.0))
    need = needs_of(("r", 1, "A", "S1", "north", 10.0))
    assert moved(match(need, offers, leads(W1_S1=1, W2_S1=3, W3_S1=3), NO_PACKS)) == [
        ("r", "W1", "S1", 10.0)]
    assert moved(match(need, offers, leads(W1_S1=3, W2_S1=3, W3_S1=3), NO_PACKS)) == [
        ("r", "W2", "S1", 10.0)]


def test_the_preference_order_can_put_lead_time_before_region() -> None:
    plan = match(needs_of(("r", 1, "A", "S1", "north", 10.0)),
                 offers_of(("r", "A", "W1", "north", 40.0), ("r", "A", "W2", "south", 40.0)),
                 leads(W1_S1=4, W2_S1=1), NO_PACKS, preference=("lead_time", "same_region"))
    assert moved(plan) == [("r", "W2", "S1", 10.0)]


def test_each_rule_can_order_its_sources_its_own_way() -> None:
    plan = match(needs_of(("near", 1, "A", "S1", "north", 10.0), ("fast", 1, "A", "S1", "north", 20.0)),
                 offers_of(("near", "A", "W1", "north", 40.0), ("near", "A", "W2", "south", 40.0),
                           ("fast", "A", "W1", "north", 40.0), ("fast", "A", "W2", "south", 40.0)),
                 leads(W1_S1=4, W2_S1=1), NO_PACKS, preference_by_rule={"fast": ("lead_time",)})
    assert moved(plan) == [("fast", "W2", "S1", 20.0)]  # then S1 needs nothing more for "near"


def test_transfers_are_whole_packs_rounded_down_and_the_rest_is_bought_rounded_up() -> None:
    packs = pl.DataFrame({"sku": ["A"], "pack_size": [6]})
    plan = match(needs_of(("r", 1, "A", "S1", "north", 20.0)),
                 offers_of(("r", "A", "W1", "north", 11.0)), NO_LEADS, packs)
    # The source keeps the 5 units below a whole pack; the store is 14 short, bought as 3 packs.
    assert moved(plan) == [("r", "W1", "S1", 6.0)]
    assert bought(plan) == [("r", "S1", 18.0)]
    assert plan.unmet.to_dicts() == [{"rule": "r", "sku": "A", "site": "S1", "qty": 14.0}]


def test_a_need_below_one_pack_is_bought_not_overfilled_from_a_source() -> None:
    packs = pl.DataFrame({"sku": ["A"], "pack_size": [6]})
    plan = match(needs_of(("r", 1, "A", "S1", "north", 4.0)),
                 offers_of(("r", "A", "W1", "north", 100.0)), NO_LEADS, packs)
    assert moved(plan) == []
    assert bought(plan) == [("r", "S1", 6.0)]


def test_a_purchase_is_proposed_when_the_network_has_no_surplus() -> None:
    plan = match(needs_of(("r", 1, "A", "S1", "north", 7.5), ("r", 1, "B", "S1", "north", 3.0)),
                 offers_of(("r", "A", "S1", "north", 50.0), ("r", "A", "W1", "north", 0.0)),
                 NO_LEADS, NO_PACKS)
    assert moved(plan) == []  # a site never sends to itself; W1 has nothing above its floor
    assert [(r["sku"], r["qty"]) for r in plan.purchases.to_dicts()] == [("A", 8.0), ("B", 3.0)]


def test_two_rules_share_one_source_and_never_take_the_same_unit_twice() -> None:
    # W1 holds 30 above safety stock (replenish's floor) and 50 above… a lower floor for balance:
    # both describe one stock, so together they take at most 50, and replenish goes first.
    plan = match(needs_of(("replenish", 1, "A", "S1", "north", 25.0),
                          ("balance", 2, "A", "S2", "south", 40.0)),
                 offers_of(("replenish", "A", "W1", "north", 30.0),
                           ("balance", "A", "W1", "north", 50.0)),
                 NO_LEADS, NO_PACKS)
    assert moved(plan) == [("balance", "W1", "S2", 25.0), ("replenish", "W1", "S1", 25.0)]
    assert bought(plan) == [("balance", "S2", 15.0)]


def test_a_lower_priority_rule_cannot_take_what_a_higher_one_left_below_its_floor() -> None:
    plan = match(needs_of(("balance", 2, "A", "S2", "south", 40.0),
                          ("replenish", 1, "A", "S1", "north", 25.0)),
                 offers_of(("replenish", "A", "W1", "north", 50.0),
                           ("balance", "A", "W1", "north", 30.0)),
                 NO_LEADS, NO_PACKS)
    assert moved(plan) == [("balance", "W1", "S2", 5.0), ("replenish", "W1", "S1", 25.0)]


def test_two_rules_short_at_one_store_are_one_deficit_and_one_purchase() -> None:
    plan = match(needs_of(("replenish", 1, "A", "S1", "north", 10.0),
                          ("promo", 2, "A", "S1", "north", 30.0)),
                 offers_of(("replenish", "A", "W1", "north", 6.0), ("promo", "A", "W2", "north", 9.0)),
                 NO_LEADS, NO_PACKS)
    assert moved(plan) == [("promo", "W2", "S1", 9.0), ("replenish", "W1", "S1", 6.0)]
    assert bought(plan) == [("promo", "S1", 15.0)]


def test_the_largest_shortfall_of_a_rule_is_served_first() -> None:
    plan = match(needs_of(("r", 1, "A", "S1", "north", 5.0), ("r", 1, "A", "S2", "north", 8.0)),
                 offers_of(("r", "A", "W1", "north", 10.0)), NO_LEADS, NO_PACKS)
    assert moved(plan) == [("r", "W1", "S1", 2.0), ("r", "W1", "S2", 8.0)]


@pytest.mark.parametrize(("change", "message"), [
    ({"preference": ("same_region", "cost")}, "preference"),
    ({"preference": ("lead_time", "lead_time")}, "preference"),
    ({"needs": needs_of(("r", 1, "A", "S1", "n", 1.0)).drop("trigger")}, "needs columns"),
    ({"needs": needs_of(("r", 1, "A", "S1", "n", 1.0), ("r", 2, "A", "S1", "n", 2.0))},
     "more than one row"),
    ({"needs": needs_of(("r", 1, "A", "S1", "n", 0.0))}, "every qty"),
    ({"offers": offers_of(("r", "A", "W1", "n", -1.0))}, "every qty"),
    ({"offers": offers_of(("r", "A", "W1", "n", float("nan")))}, "every qty"),
    ({"needs": needs_of(("r", None, "A", "S1", "n", 1.0))}, "priority must be given"),
    ({"packs": pl.DataFrame({"sku": ["A"], "pack_size": [0]})}, "every pack_size"),
])
def test_bad_input_is_refused_with_the_reason(change: dict[str, Any], message: str) -> None:
    arguments: dict[str, Any] = {"needs": needs_of(("r", 1, "A", "S1", "n", 1.0)),
                                 "offers": offers_of(), "lead_times": NO_LEADS, "packs": NO_PACKS}
    frames = {name: value for name, value in change.items() if name != "preference"}
    with pytest.raises(ValueError, match=message):
        match(**(arguments | frames), preference=change.get("preference", PREFERENCES))


def test_days_of_cover_rise_at_the_target_and_fall_at_the_source() -> None:
    plan = match(needs_of(("r", 1, "A", "S1", "north", 10.0)),
                 offers_of(("r", "A", "W1", "north", 40.0)), NO_LEADS, NO_PACKS)
    state = pl.DataFrame({"sku": ["A", "A"], "site": ["S1", "W1"], "available": [2.0, 80.0],
                          "in_transit_in": [2.0, 0.0], "forecast_daily": [2.0, 0.0]})
    cover = expected_days_of_cover(state, plan)
    assert cover.to_dicts() == [{"sku": "A", "site": "S1", "before": 2.0, "after": 7.0},
                                {"sku": "A", "site": "W1", "before": None, "after": None}]


# --- the same greedy, one row at a time, as the oracle -----------------------------------------

def greedy(needs: pl.DataFrame, offers: pl.DataFrame, lead_times: pl.DataFrame,
           packs: pl.DataFrame, preference: Sequence[str] = PREFERENCES,
           by_rule: dict[str, tuple[str, ...]] | None = None) -> dict[str, list[Any]]:
    pack = {sku: float(size) for sku, size in packs.iter_rows()}
    lead = {(a, b): days for a, b, days in lead_times.iter_rows()}
    offered: dict[tuple[str, str], list[tuple[str, str | None, int]]] = defaultdict(list)
    for rule, sku, site, region, qty in offers.iter_rows():
        offered[rule, sku].append((site, region, math.floor(qty / pack.get(sku, 1.0) + EPS)))
    used: dict[tuple[str, str], int] = defaultdict(int)
    delivered: dict[tuple[str, str], int] = defaultdict(int)
    transfers = []
    for rule, _, sku, site, region, qty, trigger in sorted(
            needs.iter_rows(), key=lambda row: (row[1], row[0], -row[5], row[3])):
        size = pack.get(sku, 1.0)
        want = max(math.floor(qty / size + EPS) - delivered[sku, site], 0)
        candidates = []
        for source, source_region, n in offered[rule, sku]:
            left = max(n - used[sku, source], 0)
            if source == site or left == 0:
                continue
            key = {"same_region": not (region is not None and region == source_region),
                   "lead_time": lead.get((source, site), 2.0), "surplus": -left}
            order = (by_rule or {}).get(rule, preference)
            candidates.append(([key[p] for p in order], source, left))
        for _, source, left in sorted(candidates):
            take = min(want, left)
            if take > 0:
                want -= take
                used[sku, source] += take
                delivered[sku, site] += take
                transfers.append((rule, sku, source, site, take * size, trigger))
    largest: dict[tuple[str, str], tuple[Any, ...]] = {}
    for rule, priority, sku, site, _, qty, trigger in needs.iter_rows():
        mine = (-qty, priority, rule, trigger)
        largest[sku, site] = min(largest.get((sku, site), mine), mine)
    purchases = []
    for (sku, site), (qty, _, rule, trigger) in largest.items():
        size = pack.get(sku, 1.0)
        short = -qty - delivered[sku, site] * size
        if short > EPS:
            purchases.append((rule, sku, site, math.ceil(short / size - EPS) * size, trigger))
    return {"transfers": sorted(transfers, key=lambda t: (t[0], t[1], t[3], t[2])),
            "purchases": sorted(purchases)}


def rounded(rows: Any) -> list[tuple[Any, ...]]:
    return [tuple(round(v, 9) if isinstance(v, float) else v for v in row) for row in rows]


# --- random instances ------------------------------------------------------------------------

SITES = ["S0", "S1", "S2", "S3"]
RULES = {"r1": 1, "r2": 2, "r3": 2}


@st.composite
def instances(draw: st.DrawFn) -> tuple[pl.DataFrame, ...]:
    region = dict(zip(SITES, draw(st.lists(st.sampled_from(["N", "S", None]), min_size=4,
                                           max_size=4)), strict=True))
    keys = st.tuples(st.sampled_from(sorted(RULES)), st.sampled_from(["A", "B"]),
                     st.sampled_from(SITES))
    qty = st.integers(1, 60).map(float) | st.floats(0.5, 60, allow_nan=False)
    need = draw(st.dictionaries(keys, qty, max_size=16))
    offer = draw(st.dictionaries(keys, st.just(0.0) | qty, max_size=16))
    days = draw(st.dictionaries(st.tuples(st.sampled_from(SITES), st.sampled_from(SITES)),
                                st.integers(0, 5).map(float), max_size=12))
    size = draw(st.dictionaries(st.sampled_from(["A", "B"]), st.sampled_from([1, 2, 3, 6])))
    return (needs_of(*((r, RULES[r], k, s, region[s], q) for (r, k, s), q in need.items())),
            offers_of(*((r, k, s, region[s], q) for (r, k, s), q in offer.items())),
            pl.DataFrame([(a, b, d) for (a, b), d in days.items()], schema=NO_LEADS.schema,
                         orient="row"),
            pl.DataFrame(list(size.items()), schema=NO_PACKS.schema, orient="row"))


def packs_of(packs: pl.DataFrame, frame: pl.DataFrame) -> pl.DataFrame:
    return frame.join(packs, on="sku", how="left").with_columns(
        pack=pl.col("pack_size").fill_null(1).cast(pl.Float64))


def left_for_rule(needs: pl.DataFrame, offers: pl.DataFrame, plan: Plan,
                  packs: pl.DataFrame) -> pl.DataFrame:
    """Whole packs each offer still holds for its own rule after the whole plan."""
    sent = plan.transfers.group_by("sku", site="from_site").agg(sent=pl.col("qty").sum())
    return (packs_of(packs, offers).join(sent, on=["sku", "site"], how="left")
            .with_columns(left=((pl.col("qty") - pl.col("sent").fill_null(0.0)) / pl.col("pack")
                                + EPS).floor()))


ORDERS = st.permutations(PREFERENCES).flatmap(
    lambda order: st.integers(0, len(order)).map(lambda n: tuple(order[:n])))


@settings(max_examples=100, deadline=None)
@given(instances(), ORDERS, st.dictionaries(st.sampled_from(sorted(RULES)), ORDERS))
def test_matching_is_the_one_row_at_a_time_greedy(
        case: tuple[pl.DataFrame, ...], preference: tuple[str, ...],
        by_rule: dict[str, tuple[str, ...]]) -> None:
    plan = match(*case, preference=preference, preference_by_rule=by_rule)
    expected = greedy(*case, preference=preference, by_rule=by_rule)
    assert rounded(plan.transfers.iter_rows()) == rounded(expected["transfers"])
    assert rounded(plan.purchases.iter_rows()) == rounded(expected["purchases"])


@settings(max_examples=100, deadline=None)
@given(instances())
def test_no_surplus_unit_is_used_twice_nor_below_any_rules_floor(
        case: tuple[pl.DataFrame, ...]) -> None:
    offers = case[1]
    plan = match(*case)
    cap = offers.group_by("sku", "site").agg(cap=pl.col("qty").max())
    sent = plan.transfers.group_by("sku", site="from_site").agg(sent=pl.col("qty").sum())
    assert sent.join(cap, on=["sku", "site"]).height == sent.height
    assert sent.join(cap, on=["sku", "site"]).filter(pl.col("sent") > pl.col("cap") + EPS).is_empty()
    # Each rule, when its turn came, left its own offer at or above zero.
    order = sorted(RULES, key=lambda rule: (RULES[rule], rule))
    for turn, rule in enumerate(order):
        so_far = plan.transfers.filter(pl.col("rule").is_in(order[:turn + 1]))
        taken = so_far.group_by("sku", site="from_site").agg(sent=pl.col("qty").sum())
        mine = plan.transfers.filter(pl.col("rule") == rule).select("sku", site="from_site")
        broken = (offers.filter(pl.col("rule") == rule).join(mine.unique(), on=["sku", "site"])
                  .join(taken, on=["sku", "site"]).filter(pl.col("sent") > pl.col("qty") + EPS))
        assert broken.is_empty()


@settings(max_examples=100, deadline=None)
@given(instances())
def test_transfers_are_whole_packs_between_sites_and_never_overfill_a_need(
        case: tuple[pl.DataFrame, ...]) -> None:
    needs, offers, _, packs = case
    plan = match(*case)
    transfers = packs_of(packs, plan.transfers)
    assert (transfers["from_site"] != transfers["to_site"]).all()
    assert (transfers["qty"] > 0).all()
    whole = transfers["qty"] / transfers["pack"]
    assert ((whole - whole.round()).abs() < 1e-6).all()
    # offers and needs of the same rule only
    assert transfers.join(offers, left_on=["rule", "sku", "from_site"],
                          right_on=["rule", "sku", "site"], how="anti").is_empty()
    received = transfers.group_by("rule", "sku", site="to_site").agg(got=pl.col("qty").sum())
    by_rule = received.join(needs, on=["rule", "sku", "site"], how="left")
    assert by_rule.filter(~(pl.col("got") <= pl.col("qty") + EPS)).is_empty()
    total = transfers.group_by("sku", site="to_site").agg(got=pl.col("qty").sum())
    deficit = needs.group_by("sku", "site").agg(need=pl.col("qty").max())
    covered = packs_of(packs, deficit.join(total, on=["sku", "site"], how="left").join(
        plan.purchases.select("sku", "site", bought="qty"), on=["sku", "site"], how="left")
        .fill_null(0.0))
    assert covered.filter(pl.col("got") > pl.col("need") + EPS).is_empty()
    # Purchases top the deficit up to exactly what it needs, rounded up to less than one pack more.
    topped = covered.with_columns(over=pl.col("got") + pl.col("bought") - pl.col("need"))
    assert topped.filter((pl.col("over") < -EPS) | (pl.col("over") >= pl.col("pack") - EPS)).is_empty()


@settings(max_examples=100, deadline=None)
@given(instances())
def test_no_need_stays_short_while_an_offer_it_could_use_holds_a_whole_pack(
        case: tuple[pl.DataFrame, ...]) -> None:
    needs, offers, _, packs = case
    plan = match(*case)
    got = plan.transfers.group_by("sku", site="to_site").agg(got=pl.col("qty").sum())
    short = (packs_of(packs, needs).join(got, on=["sku", "site"], how="left")
             .filter(pl.col("qty") - pl.col("got").fill_null(0.0) >= pl.col("pack") - EPS))
    left = left_for_rule(needs, offers, plan, packs).filter(pl.col("left") >= 1)
    usable = short.join(left, on=["rule", "sku"]).filter(pl.col("site") != pl.col("site_right"))
    assert usable.is_empty()


@settings(max_examples=100, deadline=None)
@given(instances())
def test_own_region_offers_are_used_up_before_another_region_is_asked(
        case: tuple[pl.DataFrame, ...]) -> None:
    needs, offers, _, packs = case
    plan = match(*case)
    regions = offers.select("sku", from_site="site", from_region="region").unique()
    far = (plan.transfers.join(regions, on=["sku", "from_site"])
           .join(needs.select("rule", "sku", to_site="site", region="region"),
                 on=["rule", "sku", "to_site"])
           .filter(pl.col("region").is_not_null() & (pl.col("region") != pl.col("from_region")))
           .select("rule", "sku", "to_site", "region").unique())
    left = left_for_rule(needs, offers, plan, packs).filter(pl.col("left") >= 1)
    near_and_unused = far.join(left, on=["rule", "sku", "region"]).filter(
        pl.col("site") != pl.col("to_site"))
    assert near_and_unused.is_empty()


@settings(max_examples=100, deadline=None)
@given(instances(), st.randoms(use_true_random=False))
def test_the_plan_does_not_depend_on_the_order_of_the_input_rows(
        case: tuple[pl.DataFrame, ...], random: Any) -> None:
    plan = match(*case)
    shuffled = [frame.sample(fraction=1.0, shuffle=True, seed=random.randint(0, 2**31))
                for frame in case]
    again = match(*shuffled)
    for mine, theirs in zip((plan.transfers, plan.purchases, plan.unmet),
                            (again.transfers, again.purchases, again.unmet), strict=True):
        assert_frame_equal(mine, theirs)
    assert plan.transfers.equals(plan.transfers.sort("rule", "sku", "to_site", "from_site"))
    assert plan.purchases.equals(plan.purchases.sort("rule", "sku", "site"))


# --- size ------------------------------------------------------------------------------------

def test_a_large_network_is_matched_in_seconds() -> None:
    """200,000 needs and 50,000 offers over 10,000 SKUs × 50 sites; prints the time (no target
    asserted here: bench/planning_matching.py compares against the row-at-a-time greedy)."""
    rng = np.random.default_rng(7)
    sites = np.array([f"S{i:02d}" for i in range(50)])
    skus = np.array([f"K{i:05d}" for i in range(10_000)])

    def cells(n: int) -> tuple[np.ndarray, np.ndarray]:
        picked = rng.choice(skus.size * sites.size, n, replace=False)
        return skus[picked // sites.size], sites[picked % sites.size]

    need_sku, need_site = cells(200_000)
    offer_sku, offer_site = cells(50_000)
    rule = rng.integers(0, 2, 250_000)
    region = {site: f"R{i % 5}" for i, site in enumerate(sites)}
    needs = pl.DataFrame({"rule": np.where(rule[:200_000], "balance", "replenish"),
                          "priority": rule[:200_000] + 1, "sku": need_sku, "site": need_site,
                          "region": [region[s] for s in need_site],
                          "qty": rng.integers(1, 50, 200_000).astype(float), "trigger": "t"})
    offers = pl.DataFrame({"rule": np.where(rule[200_000:], "balance", "replenish"),
                           "sku": offer_sku, "site": offer_site,
                           "region": [region[s] for s in offer_site],
                           "qty": rng.integers(0, 400, 50_000).astype(float)})
    a, b = np.meshgrid(sites, sites)
    lead_times = pl.DataFrame({"from_site": a.ravel(), "to_site": b.ravel(),
                               "days": rng.integers(1, 6, a.size).astype(float)})
    packs = pl.DataFrame({"sku": skus, "pack_size": rng.choice([1, 6, 12], skus.size)})
    started = time.perf_counter()
    plan = match(needs, offers, lead_times, packs)
    seconds = time.perf_counter() - started
    print(f"\nmatch: 200,000 needs × 50,000 offers in {seconds:.2f} s → "
          f"{plan.transfers.height} transfers, {plan.purchases.height} purchases")
    assert plan.transfers.height > 0
