"""Matching deficits to surpluses: every need a rule fired is served from that rule's offers of
the same SKU in preference order, in whole packs, and what the network cannot cover is bought.

Quantities are floats at the boundary (as in the rest of planning) and whole packs (integers)
inside, so pack rounding cannot drift.
"""

import itertools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Final

import numpy as np
import numpy.typing as npt
import polars as pl

from cangliu.core.planning.thresholds import DEFAULT_LEAD_TIMES

PREFERENCES: Final = ("same_region", "lead_time", "surplus")
_EPS: Final = 1e-9  # float noise tolerated when counting whole packs
_NEEDS: Final = ("rule", "priority", "sku", "site", "region", "qty", "trigger")
_OFFERS: Final = ("rule", "sku", "site", "region", "qty")
_STATE: Final = ("sku", "site", "available", "in_transit_in", "forecast_daily")

Ints = npt.NDArray[np.int64]


@dataclass(frozen=True)
class Plan:
    """What a planning run proposes.

    ``transfers``: rule, sku, from_site, to_site, qty, trigger — whole packs, never more than a
    source's offer. ``purchases``: rule, sku, site, qty, trigger — one per target still short after
    every rule's transfers, rounded up to whole packs, attributed to the rule with the largest need.
    ``unmet``: rule, sku, site, qty — each need less everything every rule delivered to its
    target, where that is positive (before pack rounding).
    """

    transfers: pl.DataFrame
    purchases: pl.DataFrame
    unmet: pl.DataFrame


def match(needs: pl.DataFrame, offers: pl.DataFrame, lead_times: pl.DataFrame, packs: pl.DataFrame,
          *, preference: Sequence[str] = PREFERENCES,
          preference_by_rule: Mapping[str, Sequence[str]] | None = None,
          default_lead_days: float = DEFAULT_LEAD_TIMES["transfer"].mean_days) -> Plan:
    """Serve ``needs`` from ``offers`` greedily, one need at a time, as a planner would by hand.

    Needs go by rule priority (then rule name), then largest shortfall first, then site. A need
    takes from the offers of its own rule and SKU at other sites, best first by ``preference``
    (same region as the target, shortest lead time, largest surplus left), then by site name;
    ``preference_by_rule`` gives a rule its own order (a rule's ``prefer``).
    A site without a region is in no region; a route missing from ``lead_times`` takes
    ``default_lead_days``.

    One physical stock, many rules: offers of different rules for the same site and SKU are views
    of the same surplus (each rule's above its own floor), so every unit any rule takes lowers
    all of them; a rule sees ``its offer − taken so far``. Likewise needs of different rules for
    the same target are views of one deficit: a rule sees ``its need − delivered so far``.

    Packs: a transfer is whole packs, rounded down, so no source goes below its floor and no
    target gets more than it needs. The part of a need below one pack, and anything the offers
    could not cover, is bought: the purchase is rounded up to whole packs.
    """
    for order in (preference, *(preference_by_rule or {}).values()):
        if set(order) - set(PREFERENCES) or len(set(order)) != len(order):
            raise ValueError(f"preference must list distinct names of {PREFERENCES}, not {order}")
    _check(needs, offers, lead_times, packs)
    need_rows, offer_rows = _needs(needs, packs), _offers(offers, needs, packs)
    orders = _preference_table(need_rows, preference, preference_by_rule or {})
    pairs = _pairs(need_rows, offer_rows, lead_times, default_lead_days)
    delivered, taken = _allocate(pairs, need_rows, need_rows["target"].n_unique(), offer_rows.height,
                                 orders)
    need_rows = need_rows.with_columns(
        delivered=pl.Series(delivered, dtype=pl.Int64).gather(need_rows["target"]) * pl.col("pack"))
    return Plan(transfers=_transfers(taken, need_rows, offer_rows),
                purchases=_purchases(need_rows), unmet=_unmet(need_rows))


def expected_days_of_cover(state: pl.DataFrame, plan: Plan, *, with_purchases: bool = False
                           ) -> pl.DataFrame:
    """Days of cover, (available + in_transit_in) / forecast_daily, before and after the plan at
    every site it touches: ``sku, site, before, after``. Transfers add at the target and take at
    the source; purchases add at their site when ``with_purchases``. No forecast demand: null.
    A site missing from ``state`` counts as holding nothing."""
    _require(state, "state", _STATE)
    moves = [plan.transfers.select("sku", site="to_site", change="qty"),
             plan.transfers.select("sku", site="from_site", change=-pl.col("qty"))]
    if with_purchases:
        moves.append(plan.purchases.select("sku", "site", change="qty"))
    change = pl.concat(moves).group_by("sku", "site").agg(pl.col("change").sum())
    rows = change.join(state.select(_STATE), on=["sku", "site"], how="left")
    stock = pl.col("available").fill_null(0.0) + pl.col("in_transit_in").fill_null(0.0)
    demand = pl.col("forecast_daily")
    return rows.select(
        "sku", "site",
        before=pl.when(demand > 0).then(stock / demand),
        after=pl.when(demand > 0).then((stock + pl.col("change")) / demand),
    ).sort("sku", "site")


# --- preparation -------------------------------------------------------------------------------

def _require(frame: pl.DataFrame, name: str, columns: Sequence[str]) -> None:
    missing = [column for column in columns if column not in frame.columns]
    if missing:
        raise ValueError(f"{name} needs columns {missing}")


def _check(needs: pl.DataFrame, offers: pl.DataFrame, lead_times: pl.DataFrame,
           packs: pl.DataFrame) -> None:
    _require(needs, "needs", _NEEDS)
    _require(offers, "offers", _OFFERS)
    _require(lead_times, "lead_times", ("from_site", "to_site", "days"))
    _require(packs, "packs", ("sku", "pack_size"))
    problems = [
        ("needs", needs, ("rule", "sku", "site"), "qty", "> 0", ("priority",)),
        ("offers", offers, ("rule", "sku", "site"), "qty", ">= 0", ()),
        ("lead_times", lead_times, ("from_site", "to_site"), "days", ">= 0", ()),
        ("packs", packs, ("sku",), "pack_size", "> 0", ()),
    ]
    for name, frame, key, column, rule, given in problems:
        if frame.select(*key, *given).null_count().sum_horizontal().item():
            raise ValueError(f"{name}: every {', '.join((*key, *given))} must be given")
        if frame.select(key).is_duplicated().any():
            raise ValueError(f"{name} has more than one row per {', '.join(key)}")
        value = pl.col(column).cast(pl.Float64)
        valid = (value > 0 if rule == "> 0" else value >= 0) & value.is_finite()
        if not frame.select(valid.fill_null(False).all()).item():
            raise ValueError(f"{name}: every {column} must be given, finite and {rule}")


def _preference_table(need_rows: pl.DataFrame, preference: Sequence[str],
                      by_rule: Mapping[str, Sequence[str]]) -> Ints:
    """Per rule (in ``rule_code`` order), the positions in ``PREFERENCES`` of its sort keys, padded
    with ``len(PREFERENCES)`` (a key that is the same for every source)."""
    table = np.full((need_rows["rule_code"].n_unique(), len(PREFERENCES)), len(PREFERENCES))
    for code, rule in enumerate(need_rows["rule"].unique().sort()):
        order = by_rule.get(rule, preference)
        table[code, :len(order)] = [PREFERENCES.index(name) for name in order]
    return table


def _with_packs(frame: pl.DataFrame, packs: pl.DataFrame) -> pl.DataFrame:
    return frame.join(packs.select("sku", pack=pl.col("pack_size").cast(pl.Float64)), on="sku",
                      how="left").with_columns(pl.col("pack").fill_null(1.0))


def _whole_packs(qty: pl.Expr) -> pl.Expr:
    return (qty / pl.col("pack") + _EPS).floor().cast(pl.Int64)


def _needs(needs: pl.DataFrame, packs: pl.DataFrame) -> pl.DataFrame:
    """One row per need in the order they are served; ``step`` is the rank within the SKU (SKUs
    share no stock, so the n-th needs of all SKUs are served together), ``target`` numbers the
    (sku, site) receiving it."""
    rows = _with_packs(needs.select(_NEEDS), packs).with_columns(pl.col("qty").cast(pl.Float64))
    rows = rows.sort("sku", "priority", "rule", pl.col("qty").neg(), "site").with_row_index("need")
    targets = rows.select("sku", "site").unique().with_row_index("target")
    return rows.join(targets, on=["sku", "site"], how="left").sort("need").with_columns(
        step=pl.int_range(pl.len()).over("sku"), packs=_whole_packs(pl.col("qty")),
        rule_code=pl.col("rule").rank("dense").cast(pl.Int64) - 1)


def _offers(offers: pl.DataFrame, needs: pl.DataFrame, packs: pl.DataFrame) -> pl.DataFrame:
    """Offers of SKUs somebody needs, with ``source`` numbering the physical stock (sku, site)
    that the offers of all rules there share, and ``rank`` the site's place in name order."""
    rows = _with_packs(offers.select(_OFFERS).join(needs.select("sku").unique(), on="sku"), packs)
    rows = rows.with_columns(packs=_whole_packs(pl.col("qty").cast(pl.Float64)))
    rows = rows.filter(pl.col("packs") > 0).sort("rule", "sku", "site").with_row_index("offer")
    sources = rows.select("sku", "site").unique().with_row_index("source")
    return rows.join(sources, on=["sku", "site"], how="left").sort("offer").with_columns(
        rank=pl.col("site").rank("dense").cast(pl.Int64))


def _pairs(need_rows: pl.DataFrame, offer_rows: pl.DataFrame, lead_times: pl.DataFrame,
           default_lead_days: float) -> pl.DataFrame:
    """Every (need, offer) of the same rule and SKU at another site, in step then need order."""
    lead = lead_times.select("from_site", "to_site", lead=pl.col("days").cast(pl.Float64))
    offered = offer_rows.select("offer", "rule", "sku", "source", "rank", from_site="site",
                                from_region="region", offer_packs="packs")
    return (need_rows.filter(pl.col("packs") > 0)
            .select("need", "step", "rule", "rule_code", "sku", "site", "region")
            .join(offered, on=["rule", "sku"])
            .filter(pl.col("site") != pl.col("from_site"))
            .join(lead, left_on=["from_site", "site"], right_on=["from_site", "to_site"], how="left")
            .select("need", "step", "rule_code", "offer", "source", "rank", "offer_packs",
                    elsewhere=(pl.col("region") != pl.col("from_region")).fill_null(True),
                    lead=pl.col("lead").fill_null(default_lead_days))
            .sort("step", "need"))


# --- allocation --------------------------------------------------------------------------------

def _allocate(pairs: pl.DataFrame, need_rows: pl.DataFrame, targets: int, sources: int,
              orders: Ints) -> tuple[Ints, pl.DataFrame]:
    """The greedy, vectorised across SKUs: step n serves the n-th need of every SKU at once, each
    from its candidates sorted by its rule's ``orders`` against what is left now, with a
    cumulative sum. SKUs share no stock, so this is the one-need-at-a-time greedy exactly."""
    col = {name: pairs[name].to_numpy() for name in pairs.columns}
    wants, target_of = need_rows["packs"].to_numpy(), need_rows["target"].to_numpy()
    delivered, used = np.zeros(targets, np.int64), np.zeros(sources, np.int64)
    steps: list[int] = (np.flatnonzero(np.diff(col["step"], prepend=-1, append=-1)).tolist()
                        if pairs.height else [])
    taken_rows, taken_packs = [], []
    for start, end in itertools.pairwise(steps):
        need, source = col["need"][start:end], col["source"][start:end]
        left = np.maximum(col["offer_packs"][start:end] - used[source], 0)
        order = np.lexsort([col["rank"][start:end],
                            *_preference_keys(col, start, end, left, orders)[::-1], need])
        need, source, left = need[order], source[order], left[order]
        wanted = np.maximum(wants[need] - delivered[target_of[need]], 0)
        take = np.clip(wanted - _before_in_group(need, left), 0, left)
        np.add.at(used, source, take)
        np.add.at(delivered, target_of[need], take)
        hit = take > 0
        taken_rows.append(start + order[hit])
        taken_packs.append(take[hit])
    rows = np.concatenate(taken_rows) if taken_rows else np.zeros(0, np.int64)
    packs = np.concatenate(taken_packs) if taken_packs else np.zeros(0, np.int64)
    return delivered, pairs[rows].select("need", "offer").with_columns(taken=pl.Series(packs))


def _preference_keys(col: dict[str, npt.NDArray[np.generic]], start: int, end: int, left: Ints,
                     orders: Ints) -> list[npt.NDArray[np.float64]]:
    """The sort keys of pairs start:end, first first: each pair's rule picks which of
    (other region, lead time, −surplus left, 0) comes in which place."""
    values = np.column_stack([col["elsewhere"][start:end], col["lead"][start:end], -left,
                              np.zeros(end - start)]).astype(np.float64)
    picks = orders[col["rule_code"][start:end]]
    rows = np.arange(end - start)
    return [values[rows, picks[:, place]] for place in range(orders.shape[1])]


def _before_in_group(group: Ints, qty: Ints) -> Ints:
    """Sum of ``qty`` over the earlier rows of the same (contiguous) group."""
    before = np.cumsum(qty) - qty
    first = np.flatnonzero(np.r_[True, group[1:] != group[:-1]])
    sizes = np.diff(np.r_[first, len(group)])
    return before - np.repeat(before[first], sizes)


# --- results -----------------------------------------------------------------------------------

def _transfers(taken: pl.DataFrame, need_rows: pl.DataFrame, offer_rows: pl.DataFrame
               ) -> pl.DataFrame:
    return (taken.join(need_rows.select("need", "rule", "sku", "trigger", "pack", to_site="site"),
                       on="need", how="left")
            .join(offer_rows.select("offer", from_site="site"), on="offer", how="left")
            .select("rule", "sku", "from_site", "to_site", qty=pl.col("taken") * pl.col("pack"),
                    trigger="trigger")
            .sort("rule", "sku", "to_site", "from_site"))


def _unmet(need_rows: pl.DataFrame) -> pl.DataFrame:
    return (need_rows.filter(pl.col("qty") - pl.col("delivered") > _EPS)
            .select("rule", "sku", "site", qty=pl.col("qty") - pl.col("delivered"))
            .sort("rule", "sku", "site"))


def _purchases(need_rows: pl.DataFrame) -> pl.DataFrame:
    """One purchase per target still short, for the largest need there less what was delivered."""
    short = pl.col("qty") - pl.col("delivered")
    largest_first = need_rows.sort("sku", "site", pl.col("qty").neg(), "priority", "rule")
    return (largest_first.group_by("sku", "site", maintain_order=True).first()
            .filter(short > _EPS)
            .select("rule", "sku", "site",
                    qty=(short / pl.col("pack") - _EPS).ceil() * pl.col("pack"), trigger="trigger")
            .sort("rule", "sku", "site"))
