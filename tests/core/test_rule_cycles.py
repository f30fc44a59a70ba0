"""Cycles of sources: found on hand-made needs and offers, whichever rules close them."""

import polars as pl
from hypothesis import given, settings
from hypothesis import strategies as st

from cangliu.core.planning.rule_cycles import Cycle, edges, find_cycle
from cangliu.core.planning.rules import NEEDS_SCHEMA, OFFERS_SCHEMA


def needs(*rows: tuple[str, str, str]) -> pl.DataFrame:
    """(rule, sku, site) rows of a needs frame."""
    return pl.DataFrame([{"rule": r, "priority": 1, "sku": k, "site": s, "region": "", "qty": 1.0,
                          "trigger": "{}"} for r, k, s in rows], schema=NEEDS_SCHEMA)


def offers(*rows: tuple[str, str, str]) -> pl.DataFrame:
    return pl.DataFrame([{"rule": r, "sku": k, "site": s, "region": "", "qty": 1.0}
                         for r, k, s in rows], schema=OFFERS_SCHEMA)


def test_a_central_warehouse_feeding_stores_is_no_cycle() -> None:
    assert find_cycle(needs(("refill", "A", "S1"), ("refill", "A", "S2")),
                      offers(("refill", "A", "WH"))) is None


def test_two_rules_giving_each_other_the_same_sku_make_a_cycle() -> None:
    found = find_cycle(needs(("east", "A", "S2"), ("west", "A", "S1")),
                       offers(("east", "A", "S1"), ("west", "A", "S2")))
    assert found == Cycle("A", ("S1", "S2"), ("east", "west"))
    assert found.path() == "S1 → S2 → S1"


def test_a_ring_of_three_sites_over_three_rules_is_found() -> None:
    found = find_cycle(needs(("r1", "A", "B"), ("r2", "A", "C"), ("r3", "A", "A1"), ("r3", "A", "A")),
                       offers(("r1", "A", "A"), ("r2", "A", "B"), ("r3", "A", "C")))
    assert found is not None
    assert set(found.sites) == {"A", "B", "C"} and set(found.rules) == {"r1", "r2", "r3"}
    steps = dict(zip(found.sites, found.sites[1:] + found.sites[:1], strict=True))
    assert steps == {"A": "B", "B": "C", "C": "A"}


def test_opposite_moves_of_different_skus_are_no_cycle() -> None:
    assert find_cycle(needs(("east", "A", "S2"), ("west", "B", "S1")),
                      offers(("east", "A", "S1"), ("west", "B", "S2"))) is None


def test_an_offer_and_a_need_of_different_rules_make_no_edge() -> None:
    # S1 offers by "east" and needs by "west"; nobody offers by west: no move to or from S1 by it.
    assert edges(needs(("west", "A", "S1"), ("east", "A", "S2")), offers(("east", "A", "S1"))).rows() == [
        ("A", "S1", "S2", "east")]


def test_a_chain_without_a_way_back_is_no_cycle() -> None:
    assert find_cycle(needs(("r", "A", "B"), ("r", "A", "C"), ("s", "A", "D")),
                      offers(("r", "A", "A"), ("s", "A", "C"), ("s", "A", "B"))) is None


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.sampled_from("rs"), st.sampled_from("ABCDE"), st.sampled_from("ABCDE")),
                max_size=12))
def test_a_cycle_is_reported_exactly_when_one_exists(moves: list[tuple[str, str, str]]) -> None:
    # Each move (rule, from, to) is one offer and one need of SKU "X".
    found = find_cycle(needs(*[(r, "X", t) for r, _, t in moves]),
                       offers(*[(r, "X", f) for r, f, _ in moves]))
    graph = {(f, t) for f, t, _ in edges(needs(*[(r, "X", t) for r, _, t in moves]),
                                         offers(*[(r, "X", f) for r, f, _ in moves])).select(
        "source", "target", "rule").iter_rows()}
    reach = set(graph)
    while True:  # transitive closure: a site reaching itself lies on a cycle
        more = {(a, d) for a, b in reach for c, d in graph if b == c} - reach
        if not more:
            break
        reach |= more
    assert (found is not None) == any(a == b for a, b in reach)
    if found is not None:
        ring = list(zip(found.sites, found.sites[1:] + found.sites[:1], strict=True))
        assert all(step in graph for step in ring)
