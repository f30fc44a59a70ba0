"""Document posting: 1,000-line receipt, shipment and transfer, and New-Order-like throughput.

The big documents go through the purchasing, sales and transfer services on two stocked
warehouses; each step is timed on its own, three fresh documents each. The throughput part is
TPC-C New-Order in spirit: every worker creates 10-line sales orders at its own site, confirms
(reserves) and ships them, interleaved in slices with the raw psycopg baseline of
``bench/posting.py`` (its ``raw_worker``, ``Tally`` and runners, imported, not copied).

    python bench/documents.py --db postgresql://postgres@127.0.0.1:5432/test --seconds 10

The last line of output is one JSON object with every figure.
"""

import argparse
import cProfile
import json
import math
import multiprocessing
import os
import pstats
import random
import statistics
import sys
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, replace
from decimal import Decimal
from typing import Any

import psycopg
from sqlalchemy import event

import posting
from cangliu.db.types import to_units
from cangliu.db.uow import Database
from cangliu.services import masterdata, purchasing, sales, stock, transfers
from cangliu.services.idempotency import Result
from cangliu.services.postings import Meta
from cangliu.services.purchasing import PurchaseLineIn, ReceiptIn
from cangliu.services.sales import SalesLineIn
from cangliu.services.stock import Line
from cangliu.services.transfers import ReceiptLineIn, TransferLineIn
from cangliu.services.verify import verify
from posting import Tally, Worker, raw_worker, run_processes, run_threads
from support.scratch import plain, scratch_database, server_version

BIG_LINES = 1_000  # also the SKU pool the orders draw from
ORDER_LINES = 10
MAX_QTY = 5  # order lines ask for 1–5 units
SOURCE, DEST = "DC1", "DC2"  # the stocked warehouses of the big documents
SUPPLIER, CUSTOMER = "SUP-BENCH", "CUS-BENCH"
TARGET_BIG_S = 2.0
# Far above what one worker can do (three service calls per order): sizes the stock so that
# no slice can run a worker's site out of any SKU.
CEILING_ORDERS_PER_S = 200
BIG_STEPS = ("purchase_create", "purchase_submit", "receipt", "sales_create", "sales_confirm",
             "shipment", "transfer_create", "transfer_submit", "transfer_ship", "transfer_receive",
             "transfer_ship_receive")
FLAGGED = ("receipt", "shipment", "transfer_ship", "transfer_receive", "transfer_ship_receive")


@dataclass(frozen=True)
class Bench(posting.Network):
    """posting.py's network (its sites, SKUs and opening stock are the raw baseline's rows)
    and the document SKUs, priced for SUPPLIER and CUSTOMER: the big documents' lines and the
    pool orders draw from."""

    pool: list[str]

    def meta(self, reason: str, device: str = "bench") -> Meta:
        return Meta(actor=replace(self.actor, device=device), reason=reason)

    def worker_sites(self) -> list[str]:
        return self.sites[:posting.SITES]


def seed(db: Database, stock_per_sku: int) -> Bench:
    """posting.py's network, then the partners, warehouses and document SKUs with their prices,
    all through the services; the SKUs are stocked at both warehouses and every worker's site."""
    raw = posting.seed(db)
    actor = raw.actor
    masterdata.create(db.uow(), actor, "supplier", {"code": SUPPLIER, "name": "基准供应商"})
    masterdata.create(db.uow(), actor, "customer", {"code": CUSTOMER, "name": "基准客户"})
    for code in (SOURCE, DEST):
        masterdata.create(db.uow(), actor, "site", {"code": code, "name": f"仓库 {code}",
                                                    "site_kind": "central", "region": "华东"})
    bench = Bench(actor, raw.sites, raw.skus, raw.ids, [f"D{i:05d}" for i in range(1, BIG_LINES + 1)])
    for code in bench.pool:
        masterdata.create(db.uow(), actor, "sku", {"code": code, "name": f"单据商品 {code}"})
        purchasing.set_supplier_price(db.uow(), actor, supplier=SUPPLIER, sku=code, price="10")
        sales.set_customer_price(db.uow(), actor, customer=CUSTOMER, sku=code, price="15")
    for site in (SOURCE, DEST, *bench.worker_sites()):
        restock(db, bench, site, stock_per_sku)
    return bench


def restock(db: Database, bench: Bench, site: str, qty: int) -> None:
    stock.receive(db.uow(), bench.meta("bench restock"), site=site,
                  lines=[Line(sku, qty, unit_cost="8") for sku in bench.pool])


class Steps:
    """Seconds per step of the big documents."""

    def __init__(self) -> None:
        self.times: dict[str, list[float]] = {step: [] for step in BIG_STEPS}

    def clock(self, step: str, call: Callable[[], Result]) -> Result:
        start = time.perf_counter()
        result = call()
        self.times[step].append(time.perf_counter() - start)
        return result


class ProfiledSteps(Steps):
    """Steps that also run under cProfile and count the SQL statements they send, by their
    first words (an executemany is one statement of many rows): where the time goes."""

    def __init__(self, db: Database) -> None:
        super().__init__()
        self.profiles: dict[str, cProfile.Profile] = {}
        self.statements: dict[str, Counter[str]] = {}
        self.rows: dict[str, Counter[str]] = {}
        self.step = ""
        event.listen(db.writer, "before_cursor_execute", self.count)

    def count(self, _conn: Any, _cursor: Any, statement: str, params: Any, _context: Any,
              executemany: bool) -> None:
        shape = " ".join(statement.split())[:90]
        self.statements[self.step][shape] += 1
        self.rows[self.step][shape] += len(params) if executemany else 1

    def clock(self, step: str, call: Callable[[], Result]) -> Result:
        self.step, profiler = step, cProfile.Profile()
        self.statements[step], self.rows[step] = Counter(), Counter()
        self.profiles[step] = profiler
        return super().clock(step, lambda: profiler.runcall(call))


def big_receipt(db: Database, bench: Bench, steps: Steps) -> None:
    """A purchase order of every SKU at its supplier price, received in one receipt."""
    meta = bench.meta("bench big receipt")
    po = steps.clock("purchase_create", lambda: purchasing.create_purchase(
        db.uow(), meta, supplier=SUPPLIER, site=SOURCE,
        lines=[PurchaseLineIn(sku, "10") for sku in bench.pool]))
    steps.clock("purchase_submit",
                lambda: purchasing.submit_purchase(db.uow(), meta, number=po["number"]))
    done = steps.clock("receipt", lambda: purchasing.receive_purchase(
        db.uow(), meta, number=po["number"],
        lines=[ReceiptIn(ln["line_no"], ln["qty"]) for ln in po["lines"]]))
    assert done["state"] == "received", done["state"]


def big_shipment(db: Database, bench: Bench, steps: Steps) -> None:
    """A sales order of every SKU at the customer's price: confirmed (reserved), shipped whole."""
    meta = bench.meta("bench big shipment")
    so = steps.clock("sales_create", lambda: sales.create_sale(
        db.uow(), meta, customer=CUSTOMER, site=SOURCE,
        lines=[SalesLineIn(sku, "3") for sku in bench.pool]))
    steps.clock("sales_confirm", lambda: sales.confirm_sale(db.uow(), meta, number=so["number"]))
    done = steps.clock("shipment", lambda: sales.ship_sale(db.uow(), meta, number=so["number"]))
    assert done["state"] == "shipped", done["state"]


def big_transfer(db: Database, bench: Bench, steps: Steps) -> None:
    """A transfer of every SKU from one warehouse to the other: shipped, then received whole."""
    meta = bench.meta("bench big transfer")
    to = steps.clock("transfer_create", lambda: transfers.create_transfer(
        db.uow(), meta, source=SOURCE, dest=DEST,
        lines=[TransferLineIn(sku, "3") for sku in bench.pool]))
    steps.clock("transfer_submit",
                lambda: transfers.submit_transfer(db.uow(), meta, number=to["number"]))
    steps.clock("transfer_ship", lambda: transfers.ship_transfer(db.uow(), meta, number=to["number"]))
    done = steps.clock("transfer_receive", lambda: transfers.receive_transfer(
        db.uow(), meta, number=to["number"],
        lines=[ReceiptLineIn(ln["line_no"], received=ln["qty"]) for ln in to["lines"]]))
    assert done["state"] == "received", done["state"]
    times = steps.times
    times["transfer_ship_receive"].append(times["transfer_ship"][-1] + times["transfer_receive"][-1])


def big_documents(db: Database, bench: Bench, repeats: int) -> dict[str, list[float]]:
    """Each big document ``repeats`` times, every time a fresh one."""
    steps = Steps()
    for _ in range(repeats):
        for document in (big_receipt, big_shipment, big_transfer):
            document(db, bench, steps)
    return steps.times


def profile_big(db: Database, bench: Bench, top: int) -> None:
    """One more of each big document, profiled and not counted in the figures; per slow step,
    to stderr: the statements sent, most frequent first, and Cangliu's functions by
    cumulative time."""
    steps = ProfiledSteps(db)
    for document in (big_receipt, big_shipment, big_transfer):
        document(db, bench, steps)
    event.remove(db.writer, "before_cursor_execute", steps.count)
    for step in ("receipt", "sales_confirm", "shipment", "transfer_ship", "transfer_receive"):
        sent = steps.statements[step]
        print(f"--- {step}: {steps.times[step][-1]:.3f} s profiled, {sum(sent.values())} statements",
              file=sys.stderr)
        for shape, n in sent.most_common(top):
            print(f"{n:>7} x {steps.rows[step][shape] // n:>5} rows  {shape}", file=sys.stderr)
        stats = pstats.Stats(steps.profiles[step], stream=sys.stderr)
        stats.sort_stats("cumulative").print_stats("/cangliu/", top)


def order_worker(db: Database, bench: Bench, failures: list[BaseException]) -> Worker:
    """New-Order-like: 10 random SKUs of the pool, 1–5 each, at the worker's own site; one
    order is create + confirm + ship, three units of work. A failure is kept for the caller
    (a worker thread's exception would otherwise only be printed)."""
    def ready(w: int) -> Callable[[float], int]:
        meta, site = bench.meta("bench order", f"bench-{w}"), bench.worker_sites()[w]
        rng = random.Random()

        def post_until(deadline: float) -> int:
            n = 0
            try:
                while time.perf_counter() < deadline:
                    lines = [SalesLineIn(sku, str(rng.randint(1, MAX_QTY)))
                             for sku in rng.sample(bench.pool, ORDER_LINES)]
                    so = sales.create_sale(db.uow(), meta, customer=CUSTOMER, site=site, lines=lines)
                    sales.confirm_sale(db.uow(), meta, number=so["number"])
                    sales.ship_sale(db.uow(), meta, number=so["number"])
                    n += 1
            except Exception as exc:
                failures.append(exc)
                raise
            return n
        return post_until
    return ready


def _order_slice(_kind: str, w: int, bench: Bench, start_at: float, seconds: float
                 ) -> tuple[int, float]:
    """A worker process's part of an order slice, as ``posting._process_slice`` is for its kinds
    (the process's Database is the one ``posting._start_process`` opened)."""
    db = posting._process_db
    assert db is not None
    post_until = order_worker(db, bench, [])(w)
    time.sleep(max(0.0, start_at - time.perf_counter()))
    cpu = time.process_time()
    return post_until(start_at + seconds), time.process_time() - cpu


class OrderTasks:
    """A process pool for ``posting.run_processes`` that runs order slices: it hands every
    worker ``_process_slice(kind, w, net, start, seconds)``, this runs ``_order_slice`` with the
    same arguments instead, so orders and the raw baseline are timed by the same code."""

    def __init__(self, pool: Any) -> None:
        self.pool = pool

    def apply_async(self, _task: Any, args: tuple[Any, ...]) -> Any:
        return self.pool.apply_async(_order_slice, args)


def top_up(db: Database, bench: Bench, workers: int, need: int) -> int:
    """Restock every worker site where some pool SKU has less than ``need`` free; returns how
    many sites were restocked (done between slices, outside the clock)."""
    sites = bench.worker_sites()[:workers]
    with psycopg.connect(plain(db.url)) as conn:
        low = [site for site, free in conn.execute(
            "SELECT l.code, min(b.qty - b.reserved) FROM stock_balance b"
            " JOIN location l ON l.id = b.site_id JOIN sku s ON s.id = b.sku_id"
            " WHERE l.code = ANY(%s) AND s.code = ANY(%s) AND b.status = 'available'"
            " GROUP BY l.code", (sites, bench.pool)) if free < to_units(Decimal(need))]
    for site in low:
        restock(db, bench, site, 2 * need)
    return len(low)


def throughput(db: Database, bench: Bench, workers: int, seconds: float, rounds: int,
               pool: Any = None) -> dict[str, Any]:
    """Raw baseline and orders, interleaved in ``rounds`` slices so that background load weighs
    on both alike; worker processes with a pool, else threads of this process."""
    raw, orders, restocks = Tally(), Tally(), 0
    failures: list[BaseException] = []
    need = slice_need(seconds / rounds)
    for _ in range(rounds):
        restocks += top_up(db, bench, workers, need)
        if pool is not None:
            run_processes(pool, raw, "raw", bench, workers, seconds / rounds)
            run_processes(OrderTasks(pool), orders, "orders", bench, workers, seconds / rounds)
            continue
        run_threads(raw, workers, seconds / rounds, raw_worker(plain(db.url), bench))
        run_threads(orders, workers, seconds / rounds, order_worker(db, bench, failures))
        if failures:
            raise failures[0]
    return figures(raw, orders, restocks)


def slice_need(slice_s: float) -> int:
    """Units of one SKU a worker could take in one slice at the ceiling rate, each order
    taking the most of it."""
    return math.ceil(CEILING_ORDERS_PER_S * slice_s) * MAX_QTY


def figures(raw: Tally, orders: Tally, restocks: int) -> dict[str, Any]:
    lines_per_s = orders.per_s() * ORDER_LINES
    return {"raw_per_s": round(raw.per_s(), 1), "orders_per_s": round(orders.per_s(), 2),
            "lines_per_s": round(lines_per_s, 1), "orders": orders.postings,
            "ratio_orders_to_raw": round(orders.per_s() / raw.per_s(), 4),
            "ratio_lines_to_raw": round(lines_per_s / raw.per_s(), 4),
            "client_cpu_ms": {"raw_posting": round(raw.cpu_ms(), 3), "order": round(orders.cpu_ms(), 3)},
            "machine_busy_cores": {"raw": round(raw.busy_cores(), 2),
                                   "orders": round(orders.busy_cores(), 2)},
            "restocks": restocks}


def big_table(times: dict[str, list[float]]) -> str:
    repeats = len(times[BIG_STEPS[0]])
    head = (f"{'1,000-line documents (s)':<26}" + "".join(f"{f'run {i + 1}':>8}" for i in range(repeats))
            + f"{'median':>8}  target")
    lines = [head, "-" * len(head)]
    for step in BIG_STEPS:
        target = f"< {TARGET_BIG_S:g} s" if step in FLAGGED else ""
        lines.append(f"{step:<26}" + "".join(f"{t:>8.3f}" for t in times[step])
                     + f"{statistics.median(times[step]):>8.3f}  {target}")
    return "\n".join(lines)


def orders_table(rows: dict[str, dict[str, Any]]) -> str:
    head = (f"{'workers':>7}  {'raw/s':>7}  {'orders/s':>8}  {'lines/s':>7}  {'orders/raw':>10}  "
            f"{'lines/raw':>9}  {'CPU ms raw | order':>18}  {'busy cores raw | orders':>23}")
    lines = [head, "-" * len(head)]
    for n, r in rows.items():
        cpu, busy = r["client_cpu_ms"], r["machine_busy_cores"]
        lines.append(f"{n:>7}  {r['raw_per_s']:>7.1f}  {r['orders_per_s']:>8.2f}  "
                     f"{r['lines_per_s']:>7.1f}  {r['ratio_orders_to_raw']:>10.4f}  "
                     f"{r['ratio_lines_to_raw']:>9.4f}  {cpu['raw_posting']:>8.2f} | {cpu['order']:>7.2f}"
                     f"  {busy['raw']:>11.2f} | {busy['orders']:>9.2f}")
    return "\n".join(lines)


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", required=True, help="PostgreSQL server URL; a scratch database "
                        "is created there and dropped at the end")
    parser.add_argument("--seconds", type=float, default=10.0,
                        help="duration of each throughput run (per worker count and mode)")
    parser.add_argument("--workers", default="1,2,8", help="comma-separated worker counts")
    parser.add_argument("--rounds", type=int, default=3,
                        help="interleaved slices per measurement (each seconds/rounds long)")
    parser.add_argument("--big-repeats", type=int, default=3)
    parser.add_argument("--mode", choices=("threads", "processes", "both"), default="both",
                        help="workers as threads of this process, as processes, or both")
    parser.add_argument("--keep", action="store_true", help="keep the scratch database")
    parser.add_argument("--profile", type=int, default=0, metavar="N",
                        help="after measuring, profile one more of each big document and print its "
                        "N most frequent statements and N costliest functions per step to stderr")
    args = parser.parse_args()
    args.worker_counts = [int(w) for w in args.workers.split(",")]
    if max(args.worker_counts) > posting.SITES:
        parser.error(f"at most {posting.SITES} workers")
    return args


def measure(db: Database, url: str, bench: Bench, args: argparse.Namespace
            ) -> dict[str, dict[str, Any]]:
    modes: dict[str, dict[str, Any]] = {}
    counts = args.worker_counts
    if args.mode in ("threads", "both"):
        modes["threads"] = {str(n): throughput(db, bench, n, args.seconds, args.rounds) for n in counts}
    if args.mode in ("processes", "both"):
        spawn = multiprocessing.get_context("spawn")
        with spawn.Pool(max(counts), initializer=posting._start_process, initargs=(url,)) as pool:
            modes["processes"] = {str(n): throughput(db, bench, n, args.seconds, args.rounds, pool)
                                  for n in counts}
    return modes


def main() -> None:
    args = parse_args()
    load_before = list(os.getloadavg())
    with scratch_database(args.db, "bench_documents", keep=args.keep) as url:
        db = Database(url)
        started = time.perf_counter()
        bench = seed(db, 2 * slice_need(args.seconds / args.rounds))
        seeded = time.perf_counter() - started
        big = big_documents(db, bench, args.big_repeats)
        modes = measure(db, url, bench, args)
        if args.profile:
            profile_big(db, bench, args.profile)
        report = verify(db.uow())
        db.dispose()
    print(big_table(big) + "\n")
    for mode, rows in modes.items():
        print(f"{ORDER_LINES}-line sales orders (create + confirm + ship), workers as {mode}:\n"
              f"{orders_table(rows)}\n")
    top = str(max(args.worker_counts))
    worst = {step: max(big[step]) for step in FLAGGED}
    print(json.dumps({
        "benchmark": "documents", "postgres": server_version(args.db), "cpus": os.cpu_count(),
        "load_average_before": load_before, "load_average_after": list(os.getloadavg()),
        "seconds_per_run": args.seconds, "rounds": args.rounds, "seed_s": round(seeded, 2),
        "big_lines": BIG_LINES, "big_s": {k: [round(t, 4) for t in v] for k, v in big.items()},
        "big_median_s": {k: round(statistics.median(v), 4) for k, v in big.items()},
        "target_big_s": TARGET_BIG_S,
        **{f"{step}_ok": worst[step] < TARGET_BIG_S for step in FLAGGED},
        "big_ok": all(t < TARGET_BIG_S for t in worst.values()),
        "order_lines": ORDER_LINES, "order_sku_pool": BIG_LINES, "workers": modes,
        "max_workers": int(top),
        "orders_per_s_at_max_workers": {m: rows[top]["orders_per_s"] for m, rows in modes.items()},
        "ratio_orders_to_raw_at_max_workers": {m: rows[top]["ratio_orders_to_raw"]
                                               for m, rows in modes.items()},
        "ratio_lines_to_raw_at_max_workers": {m: rows[top]["ratio_lines_to_raw"]
                                              for m, rows in modes.items()},
        "moves_in_ledger": report.moves, "ledger_consistent": report.consistent,
    }))


if __name__ == "__main__":
    main()
