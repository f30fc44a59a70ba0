"""Posting throughput: single-line receipts through the service layer against raw psycopg.

Each posting is its own transaction. The service figure goes through ``stock.receive`` (lookups,
guarded balance upsert, ledger insert, one commit); the baseline, measured in the same run on the
same database, sends only what any ledger must: one balance UPDATE and one stock_move INSERT per
transaction over a plain psycopg 3 connection. Workers post to different SKUs and sites, so the
figures measure throughput, not a hot row. Also times one receipt of 1,000 lines.

    python bench/posting.py --db postgresql://postgres@127.0.0.1:5432/test --seconds 10

The last line of output is one JSON object with every figure.
"""

import argparse
import json
import os
import statistics
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any

import psycopg
from scratch import plain, scratch_database, server_version

from cangliu.core.permissions import Actor
from cangliu.db.types import to_units
from cangliu.db.uow import Database
from cangliu.services import auth, masterdata, stock
from cangliu.services.postings import Meta
from cangliu.services.stock import Line
from cangliu.services.verify import verify

SITES = 8  # one per worker at the highest worker count
SKUS_PER_WORKER = 64
BIG_SKUS = 1_000
TARGET_RATIO = 0.5
TARGET_BIG_S = 1.0


@dataclass(frozen=True)
class Network:
    actor: Actor
    sites: list[str]
    skus: list[str]
    ids: dict[str, int]  # SKU and location codes → ids, for the raw baseline


def seed(db: Database) -> Network:
    """Sites and SKUs through the services, then opening stock on every worker's balances."""
    actor = auth.create_user(db.uow(), username="bench", password="bench-password-1",
                             is_admin=True)
    sites = [f"S{i:02d}" for i in range(1, SITES + 1)] + ["BIG"]
    for code in sites:
        masterdata.create(db.uow(), actor, "site", {"code": code, "name": f"门店 {code}",
                                                    "site_kind": "store", "region": "华东"})
    skus = [f"B{i:05d}" for i in range(1, BIG_SKUS + 1)]
    for code in skus:
        masterdata.create(db.uow(), actor, "sku", {"code": code, "name": f"商品 {code}"})
    meta = Meta(actor=actor, reason="opening stock")
    for w in range(SITES):
        stock.receive(db.uow(), meta, site=sites[w],
                      lines=[Line(sku, 1000) for sku in worker_skus(skus, w)])
    with psycopg.connect(plain(db.url)) as conn:
        ids = dict(conn.execute("SELECT code, id FROM sku UNION ALL SELECT code, id FROM location"
                                ).fetchall())
    return Network(actor, sites, skus, ids)


def worker_skus(skus: list[str], worker: int) -> list[str]:
    return skus[worker * SKUS_PER_WORKER:(worker + 1) * SKUS_PER_WORKER]


@dataclass
class Tally:
    """Postings, wall seconds and client (this process's) CPU seconds of one kind of run."""

    postings: int = 0
    seconds: float = 0.0
    cpu: float = 0.0

    def per_s(self) -> float:
        return self.postings / self.seconds if self.seconds else 0.0

    def cpu_ms(self) -> float:
        return 1000 * self.cpu / self.postings if self.postings else 0.0


def run_threads(tally: Tally, workers: int, seconds: float, body: Callable[[int, float], int]
                ) -> None:
    """Start ``workers`` threads together; each posts until the deadline."""
    counts = [0] * workers
    barrier = threading.Barrier(workers + 1)
    deadline = [0.0]

    def run(w: int) -> None:
        barrier.wait()
        counts[w] = body(w, deadline[0])

    threads = [threading.Thread(target=run, args=(w,)) for w in range(workers)]
    for t in threads:
        t.start()
    start, cpu = time.perf_counter(), time.process_time()
    deadline[0] = start + seconds
    barrier.wait()
    for t in threads:
        t.join()
    tally.postings += sum(counts)
    tally.seconds += time.perf_counter() - start
    tally.cpu += time.process_time() - cpu


def service_body(db: Database, net: Network, *, keyed: bool) -> Callable[[int, float], int]:
    def body(w: int, deadline: float) -> int:
        meta = Meta(actor=replace(net.actor, device=f"bench-{w}"), reason="bench")
        skus, site, n = worker_skus(net.skus, w), net.sites[w], 0
        while time.perf_counter() < deadline:
            key = uuid.uuid4().hex if keyed else None
            stock.receive(db.uow(), replace(meta, idempotency_key=key), site=site,
                          lines=[Line(skus[n % len(skus)], 1)])
            n += 1
        return n
    return body


RAW_UPDATE = ("UPDATE stock_balance SET qty = qty + %s, version = version + 1 WHERE sku_id = %s"
              " AND location_id = %s AND lot = '' AND status = 'available'")
RAW_INSERT = (
    "INSERT INTO stock_move (ref, operation, sku_id, qty, uom, from_location_id, to_location_id,"
    " from_status, to_status, lot, document_line, reason, operator, device, occurred_at,"
    " recorded_at, idempotency_key) VALUES (%s, 'receive', %s, %s, 'pcs', %s, %s, 'available',"
    " 'available', '', 1, 'bench', 'bench', %s, %s, %s, %s)")


def raw_body(url: str, net: Network) -> Callable[[int, float], int]:
    """The same receipts as the service posts, as one UPDATE and one INSERT per transaction."""
    def body(w: int, deadline: float) -> int:
        skus, site = worker_skus(net.skus, w), net.ids[net.sites[w]]
        supplier, one, n = net.ids["@supplier"], to_units(1), 0  # type: ignore[arg-type]
        with psycopg.connect(url) as conn:
            while time.perf_counter() < deadline:
                sku, ref, now = net.ids[skus[n % len(skus)]], uuid.uuid4().hex[:20], datetime.now(UTC)
                with conn.transaction():
                    if conn.execute(RAW_UPDATE, (one, sku, site)).rowcount != 1:
                        raise RuntimeError("raw baseline: balance row missing")
                    conn.execute(RAW_INSERT, (ref, sku, one, supplier, site, f"raw-{w}", now, now,
                                              f"{ref}:1"))
                n += 1
        return n
    return body


def throughput(db: Database, net: Network, workers: int, seconds: float, rounds: int
               ) -> dict[str, float]:
    """Raw, service and keyed service runs, interleaved in ``rounds`` slices so that whatever
    else the machine is doing weighs on all three alike."""
    raw, service, keyed = Tally(), Tally(), Tally()
    for _ in range(rounds):
        run_threads(raw, workers, seconds / rounds, raw_body(plain(db.url), net))
        run_threads(service, workers, seconds / rounds, service_body(db, net, keyed=False))
        run_threads(keyed, workers, seconds / rounds, service_body(db, net, keyed=True))
    return {"raw_per_s": round(raw.per_s(), 1), "service_per_s": round(service.per_s(), 1),
            "service_keyed_per_s": round(keyed.per_s(), 1),
            "ratio": round(service.per_s() / raw.per_s(), 3),
            "ratio_keyed": round(keyed.per_s() / raw.per_s(), 3),
            "client_cpu_ms": {"raw": round(raw.cpu_ms(), 3), "service": round(service.cpu_ms(), 3),
                              "service_keyed": round(keyed.cpu_ms(), 3)}}


def big_posting(db: Database, net: Network, repeats: int) -> list[float]:
    """One receipt of 1,000 lines of different SKUs; the first creates the balance rows."""
    meta = Meta(actor=net.actor, reason="bench big receipt")
    lines = [Line(sku, 5) for sku in net.skus]
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        result = stock.receive(db.uow(), meta, site="BIG", lines=lines)
        times.append(time.perf_counter() - start)
        assert len(result["moves"]) == len(lines)
    return times


def table(rows: dict[str, dict[str, Any]], big: list[float]) -> str:
    head = (f"{'workers':>7}  {'raw/s':>8}  {'service/s':>9}  {'keyed/s':>8}  "
            f"{'service/raw':>11}  {'keyed/raw':>9}  {'client CPU ms/posting raw|svc|keyed':>35}")
    lines = [head, "-" * len(head)]
    for n, r in rows.items():
        cpu = r["client_cpu_ms"]
        lines.append(f"{n:>7}  {r['raw_per_s']:>8.1f}  {r['service_per_s']:>9.1f}  "
                     f"{r['service_keyed_per_s']:>8.1f}  {r['ratio']:>11.3f}  "
                     f"{r['ratio_keyed']:>9.3f}  "
                     f"{cpu['raw']:>13.3f} |{cpu['service']:>6.3f} |{cpu['service_keyed']:>6.3f}")
    lines.append("1,000-line receipt: " + ", ".join(f"{t:.3f} s" for t in big)
                 + " (first run inserts the balance rows, later runs update them)")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", required=True, help="PostgreSQL server URL; a scratch database "
                        "is created there and dropped at the end")
    parser.add_argument("--seconds", type=float, default=10.0, help="duration of each run")
    parser.add_argument("--workers", default="1,2,8", help="comma-separated worker counts")
    parser.add_argument("--rounds", type=int, default=3,
                        help="interleaved slices per measurement (each seconds/rounds long)")
    parser.add_argument("--big-repeats", type=int, default=3)
    parser.add_argument("--keep", action="store_true", help="keep the scratch database")
    args = parser.parse_args()
    workers = [int(w) for w in args.workers.split(",")]
    if max(workers) > SITES:
        parser.error(f"at most {SITES} workers")
    load_before = list(os.getloadavg())
    with scratch_database(args.db, "bench_posting", keep=args.keep) as url:
        db = Database(url)
        started = time.perf_counter()
        net = seed(db)
        seeded = time.perf_counter() - started
        rows = {str(n): throughput(db, net, n, args.seconds, args.rounds) for n in workers}
        big = big_posting(db, net, args.big_repeats)
        report = verify(db.uow())
        db.dispose()
    top = rows[str(max(workers))]
    print(table(rows, big))
    print(json.dumps({
        "benchmark": "posting", "postgres": server_version(args.db), "cpus": os.cpu_count(),
        "load_average_before": load_before, "load_average_after": list(os.getloadavg()),
        "seconds_per_run": args.seconds, "seed_s": round(seeded, 2), "workers": rows,
        "ratio_at_max_workers": top["ratio"], "max_workers": max(workers),
        "target_ratio": TARGET_RATIO, "ratio_ok": top["ratio"] >= TARGET_RATIO,
        "big_receipt_lines": BIG_SKUS, "big_receipt_s": [round(t, 4) for t in big],
        "big_receipt_median_s": round(statistics.median(big), 4),
        "target_big_receipt_s": TARGET_BIG_S, "big_receipt_ok": max(big) < TARGET_BIG_S,
        "moves_in_ledger": report.moves, "ledger_consistent": report.consistent,
    }))


if __name__ == "__main__":
    main()
