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
rules in place: alert evaluation (and the webhook fan-out) in events per second.

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
import threading
import time
from decimal import Decimal
from typing import Any

import httpx

from cangliu.db import outbox
from cangliu.db.uow import Database
from cangliu.services import auth, events, masterdata, stock
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
    try:
        from cangliu.services.alerts import rules  # the default alert rules, when present

        rules.ensure_defaults(db.uow())
    except (ImportError, AttributeError):
        pass
    return Meta(actor=actor, reason="bench events")


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


def post_steadily(db: Database, meta: Meta, rate: float, seconds: float, workers: int
                  ) -> dict[int, float]:
    """Single-line receipts at ``rate`` per second in all; answers event id → commit time."""
    committed: dict[int, float] = {}
    unhook = outbox.on_commit(lambda last: committed.__setitem__(last, time.time()))
    start = time.monotonic()
    per_worker = rate / workers

    def work(w: int) -> None:
        n = 0
        while (elapsed := time.monotonic() - start) < seconds:
            due = n / per_worker
            if due > elapsed:
                time.sleep(due - elapsed)
            site = f"S{(w % SITES) + 1:02d}"
            sku = f"E{(n * workers + w) % SKUS + 1:04d}"
            stock.receive(db.uow(), meta, site=site, lines=[Line(sku, Decimal(1))])
            n += 1

    threads = [threading.Thread(target=work, args=(w,)) for w in range(workers)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    unhook()
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
            port, token, args.clients, args.seconds + 3, started, out))
        listeners.start()
        if not started.wait(90):
            raise SystemExit("the SSE clients did not connect")
        began = time.monotonic()
        committed = post_steadily(db, meta, args.rate, args.seconds, args.posters)
        posted_s = time.monotonic() - began
        arrivals = out.get(timeout=120)
        listeners.join(30)
    finally:
        server.terminate()
        server.wait(30)
        db.dispose()
    latencies = [1000 * (got[i] - t) for got in arrivals for i, t in committed.items() if i in got]
    expected = len(committed) * len(arrivals)
    q = statistics.quantiles(latencies, n=100) if len(latencies) > 1 else [0.0] * 99
    return {"postings": len(committed), "posting_rate_per_s": round(len(committed) / posted_s, 1),
            "clients": len(arrivals), "deliveries": len(latencies),
            "delivered_fraction": round(len(latencies) / expected, 4) if expected else 0.0,
            "latency_ms": {"p50": round(q[49], 1), "p95": round(q[94], 1), "p99": round(q[98], 1),
                           "max": round(max(latencies, default=0.0), 1)}}


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
    parser.add_argument("--posters", type=int, default=4, help="posting threads")
    parser.add_argument("--poll", type=float, default=0.1, help="outbox poll interval (poll mode)")
    parser.add_argument("--alert-events", type=int, default=2000,
                        help="events dispatched to measure alert evaluation")
    parser.add_argument("--keep", action="store_true")
    args = parser.parse_args()
    load_before = list(os.getloadavg())
    with scratch_database(args.db, "bench_events", keep=args.keep) as url:
        meta = seed(Database(url.replace("postgresql://", "postgresql+psycopg://")))
        modes = {"listen": measure(url, meta, args, listen=True),
                 "poll": measure(url, meta, args, listen=False)}
        alerts = alert_throughput(url, args.alert_events)
    for name, m in modes.items():
        lat = m["latency_ms"]
        print(f"{name:>6}: {m['postings']} postings at {m['posting_rate_per_s']}/s to "
              f"{m['clients']} clients, delivered {m['delivered_fraction']:.2%}; latency ms "
              f"p50 {lat['p50']} p95 {lat['p95']} p99 {lat['p99']} max {lat['max']}")
    print(f"alert evaluation: {alerts['events']} events in {alerts['seconds']} s "
          f"= {alerts['events_per_s']}/s")
    p99 = modes["listen"]["latency_ms"]["p99"]
    print(json.dumps({
        "benchmark": "events", "postgres": server_version(args.db), "cpus": os.cpu_count(),
        "load_average_before": load_before, "load_average_after": list(os.getloadavg()),
        "rate_target_per_s": args.rate, "seconds": args.seconds, "clients": args.clients,
        "server_processes": args.servers, "poll_interval_s": args.poll, "modes": modes,
        "alert_evaluation": alerts, "target_p99_ms": TARGET_P99_MS,
        "p99_ok": p99 < TARGET_P99_MS,
    }))


if __name__ == "__main__":
    main()
