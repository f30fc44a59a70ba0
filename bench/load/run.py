"""Mixed-role load test: the server with several worker processes on PostgreSQL, driven by locust
at 50, 100 and 200 concurrent users (``locustfile.py``), each level on a fresh copy of the same
demo database.

    .venv/bin/pip install -e '.[load]'
    .venv/bin/python bench/load/run.py --db postgresql://postgres@127.0.0.1:5432/test

Steps: build a template database once (``cangliu demo`` with the demo's people, then opening
stock for the scenario's SKUs; reused while it exists, dropped at the end unless
``--keep-template``); per level: ``CREATE DATABASE … TEMPLATE``, start ``cangliu serve
--workers N`` (and ``cangliu worker`` for the background jobs) on it, run locust headless for a
warm-up (every user logged in, the load settled; statistics reset after it) plus ``--seconds`` of
steady state, stop the server, drop the copy. Reports per level: requests/s, p50/p95/p99,
failures by kind (business refusals, server errors, others), the server log's tracebacks and the
CPU the machine, the server and locust used. The last line is one JSON object with every figure.
"""

import argparse
import csv
import json
import math
import os
import re
import secrets
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import httpx
import psycopg
import scenario as sc  # bench/load/ is on sys.path when this runs as a script

HERE = Path(__file__).resolve().parent
BIN = Path(sys.executable).parent  # the venv's bin: cangliu and locust live next to python
ADMIN_PASSWORD = "load-bench-pass-1"  # the demo's people share the administrator's password


def plain(url: str) -> str:
    """The libpq form of a SQLAlchemy-style URL (``postgresql+psycopg://`` → ``postgresql://``)."""
    scheme, rest = url.split("://", 1)
    if not scheme.startswith("postgres"):
        raise SystemExit(f"--db must be a PostgreSQL URL, got {scheme}://")
    return "postgresql://" + rest


def db_url(server: str, name: str) -> str:
    return urlunsplit(urlsplit(plain(server))._replace(path=f"/{name}"))


def sqlalchemy_url(url: str) -> str:
    return url.replace("postgresql://", "postgresql+psycopg://", 1)


def admin_sql(server: str, sql: str) -> list[tuple[Any, ...]]:
    with psycopg.connect(plain(server), autocommit=True) as conn:
        cur = conn.execute(sql)
        return cur.fetchall() if cur.description else []


def exists(server: str, name: str) -> bool:
    return bool(admin_sql(server, f"SELECT 1 FROM pg_database WHERE datname = '{name}'"))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def env_for(url: str, secret: str) -> dict[str, str]:
    """The server's settings: the limiter is per caller and would throttle people who all share
    a handful of logins from one address, so it is off (see load.md)."""
    return {**os.environ, "CANGLIU_DATABASE_URL": sqlalchemy_url(url), "CANGLIU_SCHEDULER": "off",
            "CANGLIU_RATE_LIMIT_ENABLED": "false", "CANGLIU_SECRET_KEY": secret,
            "CANGLIU_ADMIN_PASSWORD": ADMIN_PASSWORD, "PYTHONUNBUFFERED": "1"}


# --- the template: demo + opening stock, built once --------------------------------------------

def opening_stock(url: str) -> int:
    """Receive plenty of the scenario's SKUs at its sites and in WH-EAST's bins, as the admin."""
    from cangliu.db.uow import Database
    from cangliu.services import auth, stock
    from cangliu.services.postings import Meta
    from cangliu.services.stock import Line

    db = Database(sqlalchemy_url(url))
    try:
        actor = auth.authenticate(db.uow(), username="admin", password=ADMIN_PASSWORD)
        if actor is None:
            raise SystemExit("template: the admin password does not match")
        meta = Meta(actor=actor, reason="load test opening stock")
        postings = 0
        for site in sc.OPENING_SITES:
            stock.receive(db.uow(), meta, site=site, lines=[Line(s, sc.OPENING_QTY) for s in sc.SKUS])
            postings += 1
        for bin_ in sc.EAST_BINS:
            stock.receive(db.uow(), meta, site="WH-EAST",
                          lines=[Line(s, sc.OPENING_QTY, bin=bin_) for s in sc.SKUS])
            postings += 1
        return postings
    finally:
        db.dispose()


def ensure_template(server: str, name: str, log_dir: Path) -> dict[str, Any]:
    """Reuse the template if it exists; else build it under another name and rename it when
    complete, so a half-built one is never reused."""
    if exists(server, name):
        return {"template": name, "built": False}
    building = f"{name}_build"
    admin_sql(server, f'DROP DATABASE IF EXISTS "{building}" WITH (FORCE)')
    admin_sql(server, f'CREATE DATABASE "{building}"')
    url = db_url(server, building)
    started = time.perf_counter()
    with open(log_dir / "demo.log", "wb") as out:
        done = subprocess.run([str(BIN / "cangliu"), "demo"], env=env_for(url, "load-demo"),
                              stdout=out, stderr=subprocess.STDOUT, check=False)
    if done.returncode != 0:
        raise SystemExit(f"cangliu demo failed; see {log_dir / 'demo.log'}")
    postings = opening_stock(url)
    admin_sql(server, f'ALTER DATABASE "{building}" RENAME TO "{name}"')
    return {"template": name, "built": True, "build_s": round(time.perf_counter() - started, 1),
            "opening_postings": postings}


# --- CPU bookkeeping -----------------------------------------------------------------------------

def machine_busy() -> float:
    """CPU seconds all processes on this machine have used since boot (Linux; 0 elsewhere)."""
    try:
        with open("/proc/stat") as f:
            ticks = [int(x) for x in f.readline().split()[1:]]
    except OSError:
        return 0.0
    return (sum(ticks[:8]) - ticks[3] - ticks[4]) / os.sysconf("SC_CLK_TCK")


def tree_cpu(pid: int) -> float:
    """CPU seconds of a process and its children (the server's workers, locust's processes)."""
    try:
        import psutil
    except ImportError:
        return 0.0
    try:
        root = psutil.Process(pid)
        procs = [root, *root.children(recursive=True)]
    except psutil.NoSuchProcess:
        return 0.0
    total = 0.0
    for p in procs:
        try:
            t = p.cpu_times()
            total += t.user + t.system
        except psutil.NoSuchProcess:
            pass
    return total


def postgres_cpu() -> float:
    """CPU seconds of every PostgreSQL process on the machine (others' too: other databases)."""
    try:
        import psutil
    except ImportError:
        return 0.0
    total = 0.0
    for p in psutil.process_iter(["name"]):
        if p.info["name"] in ("postgres", "postmaster"):
            try:
                t = p.cpu_times()
                total += t.user + t.system
            except psutil.Error:
                pass
    return total


@dataclass
class Sample:
    at: float
    machine: float
    server: float
    worker: float
    locust: float
    postgres: float


def sample(server_pid: int, worker_pid: int | None, locust_pid: int) -> Sample:
    return Sample(time.perf_counter(), machine_busy(), tree_cpu(server_pid),
                  tree_cpu(worker_pid) if worker_pid else 0.0, tree_cpu(locust_pid), postgres_cpu())


# --- one level -------------------------------------------------------------------------------

def start(cmd: list[str], env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    with open(log, "wb") as out:
        return subprocess.Popen(cmd, env=env, stdout=out, stderr=subprocess.STDOUT,
                                start_new_session=True)


def stop(proc: subprocess.Popen[bytes]) -> None:
    """SIGTERM to the process group this script started (the server and its workers)."""
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(20)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


def wait_until_up(base: str, proc: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + 300  # a busy two-core machine can take minutes to start workers
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"server exited: {log.read_text()[-2000:]}")
        try:
            if httpx.get(f"{base}/health", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.5)
    raise SystemExit("server did not answer /health within 300 s")


class LockWaits:
    """Samples, once a second, the sessions of the load's database waiting on a lock, by
    statement: what serialises the writers (e.g. a counter row held until commit)."""

    def __init__(self, url: str) -> None:
        self.url, self.samples, self.waiting = url, 0, Counter[str]()
        self.running = False
        self.thread = threading.Thread(target=self.run, daemon=True)

    def run(self) -> None:
        while self.running:
            try:  # the server may hold every connection PostgreSQL allows: try again later
                with psycopg.connect(self.url, autocommit=True) as conn:
                    while self.running:
                        rows = conn.execute(
                            "SELECT left(regexp_replace(query, '\\s+', ' ', 'g'), 70)"
                            " FROM pg_stat_activity WHERE datname = current_database()"
                            " AND wait_event_type = 'Lock'").fetchall()
                        self.samples += 1
                        self.waiting.update(r[0] for r in rows)
                        time.sleep(1)
            except psycopg.OperationalError:
                time.sleep(1)

    def start(self) -> None:
        self.running = True
        self.thread.start()

    def stop(self) -> dict[str, Any]:
        self.running = False
        self.thread.join(5)
        n = max(self.samples, 1)
        return {"samples": self.samples, "mean_sessions_waiting": round(sum(self.waiting.values()) / n, 2),
                "by_statement": {q: round(c / n, 2) for q, c in self.waiting.most_common(5)}}


def wait_for_mark(marks: Path, what: str, locust: subprocess.Popen[bytes], timeout: float,
                  server: int, worker: int | None) -> Sample:
    """Wait until the locustfile notes the start or end of the steady state; sample CPU then."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if marks.exists() and any(ln.startswith(what) for ln in marks.read_text().splitlines()):
            return sample(server, worker, locust.pid)
        if locust.poll() is not None:
            raise SystemExit(f"locust exited ({locust.returncode}) before the steady state {what}")
        time.sleep(0.2)
    raise SystemExit(f"no steady state {what} within {timeout:.0f} s")


def percentile_ms(row: dict[str, str], pct: str) -> float | None:
    value = row.get(pct, "N/A")
    return None if value in ("N/A", "") else float(value)


def read_stats(prefix: Path) -> dict[str, Any]:
    """Locust's CSVs (written at the end, covering the steady state only): the aggregated row,
    one row per request name, and the failures grouped by kind."""
    with open(f"{prefix}_stats.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    per_name = {}
    total: dict[str, Any] = {}
    for row in rows:
        figures = {"requests": int(row["Request Count"]), "failures": int(row["Failure Count"]),
                   "rps": round(float(row["Requests/s"]), 2),
                   "p50_ms": percentile_ms(row, "50%"), "p95_ms": percentile_ms(row, "95%"),
                   "p99_ms": percentile_ms(row, "99%"),
                   "max_ms": round(float(row["Max Response Time"]), 1)}
        if row["Name"] == "Aggregated":
            total = figures
        else:
            per_name[f"{row['Type']} {row['Name']}"] = figures
    kinds: dict[str, int] = {"business_refusals": 0, "server_errors": 0, "other": 0}
    failures: dict[str, int] = {}
    with open(f"{prefix}_failures.csv", newline="") as f:
        for row in csv.DictReader(f):
            n = int(row["Occurrences"])
            error = re.sub(r"^CatchResponseError\(['\"](.*)['\"]\)$", r"\1", row["Error"])
            kind = ("business_refusals" if error.startswith("refused") else
                    "server_errors" if error.startswith("server error") else "other")
            kinds[kind] += n
            key = f"{row['Method']} {row['Name']}: {error}"
            failures[key] = failures.get(key, 0) + n
    return {"total": total, "by_name": per_name, "failure_kinds": kinds,
            "failures": dict(sorted(failures.items(), key=lambda kv: -kv[1]))}


def tracebacks(log: Path) -> list[str]:
    """The server log's tracebacks (first line and the last line of each)."""
    text = log.read_text(errors="replace") if log.exists() else ""
    found = []
    for block in re.split(r"(?=Traceback \(most recent call last\))", text)[1:]:
        lines = [ln for ln in block.splitlines() if ln.strip()]
        tail = next((ln for ln in lines[1:] if not ln.startswith((" ", "Traceback"))), "")
        frames = [ln.strip() for ln in lines if ln.strip().startswith("File ")]
        found.append(f"{tail} at {frames[-1] if frames else '?'}")
    return found


def run_level(args: argparse.Namespace, users: int, out_dir: Path) -> dict[str, Any]:
    name = f"bench_load_{uuid.uuid4().hex[:8]}"
    admin_sql(args.db, f'CREATE DATABASE "{name}" TEMPLATE "{args.template}"')
    url = db_url(args.db, name)
    env = env_for(url, args.secret)
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    server_log = out_dir / f"server-u{users}.log"
    worker_log = out_dir / f"worker-u{users}.log"
    server = start([str(BIN / "cangliu"), "serve", "--host", "127.0.0.1", "--port", str(port),
                    "--workers", str(args.workers)], env, server_log)
    worker = (start([str(BIN / "cangliu"), "worker"], env, worker_log)
              if args.background_worker else None)
    procs = [p for p in (server, worker) if p is not None]
    try:
        wait_until_up(base, server, server_log)
        prefix = out_dir / f"u{users}"
        marks = out_dir / f"marks-u{users}.txt"
        marks.unlink(missing_ok=True)
        # --run-time is only a safety net: the locustfile stops after the steady state.
        limit = math.ceil(users / args.spawn_rate) + 180 + args.settle + args.seconds + 60
        cmd = [str(BIN / "locust"), "-f", str(HERE / "locustfile.py"), "--headless",
               "--host", base, "-u", str(users), "-r", str(args.spawn_rate),
               "--run-time", f"{limit}s", "--stop-timeout", "5",
               "--csv", str(prefix), "--only-summary", "--loglevel", "WARNING"]
        if args.processes:
            cmd += ["--processes", str(args.processes)]
        locust_env = {**os.environ, "LOAD_PASSWORD": ADMIN_PASSWORD, "LOAD_MARK": str(marks),
                      "LOAD_SETTLE_S": str(args.settle), "LOAD_STEADY_S": str(args.seconds)}
        load_before = os.getloadavg()
        started = time.perf_counter()
        started_at = datetime.now(UTC)
        locust = start(cmd, locust_env, out_dir / f"locust-u{users}.log")
        pids = (server.pid, worker.pid if worker else None)
        first = wait_for_mark(marks, "start", locust, limit, *pids)
        warmup = first.at - started
        locks = LockWaits(url)
        locks.start()
        last = wait_for_mark(marks, "end", locust, args.seconds + 30, *pids)
        lock_waits = locks.stop()
        rc = locust.wait(120)
        if rc not in (0, 1):  # 1: some requests failed, which the figures report
            raise SystemExit(f"locust exited {rc}: {(out_dir / f'locust-u{users}.log').read_text()[-2000:]}")
        stats = read_stats(prefix)
    finally:
        for p in procs:
            stop(p)
        admin_sql(args.db, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    wall = last.at - first.at
    cpu = {"machine_busy_cores": round((last.machine - first.machine) / wall, 2),
           "server_cores": round((last.server - first.server) / wall, 2),
           "background_worker_cores": round((last.worker - first.worker) / wall, 2),
           "locust_cores": round((last.locust - first.locust) / wall, 2),
           "postgres_cores": round((last.postgres - first.postgres) / wall, 2)}
    errors = tracebacks(server_log) + tracebacks(worker_log)
    return {"users": users, "started_at": started_at.isoformat(timespec="seconds"),
            "warmup_s": round(warmup, 1), "steady_s": round(wall, 1), **stats, "cpu": cpu,
            "load_average_before": [round(x, 2) for x in load_before],
            "lock_waits": lock_waits, "server_tracebacks": errors, "logs": str(out_dir)}


def table(levels: list[dict[str, Any]]) -> str:
    head = (f"{'users':>5} {'req/s':>6} {'p50 ms':>7} {'p95 ms':>7} {'p99 ms':>7} {'refused':>7} "
            f"{'5xx':>4} {'other':>5} | cores: {'busy':>4} {'server':>6} {'worker':>6} {'pg':>4} "
            f"{'locust':>6}")
    out = [head]
    for lv in levels:
        t, k, c = lv["total"], lv["failure_kinds"], lv["cpu"]
        out.append(f"{lv['users']:>5} {t['rps']:>6} {t['p50_ms']:>7} {t['p95_ms']:>7} "
                   f"{t['p99_ms']:>7} {k['business_refusals']:>7} {k['server_errors']:>4} "
                   f"{k['other']:>5} |        {c['machine_busy_cores']:>4} {c['server_cores']:>6} "
                   f"{c['background_worker_cores']:>6} {c['postgres_cores']:>4} {c['locust_cores']:>6}")
    return "\n".join(out)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", default=os.environ.get("CANGLIU_TEST_PG_URL",
                                                       "postgresql://postgres@127.0.0.1:5432/test"),
                        help="a PostgreSQL server (and a database to connect to for CREATE DATABASE)")
    parser.add_argument("--users", default="50,100,200", help="concurrent users per level")
    parser.add_argument("--seconds", type=int, default=60, help="steady state per level")
    parser.add_argument("--spawn-rate", type=float, default=4,
                        help="users started (and logging in) per second; a login costs ~0.2 s of "
                             "CPU (argon2), so a faster start is a login storm")
    parser.add_argument("--settle", type=int, default=10,
                        help="seconds after the last user started before the steady state")
    parser.add_argument("--workers", type=int, default=2, help="server worker processes")
    parser.add_argument("--processes", type=int, default=0, help="locust --processes (0: one)")
    parser.add_argument("--no-background-worker", dest="background_worker", action="store_false",
                        help="do not run `cangliu worker` (jobs, outbox dispatcher) alongside")
    parser.add_argument("--template", default="bench_load_template")
    parser.add_argument("--keep-template", action="store_true",
                        help="keep the demo template for the next run (building it takes minutes)")
    parser.add_argument("--out", default=None, help="directory for locust's CSVs and the logs")
    args = parser.parse_args()
    args.secret = secrets.token_urlsafe(16)
    out_dir = Path(args.out) if args.out else Path(tempfile.mkdtemp(prefix="cangliu-load-"))
    out_dir.mkdir(parents=True, exist_ok=True)

    template = ensure_template(args.db, args.template, out_dir)
    levels = []
    try:
        for users in (int(u) for u in args.users.split(",")):
            levels.append(run_level(args, users, out_dir))
            print(table(levels[-1:]).splitlines()[-1], file=sys.stderr, flush=True)
    finally:
        if not args.keep_template:
            admin_sql(args.db, f'DROP DATABASE IF EXISTS "{args.template}" WITH (FORCE)')
    with psycopg.connect(plain(args.db)) as conn:
        row = conn.execute("SHOW server_version").fetchone()
    report = {"benchmark": "load", "server_workers": args.workers,
              "locust_processes": args.processes or 1, "background_worker": args.background_worker,
              "think_time_s": [sc.THINK_MIN_S, sc.THINK_MAX_S], "postgresql": str(row[0]) if row else "?",
              "cpu_count": os.cpu_count(), **template, "levels": levels,
              "server_errors_total": sum(lv["failure_kinds"]["server_errors"] for lv in levels),
              "no_server_errors": all(lv["failure_kinds"]["server_errors"] == 0
                                      and not lv["server_tracebacks"] for lv in levels)}
    print(table(levels))
    print(json.dumps(report, ensure_ascii=False))


if __name__ == "__main__":
    main()
