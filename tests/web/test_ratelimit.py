"""Rate limits: per-caller token buckets for reads, writes and logins, answered as 429."""

import pytest
from fastapi.testclient import TestClient

from cangliu.config import Settings
from cangliu.web import ratelimit
from cangliu.web.app import create_app
from cangliu.web.ratelimit import Limiter, Limits
from tests.conftest import PASSWORD


@pytest.fixture
def limited(db, network):
    """An app with small budgets: 5 reads, 3 writes and 2 logins a minute."""
    app = create_app(Settings(database_url=db.url, secret_key="test-secret"), db=db)
    ratelimit.add(app, Limits(read_per_minute=5, write_per_minute=3, login_per_minute=2))
    with TestClient(app) as client:
        yield client


def login(client: TestClient, password: str = PASSWORD) -> int:
    return client.post("/api/v1/auth/login",
                       json={"username": "admin", "password": password}).status_code


def test_api_answers_carry_the_callers_remaining_budget(limited):
    limited.headers["Authorization"] = "Bearer nobody"
    first = limited.get("/api/v1/auth/me")
    second = limited.get("/api/v1/auth/me")
    assert first.headers["X-RateLimit-Limit"] == "5"
    assert (first.headers["X-RateLimit-Remaining"], second.headers["X-RateLimit-Remaining"]) == ("4", "3")
    assert int(second.headers["X-RateLimit-Reset"]) > 0


def test_a_caller_past_the_read_budget_gets_429_problem_details_with_retry_after(limited):
    limited.headers["Accept-Language"] = "en"
    assert login(limited) == 200
    limited.headers["Authorization"] = "Bearer " + limited.post(
        "/api/v1/auth/login", json={"username": "admin", "password": PASSWORD}).json()["access_token"]
    statuses = [limited.get("/api/v1/auth/me").status_code for _ in range(6)]
    assert statuses == [200] * 5 + [429]
    refused = limited.get("/api/v1/auth/me")
    assert refused.headers["content-type"] == "application/problem+json"
    assert refused.json()["status"] == 429 and refused.json()["title"] == "Too many requests"
    assert 1 <= int(refused.headers["Retry-After"]) <= 12
    assert refused.headers["X-RateLimit-Remaining"] == "0"


def test_reads_and_writes_have_separate_budgets(limited):
    limited.headers["Authorization"] = "Bearer some-token"
    writes = [limited.post("/api/v1/auth/tokens", json={}).status_code for _ in range(4)]
    assert writes[:3] != [429] * 3 and writes[3] == 429
    assert limited.get("/api/v1/auth/me").status_code != 429


def test_each_api_token_has_a_budget_of_its_own(limited):
    for _ in range(5):
        limited.get("/api/v1/auth/me", headers={"Authorization": "Bearer first"})
    assert limited.get("/api/v1/auth/me", headers={"Authorization": "Bearer first"}).status_code == 429
    assert limited.get("/api/v1/auth/me", headers={"Authorization": "Bearer second"}).status_code == 401


def test_guessing_passwords_is_cut_off_by_the_tight_login_budget(limited):
    assert [login(limited, "wrong") for _ in range(3)][-1] == 429
    assert login(limited) == 429  # even the right password waits for the bucket to refill


def test_the_login_form_shares_the_login_budget(limited):
    login(limited, "wrong"), login(limited, "wrong")
    refused = limited.post("/login", data={"username": "admin", "password": "x"})
    assert refused.status_code == 429 and "Retry-After" in refused.headers


def test_pages_are_not_counted(limited):
    assert all(limited.get("/health").status_code == 200 for _ in range(10))  # /health is not /api/


def test_messages_come_in_the_callers_language(limited):
    for _ in range(3):
        refused = limited.post("/api/v1/auth/login", json={"username": "a", "password": "b"},
                               headers={"Accept-Language": "zh-CN"})
    assert refused.status_code == 429 and refused.json()["title"] == "请求过多"


def test_a_bucket_refills_at_its_rate_per_minute():
    now = [0.0]
    limiter = Limiter(Limits(read_per_minute=60), clock=lambda: now[0])
    assert all(limiter.take("read", "me").allowed for _ in range(60))
    refused = limiter.take("read", "me")
    assert not refused.allowed and refused.bucket.wait() == pytest.approx(1.0)
    now[0] = 1.0
    assert limiter.take("read", "me").allowed and not limiter.take("read", "me").allowed


def test_idle_callers_are_forgotten_when_there_are_too_many(monkeypatch):
    monkeypatch.setattr(ratelimit, "MAX_BUCKETS", 3)
    now = [0.0]
    limiter = Limiter(Limits(), clock=lambda: now[0])
    for caller in "abc":
        limiter.take("read", caller)
    now[0] = 60.0
    limiter.take("read", "d")
    assert list(limiter.buckets) == [("read", "d")]


def test_the_limiter_is_off_unless_the_settings_turn_it_on(db, network):
    app = create_app(Settings(database_url=db.url, secret_key="test-secret"), db=db)
    ratelimit.install(app, object())
    with TestClient(app) as client:
        assert "X-RateLimit-Limit" not in client.get("/api/v1/auth/me").headers


def test_an_offline_batch_counts_as_one_write_whatever_it_replays(limited):
    limited.headers["Authorization"] = "Bearer " + limited.post(
        "/api/v1/auth/login", json={"username": "admin", "password": PASSWORD}).json()["access_token"]
    operations = [{"id": f"op-{n}", "seq": n, "kind": "stock.receive",
                   "at": "2026-11-24T08:00:00+08:00",
                   "payload": {"sku": "SKU-1", "site": "WH", "qty": "1"}}
                  for n in range(1, 6)]
    answer = limited.post("/api/v1/offline/batch", json={"device": "pda-1", "operations": operations})
    assert answer.status_code == 200, answer.text
    assert len(answer.json()["results"]) == 5
    assert answer.headers["X-RateLimit-Remaining"] == "2"
