"""The built-in webhook receiver against the real server: a delivery signed by its channel is
accepted, so a channel pointed at the echo shows 'sent'; a forged or stale message is refused."""

import time

import httpx

from cangliu.config import Settings
from cangliu.core.signatures import webhook_signature
from cangliu.db.models import Delivery
from cangliu.integrations import outbound
from cangliu.services import deliveries, events, stock
from cangliu.services.postings import Meta
from cangliu.services.stock import Line
from tests.e2e.conftest import server  # noqa: F401  (the app served by uvicorn)


def test_a_channel_pointed_at_the_echo_delivers_signed_events(server):  # noqa: F811
    base, db, admin = server
    deliveries.create_channel(db.uow(), admin, {
        "code": "ECHO", "name": "回显", "kind": "webhook", "url": f"{base}/api/v1/webhooks/echo",
        "events": "stock.changed"})
    stock.receive(db.uow(), Meta(admin), site="WH", lines=[Line("SKU-1", 2)])
    events.dispatch_all(db)
    assert outbound.send_due(db, Settings(database_url=db.url, public_url=base)) == 1
    with db.read() as session:
        [row] = session.query(Delivery).all()
    assert (row.state, row.last_status, row.attempts) == ("sent", 200, 1)


def test_the_echo_refuses_a_forged_or_stale_signature(server):  # noqa: F811
    base, db, admin = server
    made = deliveries.create_channel(db.uow(), admin, {
        "code": "ECHO", "name": "回显", "kind": "webhook", "url": f"{base}/api/v1/webhooks/echo",
        "events": "stock.changed"})
    stock.receive(db.uow(), Meta(admin), site="WH", lines=[Line("SKU-1", 2)])
    events.dispatch_all(db)
    with db.read() as session:
        [row] = session.query(Delivery).all()
    body = b'{"id": 1}'

    def post(secret: str, at: int) -> int:
        stamp = str(at)
        return httpx.post(f"{base}/api/v1/webhooks/echo", content=body, timeout=5, headers={
            "X-Cangliu-Delivery": str(row.id), "X-Cangliu-Timestamp": stamp,
            "X-Cangliu-Signature": webhook_signature(secret, stamp, body)}).status_code

    now = int(time.time())
    assert post(made["secret"], now) == 200
    assert post("not-the-secret", now) == 401
    assert post(made["secret"], now - 3600) == 401
