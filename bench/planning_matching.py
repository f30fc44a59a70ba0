"""Matching needs to offers: the vectorised greedy against the same greedy one row at a time.

Synthetic network, no database: ``--skus`` SKUs × ``--sites`` sites in 5 regions, two rules
(replenish at priority 1, balance at 2), ``--needs`` needs and ``--offers`` offers on distinct
SKU × site cells, random lead times for every route, packs of 1, 6 or 12. *Vectorised*:
``cangliu.core.planning.matching.match`` on the whole network, then on a sample of whole SKUs
holding about ``--sample`` needs. *Baseline*: the same greedy in plain Python on that sample,
one need at a time, each scanning its rule's offers of the SKU — same order, same tie-breaks,
same result (checked: ``same_result``). The ratio is loop seconds over vectorised seconds on
the sample.

    python bench/planning_matching.py [--needs 200000] [--offers 50000] [--sample 50000]

The last line of output is one JSON object with every figure.
"""

import argparse
import json
import math
import os
import time
from collections import defaultdict
from typing import Any

import numpy as np
import polars as pl

from cangliu.core.planning.matching import match

TARGETS = {"full_seconds": 10.0}
EPS = 1e-9


def network(skus: int, sites: int, needs: int, offers: int, seed: int) -> tuple[pl.DataFrame, ...]:
    rng = np.random.default_rng(seed)
    site = np.array([f"S{i:03d}" for i in range(sites)])
    sku = np.array([f"K{i:06d}" for i in range(skus)])
    region = np.array([f"R{i % 5}" for i in range(sites)])

    def cells(n: int) -> tuple[np.ndarray, np.ndarray]:
        picked = rng.choice(skus * sites, n, replace=False)
        return picked // sites, picked % sites

    rule = np.array(["replenish", "balance"])
    k, s = cells(needs)
    r = rng.integers(0, 2, needs)
    need = pl.DataFrame({"rule": rule[r], "priority": r + 1, "sku": sku[k], "site": site[s],
                         "region": region[s], "qty": rng.integers(1, 50, needs).astype(float),
                         "trigger": "available < safety_stock"})
    k, s = cells(offers)
    offer = pl.DataFrame({"rule": rule[rng.integers(0, 2, offers)], "sku": sku[k], "site": site[s],
                          "region": region[s], "qty": rng.integers(0, 400, offers).astype(float)})
    a, b = np.meshgrid(site, site)
    lead = pl.DataFrame({"from_site": a.ravel(), "to_site": b.ravel(),
                         "days": rng.integers(1, 6, a.size).astype(float)})
    packs = pl.DataFrame({"sku": sku, "pack_size": rng.choice([1, 6, 12], skus)})
    return need, offer, lead, packs


def loop_match(needs: pl.DataFrame, offers: pl.DataFrame, lead_times: pl.DataFrame,
               packs: pl.DataFrame, default_days: float = 2.0) -> list[tuple[Any, ...]]:
    """The greedy as one would write it first: sort the needs, and for each scan its offers."""
    pack = dict(packs.iter_rows())
    lead = {(a, b): days for a, b, days in lead_times.iter_rows()}
    offered: dict[tuple[str, str], list[tuple[str, str, int]]] = defaultdict(list)
    for rule, sku, site, region, qty in offers.iter_rows():
        offered[rule, sku].append((site, region, math.floor(qty / pack.get(sku, 1) + EPS)))
    used: dict[tuple[str, str], int] = defaultdict(int)
    delivered: dict[tuple[str, str], int] = defaultdict(int)
    transfers = []
    for rule, _, sku, site, region, qty, trigger in sorted(
            needs.iter_rows(), key=lambda row: (row[1], row[0], -row[5], row[3])):
        size = pack.get(sku, 1)
        want = max(math.floor(qty / size + EPS) - delivered[sku, site], 0)
        candidates = []
        for source, source_region, n in offered[rule, sku]:
            left = max(n - used[sku, source], 0)
            if source != site and left > 0:
                candidates.append((region != source_region, lead.get((source, site), default_days),
                                   -left, source, left))
        for *_, source, left in sorted(candidates):
            take = min(want, left)
            if take > 0:
                want -= take
                used[sku, source] += take
                delivered[sku, site] += take
                transfers.append((rule, sku, source, site, float(take * size), trigger))
    return sorted(transfers, key=lambda t: (t[0], t[1], t[3], t[2]))


def timed(function: Any, *args: Any) -> tuple[Any, float]:
    started = time.perf_counter()
    result = function(*args)
    return result, time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--skus", type=int, default=10_000)
    parser.add_argument("--sites", type=int, default=50)
    parser.add_argument("--needs", type=int, default=200_000)
    parser.add_argument("--offers", type=int, default=50_000)
    parser.add_argument("--sample", type=int, default=50_000, help="needs in the loop comparison")
    args = parser.parse_args()
    load_before = list(os.getloadavg())
    needs, offers, lead, packs = network(args.skus, args.sites, args.needs, args.offers, 1)
    match(needs.head(100), offers.head(100), lead, packs)  # first call pays one-off set-up
    plan, full_s = timed(match, needs, offers, lead, packs)
    chosen = pl.col("sku").is_in(sorted(needs["sku"].unique().to_list())[:max(
        1, round(args.skus * args.sample / args.needs))])
    sample = [needs.filter(chosen), offers.filter(chosen), lead, packs]
    fast, fast_s = timed(match, *sample)
    slow, slow_s = timed(loop_match, *sample)
    report: dict[str, Any] = {
        "benchmark": "planning_matching", "cpus": os.cpu_count(),
        "needs": needs.height, "offers": offers.height, "sites": args.sites, "skus": args.skus,
        "full_seconds": round(full_s, 3), "transfers": plan.transfers.height,
        "purchases": plan.purchases.height,
        "sample_needs": sample[0].height, "sample_offers": sample[1].height,
        "sample_vectorised_s": round(fast_s, 3), "sample_loop_s": round(slow_s, 3),
        "ratio": round(slow_s / fast_s, 2),
        "same_result": [tuple(row) for row in fast.transfers.iter_rows()] == slow,
        "load_average_before": load_before, "load_average_after": list(os.getloadavg()),
        "targets": TARGETS,
    }
    report["full_ok"] = full_s < TARGETS["full_seconds"]
    print(f"{'whole network':<16} {needs.height:>8} needs × {offers.height:>6} offers "
          f"{full_s:7.2f} s  (target < {TARGETS['full_seconds']:g} s: "
          f"{'met' if report['full_ok'] else 'not met'})")
    print(f"{'sample':<16} {sample[0].height:>8} needs × {sample[1].height:>6} offers "
          f"{fast_s:7.2f} s vectorised, {slow_s:.2f} s loop, ratio {report['ratio']:.1f}, "
          f"same result: {report['same_result']}")
    print(json.dumps(report))


if __name__ == "__main__":
    main()
