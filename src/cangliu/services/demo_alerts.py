"""The demo's alerting: the default rules, a webhook channel pointed at the built-in receiver and
named by the low-stock rule, then one store sale that takes a SKU below its safety stock. The
dispatcher raises the alert at once: the store's manager finds it in the inbox and on /alerts,
and the webhook delivery waits in the log until the server (which receives it) is running.

The history the demo posted beforehand is left out of alerting (its events are marked
dispatched) and one scan raises what the current state warrants, as a fresh install would."""

from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import select

from cangliu.core.permissions import Actor
from cangliu.db import queries
from cangliu.db.models import Alert
from cangliu.db.uow import Database
from cangliu.services import alerts, deliveries, events, sales, thresholds
from cangliu.services.alerts import rules
from cangliu.services.postings import Meta
from cangliu.services.sales import SalesLineIn

STORE = "ST-SH01"  # the demo store manager's store
CUSTOMER = "CUS-DEMO"
HOOK = "DEMO-HOOK"


def load(db: Database, admin: Actor, now: datetime, public_url: str) -> dict[str, Any]:
    rules.ensure_defaults(db.uow())
    deliveries.create_channel(db.uow(), admin, {
        "code": HOOK, "name": "演示 Webhook / demo webhook", "kind": "webhook",
        "url": public_url.rstrip("/") + "/api/v1/webhooks/echo", "events": ""})
    with db.read() as session:
        low = rules.get_rule(session, "low_stock")
    rules.update_rule(db.uow(), admin, "low_stock", {"channels": [HOOK]}, version=low["version"])
    events.skip_pending(db.uow(), "demo history: not evaluated")
    scanned = alerts.scan(db.uow())
    sale = _sale_below_safety_stock(db, admin, now)
    events.dispatch_all(db)
    with db.read() as session:
        opened = session.scalars(select(Alert).where(Alert.key == sale["key"],
                                                     Alert.state == "open")).first()
    return {"scan": scanned, **sale, "alert": opened.id if opened else None}


def _sale_below_safety_stock(db: Database, admin: Actor, now: datetime) -> dict[str, Any]:
    """Sell just enough of the store's SKU nearest above its safety stock to fall below it."""
    with db.read() as session:
        rows, _ = queries.network(session, queries.StockFilter(site=STORE), limit=500)
        levels = thresholds.by_code(session, now.date(), [(r["sku"], STORE) for r in rows])
    candidates = sorted(
        (r["available"] - levels[(r["sku"], STORE)].safety_stock, r["sku"]) for r in rows
        if (r["sku"], STORE) in levels and levels[(r["sku"], STORE)].safety_stock > 0
        and r["available"] > levels[(r["sku"], STORE)].safety_stock)
    if not candidates:
        return {"sku": None, "sold": "0", "order": None, "key": ""}
    margin, sku = candidates[0]
    qty = Decimal(int(margin) + 1)
    meta = Meta(actor=admin, reason="门店销售 / store sale")
    price = "9.90"
    sales.set_customer_price(db.uow(), admin, customer=CUSTOMER, sku=sku, price=price)
    number = sales.create_sale(db.uow(), meta, customer=CUSTOMER, site=STORE,
                               lines=[SalesLineIn(sku, qty, price)])["number"]
    sales.confirm_sale(db.uow(), meta, number=number)
    sales.ship_sale(db.uow(), meta, number=number)
    return {"sku": sku, "sold": str(qty), "order": number, "key": f"{sku}@{STORE}"}
