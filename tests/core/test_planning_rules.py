"""Transfer rules as data: refused with every reason at save, and turned into needs and offers
over every SKU × site at once."""

import json
import time
from dataclasses import replace
from typing import Any

import numpy as np
import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cangliu.core.errors import ValidationFailed
from cangliu.core.planning.rule_builtins import BUILTIN_RULES, builtin_rules
from cangliu.core.planning.rules import (
    NEEDS_SCHEMA,
    OFFERS_SCHEMA,
    STATE_COLUMNS,
    Rule,
    Scope,
    evaluate,
    parse_rule,
    parse_rules,
    rule_from_yaml,
    rule_to_dict,
    rule_to_yaml,
    rules_from_yaml,
    rules_to_yaml,
)

BUILTINS = {rule.name: rule for rule in builtin_rules()}
SIMPLE = {"name": "refill", "kind": "replenish", "target": "available < safety_stock",
          "source": "site_kind = 'central'", "quantity": "max_stock - available"}


def state(*rows: dict[str, Any]) -> pl.DataFrame:
    """A state frame: every whitelisted column, zero or empty unless the row says otherwise."""
    blank = {name: 0.0 if kind == "number" else "" for name, (kind, _) in STATE_COLUMNS.items()}
    schema = {name: pl.Float64 if kind == "number" else pl.Utf8 for name, (kind, _) in STATE_COLUMNS.items()}
    return pl.DataFrame([blank | row for row in rows], schema=schema)


def rows(frame: pl.DataFrame, *columns: str) -> set[tuple[Any, ...]]:
    return set(frame.select(columns).iter_rows())


def refusals(data: object) -> list[tuple[str, str, dict[str, str]]]:
    with pytest.raises(ValidationFailed) as caught:
        parse_rule(data)
    return [(e.field, e.message, e.params) for e in caught.value.errors]


# --- definitions -----------------------------------------------------------------------------

def test_the_four_built_in_rules_parse_and_survive_a_yaml_round_trip() -> None:
    assert list(BUILTINS) == list(BUILTIN_RULES)
    assert {r.kind for r in BUILTINS.values()} == {"replenish", "balance", "prestock", "clearance"}
    for rule in BUILTINS.values():
        assert rule_from_yaml(rule_to_yaml(rule)) == rule
    assert rules_from_yaml(rules_to_yaml(BUILTINS.values())) == tuple(BUILTINS.values())


def test_a_rule_with_scope_and_defaults_round_trips() -> None:
    rule = Rule("east_stores", "replenish", "available < safety_stock", "site_kind = 'central'",
                "max_stock - available", priority=5, enabled=False,
                scope=Scope(categories=("tea",), tags=("fragile",), regions=("east",)),
                prefer=("lead_time",), approval_policy="transfer_east", cooldown_days=2)
    assert parse_rule(rule_to_dict(rule)) == rule
    assert "sites" not in rule_to_dict(rule)["scope"]
    assert parse_rule(SIMPLE) == Rule("refill", "replenish", SIMPLE["target"], SIMPLE["source"],
                                      SIMPLE["quantity"])


@pytest.mark.parametrize(("change", "path", "message", "params"), [
    ({"target": "stock < 3"}, "target", "unknown field {name}", {"name": "stock"}),
    ({"source": "shell('rm') = 1"}, "source", "is not a valid expression: {reason}",
     {"reason": "unsupported function 'shell'"}),
    ({"target": "available <"}, "target", "is not a valid expression: {reason}",
     {"reason": "unable to parse 'available <' as Expr"}),
    ({"source": "sku IN (SELECT sku FROM stock)"}, "source", "may not contain a query ({word})",
     {"word": "SELECT"}),
    ({"target": ""}, "target", "must not be empty", {}),
    ({"quantity": "-5"}, "quantity", "must not be negative", {}),
    ({"quantity": "0 - 2.5"}, "quantity", "must not be negative", {}),
    ({"quantity": "available > 1"}, "quantity", "must be a number, not {kind}", {"kind": "Boolean"}),
    ({"quantity": "max_stock - stok"}, "quantity", "unknown field {name}", {"name": "stok"}),
    ({"source": "available  <  safety_stock"}, "source",
     "must differ from the target condition, or a site would be its own source", {}),
    ({"kind": "teleport"}, "kind", "must be one of: {expected}",
     {"expected": "replenish, balance, prestock, clearance"}),
    ({"prefer": ["cheapest"]}, "prefer[0]", "must be one of: {expected}",
     {"expected": "same_region, lead_time, surplus"}),
    ({"prefer": ["surplus", "surplus"]}, "prefer[1]", "listed twice: {code}", {"code": "surplus"}),
    ({"priority": "high"}, "priority", "must be a whole number", {}),
    ({"cooldown_days": -1}, "cooldown_days", "must be a whole number of at least {n}", {"n": "0"}),
    ({"enabled": "yes"}, "enabled", "must be true or false", {}),
    ({"scope": {"regions": "east"}}, "scope.regions", "must be a list of codes", {}),
    ({"scope": {"warehouses": ["c1"]}}, "scope.warehouses", "unknown key {key}", {"key": "warehouses"}),
    ({"approval_policy": " "}, "approval_policy", "must not be empty", {}),
    ({"when": "always"}, "when", "unknown key {key}", {"key": "when"}),
])
def test_a_bad_rule_is_refused_with_its_path_and_reason(
        change: dict[str, Any], path: str, message: str, params: dict[str, str]) -> None:
    assert refusals(SIMPLE | change) == [(path, message, params)]


def test_every_problem_of_a_rule_is_reported_at_once() -> None:
    found = refusals({"name": "", "kind": "move", "target": "stock < 1", "source": "available > 1",
                      "quantity": "-1"})
    assert [path for path, _, _ in found] == ["name", "kind", "target", "quantity"]


def test_a_duplicate_rule_name_is_refused_in_a_list_and_against_the_saved_rules() -> None:
    with pytest.raises(ValidationFailed) as caught:
        parse_rules([SIMPLE, SIMPLE | {"priority": 2}])
    assert [(e.field, e.message, e.params) for e in caught.value.errors] == [
        ("rules[1].name", "duplicate rule name {name}", {"name": "refill"})]
    with pytest.raises(ValidationFailed) as caught:
        parse_rule(SIMPLE, taken={"refill"})
    assert caught.value.errors[0].field == "name"


def test_text_that_is_not_a_rule_is_refused() -> None:
    with pytest.raises(ValidationFailed) as caught:
        rule_from_yaml("name: [unclosed")
    assert caught.value.errors[0].field == "yaml"
    assert refusals(["not", "a", "mapping"])[0] == ("yaml", "must be a mapping", {})


def test_a_rule_built_in_code_is_checked_again_before_it_runs() -> None:
    unchecked = replace(BUILTINS["store_replenishment"], quantity="-1")
    with pytest.raises(ValidationFailed):
        evaluate([unchecked], state({"sku": "A", "site": "S"}))


# --- the built-in rules on small states -------------------------------------------------------

STORE = {"site_kind": "store", "safety_stock": 5.0, "reorder_point": 8.0, "max_stock": 20.0}
CENTRAL = {"site_kind": "central", "safety_stock": 10.0, "reorder_point": 30.0, "max_stock": 200.0}


def test_store_replenishment_fills_a_store_below_safety_stock_from_the_central_warehouse() -> None:
    frame = state(
        STORE | {"sku": "A", "site": "S1", "region": "east", "available": 2.0, "in_transit_in": 1.0},
        STORE | {"sku": "A", "site": "S2", "region": "east", "available": 2.0, "in_transit_in": 4.0},
        STORE | {"sku": "A", "site": "S3", "region": "west", "available": 9.0},
        CENTRAL | {"sku": "A", "site": "C", "region": "north", "available": 50.0},
        CENTRAL | {"sku": "B", "site": "C", "region": "north", "available": 6.0})
    needs, offers = evaluate([BUILTINS["store_replenishment"]], frame)
    assert needs.schema == NEEDS_SCHEMA and offers.schema == OFFERS_SCHEMA
    # S2 has enough on the way; S3 is above safety stock; B at C is below its own safety stock.
    assert rows(needs, "rule", "priority", "sku", "site", "region", "qty") == {
        ("store_replenishment", 10, "A", "S1", "east", 17.0)}
    assert json.loads(needs["trigger"][0]) == {
        "site_kind": "store", "available": 2.0, "in_transit_in": 1.0, "safety_stock": 5.0,
        "max_stock": 20.0}
    assert rows(offers, "rule", "sku", "site", "region", "qty") == {
        ("store_replenishment", "A", "C", "north", 40.0)}


def test_regional_balancing_moves_only_what_is_above_max_stock() -> None:
    frame = state(
        STORE | {"sku": "A", "site": "E1", "region": "east", "available": 3.0},
        STORE | {"sku": "A", "site": "W1", "region": "west", "available": 26.0},
        STORE | {"sku": "A", "site": "W2", "region": "west", "available": 12.0})
    needs, offers = evaluate([BUILTINS["regional_balancing"]], frame)
    assert rows(needs, "sku", "site", "qty") == {("A", "E1", 5.0)}
    assert rows(offers, "sku", "site", "region", "qty") == {("A", "W1", "west", 6.0)}


def test_promotion_prestock_offers_the_uplift_share_of_regional_stock_to_the_online_centre() -> None:
    online = {"site_kind": "online", "region": "east", "forecast_daily": 2.0, "promo_uplift_pct": 50.0}
    regional = {"site_kind": "regional", "safety_stock": 10.0}
    frame = state(
        online | {"sku": "A", "site": "WEB", "promo_starts_in_days": 3.0, "available": 4.0},
        online | {"sku": "B", "site": "WEB", "promo_starts_in_days": 10.0},
        regional | {"sku": "A", "site": "R1", "region": "east", "available": 40.0},
        regional | {"sku": "A", "site": "R2", "region": "west", "available": 14.0},
        regional | {"sku": "B", "site": "R1", "region": "east", "available": 40.0})
    needs, offers = evaluate([BUILTINS["promotion_prestock"]], frame)
    # Two weeks at 2/day uplifted by 50 %, less the 4 already there; B's promotion is too far off.
    assert rows(needs, "sku", "site", "qty") == {("A", "WEB", 38.0)}
    # 50 % of R1's 40; R2 may give only the 4 above its safety stock.
    assert rows(offers, "sku", "site", "qty") == {("A", "R1", 20.0), ("A", "R2", 4.0)}


def test_slow_mover_clearance_moves_stock_from_a_dead_site_to_a_fast_one_never_to_itself() -> None:
    frame = state(
        STORE | {"sku": "A", "site": "SLOW", "available": 30.0, "safety_stock": 0.0,
                 "days_since_last_sale": 75.0, "days_of_cover": 1e9},
        STORE | {"sku": "A", "site": "FAST", "available": 6.0, "forecast_daily": 1.0,
                 "days_of_cover": 6.0},
        STORE | {"sku": "A", "site": "BOTH", "available": 2.0, "forecast_daily": 0.5,
                 "days_of_cover": 4.0, "days_since_last_sale": 61.0},
        STORE | {"sku": "A", "site": "IDLE", "available": 9.0, "days_since_last_sale": 59.0,
                 "days_of_cover": 90.0, "forecast_daily": 0.1})
    needs, offers = evaluate([BUILTINS["slow_mover_clearance"]], frame)
    assert rows(needs, "site", "qty") == {("FAST", 14.0), ("BOTH", 18.0)}
    assert rows(offers, "site", "qty") == {("SLOW", 30.0)}


def test_all_built_in_rules_run_in_priority_order() -> None:
    frame = state(
        STORE | {"sku": "A", "site": "S1", "region": "east", "available": 1.0, "days_of_cover": 2.0,
                 "forecast_daily": 0.5},
        CENTRAL | {"sku": "A", "site": "C", "region": "north", "available": 500.0})
    needs, offers = evaluate(list(reversed(BUILTINS.values())), frame)
    assert needs["rule"].to_list() == ["store_replenishment", "regional_balancing",
                                       "slow_mover_clearance"]
    assert needs["priority"].to_list() == [10, 20, 40]
    assert offers["rule"].to_list() == ["store_replenishment", "regional_balancing"]


# --- scope, enabled, quantities --------------------------------------------------------------

def test_a_disabled_rule_proposes_nothing() -> None:
    frame = state(STORE | {"sku": "A", "site": "S1", "available": 1.0},
                  CENTRAL | {"sku": "A", "site": "C", "available": 99.0})
    needs, offers = evaluate([replace(BUILTINS["store_replenishment"], enabled=False)], frame)
    assert needs.is_empty() and offers.is_empty()
    assert needs.schema == NEEDS_SCHEMA and offers.schema == OFFERS_SCHEMA


def test_scope_names_the_skus_on_both_sides_and_the_sites_on_the_target_side() -> None:
    frame = state(
        STORE | {"sku": "TEA", "category": "tea", "tags": "fragile, promo", "site": "E1",
                 "region": "east", "available": 1.0},
        STORE | {"sku": "TEA", "category": "tea", "tags": "fragile, promo", "site": "W1",
                 "region": "west", "available": 1.0},
        STORE | {"sku": "MUG", "category": "mug", "tags": "fragile", "site": "E1", "region": "east",
                 "available": 1.0},
        CENTRAL | {"sku": "TEA", "category": "tea", "tags": "fragile, promo", "site": "C",
                   "region": "north", "available": 99.0},
        CENTRAL | {"sku": "MUG", "category": "mug", "tags": "fragile", "site": "C", "region": "north",
                   "available": 99.0})
    rule = BUILTINS["store_replenishment"]
    east_tea = replace(rule, scope=Scope(categories=("tea",), regions=("east",)))
    needs, offers = evaluate([east_tea], frame)
    assert rows(needs, "sku", "site") == {("TEA", "E1")}
    assert rows(offers, "sku", "site") == {("TEA", "C")}  # the northern centre still gives
    needs, _ = evaluate([replace(rule, scope=Scope(tags=("promo",)))], frame)
    assert rows(needs, "sku", "site") == {("TEA", "E1"), ("TEA", "W1")}
    needs, _ = evaluate([replace(rule, scope=Scope(sites=("W1",), channels=("store",)))], frame)
    assert needs.is_empty()  # W1's channel is empty in this state


def test_a_quantity_below_zero_counts_as_no_need() -> None:
    rule = parse_rule(SIMPLE | {"quantity": "max_stock - available - 100"})
    needs, _ = evaluate([rule], state(STORE | {"sku": "A", "site": "S1", "available": 1.0}))
    assert needs.is_empty()


def test_a_missing_value_makes_a_condition_not_hold_and_a_source_offer_nothing() -> None:
    frame = state(STORE | {"sku": "A", "site": "S1", "available": 1.0},
                  CENTRAL | {"sku": "A", "site": "C", "available": 50.0}).with_columns(
        safety_stock=pl.when(pl.col("site") == "S1").then(5.0).otherwise(None))
    needs, offers = evaluate([BUILTINS["store_replenishment"]], frame)
    assert len(needs) == 1 and offers.is_empty()


# --- invariants ------------------------------------------------------------------------------

VALUE = st.one_of(st.none(), st.floats(-50, 500, allow_nan=False))
ROW = st.fixed_dictionaries({
    "sku": st.sampled_from(["A", "B"]), "site": st.sampled_from(["S1", "S2", "C", "R", "W"]),
    "region": st.sampled_from(["east", "west"]),
    "site_kind": st.sampled_from(["store", "central", "regional", "online"]),
    "available": VALUE, "safety_stock": VALUE, "max_stock": VALUE, "reorder_point": VALUE,
    "in_transit_in": VALUE, "forecast_daily": VALUE, "days_of_cover": VALUE,
    "days_since_last_sale": VALUE, "promo_starts_in_days": VALUE, "promo_uplift_pct": VALUE})


@settings(max_examples=150, deadline=None)
@given(st.lists(ROW, max_size=12))
def test_no_offer_exceeds_what_the_source_has_above_its_safety_stock(sample: list[dict[str, Any]]) -> None:
    frame = state(*sample).with_row_index("n").with_columns(site=pl.format("{}-{}", "site", "n")).drop("n")
    needs, offers = evaluate(list(BUILTINS.values()), frame)
    joined = offers.join(frame, on=["sku", "site"], how="left", validate="m:1")
    assert joined.filter(pl.col("available").is_null() | pl.col("safety_stock").is_null()).is_empty()
    assert (joined["qty"] <= joined["available"] - joined["safety_stock"] + 1e-9).all()
    assert (offers["qty"] > 0).all() and (needs["qty"] > 0).all()
    # No site is both a target and a source of the same rule.
    assert needs.join(offers, on=["rule", "sku", "site"], how="inner").is_empty()


def test_a_million_rows_evaluate_at_once() -> None:
    n, rng = 1_000_000, np.random.default_rng(7)
    kinds = np.array(["store", "central", "regional", "online"])
    numbers = {name: rng.gamma(2.0, 20.0, n) for name, (kind, _) in STATE_COLUMNS.items()
               if kind == "number"}
    frame = pl.DataFrame({
        **numbers, "sku": (np.arange(n) // 50).astype(str), "site": (np.arange(n) % 50).astype(str),
        "region": np.array(["east", "west", "north"])[np.arange(n) % 3],
        "site_kind": kinds[rng.choice(4, n, p=[0.8, 0.04, 0.1, 0.06])],
        **{name: np.full(n, "x") for name, (kind, _) in STATE_COLUMNS.items()
           if kind == "text" and name not in {"sku", "site", "region", "site_kind"}}})
    started = time.perf_counter()
    needs, offers = evaluate(list(BUILTINS.values()), frame)
    print(f"\n1,000,000 rows × 4 built-in rules: {time.perf_counter() - started:.2f} s, "
          f"{len(needs):,} needs, {len(offers):,} offers")
    assert set(needs["rule"]) == set(BUILTINS)
