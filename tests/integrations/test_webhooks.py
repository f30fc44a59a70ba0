"""Webhooks against a local HTTP receiver started by the test: the JSON body is signed as the
module documents, a failing receiver is retried after the backoff and then takes it, an
unreachable endpoint is retried and logged until the delivery is dead, and a redelivery sends
it again once the endpoint is fixed."""

import hashlib
import hmac
import json
import socket
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from cangliu.config import Settings
from cangliu.db.uow import Database
from cangliu.integrations import outbound
from cangliu.services import deliveries
from tests.services.test_deliveries import fan

T0 = datetime(2026, 11, 24, 8, 0, tzinfo=UTC)


class Receiver:
    """An HTTP endpoint on 127.0.0.1: records each request and answers the next scripted
    (status, JSON) pair, then 200 with ``{"errcode": 0}``."""

    def __init__(self) -> None:
        self.requests: list[dict[str, Any]] = []
        self.answers: list[tuple[int, dict[str, Any]]] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                raw = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                receiver.requests.append({"path": self.path, "headers": dict(self.headers),
                                          "raw": raw, "json": json.loads(raw)})
                status, answer = receiver.answers.pop(0) if receiver.answers else (200, {"errcode": 0})
                body = json.dumps(answer).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    running = Receiver()
    yield running
    running.close()


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


SETTINGS = Settings(public_url="https://cangliu.example.com", outbound_allowed_hosts="loopback")


def log(db: Database) -> list[dict[str, Any]]:
    with db.read() as session:
        return deliveries.list_deliveries(session)["items"]


def test_a_webhook_post_carries_the_event_and_a_signature_the_receiver_can_check(db, admin, receiver):
    made = deliveries.create_channel(db.uow(), admin, {
        "code": "erp", "name": "ERP", "kind": "webhook", "url": receiver.url + "/hook",
        "events": "stock.changed"})
    event_id = fan(db, "stock.changed", {"lines": [{"sku": "SKU-1", "site": "S1"}]})
    assert outbound.send_due(db, SETTINGS, now=T0) == 1
    (got,) = receiver.requests
    headers, raw = got["headers"], got["raw"]
    expected = hmac.new(made["secret"].encode(), headers["X-Cangliu-Timestamp"].encode() + b"." + raw,
                        hashlib.sha256).hexdigest()
    assert headers["X-Cangliu-Signature"] == "sha256=" + expected
    assert headers["X-Cangliu-Event"] == "stock.changed"
    assert headers["X-Cangliu-Timestamp"] == str(int(T0.timestamp()))
    body = got["json"]
    assert (body["event"], body["event_id"], body["id"]) == ("stock.changed", event_id,
                                                             int(headers["X-Cangliu-Delivery"]))
    assert body["data"]["lines"][0]["sku"] == "SKU-1" and got["path"] == "/hook"
    assert [(d["state"], d["attempts"], d["last_status"]) for d in log(db)] == [("sent", 1, 200)]
    assert outbound.send_due(db, SETTINGS, now=T0 + timedelta(hours=2)) == 0  # sent once


def test_a_receiver_failing_once_gets_the_delivery_after_the_backoff(db, admin, receiver):
    deliveries.create_channel(db.uow(), admin, {"code": "erp", "name": "ERP", "kind": "webhook",
                                                "url": receiver.url, "events": "*"})
    fan(db, "record.changed", {"entity": "sku", "key": "SKU-1", "action": "update"})
    receiver.answers.append((500, {"error": "busy"}))
    assert outbound.send_due(db, SETTINGS, now=T0) == 1
    (failed,) = log(db)
    assert (failed["state"], failed["attempts"], failed["last_status"]) == ("pending", 1, 500)
    assert "busy" in failed["last_error"] and failed["next_at"] == T0 + timedelta(seconds=30)
    assert outbound.send_due(db, SETTINGS, now=T0 + timedelta(seconds=29)) == 0
    assert outbound.send_due(db, SETTINGS, now=T0 + timedelta(seconds=30)) == 1
    assert [(d["state"], d["attempts"]) for d in log(db)] == [("sent", 2)]
    first, second = receiver.requests
    assert first["headers"]["X-Cangliu-Delivery"] == second["headers"]["X-Cangliu-Delivery"]


def test_an_unreachable_endpoint_is_retried_until_dead_and_redelivered_once_fixed(db, admin, receiver):
    made = deliveries.create_channel(db.uow(), admin, {
        "code": "erp", "name": "ERP", "kind": "webhook",
        "url": f"http://127.0.0.1:{closed_port()}/hook", "events": "stock.changed"})
    fan(db, "stock.changed", {"lines": []})
    now = T0
    for _ in range(deliveries.MAX_ATTEMPTS):
        assert outbound.send_due(db, SETTINGS, now=now) == 1
        (entry,) = log(db)
        assert entry["last_status"] is None and "Connect" in entry["last_error"]
        now = entry["next_at"]
    assert (entry["state"], entry["attempts"]) == ("dead", deliveries.MAX_ATTEMPTS)
    assert outbound.send_due(db, SETTINGS, now=now + timedelta(days=1)) == 0
    deliveries.update_channel(db.uow(), admin, "erp", {"url": receiver.url},
                              version=made["version"])
    deliveries.redeliver(db.uow(clock=lambda: now), admin, entry["id"])
    assert outbound.send_due(db, SETTINGS, now=now) == 1
    assert [(d["state"], d["attempts"]) for d in log(db)] == [("sent", 1)]
    assert len(receiver.requests) == 1
