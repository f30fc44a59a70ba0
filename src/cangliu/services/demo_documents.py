"""Demo documents in every state: purchase orders (one with a supplier return), sales orders,
transfers and a stock count."""

from collections.abc import Callable
from functools import partial
from typing import Any

from cangliu.core.permissions import Actor
from cangliu.db.uow import Database
from cangliu.services import counts, masterdata, purchasing, sales, transfers
from cangliu.services.counts import CountIn
from cangliu.services.demo_approvals import sign_off
from cangliu.services.postings import Meta
from cangliu.services.purchasing import PurchaseLineIn, ReceiptIn, ReturnIn
from cangliu.services.sales import LineQty, SalesLineIn
from cangliu.services.transfers import ReceiptLineIn, TransferLineIn

DEMO_SKUS = (1, 4, 7)


def load_documents(db: Database, actor: Actor) -> int:
    """A few documents per type, each left in a different state; returns how many."""
    meta = Meta(actor, reason="演示 / demo")
    # SKU-0001/0004/0007 are neither lot- nor serial-tracked in the demo catalogue.
    for n in DEMO_SKUS:
        purchasing.set_supplier_price(db.uow(), actor, supplier="SUP-01", sku=f"SKU-{n:04d}",
                                      price=f"{3 + n}.50")
    masterdata.create(db.uow(), actor, "customer", {"code": "CUS-DEMO", "name": "演示批发客户",
                                                     "channel": "wholesale"})
    for n in DEMO_SKUS:
        sales.set_customer_price(db.uow(), actor, customer="CUS-DEMO", sku=f"SKU-{n:04d}",
                                 price=f"{9 + n}.90")
    return _purchases(db, meta) + _sales(db, meta) + _transfers(db, meta) + _counts(db, meta)


def _counts(db: Database, meta: Meta) -> int:
    """A count per state: still counting, in review (one line counted 1), posted, cancelled."""
    steps: dict[str, list[Callable[[str], Any]]] = {
        "ST-SH02": [],
        "ST-SH01": [lambda n: _count_first_line(db, meta, n),
                    lambda n: counts.submit_count(db.uow(), meta, number=n)],
        "ST-HZ01": [lambda n: _count_first_line(db, meta, n),
                    lambda n: counts.submit_count(db.uow(), meta, number=n),
                    lambda n: counts.post_count(db.uow(), meta, number=n)],
        "ST-NJ01": [lambda n: counts.cancel_count(db.uow(), meta, number=n)],
    }
    for site, then in steps.items():
        _steps(partial(counts.start_count, db.uow(), meta, site=site), then)
    return len(steps)


def _count_first_line(db: Database, meta: Meta, number: str) -> None:
    first = counts.get_count(db.uow(), number)["lines"][0]
    counts.record_counts(db.uow(), meta, number=number,
                         entries=[CountIn(first["sku"], "1", first["location"], first["lot"])])


def _steps(make: Callable[[], dict[str, Any]], steps: list[Callable[[str], Any]]) -> None:
    number = make()["number"]
    for step in steps:
        step(number)


def _purchases(db: Database, meta: Meta) -> int:
    def new() -> dict[str, Any]:
        return purchasing.create_purchase(db.uow(), meta, supplier="SUP-01", site="WH-CENTRAL",
                                          lines=[PurchaseLineIn("SKU-0001", "100"),
                                                 PurchaseLineIn("SKU-0004", "60")])

    def submit(n: str) -> Any:
        return purchasing.submit_purchase(db.uow(), meta, number=n)

    def receive_part(n: str) -> Any:
        return purchasing.receive_purchase(db.uow(), meta, number=n, lines=[ReceiptIn(1, "40")])

    def receive_rest(n: str) -> Any:
        return purchasing.receive_purchase(db.uow(), meta, number=n,
                                           lines=[ReceiptIn(1, "60"), ReceiptIn(2, "60")])

    def give_back(n: str) -> Any:
        return purchasing.return_purchase(db.uow(), meta, number=n, lines=[
            ReturnIn(2, "5", reason="包装破损 / damaged packaging")])

    plans: list[list[Callable[[str], Any]]] = [
        [], [submit], [submit, receive_part], [submit, receive_part, receive_rest],
        [submit, receive_part, receive_rest,
         lambda n: purchasing.close_purchase(db.uow(), meta, number=n)],
        [lambda n: purchasing.cancel_purchase(db.uow(), meta, number=n)],
        [submit, receive_part, receive_rest, give_back]]
    for plan in plans:
        _steps(new, plan)
    return len(plans)


def _sales(db: Database, meta: Meta) -> int:
    def new() -> dict[str, Any]:
        return sales.create_sale(db.uow(), meta, customer="CUS-DEMO", site="WH-CENTRAL",
                                 channel="wholesale", lines=[SalesLineIn("SKU-0001", "5")])

    def confirm(n: str) -> Any:
        return sales.confirm_sale(db.uow(), meta, number=n)

    def ship_part(n: str) -> Any:
        return sales.ship_sale(db.uow(), meta, number=n, lines=[LineQty(1, "2")])

    def ship_rest(n: str) -> Any:
        return sales.ship_sale(db.uow(), meta, number=n)

    plans: list[list[Callable[[str], Any]]] = [
        [], [confirm], [confirm, ship_part], [confirm, ship_part, ship_rest],
        [confirm, ship_rest, lambda n: sales.return_sale(db.uow(), meta, number=n,
                                                         lines=[LineQty(1, "1")]),
         lambda n: sales.close_sale(db.uow(), meta, number=n)],
        [confirm, lambda n: sales.cancel_sale(db.uow(), meta, number=n)]]
    for plan in plans:
        _steps(new, plan)
    return len(plans)


def _transfers(db: Database, meta: Meta) -> int:
    def new() -> dict[str, Any]:
        return transfers.create_transfer(db.uow(), meta, source="WH-CENTRAL", dest="WH-SOUTH",
                                         lines=[TransferLineIn("SKU-0001", "10")])

    def submit(n: str) -> Any:
        transfers.submit_transfer(db.uow(), meta, number=n)  # 华东 → 华南: approval needed
        sign_off(db, meta.actor, "transfer", n)

    def ship(n: str) -> Any:
        return transfers.ship_transfer(db.uow(), meta, number=n)

    def receive_part(n: str) -> Any:
        return transfers.receive_transfer(db.uow(), meta, number=n,
                                          lines=[ReceiptLineIn(1, received="6", damaged="1")])

    def receive_rest(n: str) -> Any:
        return transfers.receive_transfer(db.uow(), meta, number=n,
                                          lines=[ReceiptLineIn(1, received="2", shortage="1")])

    plans: list[list[Callable[[str], Any]]] = [
        [], [submit], [submit, ship], [submit, ship, receive_part],
        [submit, ship, receive_part, receive_rest],
        [submit, ship, receive_part, receive_rest,
         lambda n: transfers.close_transfer(db.uow(), meta, number=n)],
        [submit, ship, lambda n: transfers.cancel_transfer(db.uow(), meta, number=n)]]
    for plan in plans:
        _steps(new, plan)
    return len(plans)
