"""Operations endpoints: liveness, readiness, Prometheus metrics and the JSON access log."""

import json
import logging
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import create_engine, text

from cangliu.config import Settings
from cangliu.logs import JsonFormatter
from cangliu.services import auth
from cangliu.web.app import create_app
from tests.conftest import PASSWORD, fresh_url


def _metric(body: str, name: str) -> float:
    """The value of one sample line (name with its labels, exactly as Prometheus writes it)."""
    for line in body.splitlines():
        if line.startswith(name + " "):
            return float(line.rsplit(" ", 1)[1])
    return 0.0


def test_health_and_ready_need_no_login(anon):
    assert anon.get("/health").json()["status"] == "ok"
    ready = anon.get("/ready")
    assert ready.status_code == 200
    assert ready.json()["status"] == "ready" and ready.json()["schema"]


def test_ready_refuses_a_schema_other_than_the_code_expects(app, db, anon):
    def stamp(revision: str) -> None:
        with db.writer.begin() as conn:
            conn.execute(text("UPDATE alembic_version SET version_num = :r"), {"r": revision})

    stamp("0001")
    try:
        ready = anon.get("/ready")
    finally:
        stamp(app.state.schema_head)  # the PostgreSQL test database serves the next tests too
    assert ready.status_code == 503
    assert "0001" in ready.json()["reason"] and "cangliu migrate" in ready.json()["reason"]


def test_ready_says_when_the_database_is_unreachable(app, anon, monkeypatch):
    monkeypatch.setattr(app.state.db, "writer", create_engine(
        "postgresql+psycopg://postgres@127.0.0.1:1/none", connect_args={"connect_timeout": 2}))
    ready = anon.get("/ready")
    assert ready.status_code == 503
    assert ready.json()["reason"].startswith("database unreachable")


def test_metrics_count_requests_by_route_and_committed_postings(app, api):
    scraper = TestClient(app, client=("127.0.0.1", 40000))
    before = scraper.get("/metrics").text
    assert api.post("/api/v1/stock/receive", json={"sku": "SKU-1", "site": "WH", "qty": "3"}
                    ).status_code == 201
    assert api.post("/api/v1/stock/issue", json={"sku": "SKU-1", "site": "WH", "qty": "999"}
                    ).status_code == 409  # refused: rolled back, not a posting
    after = scraper.get("/metrics")
    assert after.headers["content-type"].startswith("text/plain")
    body = after.text
    assert _metric(body, "cangliu_postings_total") - _metric(before, "cangliu_postings_total") == 1
    sample = 'cangliu_http_requests_total{method="POST",route="/api/v1/stock/receive",status="201"}'
    assert _metric(body, sample) - _metric(before, sample) == 1
    assert 'route="/api/v1/stock/issue",status="409"' in body
    assert "cangliu_http_request_duration_seconds_bucket" in body
    assert _metric(body, "cangliu_outbox_pending") >= 1  # no dispatcher runs in tests
    assert 'cangliu_open_alerts{severity="critical"}' in body


def test_metrics_need_the_token_or_a_loopback_address(db, network):
    app = create_app(Settings(database_url=db.url, secret_key="s", metrics_token="scrape-me"), db=db)
    with TestClient(app, client=("127.0.0.1", 40000)) as local:
        assert local.get("/metrics").status_code == 403  # with a token set, loopback is not enough
        assert local.get("/metrics", headers={"Authorization": "Bearer wrong"}).status_code == 403
        assert local.get("/metrics", headers={"Authorization": "Bearer scrape-me"}).status_code == 200
    open_app = create_app(Settings(database_url=db.url, secret_key="s"), db=db)
    with TestClient(open_app, client=("203.0.113.9", 40000)) as remote:
        assert remote.get("/metrics").status_code == 403


def test_the_access_log_is_json_with_the_request_id_and_user(api, caplog):
    with caplog.at_level(logging.INFO, logger="cangliu.access"):
        api.get("/api/v1/stock", headers={"X-Request-ID": "req-42"})
    record = next(r for r in caplog.records if r.name == "cangliu.access")
    line = json.loads(JsonFormatter().format(record))
    assert line["request_id"] == "req-42"
    assert (line["method"], line["path"], line["status"], line["user"]) == (
        "GET", "/api/v1/stock", 200, "admin")
    assert line["level"] == "info" and line["duration_ms"] >= 0


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.mark.slow
def test_serve_with_several_workers_adds_up_their_metrics(request, tmp_path, db_url_sqlite):
    """`cangliu serve --workers 2`: both processes answer, /metrics counts every request whichever
    worker answered it, and every log line is JSON with a request id."""
    port = _free_port()
    env = {**os.environ, "CANGLIU_DATABASE_URL": db_url_sqlite, "CANGLIU_LOG_FORMAT": "json",
           "CANGLIU_SCHEDULER": "off", "CANGLIU_SECRET_KEY": "s",
           "CANGLIU_METRICS_DIR": str(tmp_path / "metrics")}
    log = tmp_path / "serve.log"
    with log.open("w") as out:
        server = subprocess.Popen([str(Path(sys.executable).parent / "cangliu"), "serve", "--port",
                                   str(port), "--workers", "2"], env=env, stdout=out, stderr=out)
    try:
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{base}/ready", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                time.sleep(0.3)
        for _ in range(40):  # new connections: the kernel spreads them over both workers
            with httpx.Client() as client:
                assert client.get(f"{base}/health").status_code == 200
        body = httpx.get(f"{base}/metrics", timeout=5).text
        assert _metric(body, 'cangliu_http_requests_total{method="GET",route="/health",status="200"}'
                       ) == 40
        pids = {f.name for f in (tmp_path / "metrics").glob("counter_*.db")}
        assert len(pids) == 2, f"one metrics file per worker process: {pids}"
    finally:
        server.terminate()
        server.wait(30)
    lines = [json.loads(line) for line in log.read_text().splitlines() if line.startswith("{")]
    access = [line for line in lines if line["logger"] == "cangliu.access"]
    assert len(access) >= 41 and all(line["request_id"] for line in access)


@pytest.fixture
def db_url_sqlite(request, tmp_path):
    from cangliu.db.uow import Database

    db = Database(fresh_url("sqlite", request, tmp_path))
    auth.create_user(db.uow(), username="admin", password=PASSWORD, is_admin=True)
    db.dispose()
    return db.url


@pytest.mark.slow
def test_the_worker_command_dispatches_the_outbox_and_stops_on_sigterm(request, tmp_path):
    """`cangliu worker`, the background work in its own process: it delivers what the app
    processes committed (the outbox empties) and a service manager's SIGTERM stops it cleanly."""
    import signal

    from sqlalchemy import func, select

    from cangliu.db.models import OutboxEvent
    from cangliu.db.uow import Database
    from tests.conftest import seed_network

    db = Database(fresh_url("sqlite", request, tmp_path))
    admin = auth.create_user(db.uow(), username="admin", password=PASSWORD, is_admin=True)
    seed_network(db, admin)
    pending = select(func.count()).where(OutboxEvent.dispatched_at.is_(None))
    with db.read() as session:
        assert session.scalar(pending)
    env = {**os.environ, "CANGLIU_DATABASE_URL": db.url, "CANGLIU_LOG_FORMAT": "json"}
    worker = subprocess.Popen([str(Path(sys.executable).parent / "cangliu"), "worker"], env=env,
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            with db.read() as session:
                if session.scalar(pending) == 0:
                    break
            time.sleep(0.3)
        with db.read() as session:
            assert session.scalar(pending) == 0
    finally:
        worker.send_signal(signal.SIGTERM)
        output, _ = worker.communicate(timeout=30)
        db.dispose()
    assert worker.returncode == 0, output
    assert "worker stopped" in output
