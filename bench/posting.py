"""Posting throughput: single-line receipts through the service layer against raw psycopg.

Each posting is its own transaction. The service figure goes through ``stock.receive`` (on
PostgreSQL its two-statement path for such receipts, ``services.quick_receipt``); the general
figure through the same call with that path turned off; the baseline, measured in the same run
on the same database, sends only what any ledger must: one balance UPDATE and one stock_move
INSERT per transaction over a plain psycopg 3 connection. Workers post to different SKUs and sites, so the
figures measure throughput, not a hot row. Also times one receipt of 1,000 lines.

    python bench/posting.py --db postgresql://postgres@127.0.0.1:5432/test --seconds 10

The last line of output is one JSON object with every figure.
"""

import argparse
import json
import multiprocessing
import os
import statistics
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import psycopg

from cangliu.core.permissions import Actor
from cangliu.db.types import to_units
from cangliu.db.uow import Database
from cangliu.services import auth, masterdata, quick_receipt, stock
from cangliu.services.postings import Meta
from cangliu.services.stock import Line
from cangliu.services.verify import verify
from support.scratch import plain, scratch_database, server_version

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
        ids: dict[str, int] = dict(conn.execute(
            "SELECT code, id FROM sku UNION ALL SELECT code, id FROM location").fetchall())
    return Network(actor, sites, skus, ids)


def worker_skus(skus: list[str], worker: int) -> list[str]:
    return skus[worker * SKUS_PER_WORKER:(worker + 1) * SKUS_PER_WORKER]


def machine_busy() -> float:
    """CPU seconds all processes on this machine have used since boot (Linux; 0 elsewhere)."""
    try:
        with open("/proc/stat") as f:
            ticks = [int(x) for x in f.readline().split()[1:]]
    except OSError:
        return 0.0
    idle = ticks[3] + ticks[4]  # idle + iowait
    return (sum(ticks[:8]) - idle) / os.sysconf("SC_CLK_TCK")


@dataclass
class Tally:
    """Postings, wall seconds, this process's CPU and the whole machine's CPU for one kind of run."""

    postings: int = 0
    seconds: float = 0.0
    cpu: float = 0.0
    machine: float = 0.0

    def per_s(self) -> float:
        return self.postings / self.seconds if self.seconds else 0.0

    def cpu_ms(self) -> float:
        return 1000 * self.cpu / self.postings if self.postings else 0.0

    def busy_cores(self) -> float:
        """Cores the whole machine kept busy (this process, PostgreSQL and anything else)."""
        return self.machine / self.seconds if self.seconds else 0.0


# A worker: called with its number it gets ready (e.g. connects), then returns the loop that
# posts until the deadline and answers how many postings it made.
Worker = Callable[[int], Callable[[float], int]]


def run_threads(tally: Tally, workers: int, seconds: float, worker: Worker) -> None:
    """Get ``workers`` threads ready, then let them post together until the deadline."""
    counts = [0] * workers
    barrier = threading.Barrier(workers + 1)
    deadline = [0.0]

    def run(w: int) -> None:
        post_until = worker(w)
        barrier.wait()
        counts[w] = post_until(deadline[0])

    threads = [threading.Thread(target=run, args=(w,)) for w in range(workers)]
    for t in threads:
        t.start()
    start, cpu, machine = time.perf_counter(), time.process_time(), machine_busy()
    deadline[0] = start + seconds
    barrier.wait()
    for t in threads:
        t.join()
    tally.postings += sum(counts)
    tally.seconds += time.perf_counter() - start
    tally.cpu += time.process_time() - cpu
    tally.machine += machine_busy() - machine


def service_worker(db: Database, net: Network, *, keyed: bool) -> Worker:
    """Single-line receipts through ``stock.receive``, each its own unit of work."""
    def ready(w: int) -> Callable[[float], int]:
        meta = Meta(actor=replace(net.actor, device=f"bench-{w}"), reason="bench")
        skus, site = worker_skus(net.skus, w), net.sites[w]

        def post_until(deadline: float) -> int:
            n = 0
            while time.perf_counter() < deadline:
                key = uuid.uuid4().hex if keyed else None
                stock.receive(db.uow(), replace(meta, idempotency_key=key), site=site,
                              lines=[Line(skus[n % len(skus)], 1)])
                n += 1
            return n
        return post_until
    return ready


RAW_UPDATE = ("UPDATE stock_balance SET qty = qty + %s, version = version + 1 WHERE sku_id = %s"
              " AND location_id = %s AND lot = '' AND status = 'available'")
RAW_INSERT = (
    "INSERT INTO stock_move (ref, operation, sku_id, qty, uom, from_location_id, to_location_id,"
    " from_status, to_status, lot, document_line, reason, operator, device, occurred_at,"
    " recorded_at, idempotency_key) VALUES (%s, 'receive', %s, %s, 'pcs', %s, %s, 'available',"
    " 'available', '', 1, 'bench', 'bench', %s, %s, %s, %s)")


def raw_worker(url: str, net: Network) -> Worker:
    """The same receipts as the service posts, as one UPDATE and one INSERT per transaction
    on a connection of the worker's own (opened before the clock starts)."""
    def ready(w: int) -> Callable[[float], int]:
        conn = psycopg.connect(url)
        skus = [net.ids[code] for code in worker_skus(net.skus, w)]
        site, supplier, one = net.ids[net.sites[w]], net.ids["@supplier"], to_units(Decimal(1))

        def post_until(deadline: float) -> int:
            n = 0
            with conn:
                while time.perf_counter() < deadline:
                    sku, ref, now = skus[n % len(skus)], uuid.uuid4().hex[:20], datetime.now(UTC)
                    with conn.transaction():
                        if conn.execute(RAW_UPDATE, (one, sku, site)).rowcount != 1:
                            raise RuntimeError("raw baseline: balance row missing")
                        conn.execute(RAW_INSERT, (ref, sku, one, supplier, site, f"raw-{w}", now,
                                                  now, f"{ref}:1"))
                    n += 1
            return n
        return post_until
    return ready


KINDS = ("raw", "service", "keyed", "general")


def make_worker(kind: str, db: Database, net: Network) -> Worker:
    if kind == "raw":
        return raw_worker(plain(db.url), net)
    return service_worker(db, net, keyed=kind == "keyed")


def quick_path(kind: str) -> None:
    """The general kind posts with the quick receipt path off; the others with it on."""
    quick_receipt.enabled = kind != "general"


# Worker processes: each keeps its own Database (engines do not cross a fork) for the whole run.
_process_db: Database | None = None


def _start_process(url: str) -> None:
    global _process_db
    _process_db = Database(url)


def _process_slice(kind: str, w: int, net: Network, start_at: float, seconds: float
                   ) -> tuple[int, float]:
    """One worker process's part of a slice: get ready, wait for the common start, post."""
    assert _process_db is not None
    quick_path(kind)
    post_until = make_worker(kind, _process_db, net)(w)
    time.sleep(max(0.0, start_at - time.perf_counter()))  # CLOCK_MONOTONIC: shared by processes
    cpu = time.process_time()
    return post_until(start_at + seconds), time.process_time() - cpu


def run_processes(pool: Any, tally: Tally, kind: str, net: Network, workers: int, seconds: float
                  ) -> None:
    """Like run_threads, with one worker process each (a server runs several processes)."""
    start = time.perf_counter() + 0.5  # time for every process to pick up its task and connect
    tasks = [pool.apply_async(_process_slice, (kind, w, net, start, seconds)) for w in range(workers)]
    time.sleep(max(0.0, start - time.perf_counter()))
    machine = machine_busy()
    results = [t.get() for t in tasks]
    tally.postings += sum(n for n, _ in results)
    tally.seconds += time.perf_counter() - start
    tally.cpu += sum(cpu for _, cpu in results)
    tally.machine += machine_busy() - machine


def throughput(db: Database, net: Network, workers: int, seconds: float, rounds: int,
               pool: Any = None) -> dict[str, Any]:
    """Every kind of run, interleaved in ``rounds`` slices so that whatever else the machine is
    doing weighs on all alike. With a process pool, every worker is a process of its own;
    otherwise a thread of this process."""
    tallies = {kind: Tally() for kind in KINDS}
    for _ in range(rounds):
        for kind, tally in tallies.items():
            if pool is not None:
                run_processes(pool, tally, kind, net, workers, seconds / rounds)
            else:
                quick_path(kind)
                run_threads(tally, workers, seconds / rounds, make_worker(kind, db, net))
    quick_path("service")
    raw, service, keyed, general = (tallies[k] for k in KINDS)
    return {"raw_per_s": round(raw.per_s(), 1), "service_per_s": round(service.per_s(), 1),
            "service_keyed_per_s": round(keyed.per_s(), 1),
            "ratio": round(service.per_s() / raw.per_s(), 3),
            "ratio_keyed": round(keyed.per_s() / raw.per_s(), 3),
            "general_per_s": round(general.per_s(), 1),
            "ratio_general": round(general.per_s() / raw.per_s(), 3),
            "client_cpu_ms": {kind: round(t.cpu_ms(), 3) for kind, t in tallies.items()},
            "machine_busy_cores": {kind: round(t.busy_cores(), 2) for kind, t in tallies.items()}}


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


def table(rows: dict[str, dict[str, Any]]) -> str:
    head = (f"{'workers':>7}  {'raw/s':>7}  {'service/s':>9}  {'keyed/s':>7}  {'general/s':>9}  "
            f"{'svc/raw':>7}  {'keyed/raw':>9}  {'general/raw':>11}  "
            f"{'client CPU ms/posting | busy cores (machine)':>58}")
    names = "".join(f"{k:>8}" for k in KINDS)
    lines = [head, "-" * len(head), f"{'':>82}{names}  |{names}"]
    for n, r in rows.items():
        own, busy = r["client_cpu_ms"], r["machine_busy_cores"]
        lines.append(f"{n:>7}  {r['raw_per_s']:>7.1f}  {r['service_per_s']:>9.1f}  "
                     f"{r['service_keyed_per_s']:>7.1f}  {r['general_per_s']:>9.1f}  "
                     f"{r['ratio']:>7.3f}  {r['ratio_keyed']:>9.3f}  {r['ratio_general']:>11.3f}  "
                     + "".join(f"{own[k]:>8.2f}" for k in KINDS)
                     + "  |" + "".join(f"{busy[k]:>8.2f}" for k in KINDS))
    return "\n".join(lines)


def check_quick_path(db: Database, net: Network) -> bool:
    """Whether a single-line receipt through the service takes the quick path (so the service
    figure measures it); answers False on SQLite or if the path declines such receipts."""
    result = quick_receipt.receive(db.uow(), Meta(actor=net.actor, reason="bench"),
                                   site=net.sites[0], lines=[Line(net.skus[0], 1)],
                                   request={})
    return result is not None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", required=True, help="PostgreSQL server URL; a scratch database "
                        "is created there and dropped at the end")
    parser.add_argument("--seconds", type=float, default=10.0, help="duration of each run")
    parser.add_argument("--workers", default="1,2,8", help="comma-separated worker counts")
    parser.add_argument("--rounds", type=int, default=3,
                        help="interleaved slices per measurement (each seconds/rounds long)")
    parser.add_argument("--big-repeats", type=int, default=3)
    parser.add_argument("--mode", choices=("threads", "processes", "both"), default="both",
                        help="workers as threads of this process, as processes, or both")
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
        quick = check_quick_path(db, net)
        modes: dict[str, dict[str, Any]] = {}
        if args.mode in ("threads", "both"):
            modes["threads"] = {str(n): throughput(db, net, n, args.seconds, args.rounds)
                                for n in workers}
        if args.mode in ("processes", "both"):
            spawn = multiprocessing.get_context("spawn")
            with spawn.Pool(max(workers), initializer=_start_process, initargs=(url,)) as pool:
                pool.map(time.sleep, [0.2] * max(workers))  # every process started before timing
                modes["processes"] = {str(n): throughput(db, net, n, args.seconds, args.rounds, pool)
                                      for n in workers}
        big = big_posting(db, net, args.big_repeats)
        report = verify(db.uow())
        db.dispose()
    top = {mode: rows[str(max(workers))]["ratio"] for mode, rows in modes.items()}
    for mode, rows in modes.items():
        print(f"workers as {mode}:\n{table(rows)}\n")
    print("1,000-line receipt: " + ", ".join(f"{t:.3f} s" for t in big)
          + " (first run inserts the balance rows, later runs update them)")
    worst = min(top.values())  # the target holds for workers as threads and as processes
    print(json.dumps({
        "benchmark": "posting", "postgres": server_version(args.db), "cpus": os.cpu_count(),
        "load_average_before": load_before, "load_average_after": list(os.getloadavg()),
        "seconds_per_run": args.seconds, "seed_s": round(seeded, 2), "workers": modes,
        "quick_path": quick, "ratio_at_max_workers": top, "max_workers": max(workers),
        "target_ratio": TARGET_RATIO, "ratio_ok": worst >= TARGET_RATIO,
        "big_receipt_lines": BIG_SKUS, "big_receipt_s": [round(t, 4) for t in big],
        "big_receipt_median_s": round(statistics.median(big), 4),
        "target_big_receipt_s": TARGET_BIG_S, "big_receipt_ok": max(big) < TARGET_BIG_S,
        "moves_in_ledger": report.moves, "ledger_consistent": report.consistent,
    }))


if __name__ == "__main__":
    main()
