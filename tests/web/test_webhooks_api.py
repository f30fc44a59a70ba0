"""Webhook subscriptions over the API: a view over channels of kind "webhook"."""

import pytest
from fastapi.testclient import TestClient

from cangliu.core.signatures import webhook_signature
from cangliu.integrations import webhooks as sender
from cangliu.services import auth
from tests.conftest import PASSWORD


@pytest.fixture
def hook(api):
    answer = api.post("/api/v1/webhooks", json={"code": "erp", "url": "https://erp.example.com/hook",
                                                "events": ["stock.changed", "alert.*"]})
    assert answer.status_code == 201
    return answer.json()


def test_subscribing_answers_the_generated_secret_once(api, hook):
    assert hook["events"] == ["stock.changed", "alert.*"] and hook["active"] is True
    assert hook["name"] == "erp" and hook["has_secret"] and len(hook["secret"]) >= 32
    shown = api.get("/api/v1/webhooks/erp").json()
    assert shown["secret"] is None and shown["has_secret"]
    assert [w["code"] for w in api.get("/api/v1/webhooks").json()["items"]] == ["erp"]


def test_a_secret_you_choose_is_never_answered(api):
    answer = api.post("/api/v1/webhooks", json={"code": "mine", "url": "https://x.example/h",
                                                "events": ["*"], "secret": "s3cret-of-my-own"})
    assert answer.status_code == 201 and answer.json()["secret"] is None


def test_other_channels_are_not_webhooks(api):
    api.post("/api/v1/channels", json={"code": "robot", "name": "群", "kind": "wecom",
                                       "url": "https://qyapi.example/send?key=k"})
    assert api.get("/api/v1/webhooks").json()["items"] == []
    assert api.get("/api/v1/webhooks/robot").status_code == 404
    assert api.delete("/api/v1/webhooks/robot").status_code == 404
    assert api.get("/api/v1/channels/robot").status_code == 200


def test_unknown_event_kinds_are_refused_by_field(api):
    answer = api.post("/api/v1/webhooks", json={"code": "bad", "url": "https://x.example/h",
                                                "events": ["stock.exploded"]})
    assert answer.status_code == 422
    assert answer.json()["errors"][0]["field"] == "events"


def test_updating_needs_the_current_version(api, hook):
    changed = api.put("/api/v1/webhooks/erp", json={"version": 1, "active": False,
                                                    "events": ["*"]})
    assert changed.status_code == 200
    assert changed.json()["active"] is False and changed.json()["version"] == 2
    assert changed.json()["secret"] is None
    stale = api.put("/api/v1/webhooks/erp", json={"version": 1, "url": "https://y.example/h"})
    assert stale.status_code == 409 and stale.json()["current_version"] == 2


def test_clearing_the_secret_generates_a_new_one_answered_once(api, hook):
    answer = api.put("/api/v1/webhooks/erp", json={"version": 1, "secret": ""}).json()
    assert answer["secret"] and answer["secret"] != hook["secret"]


def test_a_test_delivery_is_queued_signed_and_listed(api, hook):
    queued = api.post("/api/v1/webhooks/erp/test")
    assert queued.status_code == 202
    assert queued.json()["kind"] == "test" and queued.json()["state"] == "pending"
    listed = api.get("/api/v1/webhooks/erp/deliveries").json()
    assert [d["id"] for d in listed["items"]] == [queued.json()["id"]]
    assert listed["next_cursor"] is None
    content = sender.body(queued.json()["id"], "test", None, "2026-11-24T00:00:00+00:00", {})
    assert webhook_signature(hook["secret"], "1700000000", content).startswith("sha256=")


def test_deliveries_page_with_a_cursor(api, hook):
    ids = [api.post("/api/v1/webhooks/erp/test").json()["id"] for _ in range(3)]
    first = api.get("/api/v1/webhooks/erp/deliveries", params={"limit": 2}).json()
    assert [d["id"] for d in first["items"]] == ids[:0:-1]
    rest = api.get("/api/v1/webhooks/erp/deliveries",
                   params={"limit": 2, "cursor": first["next_cursor"]}).json()
    assert [d["id"] for d in rest["items"]] == [ids[0]] and rest["next_cursor"] is None


def test_unsubscribing_deletes_the_webhook(api, hook):
    assert api.delete("/api/v1/webhooks/erp").status_code == 204
    assert api.get("/api/v1/webhooks/erp").status_code == 404


def test_viewers_need_settings_view_and_editors_settings_edit(app, db, api):
    auth.create_user(db.uow(), username="clerk", password=PASSWORD)
    with TestClient(app) as clerk:
        token = clerk.post("/api/v1/auth/login", json={"username": "clerk", "password": PASSWORD})
        clerk.headers["Authorization"] = f"Bearer {token.json()['access_token']}"
        assert clerk.get("/api/v1/webhooks").status_code == 403
        assert clerk.post("/api/v1/webhooks", json={"code": "x", "url": "https://x.example/h",
                                                    "events": ["*"]}).status_code == 403
