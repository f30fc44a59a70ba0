"""Crash tests: the server killed with SIGKILL under load, and the database restarted under load.

kill -9 (SQLite and PostgreSQL): clients post receipts, issues and moves, each with its own
Idempotency-Key, until the server is killed. After a restart on the same database the ledger
verifies, every operation acknowledged before the kill is there exactly as acknowledged, and
when the clients resend everything (acknowledged or not) with the same keys, each key has
produced exactly one posting.

Database restart (PostgreSQL only, on a private cluster so that the shared one keeps serving
the tests running beside these): clients are answered 503 problem details with Retry-After
while the database is away, the same server process serves again once it is back, and nothing
is half-written. For SQLite the case does not apply: the database is a file opened by the
server process itself, there is no database server to restart.

Run with ``-s`` to see the figures; they are in the assertion messages too.
"""

import sqlite3
import time
import uuid
from pathlib import Path
from typing import Any

import httpx
import psycopg.errors
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy.exc import OperationalError
from starlette.middleware.sessions import SessionMiddleware

from cangliu.config import Settings
from cangliu.db.engine import normalize_url
from cangliu.db.migrate import upgrade
from cangliu.db.uow import Database
from cangliu.i18n import translate
from cangliu.services import auth
from cangliu.web import dbdown
from cangliu.web.app import create_app
from tests.conftest import BACKENDS, fresh_url
from tests.crash.conftest import (
    Cluster,
    Load,
    Op,
    Server,
    duplicates,
    expected_stock,
    free_port,
    half_written,
    missing_acks,
    prepare,
    read_ledger,
    resend,
)
from tests.crash.server import with_dbdown

PROBLEM = "application/problem+json"


def _after_resend(url: str, user_id: int, run: str, srv: Server, token: str, ops: list[Op],
                  figures: str) -> str:
    """Resend every operation with its key; each key must end with exactly one posting."""
    answers = resend(srv.base, token, ops)
    refused = {k: a for k, a in answers.items() if a[0] != 201}
    assert len(answers) == len(ops) and not refused, f"resend refused: {refused}\n{figures}"
    # An acknowledged key answers its first answer again, word for word.
    changed = [f"{o.key}: {o.answer} → {answers[o.key][1]}" for o in ops
               if o.acked_ref is not None and answers[o.key][1] != o.answer]
    assert not changed, f"a retried key answered differently: {changed[:3]}\n{figures}"
    final = read_ledger(url, user_id, run)
    dups = duplicates(final)
    figures += (f"\nafter resending all {len(ops)} keys: {len(final.refs_by_key)} keys posted, "
                f"duplicates {len(dups)}, {final.verify_line}")
    print(figures)
    assert final.consistent, figures
    assert not dups, f"{dups}\n{figures}"
    assert set(final.refs_by_key) == {o.key for o in ops}, figures
    assert final.site_qty == expected_stock(ops), f"SKU-1 per site {final.site_qty}\n{figures}"
    assert not half_written(final), f"{half_written(final)}\n{figures}"
    return figures


@pytest.mark.slow
@pytest.mark.parametrize("backend", BACKENDS)
def test_kill9_during_sustained_posting(backend: str, request: pytest.FixtureRequest,
                                        tmp_path: Path, server_factory: Any) -> None:
    url = fresh_url(backend, request, tmp_path)
    srv: Server = server_factory(url)
    after: Server = server_factory(url)  # the restart: imported now, on the database after the kill
    user_id = prepare(url)
    srv.go()
    token = srv.token()
    run = f"kill-{uuid.uuid4().hex[:6]}"
    load = Load(srv.base, token, run)
    load.start()
    load.wait_for(30, at_least_s=1.5)
    srv.kill9()
    load.join()

    acked = load.acked()
    unanswered = [o for o in load.ops if o.acked_ref is None]
    wrong = [(o.key, o.status, o.answer) for o in unanswered if o.status is not None]
    assert not wrong, f"answered with an error before the kill: {wrong[:5]}"
    in_flight = [o for o in unanswered if "Connect" not in o.error]
    ledger = read_ledger(url, user_id, run)
    committed_unacked = [o for o in unanswered if ledger.refs_by_key.get(o.key)]
    lost, broken, dups = missing_acks(ledger, acked), half_written(ledger), duplicates(ledger)
    figures = (f"[kill -9, {backend}] {len(load.ops)} operations sent in "
               f"{time.monotonic() - load.started:.1f} s: {len(acked)} acknowledged before the "
               f"kill, {len(unanswered)} unanswered ({len(in_flight)} in flight at the kill, "
               f"{len(unanswered) - len(in_flight)} refused after it; {len(committed_unacked)} of "
               f"them committed without an answer); read back after the kill: "
               f"{ledger.verify_line}, acknowledged but missing {len(lost)}, half-written "
               f"{len(broken)}, duplicates {len(dups)}")
    assert ledger.consistent, figures
    assert not lost, f"{lost[:5]}\n{figures}"
    assert not broken, f"{broken[:5]}\n{figures}"
    assert not dups, f"{dups}\n{figures}"

    after.go()  # the same database, a new process; the token issued before the kill still works
    figures += f"; server starts took {srv.start_seconds:.1f} s, {after.start_seconds:.1f} s"
    _after_resend(url, user_id, run, after, token, load.ops, figures)


@pytest.mark.slow
def test_database_restart_mid_load(private_pg: Cluster, server_factory: Any) -> None:
    url = normalize_url(private_pg.url)
    srv: Server = server_factory(url, dbdown=True)
    upgrade(url)
    user_id = prepare(url)
    srv.go()
    token = srv.token()
    run = f"pgrestart-{uuid.uuid4().hex[:6]}"
    load = Load(srv.base, token, run, stop_on_transport_error=False)
    load.start()
    load.wait_for(15, at_least_s=1.0)
    down_at = time.monotonic()
    private_pg.ctl("-m", "fast", "-w", "-t", "60", "restart")
    back_at = time.monotonic()
    deadline = back_at + 40
    while time.monotonic() < deadline:  # the same server process serves again
        if sum(1 for o in load.acked() if o.sent_at > back_at) >= 15:
            break
        time.sleep(0.05)
    load.join()

    ops = list(load.ops)
    acked = [o for o in ops if o.acked_ref is not None]
    failed = [o for o in ops if o.acked_ref is None]
    unclear = [(o.key, o.status, o.content_type, o.error or str(o.answer)[:200]) for o in failed
               if o.status != 503 or not o.content_type.startswith(PROBLEM)
               or o.retry_after is None or not (isinstance(o.answer, dict) and o.answer["title"])]
    after_back = [o for o in failed if o.sent_at > back_at]
    recovered = [o for o in acked if o.sent_at > back_at]
    slowest = max(o.seconds for o in ops)
    ledger = read_ledger(url, user_id, run)
    lost, broken, dups = missing_acks(ledger, acked), half_written(ledger), duplicates(ledger)
    committed_unacked = [o for o in failed if ledger.refs_by_key.get(o.key)]
    sample = next((o.answer for o in failed if isinstance(o.answer, dict)), None)
    figures = (f"[database restart, postgresql] {len(ops)} operations sent; restart took "
               f"{back_at - down_at:.1f} s; {len(acked)} acknowledged, {len(failed)} answered 503 "
               f"({len(after_back)} of them after the database was back, {len(committed_unacked)} "
               f"committed although answered 503), {len(unclear)} unclear errors, slowest answer "
               f"{slowest:.1f} s, {len(recovered)} acknowledged after the restart without a server "
               f"restart; {ledger.verify_line}, acknowledged but missing {len(lost)}, half-written "
               f"{len(broken)}, duplicates {len(dups)}; server start took "
               f"{srv.start_seconds:.1f} s; a 503 answer: {sample}")
    assert failed, f"no request met the restart, nothing was tested\n{figures}"
    assert not unclear, f"{unclear[:5]}\n{figures}"
    assert slowest < 20, figures
    assert len(recovered) >= 15, figures
    assert ledger.consistent, figures
    assert not lost, f"{lost[:5]}\n{figures}"
    assert not broken, f"{broken[:5]}\n{figures}"
    assert not dups, f"{dups}\n{figures}"
    figures = _after_resend(url, user_id, run, srv, token, ops, figures)

    # Restarted while the server is idle, every pooled connection is dead: the first request
    # meets one and answers 503, which drops them all; the next is served.
    private_pg.ctl("-m", "fast", "-w", "-t", "60", "restart")
    statuses = []
    with httpx.Client(base_url=srv.base, timeout=30,
                      headers={"Authorization": f"Bearer {token}"}) as client:
        for i in range(10):
            r = client.post("/api/v1/stock/receive", headers={"Idempotency-Key": f"{run}-idle-{i}"},
                            json={"sku": "SKU-1", "site": "WH", "qty": "1"})
            statuses.append(r.status_code)
            if r.status_code == 201:
                break
    print(f"after an idle restart the answers were {statuses}")
    assert statuses[-1] == 201 and statuses.count(503) <= 1, f"{statuses}\n{figures}"


@pytest.mark.parametrize("broken", ["postgresql", "sqlite"])
def test_database_down_answers_503_problem(broken: str, request: pytest.FixtureRequest,
                                           tmp_path: Path) -> None:
    """The real app on a database that cannot be reached: 503 problem details in the caller's
    language with Retry-After, for the token check and for a posting alike."""
    db = Database(fresh_url("sqlite", request, tmp_path))
    actor = auth.create_user(db.uow(), username="admin", password="correct-horse-battery",
                             is_admin=True)
    token = auth.issue_token(db.uow(), actor, hours=1)
    app = with_dbdown(create_app(Settings(database_url=db.url, secret_key="x"), db=db))
    nowhere = (f"postgresql://postgres@127.0.0.1:{free_port()}/gone" if broken == "postgresql"
               else f"sqlite:///{tmp_path}/no/such/dir/cangliu.db")
    app.state.db = Database(nowhere)
    try:
        with TestClient(app, raise_server_exceptions=False) as client:
            for lang, title in (("en", "Database unavailable"),
                                ("zh-CN", translate("zh_CN", dbdown.TITLE))):
                r = client.post("/api/v1/stock/receive", headers={
                    "Authorization": f"Bearer {token}", "Idempotency-Key": f"k-{lang}",
                    "Accept-Language": lang}, json={"sku": "SKU-1", "site": "WH", "qty": "1"})
                assert r.status_code == 503, r.text
                assert r.headers["content-type"].startswith(PROBLEM)
                assert r.headers["retry-after"] == str(dbdown.RETRY_AFTER_S)
                body = r.json()
                assert body["status"] == 503 and body["title"] == title
                assert "Idempotency-Key" in body["detail"]
    finally:
        app.state.db.dispose()
        db.dispose()


def _failing_app(orig: Exception) -> FastAPI:
    """A bare app (with the session the pages use) whose routes fail as the driver would."""
    app = FastAPI()
    app.add_middleware(SessionMiddleware, secret_key="x")
    dbdown.install(app)

    def fail() -> None:
        raise OperationalError("SELECT 1", {}, orig)

    app.add_api_route("/api/v1/thing", fail, methods=["POST"])
    app.add_api_route("/thing", fail, methods=["GET"])
    return app


@pytest.mark.parametrize("orig", [sqlite3.OperationalError("database is locked"),
                                  psycopg.errors.LockNotAvailable("canceling statement due to "
                                                                  "lock timeout")])
def test_contention_past_the_retries_answers_database_busy(orig: Exception) -> None:
    app = _failing_app(orig)
    with TestClient(app, raise_server_exceptions=False) as client:
        r = client.post("/api/v1/thing", headers={"Accept-Language": "en"})
    assert r.status_code == 503 and r.headers["content-type"].startswith(PROBLEM)
    assert r.headers["retry-after"] == str(dbdown.RETRY_AFTER_S)
    assert r.json()["title"] == "Database busy"
    assert "nothing of it was saved" in r.json()["detail"]


def test_a_browser_gets_the_error_page() -> None:
    app = _failing_app(sqlite3.OperationalError("unable to open database file"))
    with TestClient(app, raise_server_exceptions=False) as client:
        r = client.get("/thing", headers={"Accept": "text/html", "Accept-Language": "en"})
    assert r.status_code == 503 and r.headers["content-type"].startswith("text/html")
    assert r.headers["retry-after"] == str(dbdown.RETRY_AFTER_S)
    assert "Database unavailable" in r.text and "Idempotency-Key" in r.text
