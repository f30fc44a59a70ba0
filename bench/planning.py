"""A planning run over a whole synthetic network: thresholds for every SKU × site, the four
built-in transfer rules, and matching needs to offers — time and peak memory.

Synthetic, no database, forecasts precomputed (each row carries its mean daily demand and σ):
``--skus`` SKUs × ``--sites`` sites (site 0 the central warehouse, 1–4 regional warehouses, 5 the
online centre, the rest stores; 5 regions). *Vectorised*: ``stock_levels`` →
``evaluate(builtin_rules())`` → ``match``. *Baseline*: the same thresholds and the same four rules
(targets, quantities, offers) computed one row at a time in plain Python on a sample of
``--sample`` rows, against the vectorised thresholds + rules on that same sample; the results are
compared (``same_result``). The ratio is loop seconds over vectorised seconds on the sample.
Targets: the full run under 20 s and 6 GB peak on 2 cores.

    python bench/planning.py [--skus 100000] [--sites 50] [--sample 50000]

The last line of output is one JSON object with every figure.
"""

import argparse
import json
import math
import os
import resource
import time
from statistics import NormalDist
from typing import Any

import numpy as np
import polars as pl

from cangliu.core.planning import ServiceLevels, builtin_rules, evaluate, match, stock_levels

TARGETS = {"full_seconds": 20.0, "peak_gb": 6.0}
REVIEW_DAYS = 7.0
LEVELS = ServiceLevels()


def network(skus: int, sites: int, seed: int) -> pl.DataFrame:
    """One row per SKU × site with demand, lead times and stock; days since last sale and
    promotions spread so that every rule fires somewhere."""
    rng = np.random.default_rng(seed)
    n = skus * sites
    site_no = np.tile(np.arange(sites), skus)
    kind = np.where(site_no == 0, "central", np.where(site_no <= 4, "regional",
                                                      np.where(site_no == 5, "online", "store")))
    d = rng.gamma(0.6, 3.0, n) * np.where(kind == "store", 1.0, 0.2)
    return pl.DataFrame({
        "sku": np.repeat(np.char.add("K", np.arange(skus).astype(str)), sites),
        "site": np.char.add("S", site_no.astype(str)),
        "category": np.repeat(np.char.add("C", (np.arange(skus) % 40).astype(str)), sites),
        "tags": "", "region": np.char.add("R", (site_no % 5).astype(str)), "site_kind": kind,
        "channel": np.where(kind == "online", "online", np.where(kind == "store", "store",
                                                                 "warehouse")),
        # Stores hold one to six weeks of their demand, warehouses a month or more of the stores'.
        "available": np.floor(d * rng.uniform(7, 42, n)
                              * np.where(kind == "store", 1.0, np.where(kind == "central", 150.0, 40.0))),
        "in_transit_in": np.floor(rng.exponential(1.0, n)),
        "in_transit_out": 0.0, "on_order": 0.0,
        "d": d, "sd": d * rng.uniform(0.3, 1.2, n),
        "L": np.where(kind == "central", 7.0, 2.0), "sL": np.where(kind == "central", 2.0, 0.5),
        "review_days": REVIEW_DAYS,
        "abc": rng.choice(np.array(["A", "B", "C"]), n, p=[0.2, 0.3, 0.5]),
        "days_since_last_sale": np.floor(rng.exponential(20.0, n)),
        "sales_30d": np.floor(d * 30), "promo_starts_in_days": rng.integers(0, 60, n).astype(float),
        "promo_uplift_pct": 30.0, "lifecycle": "mature", "xyz": "Y", "pattern": "smooth",
        "pack_size": rng.choice(np.array([1.0, 6.0, 12.0]), n), "unit_cost": 10.0,
    }).with_columns(on_hand=pl.col("available"))


def thresholds_and_state(frame: pl.DataFrame) -> pl.DataFrame:
    levels = stock_levels(frame, levels=LEVELS)
    return levels.rename({"ss": "safety_stock", "rop": "reorder_point", "max": "max_stock",
                          "d": "forecast_daily"}).with_columns(
        days_of_cover=(pl.col("available") + pl.col("in_transit_in")) / pl.col("forecast_daily"))


# --- the same thresholds and rules, one row at a time ------------------------------------------------

def _ceil(x: float) -> float:
    """Up to a whole unit, float noise rounded away first (as ``stock_levels`` does)."""
    return float(math.ceil(round(x, 6)))


def loop(rows: list[dict[str, Any]]) -> tuple[dict[str, float], dict[str, float]]:
    """Total need and offer quantity per rule, computed row by row."""
    z = {c: NormalDist().inv_cdf(getattr(LEVELS, c.lower())) for c in "ABC"}
    need: dict[str, float] = {}
    offer: dict[str, float] = {}
    uplift: dict[str, float] = {}
    for r in rows:
        d, sd, lt, slt = r["d"], r["sd"], r["L"], r["sL"]
        ss = _ceil(z[r["abc"]] * math.sqrt(lt * sd * sd + d * d * slt * slt))
        rop = _ceil(d * lt + ss)
        top = _ceil(rop + d * r["review_days"])
        r["safety_stock"], r["reorder_point"], r["max_stock"] = ss, rop, top
        cover = (r["available"] + r["in_transit_in"]) / d if d else math.inf
        r["days_of_cover"] = cover
        promoted = r["d"] * (1 + r["promo_uplift_pct"] / 100) * 14 - r["available"] - r["in_transit_in"]
        if r["site_kind"] == "online" and 1 <= r["promo_starts_in_days"] <= 7 and promoted > 0:
            # The uplift of the SKU's targets that need stock sets what regional sites offer.
            uplift[r["sku"]] = max(uplift.get(r["sku"], 0.0), r["promo_uplift_pct"])
    for r in rows:
        a, t = r["available"], r["in_transit_in"]
        ss, rop, top = r["safety_stock"], r["reorder_point"], r["max_stock"]
        kind, surplus = r["site_kind"], a - ss
        targets = {
            "store_replenishment": (kind == "store" and a + t < ss, top - a - t),
            "regional_balancing": (a + t < rop, rop - a - t),
            "promotion_prestock": (kind == "online" and 1 <= r["promo_starts_in_days"] <= 7,
                                   r["d"] * (1 + r["promo_uplift_pct"] / 100) * 14 - a - t),
            "slow_mover_clearance": (r["days_of_cover"] < 14 and r["d"] > 0, top - a - t)}
        sources = {
            "store_replenishment": (kind == "central", surplus),
            "regional_balancing": (a > top, min(a - top, surplus)),
            "promotion_prestock": (kind == "regional" and r["sku"] in uplift,
                                   min(a * uplift.get(r["sku"], 0.0) / 100, surplus)),
            "slow_mover_clearance": (kind in ("store", "online")
                                     and r["days_since_last_sale"] >= 60, surplus)}
        for rule, (hit, qty) in targets.items():
            if hit and qty > 0:
                need[rule] = need.get(rule, 0.0) + qty
        for rule, (hit, qty) in sources.items():
            if hit and not targets[rule][0] and qty > 0:
                offer[rule] = offer.get(rule, 0.0) + qty
    return need, offer


def _totals(frame: pl.DataFrame) -> dict[str, float]:
    return {r: q for r, q in frame.group_by("rule").agg(pl.col("qty").sum()).iter_rows()}


def _same(a: dict[str, float], b: dict[str, float]) -> bool:
    return a.keys() == b.keys() and all(math.isclose(a[k], b[k], rel_tol=1e-6) for k in a)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--skus", type=int, default=100_000)
    parser.add_argument("--sites", type=int, default=50)
    parser.add_argument("--sample", type=int, default=50_000)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    rules = builtin_rules()
    frame = network(args.skus, args.sites, args.seed)
    sites = frame["site"].unique().to_list()
    lead_times = pl.DataFrame([(a, b, 1.0 + (hash((a, b)) % 3)) for a in sites for b in sites
                               if a != b], orient="row",
                              schema={"from_site": pl.String, "to_site": pl.String, "days": pl.Float64})
    packs = frame.group_by("sku").agg(pl.col("pack_size").first())

    started = time.perf_counter()
    state = thresholds_and_state(frame)
    thresholds_s = time.perf_counter() - started
    needs, offers = evaluate(rules, state)
    rules_s = time.perf_counter() - started - thresholds_s
    plan = match(needs, offers, lead_times, packs)
    full_s = time.perf_counter() - started
    peak_gb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024 / 1024

    sample = frame.head(args.sample - args.sample % args.sites)
    t0 = time.perf_counter()
    small_needs, small_offers = evaluate(rules, thresholds_and_state(sample))
    vectorised_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    loop_needs, loop_offers = loop(sample.to_dicts())
    loop_s = time.perf_counter() - t0
    same = _same(loop_needs, _totals(small_needs)) and _same(loop_offers, _totals(small_offers))

    figures = {
        "benchmark": "planning", "cpus": os.cpu_count(), "rows": frame.height,
        "skus": args.skus, "sites": args.sites,
        "full": {"seconds": round(full_s, 2), "thresholds_s": round(thresholds_s, 2),
                 "rules_s": round(rules_s, 2), "matching_s": round(full_s - thresholds_s - rules_s, 2),
                 "needs": needs.height, "offers": offers.height,
                 "transfers": plan.transfers.height, "purchases": plan.purchases.height},
        "peak_gb": round(peak_gb, 2),
        "sample": {"rows": sample.height, "vectorised_s": round(vectorised_s, 3),
                   "loop_s": round(loop_s, 3), "ratio": round(loop_s / vectorised_s, 1),
                   "same_result": same},
        "targets": TARGETS,
        "met": {"full_seconds": full_s < TARGETS["full_seconds"],
                "peak_gb": peak_gb < TARGETS["peak_gb"]},
    }
    print(f"full run: {frame.height:,} rows in {full_s:.1f} s (thresholds {thresholds_s:.1f} s, "
          f"rules {rules_s:.1f} s, matching {figures['full']['matching_s']} s), peak {peak_gb:.2f} GB")
    print(f"sample of {sample.height:,} rows: vectorised {vectorised_s:.3f} s, per-row Python "
          f"{loop_s:.3f} s, ratio {loop_s / vectorised_s:.1f}, same result: {same}")
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
