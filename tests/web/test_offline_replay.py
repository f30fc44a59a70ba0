"""10,000 offline operations from four devices, each sent twice, shuffled across batches sent
at once from several threads, some connections dropped mid-batch: every operation is applied
exactly once and in its device's order, the refused ones wait in the review queue, and the
ledger still verifies."""

import random
import threading
import uuid
from collections import Counter
from decimal import Decimal

import httpx
import pytest
import uvicorn
from sqlalchemy import func, select

from cangliu.config import Settings
from cangliu.db import queries
from cangliu.db.models import OfflineOperation, Sku, StockMove
from cangliu.services import masterdata
from cangliu.services.verify import verify
from cangliu.web.app import create_app
from tests.conftest import PASSWORD, PG_URL
from tests.e2e.conftest import _free_port

DEVICES = 4
# The full 10,000 run goes on PostgreSQL (the production database) when the suite has one, and
# a tenth of it on SQLite then, to keep the suite's time; without PostgreSQL, SQLite runs it all.
FULL, SHORT = 2_500, 100


def per_device(db) -> int:
    return SHORT if db.dialect == "sqlite" and PG_URL else FULL


def operations(rng: random.Random, device: int, count: int) -> list[dict]:
    """A device's day on its own SKU: receipts, issues, and now and then an issue of more than
    is left, which the server must refuse."""
    ops = []
    for seq in range(1, count + 1):
        roll = rng.random()
        kind, qty = ("stock.receive", rng.randint(1, 3)) if roll < 0.5 else (
            "stock.issue", rng.randint(1, 2) if roll < 0.9 else rng.randint(4, 8))
        ops.append({"id": uuid.uuid4().hex, "seq": seq, "kind": kind, "payload": {
            "sku": f"RP-{device}", "site": "WH", "qty": str(qty), "reason": "scan"}})
    return ops


def expected(ops: list[dict]) -> tuple[list[str], int]:
    """What applying the operations in order gives: each one's status, and what is left."""
    left, statuses = 0, []
    for op in ops:
        qty = int(op["payload"]["qty"])
        if op["kind"] == "stock.receive":
            left += qty
            statuses.append("applied")
        elif qty <= left:
            left -= qty
            statuses.append("applied")
        else:
            statuses.append("failed")
    return statuses, left


@pytest.fixture
def server(db, network):
    for d in range(DEVICES):
        masterdata.create(db.uow(), network, "sku", {"code": f"RP-{d}", "name": f"回放{d}"})
    port = _free_port()
    app = create_app(Settings(database_url=db.url, secret_key="replay"), db=db)
    srv = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=srv.run, daemon=True)
    thread.start()
    while not srv.started:
        threading.Event().wait(0.05)
    yield f"http://127.0.0.1:{port}"
    srv.should_exit = True
    thread.join(10)


# One client for every batch: httpx.post would build a TLS context per call (tens of ms).
CLIENT = httpx.Client()


def send(base: str, token: str, device: int, batch: list[dict], timeout: float) -> dict | None:
    """One batch; None when the connection was dropped before the answer came."""
    try:
        answer = CLIENT.post(f"{base}/api/v1/offline/batch", timeout=timeout,
                            headers={"Authorization": f"Bearer {token}"},
                            json={"device": f"DEV-{device}", "operations": batch})
    except httpx.TimeoutException:
        return None
    assert answer.status_code == 200, answer.text
    return answer.json()


@pytest.mark.slow
def test_ten_thousand_operations_sent_twice_and_shuffled_apply_exactly_once(server, db):
    """(10,000 = 4 devices × 2,500; see ``per_device``.)"""
    rng = random.Random(20261124)
    token = httpx.post(f"{server}/api/v1/auth/login", json={
        "username": "admin", "password": PASSWORD}).json()["access_token"]
    days = {d: operations(rng, d, per_device(db)) for d in range(DEVICES)}
    batches = []
    for d, ops in days.items():
        copies = ops + ops
        rng.shuffle(copies)
        while copies:
            size = rng.randint(1, 200)
            batches.append((d, copies[:size]))
            copies = copies[size:]
    rng.shuffle(batches)
    dropped = Counter[str]()

    def worker() -> None:
        while batches:
            try:
                device, batch = batches.pop()
            except IndexError:
                return
            # Every fifth batch gives up after 50 ms: the server goes on without its client.
            timeout = 0.05 if rng.random() < 0.2 else 120.0
            if send(server, token, device, batch, timeout) is None:
                dropped["batches"] += 1

    threads = [threading.Thread(target=worker) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert dropped["batches"] > 0

    # Back in the warehouse's wifi: each device resends its queue until nothing waits.
    final: dict[str, dict] = {}
    for d, ops in days.items():
        waiting = ops
        while waiting:
            for start in range(0, len(waiting), 200):
                answer = send(server, token, d, waiting[start:start + 200], 120.0)
                assert answer is not None
                final.update({r["id"]: r for r in answer["results"]})
            waiting = [op for op in waiting if final[op["id"]]["status"] == "waiting"]

    postings = 0
    for d, ops in days.items():
        statuses, left = expected(ops)
        assert [final[op["id"]]["status"] for op in ops] == statuses
        with db.read() as session:
            view = queries.single_view(session, f"RP-{d}")["total"]
        assert Decimal(view["on_hand"]) == left
        postings += statuses.count("applied")
    with db.uow() as uow:
        refs = uow.session.scalar(select(func.count(func.distinct(StockMove.ref))).where(
            StockMove.sku_id.in_(select(Sku.id).where(Sku.code.like("RP-%")))))
        failed = uow.session.scalar(select(func.count()).select_from(OfflineOperation).where(
            OfflineOperation.status == "failed"))
    assert refs == postings  # one posting per applied operation, none twice
    assert failed == sum(expected(ops)[0].count("failed") for ops in days.values()) > 0
    assert verify(db.uow()).consistent
