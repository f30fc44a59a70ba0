"""Live events under load: latency from a commit to SSE clients, LISTEN/NOTIFY against polling,
and alert-evaluation throughput.

The app runs as its own server processes (uvicorn, ``--workers``) on a scratch PostgreSQL
database, without background jobs. This process posts single-line receipts through the service
layer at a steady rate (another process than the servers, as in production: the servers learn
of the commits only through the database) and notes each commit's event id and time; a client
process holds ``--clients`` SSE streams and notes when each event arrives on each stream.
Latency = arrival − commit, over every (event, client) pair. Each wake-up mode is measured in
the same run: ``listen`` (one LISTEN connection per server process, NOTIFY sent at commit) and
``poll`` (no NOTIFY; each server process reads the outbox every ``--poll`` seconds).

Then the events left in the outbox are dispatched to the real consumers with the default alert
rules in place: alert evaluation (and the webhook fan-out) in events per second. Last, sales
that each take a SKU below its safety stock, with the dispatcher in a worker process: the time
from the sale's commit to the low-stock alert's commit.

    python bench/events.py --db postgresql://postgres@127.0.0.1:5432/test --rate 200 --clients 100

The last line of output is one JSON object with every figure.
"""

import argparse
import asyncio
import json
import multiprocessing
import os
import re
import socket
import statistics
import subprocess
import sys
import time
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

import httpx
import psycopg

from cangliu.db import outbox
from cangliu.db.uow import Database
from cangliu.services import auth, events, masterdata, stock, thresholds
from cangliu.services.postings import Meta
from cangliu.services.stock import Line
from support.scratch import scratch_database, server_version

TARGET_P99_MS = 250.0
SITES = 8
SKUS = 50
PASSWORD = "bench-password-1"


def seed(db: Database) -> Meta:
    actor = auth.create_user(db.uow(), username="bench", password=PASSWORD, is_admin=True)
    for i in range(1, SITES + 1):
        masterdata.create(db.uow(), actor, "site", {"code": f"S{i:02d}", "name": f"门店 {i}",
                                                    "site_kind": "store", "region": "华东"})
    for i in range(1, SKUS + 1):
        masterdata.create(db.uow(), actor, "sku", {"code": f"E{i:04d}", "name": f"商品 {i}"})
    meta = Meta(actor=actor, reason="bench events")
    for i in range(1, SITES + 1):  # every balance row exists: each mode measures the same updates
        stock.receive(db.uow(), meta, site=f"S{i:02d}",
                      lines=[Line(f"E{k:04d}", Decimal(1)) for k in range(1, SKUS + 1)])
    try:
        from cangliu.services.alerts import rules  # the default alert rules, when present

        rules.ensure_defaults(db.uow())
    except (ImportError, AttributeError):
        pass
    return meta


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start_servers(url: str, port: int, workers: int, listen: bool, poll: float) -> subprocess.Popen:
    env = {**os.environ, "CANGLIU_DATABASE_URL": url.replace("postgresql://", "postgresql+psycopg://"),
           "CANGLIU_SCHEDULER": "off", "CANGLIU_SECRET_KEY": "bench",
           "CANGLIU_EVENTS_LISTEN": "true" if listen else "false",
           "CANGLIU_EVENTS_POLL_SECONDS": str(poll)}
    proc = subprocess.Popen([sys.executable, "-m", "uvicorn", "cangliu.cli:server_app", "--factory",
                             "--host", "127.0.0.1", "--port", str(port), "--workers", str(workers),
                             "--log-level", "warning"], env=env)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/health", timeout=1).status_code == 200:
                return proc
        except httpx.HTTPError:
            time.sleep(0.2)
    proc.kill()
    raise SystemExit("the server did not start")


EVENT_ID = re.compile(rb"\nid: (\d+)\n")


async def _listen(port: int, token: str, arrivals: dict[int, float], ready: asyncio.Event,
                  stop: asyncio.Event) -> None:
    """One SSE client on a bare socket: a hundred of them in one process must cost little, so
    the stream is scanned for event ids as bytes (the server writes whole frames per chunk)."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(f"GET /events HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer {token}\r\n"
                 "Accept: text/event-stream\r\n\r\n".encode())
    await writer.drain()
    await reader.readuntil(b"retry:")  # the server has subscribed this stream
    ready.set()
    carry = b""
    try:
        while not stop.is_set():
            data = await reader.read(65536)
            if not data:
                return
            now = time.time()
            data = carry + data
            for match in EVENT_ID.finditer(data):
                arrivals[int(match.group(1))] = now
            carry = data[-40:]
    finally:
        writer.close()


async def _clients(port: int, token: str, count: int, seconds: float, started: Any,
                   out: Any) -> None:
    arrivals: list[dict[int, float]] = [{} for _ in range(count)]
    readies = [asyncio.Event() for _ in range(count)]
    stop = asyncio.Event()
    tasks = [asyncio.create_task(_listen(port, token, arrivals[i], readies[i], stop))
             for i in range(count)]
    await asyncio.wait_for(asyncio.gather(*(r.wait() for r in readies)), timeout=60)
    started.set()
    await asyncio.sleep(seconds)
    stop.set()
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    out.put(arrivals)


def client_process(port: int, token: str, count: int, seconds: float, started: Any,
                   out: Any) -> None:
    asyncio.run(_clients(port, token, count, seconds, started, out))


def poster_process(url: str, listen: bool, meta: Meta, worker: int, workers: int, rate: float,
                   seconds: float, start_at: float, out: Any) -> None:
    """One posting process (a GIL of its own): single-line receipts at ``rate`` per second;
    sends back event id → commit time."""
    db = Database(url, notify_events=listen)
    committed: dict[int, float] = {}
    outbox.on_commit(lambda last: committed.__setitem__(last, time.time()))
    time.sleep(max(0.0, start_at - time.time()))
    n, start = 0, time.monotonic()
    while (elapsed := time.monotonic() - start) < seconds:
        due = n / rate
        if due > elapsed:
            time.sleep(due - elapsed)
        site = f"S{worker % SITES + 1:02d}"
        sku = f"E{(n * workers + worker) % SKUS + 1:04d}"
        stock.receive(db.uow(), meta, site=site, lines=[Line(sku, Decimal(1))])
        n += 1
    db.dispose()
    out.put(committed)


def post_steadily(url: str, listen: bool, meta: Meta, rate: float, seconds: float, workers: int
                  ) -> dict[int, float]:
    """Receipts at ``rate`` per second in all from ``workers`` processes; event id → commit time."""
    spawn = multiprocessing.get_context("spawn")
    out = spawn.Queue()
    start_at = time.time() + 3  # every process imported and connected
    procs = [spawn.Process(target=poster_process, args=(
        url, listen, meta, w, workers, rate / workers, seconds, start_at, out))
        for w in range(workers)]
    for proc in procs:
        proc.start()
    committed: dict[int, float] = {}
    for _ in procs:
        committed.update(out.get(timeout=seconds + 120))
    for proc in procs:
        proc.join(30)
    return committed


def measure(url: str, meta: Meta, args: argparse.Namespace, listen: bool) -> dict[str, Any]:
    port = free_port()
    server = start_servers(url, port, args.servers, listen, args.poll if not listen else 1.0)
    db = Database(url.replace("postgresql://", "postgresql+psycopg://"), notify_events=listen)
    try:
        base = f"http://127.0.0.1:{port}"
        token = httpx.post(base + "/api/v1/auth/login", timeout=10,
                           json={"username": "bench", "password": PASSWORD}).json()["access_token"]
        spawn = multiprocessing.get_context("spawn")
        started, out = spawn.Event(), spawn.Queue()
        listeners = spawn.Process(target=client_process, args=(
            port, token, args.clients, args.seconds + 10, started, out))
        listeners.start()
        if not started.wait(90):
            raise SystemExit("the SSE clients did not connect")
        committed = post_steadily(db.url, listen, meta, args.rate, args.seconds, args.posters)
        posted_s = args.seconds
        arrivals = out.get(timeout=120)
        listeners.join(30)
    finally:
        server.terminate()
        server.wait(30)
        db.dispose()
    latencies = [1000 * (got[i] - t) for got in arrivals for i, t in committed.items() if i in got]
    expected = len(committed) * len(arrivals)
    q = statistics.quantiles(latencies, n=100, method="inclusive") if len(latencies) > 1 else [0.0] * 99
    return {"postings": len(committed), "posting_rate_per_s": round(len(committed) / posted_s, 1),
            "clients": len(arrivals), "deliveries": len(latencies),
            "delivered_fraction": round(len(latencies) / expected, 4) if expected else 0.0,
            "latency_ms": {"p50": round(q[49], 1), "p95": round(q[94], 1), "p99": round(q[98], 1),
                           "max": round(max(latencies, default=0.0), 1)}}


def run_dispatcher(url: str) -> None:
    """A worker process: the outbox dispatcher alone, woken by NOTIFY."""
    from cangliu.jobs.dispatcher import Dispatcher

    Dispatcher(Database(url)).loop()


def alert_latency(url: str, meta: Meta, samples: int) -> dict[str, Any]:
    """Sales that each take one SKU at one store below its safety stock, one after the other,
    with the dispatcher in a worker process: from the sale's commit to the alert's commit (heard
    here through LISTEN, as any other process would)."""
    db = Database(url)
    pairs = [(f"L{i:04d}", f"S{i % SITES + 1:02d}") for i in range(1, samples + 1)]
    for sku, site in pairs:  # SKUs of their own: nothing else has touched them
        masterdata.create(db.uow(), meta.actor, "sku", {"code": sku, "name": f"预警 {sku}"})
        stock.receive(db.uow(), meta, site=site, lines=[Line(sku, Decimal(10))])
        thresholds.override(db.uow(), meta.actor, sku=sku, site=site, safety_stock="5",
                            reorder_point="6", max_stock="100", reason="bench",
                            expires_on=date.today() + timedelta(days=30))
    events.dispatch_all(db)  # the set-up is not measured
    worker = multiprocessing.get_context("spawn").Process(target=run_dispatcher, args=(url,))
    worker.start()
    opened: dict[str, float] = {}
    sold: dict[str, float] = {}
    try:
        with psycopg.connect(url.replace("+psycopg", ""), autocommit=True) as conn:
            conn.execute(f"LISTEN {outbox.CHANNEL}")
            with db.read() as session:
                last = events.last_id(session)
            time.sleep(2)  # the worker is listening
            for sku, site in pairs:
                stock.issue(db.uow(), meta, site=site, lines=[Line(sku, Decimal(6))])
                sold[f"{sku}@{site}"] = time.time()
                deadline = time.time() + 5
                while f"{sku}@{site}" not in opened and time.time() < deadline:
                    for _ in conn.notifies(timeout=0.5, stop_after=1):
                        heard = time.time()
                        with db.read() as session:
                            fresh = events.after(session, last)
                        for event in fresh:
                            last = max(last, event.id)
                            if event.kind == "alert.opened":
                                opened.setdefault(event.payload["key"], heard)
    finally:
        worker.terminate()
        worker.join(10)
        db.dispose()
    took = sorted(1000 * (opened[k] - t) for k, t in sold.items() if k in opened)
    q = statistics.quantiles(took, n=100, method="inclusive") if len(took) > 1 else [0.0] * 99
    return {"sales": len(sold), "alerts": len(took),
            "latency_ms": {"p50": round(q[49], 1), "p99": round(q[98], 1),
                           "max": round(max(took, default=0.0), 1)}}


def alert_throughput(url: str, limit: int) -> dict[str, Any]:
    """Dispatch up to ``limit`` of the events the runs left in the outbox to the real consumers."""
    db = Database(url.replace("postgresql://", "postgresql+psycopg://"))
    try:
        with db.read() as session:
            backlog = events.pending(session)
        start = time.perf_counter()
        done = 0
        while done < limit and (taken := events.dispatch(db.uow(), batch=min(200, limit - done))):
            done += taken
        took = time.perf_counter() - start
    finally:
        db.dispose()
    return {"events": done, "backlog": backlog, "seconds": round(took, 2),
            "events_per_s": round(done / took, 1) if took else None}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", required=True, help="PostgreSQL server URL (a scratch database is "
                        "created there and dropped at the end)")
    parser.add_argument("--rate", type=float, default=200.0, help="postings per second in all")
    parser.add_argument("--seconds", type=float, default=20.0, help="posting time per mode")
    parser.add_argument("--clients", type=int, default=100, help="connected SSE clients")
    parser.add_argument("--servers", type=int, default=2, help="app server processes")
    parser.add_argument("--posters", type=int, default=2, help="posting processes")
    parser.add_argument("--modes", default="listen,poll", help="wake-up modes, in this order")
    parser.add_argument("--poll", type=float, default=0.1, help="outbox poll interval (poll mode)")
    parser.add_argument("--alert-events", type=int, default=2000,
                        help="events dispatched to measure alert evaluation")
    parser.add_argument("--alert-samples", type=int, default=50,
                        help="sales that each raise a low-stock alert, for its latency")
    parser.add_argument("--keep", action="store_true")
    args = parser.parse_args()
    load_before = list(os.getloadavg())
    with scratch_database(args.db, "bench_events", keep=args.keep) as url:
        meta = seed(Database(url.replace("postgresql://", "postgresql+psycopg://")))
        modes = {mode: measure(url, meta, args, listen=mode == "listen")
                 for mode in args.modes.split(",")}
        alerts = alert_throughput(url, args.alert_events)
        raised = alert_latency(url.replace("postgresql://", "postgresql+psycopg://"), meta,
                               args.alert_samples)
    for name, m in modes.items():
        lat = m["latency_ms"]
        print(f"{name:>6}: {m['postings']} postings at {m['posting_rate_per_s']}/s to "
              f"{m['clients']} clients, delivered {m['delivered_fraction']:.2%}; latency ms "
              f"p50 {lat['p50']} p95 {lat['p95']} p99 {lat['p99']} max {lat['max']}")
    print(f"alert evaluation: {alerts['events']} events in {alerts['seconds']} s "
          f"= {alerts['events_per_s']}/s")
    print(f"sale to low-stock alert: {raised['alerts']} of {raised['sales']} raised; latency ms "
          f"p50 {raised['latency_ms']['p50']} p99 {raised['latency_ms']['p99']}")
    p99 = modes["listen"]["latency_ms"]["p99"] if "listen" in modes else None
    print(json.dumps({
        "benchmark": "events", "postgres": server_version(args.db), "cpus": os.cpu_count(),
        "load_average_before": load_before, "load_average_after": list(os.getloadavg()),
        "rate_target_per_s": args.rate, "seconds": args.seconds, "clients": args.clients,
        "server_processes": args.servers, "poll_interval_s": args.poll, "modes": modes,
        "alert_evaluation": alerts, "sale_to_alert": raised, "target_p99_ms": TARGET_P99_MS,
        "p99_ok": p99 is not None and p99 < TARGET_P99_MS,
        "alert_within_1s": raised["alerts"] == raised["sales"] and raised["latency_ms"]["max"] < 1000,
    }))


if __name__ == "__main__":
    main()
