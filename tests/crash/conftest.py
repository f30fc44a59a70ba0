"""Crash harness: the real server in a subprocess, clients posting with idempotency keys, and
the checks that read the ledger back after the crash.

Every posting carries its idempotency key as its reason, so the ledger itself says which key
produced which moves, independently of the idempotency table that is under test.
"""

import json
import os
import random
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from glob import glob
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import create_engine, func, select, text

from cangliu.db.engine import normalize_url
from cangliu.db.models import Location, Sku, StockBalance
from cangliu.db.uow import Database
from cangliu.services import auth
from cangliu.services.verify import verify
from tests.conftest import IN_CI, PASSWORD, seed_network

ROOT = Path(__file__).resolve().parents[2]
START_S = 120.0  # importing the app takes seconds on a busy two-core machine
CLIENT_TIMEOUT = httpx.Timeout(30.0, connect=10.0)


def free_port() -> int:
    """A free port below the ephemeral range: a server is bound to it only seconds later, and in
    between no outgoing connection of the tests running beside these can be given it."""
    try:
        low = int(Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        low = 32768
    rng = random.Random()
    for _ in range(200):
        port = rng.randrange(max(1024, low - 12000), low)
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    raise RuntimeError("no free port below the ephemeral range")


def prepare(url: str) -> int:
    """An administrator and the small test network; answers the administrator's user id."""
    db = Database(url)
    try:
        admin = auth.create_user(db.uow(), username="admin", password=PASSWORD, is_admin=True)
        seed_network(db, admin)
        return admin.user_id
    finally:
        db.dispose()


class Server:
    """One server process, in a process group of its own, started warm: it imports the app
    (seconds on a busy machine) at once, but opens the database only on ``go()``, so that a
    replacement can be ready while the server it replaces is still being killed."""

    def __init__(self, url: str, logs: Path, *, dbdown: bool = False) -> None:
        self.url = url
        self.port = free_port()
        self.log = logs / f"server-{self.port}.log"
        self.signal = logs / f"go-{self.port}"
        self.start_seconds = 0.0  # from go() to answering /health
        env = {**os.environ, "CANGLIU_DATABASE_URL": url, "CANGLIU_SCHEDULER": "off",
               "CANGLIU_RATE_LIMIT_ENABLED": "false", "CANGLIU_SECRET_KEY": "x",
               "PYTHONPATH": str(ROOT)}
        cmd = [sys.executable, "-m", "tests.crash.server", str(self.port), str(self.signal),
               *(["--dbdown"] if dbdown else [])]
        with open(self.log, "wb") as log:
            self.proc = subprocess.Popen(cmd, env=env, stdout=log, stderr=subprocess.STDOUT,
                                         stdin=subprocess.DEVNULL, cwd=ROOT, start_new_session=True)

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def go(self) -> None:
        """Serve now, and wait until /health answers."""
        began = time.monotonic()
        self.signal.touch()
        deadline = began + START_S
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                pytest.fail(f"server exited with {self.proc.returncode}:\n{self.log_tail()}")
            try:
                if httpx.get(self.base + "/health", timeout=2).status_code == 200:
                    self.start_seconds = time.monotonic() - began
                    return
            except httpx.TransportError:
                pass
            time.sleep(0.05)
        pytest.fail(f"server did not answer /health within {START_S:.0f} s:\n{self.log_tail()}")

    def kill9(self) -> None:
        os.kill(self.proc.pid, signal.SIGKILL)
        self.proc.wait(30)

    def stop(self) -> None:
        if self.proc.poll() is not None:
            return
        self.proc.terminate()
        try:
            self.proc.wait(15)
        except subprocess.TimeoutExpired:
            os.kill(self.proc.pid, signal.SIGKILL)
            self.proc.wait(15)

    def log_tail(self, lines: int = 40) -> str:
        text_ = self.log.read_text(errors="replace") if self.log.exists() else ""
        return "\n".join(text_.splitlines()[-lines:])

    def token(self) -> str:
        r = httpx.post(self.base + "/api/v1/auth/login", timeout=CLIENT_TIMEOUT,
                       json={"username": "admin", "password": PASSWORD})
        assert r.status_code == 200, r.text
        return str(r.json()["access_token"])


@pytest.fixture
def server_factory(tmp_path: Path) -> Iterator[Any]:
    started: list[Server] = []

    def make(url: str, **kw: Any) -> Server:
        srv = Server(url, tmp_path, **kw)
        started.append(srv)
        return srv

    yield make
    for srv in started:
        srv.stop()


# --- clients -------------------------------------------------------------------------------

OPS = ("receive", "issue", "move")


def body_of(key: str, op: str, qty: int) -> dict[str, Any]:
    """Receive into the warehouse; issue from and move out of S2 (which may go negative), so
    that every operation succeeds whatever order the server runs them in."""
    if op == "receive":
        return {"sku": "SKU-1", "site": "WH", "qty": str(qty), "reason": key}
    if op == "issue":
        return {"sku": "SKU-1", "site": "S2", "qty": str(qty), "reason": key}
    return {"sku": "SKU-1", "from_site": "S2", "to_site": "S1", "qty": str(qty), "reason": key}


@dataclass
class Op:
    key: str
    op: str
    qty: int
    status: int | None = None  # the last answer's status; None: no answer (in flight / refused)
    answer: Any = None
    content_type: str = ""
    retry_after: str | None = None
    error: str = ""  # the transport error instead of an answer
    acked_ref: str | None = None  # the ref of the first 2xx answer
    acked_moves: int = 0
    seconds: float = 0.0
    sent_at: float = 0.0  # time.monotonic() when the last attempt was sent

    @property
    def body(self) -> dict[str, Any]:
        return body_of(self.key, self.op, self.qty)


@dataclass
class Load:
    """Client threads, each posting one operation after another with a fresh key."""

    base: str
    token: str
    run: str
    threads: int = 4
    stop_on_transport_error: bool = True
    ops: list[Op] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)
    stopping: threading.Event = field(default_factory=threading.Event)
    workers: list[threading.Thread] = field(default_factory=list)
    started: float = 0.0

    def start(self) -> None:
        self.started = time.monotonic()
        for t in range(self.threads):
            worker = threading.Thread(target=self._post_loop, args=(t,), daemon=True)
            worker.start()
            self.workers.append(worker)

    def _post_loop(self, thread: int) -> None:
        with httpx.Client(base_url=self.base, timeout=CLIENT_TIMEOUT,
                          headers={"Authorization": f"Bearer {self.token}"}) as client:
            i = 0
            while not self.stopping.is_set():
                op = Op(f"{self.run}-{thread}-{i}", OPS[(thread + i) % 3], 1 + (i * 7 + thread) % 9)
                i += 1
                with self.lock:
                    self.ops.append(op)
                answered = send(client, op)
                if not answered and self.stop_on_transport_error:
                    return
                if not answered or op.status == 503:
                    time.sleep(0.1)  # a little patience, though less than Retry-After asks

    def acked(self) -> list[Op]:
        with self.lock:
            return [o for o in self.ops if o.acked_ref is not None]

    def wait_for(self, acks: int, *, at_least_s: float, deadline_s: float = 60.0) -> None:
        """Until ``acks`` operations were acknowledged and ``at_least_s`` passed since the start."""
        limit = self.started + deadline_s
        while time.monotonic() < limit:
            if len(self.acked()) >= acks and time.monotonic() - self.started >= at_least_s:
                return
            if not any(w.is_alive() for w in self.workers):
                break
            time.sleep(0.02)
        pytest.fail(f"only {len(self.acked())} of {acks} operations acknowledged "
                    f"({len(self.ops)} sent): {[o.error or o.status for o in self.ops[-5:]]}")

    def join(self, timeout: float = 60.0) -> None:
        self.stopping.set()
        for w in self.workers:
            w.join(timeout)
        assert not any(w.is_alive() for w in self.workers), "a client hung"


def send(client: httpx.Client, op: Op) -> bool:
    """One attempt; False on a transport error (no answer at all)."""
    path = f"/api/v1/stock/{op.op}"
    started = op.sent_at = time.monotonic()
    try:
        r = client.post(path, json=op.body, headers={"Idempotency-Key": op.key,
                                                     "Accept-Language": "en"})
    except httpx.TransportError as exc:
        op.status, op.answer, op.error = None, None, f"{type(exc).__name__}: {exc}"
        op.seconds = time.monotonic() - started
        return False
    op.seconds = time.monotonic() - started
    op.status, op.error = r.status_code, ""
    op.content_type = r.headers.get("content-type", "")
    op.retry_after = r.headers.get("retry-after")
    try:
        op.answer = r.json()
    except ValueError:
        op.answer = r.text[:300]
    if 200 <= r.status_code < 300 and op.acked_ref is None:
        op.acked_ref = op.answer["ref"]
        op.acked_moves = len(op.answer["moves"])
    return True


def resend(base: str, token: str, ops: list[Op], *, threads: int = 4,
           patience_s: float = 30.0) -> dict[str, tuple[int, Any]]:
    """Send every operation again with its key (retrying 503s); answers key → (status, body)."""
    answers: dict[str, tuple[int, Any]] = {}
    queue = list(ops)
    lock = threading.Lock()

    def work() -> None:
        with httpx.Client(base_url=base, timeout=CLIENT_TIMEOUT,
                          headers={"Authorization": f"Bearer {token}"}) as client:
            while True:
                with lock:
                    if not queue:
                        return
                    op = queue.pop()
                deadline = time.monotonic() + patience_s
                while True:
                    body: Any
                    try:
                        r = client.post(f"/api/v1/stock/{op.op}", json=op.body,
                                        headers={"Idempotency-Key": op.key})
                    except httpx.TransportError as exc:
                        status, body = 0, f"{type(exc).__name__}: {exc}"
                    else:
                        status, body = r.status_code, (r.json() if r.content else None)
                    if status not in (0, 503) or time.monotonic() > deadline:
                        break
                    time.sleep(0.2)
                with lock:
                    answers[op.key] = (status, body)

    workers = [threading.Thread(target=work, daemon=True) for _ in range(threads)]
    for w in workers:
        w.start()
    for w in workers:
        w.join(patience_s * 4)
    return answers


# --- the ledger, read back -----------------------------------------------------------------

@dataclass
class Ledger:
    refs_by_key: dict[str, set[str]]  # from stock_move.reason (the key) → refs
    moves_by_ref: dict[str, int]
    reason_of_ref: dict[str, str]
    records: dict[str, str]  # idempotency key (without the user scope) → its stored answer
    outbox_refs: set[str]
    site_qty: dict[str, Decimal]  # SKU-1 on hand per site
    verify_line: str
    consistent: bool


def read_ledger(url: str, user_id: int, run: str) -> Ledger:
    engine = create_engine(normalize_url(url))
    try:
        with engine.connect() as conn:
            refs: dict[str, set[str]] = {}
            moves: dict[str, int] = {}
            reasons: dict[str, str] = {}
            for ref, reason, n in conn.execute(text(
                    "SELECT ref, reason, count(*) FROM stock_move WHERE reason LIKE :p "
                    "GROUP BY ref, reason"), {"p": f"{run}-%"}):
                refs.setdefault(reason, set()).add(ref)
                moves[ref] = moves.get(ref, 0) + int(n)
                reasons[ref] = reason
            scope = f"{user_id}:"
            records = {k[len(scope):]: r for k, r in conn.execute(text(
                "SELECT key, response FROM idempotency_record WHERE key LIKE :p"),
                {"p": f"{scope}{run}-%"})}
            outbox: set[str] = set()
            for (payload,) in conn.execute(text(
                    "SELECT payload FROM outbox_event WHERE kind = 'stock.changed'")):
                outbox |= {p["ref"] for p in json.loads(payload).get("postings", [])}
            site_qty = {code: Decimal(q) for code, q in conn.execute(
                select(Location.code, func.sum(StockBalance.qty))
                .join(Location, Location.id == StockBalance.site_id)
                .join(Sku, Sku.id == StockBalance.sku_id)
                .where(Sku.code == "SKU-1").group_by(Location.code))}
    finally:
        engine.dispose()
    db = Database(url)
    try:
        report = verify(db.uow())
    finally:
        db.dispose()
    line = (f"ledger {'consistent' if report.consistent else 'INCONSISTENT'}: "
            f"{report.moves} moves, {report.balances} balances")
    return Ledger(refs, moves, reasons, records, outbox, site_qty, line, report.consistent)


def half_written(ledger: Ledger) -> list[str]:
    """Anything not written whole: a key claimed without its answer, an answer without its
    moves, moves without their key's answer or without their stock.changed event."""
    problems = []
    answered: dict[str, str] = {}
    for key, response in ledger.records.items():
        ref = json.loads(response).get("ref")
        if ref is None:
            problems.append(f"key {key}: claimed, no answer stored")
            continue
        answered[ref] = key
        if ledger.moves_by_ref.get(ref, 0) == 0:
            problems.append(f"key {key}: answer names {ref}, which has no moves")
    for ref, reason in ledger.reason_of_ref.items():
        if answered.get(ref) != reason:
            problems.append(f"moves {ref} ({reason}): no idempotency answer for them")
        if ref not in ledger.outbox_refs:
            problems.append(f"moves {ref} ({reason}): no stock.changed event")
    return problems


def duplicates(ledger: Ledger) -> dict[str, set[str]]:
    return {k: refs for k, refs in ledger.refs_by_key.items() if len(refs) > 1}


def missing_acks(ledger: Ledger, acked: list[Op]) -> list[str]:
    """Acknowledged operations that the ledger does not hold exactly as acknowledged."""
    out = []
    for op in acked:
        refs = ledger.refs_by_key.get(op.key, set())
        if op.acked_ref not in refs:
            out.append(f"{op.key}: acknowledged as {op.acked_ref}, ledger has {sorted(refs)}")
        elif ledger.moves_by_ref[op.acked_ref] != op.acked_moves:
            out.append(f"{op.key}: {ledger.moves_by_ref[op.acked_ref]} of {op.acked_moves} moves")
        record = ledger.records.get(op.key)
        if record is None or json.loads(record).get("ref") != op.acked_ref:
            out.append(f"{op.key}: idempotency answer {record!r:.80} is not {op.acked_ref}")
    return out


def expected_stock(ops: list[Op]) -> dict[str, Decimal]:
    """SKU-1 per site if each operation was applied exactly once."""
    qty = {"WH": Decimal(0), "S1": Decimal(0), "S2": Decimal(0)}
    for op in ops:
        if op.op == "receive":
            qty["WH"] += op.qty
        elif op.op == "issue":
            qty["S2"] -= op.qty
        else:
            qty["S2"] -= op.qty
            qty["S1"] += op.qty
    return {k: v for k, v in qty.items() if v}


# --- a PostgreSQL cluster of our own, to restart -------------------------------------------

@dataclass
class Cluster:
    bindir: Path
    datadir: Path
    port: int
    as_postgres: list[str]

    @property
    def url(self) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/postgres"

    def ctl(self, *args: str, timeout: float = 60) -> None:
        """pg_ctl with the server's output in postgres.log: a started server keeps the files it
        was given open, so pipes would never reach their end."""
        cmd = [*self.as_postgres, str(self.bindir / "pg_ctl"), "-D", str(self.datadir / "data"),
               "-l", str(self.datadir / "postgres.log"), *args]
        with open(self.datadir / "pg_ctl.out", "w+") as out:
            done = subprocess.run(cmd, stdin=subprocess.DEVNULL, stdout=out,
                                  stderr=subprocess.STDOUT, timeout=timeout)
            out.seek(0)
            assert done.returncode == 0, f"{' '.join(cmd)}:\n{out.read()}"


def _pg_bindir() -> Path | None:
    found = sorted(glob("/usr/lib/postgresql/*/bin/initdb"))
    if found:
        return Path(found[-1]).parent
    initdb = shutil.which("initdb")
    return Path(initdb).parent if initdb else None


@pytest.fixture
def private_pg() -> Iterator[Cluster]:
    """A throwaway PostgreSQL cluster: restarting the shared one would break parallel tests."""
    bindir = _pg_bindir()
    if bindir is None:
        if IN_CI:
            pytest.fail("CI=true requires the PostgreSQL server binaries (initdb, pg_ctl)")
        pytest.skip("PostgreSQL server binaries (initdb) not installed")
    root = Path(tempfile.mkdtemp(prefix="cangliu-crash-pg-", dir="/tmp"))
    as_postgres: list[str] = []
    if os.geteuid() == 0:  # initdb refuses to run as root
        shutil.chown(root, "postgres", "postgres")
        as_postgres = ["runuser", "-u", "postgres", "--"]
    cluster = Cluster(bindir, root, free_port(), as_postgres)
    try:
        subprocess.run([*as_postgres, str(bindir / "initdb"), "-D", str(root / "data"), "-A",
                        "trust", "-U", "postgres", "--no-sync", "-E", "UTF8"],
                       check=True, capture_output=True, timeout=120)
        cluster.ctl("-w", "-t", "60", "-o",
                    f"-p {cluster.port} -k {root} -c listen_addresses=127.0.0.1", "start",
                    timeout=90)
        yield cluster
    finally:
        if (root / "data" / "postmaster.pid").exists():
            subprocess.run([*as_postgres, str(bindir / "pg_ctl"), "-D", str(root / "data"),
                            "-m", "immediate", "-w", "stop"], capture_output=True, timeout=60)
        shutil.rmtree(root, ignore_errors=True)
