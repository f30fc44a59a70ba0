"""Receivables and payables: booked by shipments and receipts, settled by payments, aged."""

from datetime import UTC, date, datetime

import pytest

from cangliu.core.errors import ValidationFailed
from cangliu.services import accounts, masterdata, purchasing, sales, stock
from cangliu.services.accounts import AllocationIn
from cangliu.services.postings import Meta
from cangliu.services.purchasing import PurchaseLineIn, ReceiptIn
from cangliu.services.sales import SalesLineIn
from cangliu.services.stock import Line


def _ship(db, meta, qty, price, on):
    dated = Meta(meta.actor, occurred_at=datetime.combine(on, datetime.min.time(), UTC))
    so = sales.create_sale(db.uow(), meta, customer="C1", site="WH",
                           lines=[SalesLineIn("SKU-1", qty, price)])
    sales.confirm_sale(db.uow(), meta, number=so["number"])
    sales.ship_sale(db.uow(), dated, number=so["number"])
    return so["number"]


@pytest.fixture
def trade(db, meta, network):
    masterdata.create(db.uow(), network, "customer", {"code": "C1", "name": "客户"})
    masterdata.create(db.uow(), network, "supplier", {"code": "SUP-1", "name": "供应商"})
    stock.receive(db.uow(), meta, site="WH", lines=[Line("SKU-1", "100")])
    return meta


def test_shipments_become_receivables_that_payments_settle_oldest_first(db, trade):
    first = _ship(db, trade, "2", "10", date(2026, 8, 1))   # 20.00, 114 days old on Nov 23
    second = _ship(db, trade, "3", "10", date(2026, 10, 1))  # 30.00, 53 days old
    third = _ship(db, trade, "1", "10", date(2026, 11, 20))  # 10.00, 3 days old
    with db.read() as s:
        aged = accounts.aging(s, kind="receivable", as_of=date(2026, 11, 23))
    assert aged == [{"partner": "C1", "0-30": "10.00", "31-60": "30.00", "61-90": "0.00",
                     "90+": "20.00", "total": "60.00"}]
    paid = accounts.record_payment(db.uow(), trade, kind="receivable", partner="C1", amount="35",
                                   paid_on=date(2026, 11, 22))
    assert paid["number"] == "RC-20261122-0001"
    assert paid["allocated"] == [{"document_number": first, "amount": "20.00"},
                                 {"document_number": second, "amount": "15.00"}]
    with db.read() as s:
        aged = accounts.aging(s, kind="receivable", as_of=date(2026, 11, 23))
        sheet = accounts.statement(s, kind="receivable", partner="C1", start=date(2026, 10, 1),
                                   end=date(2026, 11, 30))
    assert aged[0]["total"] == "25.00" and aged[0]["90+"] == "0.00"
    assert (sheet["opening"], sheet["closing"]) == ("20.00", "25.00")
    assert [ln["document"] for ln in sheet["lines"]] == [second, third, paid["number"]]


def test_receipts_become_payables_in_the_base_currency(db, trade):
    po = purchasing.create_purchase(db.uow(), trade, supplier="SUP-1", site="WH", currency="USD",
                                    rate="7", lines=[PurchaseLineIn("SKU-1", "4", "2.5")])
    purchasing.submit_purchase(db.uow(), trade, number=po["number"])
    purchasing.receive_purchase(db.uow(), trade, number=po["number"], lines=[ReceiptIn(1, "4")])
    with db.read() as s:
        aged = accounts.aging(s, kind="payable", as_of=datetime.now(UTC).date())
    assert aged[0]["partner"] == "SUP-1" and aged[0]["total"] == "70.00"
    with pytest.raises(ValidationFailed) as err:
        accounts.record_payment(db.uow(), trade, kind="payable", partner="SUP-1", amount="80",
                                paid_on=date(2026, 11, 23),
                                allocations=[AllocationIn(po["number"], "80")])
    assert err.value.errors[0].field == "allocations[0].amount"
    paid = accounts.record_payment(db.uow(), trade, kind="payable", partner="SUP-1", amount="10",
                                   currency="USD", rate="7", paid_on=date(2026, 11, 23))
    assert (paid["amount_base"], paid["unallocated"]) == ("70.00", "0.00")


def test_a_payment_from_an_unknown_partner_is_refused(db, trade):
    with pytest.raises(ValidationFailed) as err:
        accounts.record_payment(db.uow(), trade, kind="receivable", partner="NOPE", amount="1",
                                paid_on=date(2026, 11, 23))
    assert err.value.errors[0].field == "partner"
