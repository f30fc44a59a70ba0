"""Single view and network snapshot on a large ledger: 1M moves, 100k balances (10k SKUs × 10 sites).

The data is bulk-loaded with COPY and kept consistent (every balance equals the replay of its
moves; the script checks it in SQL). Then it times ``queries.single_view`` for random SKUs (a
fresh read session per call, as a request pays it), one unpaginated pass over
``queries.network`` and the same list page by page, and with ``--http`` the JSON endpoint
``GET /api/v1/stock/{sku}`` served by uvicorn in a subprocess, measured with httpx.

    python bench/single_view.py --db postgresql://postgres@127.0.0.1:5432/test --http

The last line of output is one JSON object with every figure.
"""

import argparse
import json
import os
import random
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import psycopg

from cangliu.db.queries import StockFilter, network, single_view
from cangliu.db.uow import Database
from cangliu.services import auth, masterdata
from support.scratch import scratch_database, server_version

SITES = 10
PASSWORD = "bench-password-1"
TARGETS = {"single_view_p99_ms": 10.0, "network_s": 3.0, "http_p99_ms": 30.0}
UNIT = 1_000_000  # quantities are stored as integers of millionths (db/types.py)
MOVE_COLUMNS = ("ref, operation, sku_id, qty, uom, from_location_id, to_location_id, from_status,"
                " to_status, lot, document_line, reason, operator, device, occurred_at,"
                " recorded_at, idempotency_key")


@dataclass(frozen=True)
class Network:
    sku_ids: dict[str, int]
    site_ids: list[int]
    supplier: int
    customer: int


def seed_master(db: Database, url: str, skus: int) -> Network:
    """The user and sites through the services; the SKUs by COPY (10k service calls are slow)."""
    actor = auth.create_user(db.uow(), username="bench", password=PASSWORD, is_admin=True)
    for i in range(1, SITES + 1):
        masterdata.create(db.uow(), actor, "site", {
            "code": f"W{i:02d}", "name": f"仓 {i:02d}", "site_kind": "store",
            "region": ("华东", "华南", "华北")[i % 3]})
    with psycopg.connect(url) as conn:
        with conn.cursor().copy("COPY sku (code, name, name_en, uom, decimals, tracking, fragile,"
                                " high_value, bonded, perishable, active, version) FROM STDIN") as cp:
            for i in range(1, skus + 1):
                cp.write_row((f"V{i:05d}", f"商品 {i:05d}", f"Item {i:05d}", "pcs", 0, "none",
                              False, False, False, False, True, 1))
        sku_ids: dict[str, int] = dict(conn.execute("SELECT code, id FROM sku").fetchall())
        locs: dict[str, int] = dict(conn.execute("SELECT code, id FROM location").fetchall())
    return Network(sku_ids, [locs[f"W{i:02d}"] for i in range(1, SITES + 1)],
                   locs["@supplier"], locs["@customer"])


def ledger_text(net: Network, moves_per_pair: int, balances: dict[tuple[int, int], list[int]]
                ) -> Iterator[str]:
    """COPY text for the moves, in chunks; ``balances`` collects (qty, moves) per SKU × site.

    Per SKU and site: receipts from the supplier, a few issues to customers and a few moves on
    to the next site, sized so that no balance ever goes negative.
    """
    rng = random.Random(7)
    start = datetime(2025, 1, 1, tzinfo=UTC)
    hours = [(start + timedelta(hours=h)).isoformat() for h in range(365 * 24)]
    out = moves_per_pair // 5
    kinds = ["receive"] * (moves_per_pair - 2 * out) + ["issue"] * out + ["move"] * out
    chunk: list[str] = []
    n = 0
    for sku in net.sku_ids.values():
        for j, site in enumerate(net.site_ids):
            ends = {"receive": (net.supplier, site), "issue": (site, net.customer),
                    "move": (site, net.site_ids[(j + 1) % len(net.site_ids)])}
            for op in kinds:
                qty = rng.randint(20, 100) if op == "receive" else rng.randint(1, 10)
                src, dst = ends[op]
                for loc, sign in ((src, -1), (dst, 1)):
                    if loc in net.site_ids:
                        balance = balances.setdefault((sku, loc), [0, 0])
                        balance[0] += sign * qty
                        balance[1] += 1
                n += 1
                at = hours[n % len(hours)]
                chunk.append(f"sv{n:08d}\t{op}\t{sku}\t{qty * UNIT}\tpcs\t{src}\t{dst}\tavailable"
                             f"\tavailable\t\t1\tbench\tbench\t\t{at}\t{at}\tsv{n:08d}:1\n")
        if len(chunk) >= 100_000:
            yield "".join(chunk)
            chunk = []
    yield "".join(chunk)


def seed_ledger(url: str, net: Network, moves_per_pair: int) -> tuple[int, int]:
    """COPY the moves and the balances they imply; returns (moves, balances)."""
    moves, balances = 0, dict[tuple[int, int], list[int]]()
    with psycopg.connect(url) as conn:
        with conn.cursor().copy(f"COPY stock_move ({MOVE_COLUMNS}) FROM STDIN") as cp:
            for text in ledger_text(net, moves_per_pair, balances):
                cp.write(text)
                moves += text.count("\n")
        with conn.cursor().copy("COPY stock_balance (sku_id, location_id, site_id, lot, status,"
                                " qty, reserved, allow_negative, version) FROM STDIN") as cp:
            for (sku, site), (qty, version) in balances.items():
                assert qty > 0, "the generated ledger must not go negative"
                cp.write_row((sku, site, site, "", "available", qty * UNIT, 0, False, version))
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("VACUUM (ANALYZE) sku, location, stock_move, stock_balance")
    return moves, len(balances)


# Balances that differ from the replay of the ledger over the locations that hold stock.
MISMATCHES = """
WITH legs AS (
    SELECT sku_id, to_location_id AS location_id, lot, to_status AS status, qty FROM stock_move
    UNION ALL
    SELECT sku_id, from_location_id, lot, from_status, -qty FROM stock_move),
replay AS (
    SELECT sku_id, location_id, lot, status, sum(qty) AS qty FROM legs
    JOIN location l ON l.id = legs.location_id
    WHERE l.kind IN ('site', 'zone', 'bin', 'transit')
    GROUP BY sku_id, location_id, lot, status HAVING sum(qty) <> 0)
SELECT count(*) FROM replay r
FULL JOIN (SELECT * FROM stock_balance WHERE qty <> 0) b USING (sku_id, location_id, lot, status)
WHERE r.qty IS DISTINCT FROM b.qty
"""


def mismatches(url: str) -> int:
    with psycopg.connect(url) as conn:
        row = conn.execute(MISMATCHES).fetchone()
    return int(row[0]) if row else -1


def percentiles(ms: list[float]) -> dict[str, float]:
    ordered = sorted(ms)

    def rank(p: float) -> float:
        return ordered[min(len(ordered) - 1, int(p / 100 * len(ordered)))]

    return {"p50_ms": round(rank(50), 3), "p99_ms": round(rank(99), 3),
            "max_ms": round(ordered[-1], 3), "samples": len(ordered)}


def time_single_view(db: Database, codes: list[str], samples: int) -> dict[str, float]:
    rng = random.Random(11)
    for code in rng.sample(codes, 100):  # warm the pool and the plan cache
        with db.read() as session:
            single_view(session, code)
    times = []
    for code in (rng.choice(codes) for _ in range(samples)):
        start = time.perf_counter()
        with db.read() as session:
            view = single_view(session, code)
        times.append(1000 * (time.perf_counter() - start))
        assert len(view["sites"]) == SITES
    return percentiles(times)


def time_network(db: Database, page_size: int, budget_s: float) -> dict[str, Any]:
    """One unpaginated pass, then page after page like the API, for at most ``budget_s``."""
    start = time.perf_counter()
    with db.read() as session:
        rows, _ = network(session, StockFilter(), limit=10**9)
    one_pass = time.perf_counter() - start
    start, count, pages, after = time.perf_counter(), 0, 0, None
    with db.read() as session:
        while time.perf_counter() - start < budget_s:
            page, after = network(session, StockFilter(), limit=page_size, after=after)
            count, pages = count + len(page), pages + 1
            if after is None:
                break
    paged = time.perf_counter() - start
    per_page = paged / pages
    return {"rows": len(rows), "unpaginated_s": round(one_pass, 3), "page_size": page_size,
            "pages_read": pages, "rows_read": count, "paginated_complete": after is None,
            "paginated_s": round(paged, 3), "paginated_ms_per_page": round(1000 * per_page, 2),
            "paginated_all_pages_s_estimate": round(per_page * -(-len(rows) // page_size), 1)}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def serve(url: str, port: int, log: Path) -> subprocess.Popen[bytes]:
    # The rate limiter (600 reads a minute per caller) would refuse most of the timed requests.
    env = {**os.environ, "CANGLIU_DATABASE_URL": url, "CANGLIU_RATE_LIMIT_ENABLED": "false"}
    cmd = [sys.executable, "-m", "uvicorn", "cangliu.web.app:create_app", "--factory",
           "--host", "127.0.0.1", "--port", str(port), "--log-level", "warning"]
    with log.open("wb") as out:
        return subprocess.Popen(cmd, env=env, stdout=out, stderr=subprocess.STDOUT)


def wait_until_up(client: httpx.Client, proc: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"uvicorn exited: {log.read_text()[-2000:]}")
        try:
            if client.get("/health").status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    raise RuntimeError("uvicorn did not answer /health within 60 s")


def time_http(url: str, codes: list[str], samples: int, log: Path) -> dict[str, Any]:
    port = free_port()
    proc = serve(url, port, log)
    try:
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=30) as client:
            wait_until_up(client, proc, log)
            login = client.post("/api/v1/auth/login",
                                json={"username": "bench", "password": PASSWORD})
            login.raise_for_status()
            client.headers["Authorization"] = f"Bearer {login.json()['access_token']}"
            rng = random.Random(13)
            for code in rng.sample(codes, 100):
                client.get(f"/api/v1/stock/{code}").raise_for_status()
            times = []
            for code in (rng.choice(codes) for _ in range(samples)):
                start = time.perf_counter()
                response = client.get(f"/api/v1/stock/{code}")
                times.append(1000 * (time.perf_counter() - start))
                response.raise_for_status()
                assert len(response.json()["sites"]) == SITES
    finally:
        proc.terminate()
        proc.wait(timeout=30)
    return {"tested": True, **percentiles(times)}


def http_figures(args: argparse.Namespace, url: str, codes: list[str]) -> dict[str, Any]:
    if not args.http:
        return {"tested": False, "reason": "run with --http"}
    try:
        import cangliu.web.app  # noqa: F401  (the contract: create_app in cangliu.web.app)
    except ImportError as exc:
        return {"tested": False, "reason": f"cangliu.web.app not importable: {exc}"}
    return time_http(url, codes, args.samples, Path(args.server_log))


def table(report: dict[str, Any]) -> str:
    sv, net, http = report["single_view"], report["network"], report["http"]
    rows = [("single_view p50 / p99 (service)", f"{sv['p50_ms']:.2f} / {sv['p99_ms']:.2f} ms",
             f"p99 < {TARGETS['single_view_p99_ms']:g} ms"),
            ("network, one unpaginated pass", f"{net['unpaginated_s']:.3f} s ({net['rows']} rows)",
             f"< {TARGETS['network_s']:g} s"),
            (f"network, pages of {net['page_size']}",
             f"{net['paginated_ms_per_page']:.1f} ms/page, all pages "
             + (f"{net['paginated_s']:.1f} s" if net["paginated_complete"]
                else f"≈{net['paginated_all_pages_s_estimate']:.0f} s (est.)"),
             "" if net["paginated_complete"] else f"{net['pages_read']} pages read")]
    if http["tested"]:
        rows.append(("GET /api/v1/stock/{sku} p50 / p99",
                     f"{http['p50_ms']:.2f} / {http['p99_ms']:.2f} ms",
                     f"p99 < {TARGETS['http_p99_ms']:g} ms"))
    else:
        rows.append(("GET /api/v1/stock/{sku}", "not measured", http["reason"]))
    return "\n".join(f"{a:<36} {b:<34} {c}" for a, b, c in rows)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", required=True, help="PostgreSQL server URL; a scratch database "
                        "is created there and dropped at the end")
    parser.add_argument("--http", action="store_true", help="also measure the HTTP endpoint")
    parser.add_argument("--skus", type=int, default=10_000)
    parser.add_argument("--moves-per-pair", type=int, default=10,
                        help="moves per SKU × site (10 → 1M moves with 10k SKUs)")
    parser.add_argument("--samples", type=int, default=2_000)
    parser.add_argument("--page-size", type=int, default=500, help="the API's largest page")
    parser.add_argument("--page-budget", type=float, default=30.0,
                        help="seconds to spend on the page-by-page pass before estimating")
    parser.add_argument("--server-log", default="/tmp/cangliu-bench-uvicorn.log")
    parser.add_argument("--keep", action="store_true", help="keep the scratch database")
    args = parser.parse_args()
    load_before = list(os.getloadavg())
    with scratch_database(args.db, "bench_single_view", keep=args.keep) as url:
        db = Database(url)
        started = time.perf_counter()
        net = seed_master(db, url, args.skus)
        moves, balances = seed_ledger(url, net, args.moves_per_pair)
        loaded = time.perf_counter() - started
        bad = mismatches(url)
        codes = sorted(net.sku_ids)
        report: dict[str, Any] = {"single_view": time_single_view(db, codes, args.samples),
                  "network": time_network(db, args.page_size, args.page_budget),
                  "http": http_figures(args, url, codes)}
        db.dispose()
    sv, http = report["single_view"], report["http"]
    report = {  # everything measured above, with the run's circumstances and the targets
        "benchmark": "single_view", "postgres": server_version(args.db), "cpus": os.cpu_count(),
        "load_average_before": load_before, "load_average_after": list(os.getloadavg()),
        "moves": moves, "balances": balances, "skus": len(codes), "sites": SITES,
        "load_s": round(loaded, 2), "balances_match_ledger": bad == 0, "mismatched_balances": bad,
        **report, "targets": TARGETS,
        "single_view_ok": sv["p99_ms"] < TARGETS["single_view_p99_ms"],
        "network_ok": report["network"]["unpaginated_s"] < TARGETS["network_s"],
        "http_ok": http["p99_ms"] < TARGETS["http_p99_ms"] if http["tested"] else None,
    }
    print(table(report))
    print(json.dumps(report))


if __name__ == "__main__":
    main()
