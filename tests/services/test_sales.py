"""Sales orders: reservation on confirm, shortage naming other sites, partial shipping, returns."""

from decimal import Decimal

import pytest

from cangliu.core.documents import IllegalTransition
from cangliu.core.errors import InsufficientStock, ValidationFailed
from cangliu.db.queries import single_view
from cangliu.services import masterdata, sales, stock
from cangliu.services.sales import LineQty, SalesLineIn
from cangliu.services.stock import Line
from cangliu.services.verify import verify


@pytest.fixture
def customer(db, network):
    masterdata.create(db.uow(), network, "customer", {"code": "C1", "name": "客户一"})
    sales.set_customer_price(db.uow(), network, customer="C1", sku="SKU-1", price="5")
    return "C1"


def _site(db, site, sku="SKU-1"):
    with db.read() as s:
        return {r["site"]: r for r in single_view(s, sku)["sites"]}[site]


def test_confirm_reserves_then_partial_shipments_leave_a_backorder(db, meta, customer):
    stock.receive(db.uow(), meta, site="WH", lines=[Line("SKU-1", "10")])
    so = sales.create_sale(db.uow(), meta, customer=customer, site="WH",
                           lines=[SalesLineIn("SKU-1", "6")], channel="online")
    assert (so["state"], so["total"], so["channel"]) == ("draft", "30.00", "online")
    confirmed = sales.confirm_sale(db.uow(), meta, number=so["number"])
    assert confirmed["lines"][0]["backorder_qty"] == "6"
    assert (_site(db, "WH")["reserved"], _site(db, "WH")["available"]) == (Decimal(6), Decimal(4))
    part = sales.ship_sale(db.uow(), meta, number=so["number"], lines=[LineQty(1, "4")])
    assert part["state"] == "partially_shipped" and part["lines"][0]["backorder_qty"] == "2"
    wh = _site(db, "WH")
    assert (wh["on_hand"], wh["reserved"], wh["available"]) == (Decimal(6), Decimal(2), Decimal(4))
    rest = sales.ship_sale(db.uow(), meta, number=so["number"])
    assert rest["state"] == "shipped" and _site(db, "WH")["on_hand"] == Decimal(4)
    assert verify(db.uow()).consistent


def test_a_shortage_lists_what_other_sites_have(db, meta, customer):
    stock.receive(db.uow(), meta, site="WH", lines=[Line("SKU-1", "40")])
    stock.receive(db.uow(), meta, site="S1", lines=[Line("SKU-1", "2")])
    so = sales.create_sale(db.uow(), meta, customer=customer, site="S1",
                           lines=[SalesLineIn("SKU-1", "5")])
    with pytest.raises(InsufficientStock) as err:
        sales.confirm_sale(db.uow(), meta, number=so["number"])
    assert str(err.value) == ("Insufficient stock of SKU-1 at S1: requested 5, available 2; "
                              "available elsewhere: WH 40")
    assert sales.get_sale(db.uow(), so["number"])["state"] == "draft"
    assert _site(db, "S1")["reserved"] == Decimal(0)


def test_shipping_more_than_ordered_is_refused(db, meta, customer):
    stock.receive(db.uow(), meta, site="WH", lines=[Line("SKU-1", "10")])
    so = sales.create_sale(db.uow(), meta, customer=customer, site="WH",
                           lines=[SalesLineIn("SKU-1", "3")])
    sales.confirm_sale(db.uow(), meta, number=so["number"])
    with pytest.raises(ValidationFailed) as err:
        sales.ship_sale(db.uow(), meta, number=so["number"], lines=[LineQty(1, "4")])
    assert err.value.errors[0].field == "lines[0].qty"
    assert _site(db, "WH")["on_hand"] == Decimal(10)


def test_cancel_and_close_release_reservations(db, meta, customer):
    stock.receive(db.uow(), meta, site="WH", lines=[Line("SKU-1", "10")])
    first = sales.create_sale(db.uow(), meta, customer=customer, site="WH",
                              lines=[SalesLineIn("SKU-1", "3")])
    sales.confirm_sale(db.uow(), meta, number=first["number"])
    sales.cancel_sale(db.uow(), meta, number=first["number"])
    assert _site(db, "WH")["reserved"] == Decimal(0)
    second = sales.create_sale(db.uow(), meta, customer=customer, site="WH",
                               lines=[SalesLineIn("SKU-1", "5")])
    sales.confirm_sale(db.uow(), meta, number=second["number"])
    sales.ship_sale(db.uow(), meta, number=second["number"], lines=[LineQty(1, "2")])
    closed = sales.close_sale(db.uow(), meta, number=second["number"])
    assert closed["state"] == "closed" and closed["lines"][0]["backorder_qty"] == "0"
    assert (_site(db, "WH")["reserved"], _site(db, "WH")["available"]) == (Decimal(0), Decimal(8))
    with pytest.raises(IllegalTransition):
        sales.ship_sale(db.uow(), meta, number=second["number"])
    assert verify(db.uow()).consistent


def test_returns_come_back_on_quality_hold_and_never_exceed_what_shipped(db, meta, customer):
    stock.receive(db.uow(), meta, site="WH", lines=[Line("SKU-1", "5")])
    so = sales.create_sale(db.uow(), meta, customer=customer, site="WH",
                           lines=[SalesLineIn("SKU-1", "3")])
    sales.confirm_sale(db.uow(), meta, number=so["number"])
    sales.ship_sale(db.uow(), meta, number=so["number"])
    returned = sales.return_sale(db.uow(), meta, number=so["number"], lines=[LineQty(1, "1")])
    assert returned["lines"][0]["returned_qty"] == "1"
    assert _site(db, "WH")["quality_hold"] == Decimal(1)
    with pytest.raises(ValidationFailed):
        sales.return_sale(db.uow(), meta, number=so["number"], lines=[LineQty(1, "3")])
    assert verify(db.uow()).consistent
