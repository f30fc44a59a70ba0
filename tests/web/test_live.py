"""Server-sent events against the real server: a commit reaches a connected client, a client
that lost the connection catches up with Last-Event-ID, each user sees only their scope."""

import json
from datetime import UTC, datetime

import httpx
import pytest

from cangliu.core.permissions import Actor, Grant
from cangliu.services.events import Event
from cangliu.web.sse import visible
from tests.conftest import PASSWORD
from tests.e2e.conftest import server  # noqa: F401  (the fixture: the app served by uvicorn)


def _client(base: str) -> httpx.Client:
    token = httpx.post(base + "/api/v1/auth/login", timeout=10,
                       json={"username": "admin", "password": PASSWORD}).json()["access_token"]
    return httpx.Client(base_url=base, timeout=httpx.Timeout(10.0),
                        headers={"Authorization": f"Bearer {token}"})


def _frames(response: httpx.Response, count: int) -> list[dict]:
    """The next ``count`` events of a stream (comments and the retry hint skipped)."""
    out: list[dict] = []
    frame: dict = {}
    for line in response.iter_lines():
        if line.startswith(("id:", "event:", "data:")):
            name, value = line.split(":", 1)
            frame[name] = value.strip()
        elif not line and "event" in frame:
            frame["data"] = json.loads(frame["data"])
            out.append(frame)
            frame = {}
            if len(out) == count:
                return out
    raise AssertionError(f"stream ended after {len(out)} events")


def _receive(client: httpx.Client, qty: str, site: str = "WH") -> None:
    answer = client.post("/api/v1/stock/receive", json={"sku": "SKU-1", "site": site, "qty": qty})
    assert answer.status_code in (200, 201), answer.text


def test_a_commit_reaches_a_connected_client(server):  # noqa: F811
    base, _db, _admin = server
    with _client(base) as poster, _client(base) as listener, \
            listener.stream("GET", "/events") as stream:
        assert stream.headers["content-type"].startswith("text/event-stream")
        _receive(poster, "3")
        [frame] = _frames(stream, 1)
    assert frame["event"] == "stock.changed"
    assert frame["data"]["lines"] == [{"sku": "SKU-1", "site": "WH"}]
    assert frame["data"]["operations"] == ["receive"]


def test_a_client_that_lost_the_connection_catches_up_from_its_last_event_id(server):  # noqa: F811
    base, _db, _admin = server
    with _client(base) as client:
        with client.stream("GET", "/events") as stream:
            _receive(client, "1")
            [first] = _frames(stream, 1)
        _receive(client, "2")  # committed while nobody listens
        _receive(client, "3", site="S1")
        with client.stream("GET", "/events", headers={"Last-Event-ID": first["id"]}) as again:
            missed = _frames(again, 2)
    assert [int(f["id"]) > int(first["id"]) for f in missed] == [True, True]
    assert [f["data"]["lines"][0]["site"] for f in missed] == ["WH", "S1"]


def test_the_stream_needs_a_login(server):  # noqa: F811
    base, _db, _admin = server
    assert httpx.get(base + "/events", timeout=5).status_code == 401


def _event(kind: str, payload: dict) -> Event:
    return Event(1, datetime.now(UTC), kind, payload)


def test_each_user_sees_only_the_events_of_their_scope():
    store = Actor(2, "store", grants=(Grant(frozenset({"stock.view", "alert.view"}),
                                            frozenset({7})),))
    change = _event("stock.changed", {"lines": [
        {"sku": "A", "site": "S1", "site_id": 7}, {"sku": "A", "site": "WH", "site_id": 3}],
        "postings": [{"operation": "transfer_ship"}]})
    assert visible(store, change) == {"lines": [{"sku": "A", "site": "S1"}],
                                      "operations": ["transfer_ship"]}
    assert visible(store, _event("stock.changed", {"lines": [
        {"sku": "A", "site": "WH", "site_id": 3}], "postings": []})) is None
    assert visible(store, _event("alert.opened", {"id": 1, "site_id": 3})) is None
    assert visible(store, _event("alert.opened", {"id": 1, "site_id": 7})) == {"id": 1}
    assert visible(store, _event("alert.opened", {"id": 1, "site_id": None})) is None
    assert visible(store, _event("record.changed", {"entity": "purchase_order"})) is None
    assert visible(store, _event("notification.created", {"users": [5]})) is None
    assert visible(store, _event("notification.created", {"users": [2]})) == {}


@pytest.mark.parametrize("path", ["/stock", "/stock/SKU-1", "/docs/purchase-orders", "/transfers"])
def test_live_pages_mark_their_live_regions_and_where_the_stream_starts(browser, path):
    html = browser.get(path).text
    assert 'data-live="' in html and "/static/js/live.js" in html
    assert 'data-live-after="' in html
