"""Purchase orders: price list defaults, on order, partial and repeated receipts, tolerance, QC hold."""

from decimal import Decimal

import pytest

from cangliu.core.documents import IllegalTransition
from cangliu.core.errors import ValidationFailed
from cangliu.db.models import Setting
from cangliu.db.queries import single_view
from cangliu.services import masterdata, purchasing
from cangliu.services.purchasing import PurchaseLineIn, ReceiptIn
from cangliu.services.verify import verify


@pytest.fixture
def supplier(db, network):
    masterdata.create(db.uow(), network, "supplier", {"code": "SUP-1", "name": "供应商一"})
    purchasing.set_supplier_price(db.uow(), network, supplier="SUP-1", sku="SKU-1", price="2.50")
    return "SUP-1"


def _wh(db, sku="SKU-1"):
    with db.read() as s:
        return {r["site"]: r for r in single_view(s, sku)["sites"]}.get("WH")


def _approved(db, meta, supplier, qty="10", **kw):
    po = purchasing.create_purchase(db.uow(), meta, supplier=supplier, site="WH",
                                    lines=[PurchaseLineIn("SKU-1", qty)], **kw)
    return purchasing.submit_purchase(db.uow(), meta, number=po["number"])


def test_open_purchase_quantities_show_as_on_order_until_received(db, meta, supplier):
    draft = purchasing.create_purchase(db.uow(), meta, supplier=supplier, site="WH",
                                       lines=[PurchaseLineIn("SKU-1", "10")])
    assert draft["lines"][0]["price"] == "2.5" and draft["total"] == "25.00"
    assert _wh(db) is None  # a draft is not on order yet
    po = purchasing.submit_purchase(db.uow(), meta, number=draft["number"])
    assert po["state"] == "approved" and _wh(db)["on_order"] == Decimal(10)
    part = purchasing.receive_purchase(db.uow(), meta, number=po["number"],
                                       lines=[ReceiptIn(1, "4")])
    assert part["state"] == "partially_received"
    wh = _wh(db)
    assert (wh["available"], wh["on_order"]) == (Decimal(4), Decimal(6))
    done = purchasing.receive_purchase(db.uow(), meta, number=po["number"],
                                       lines=[ReceiptIn(1, "6")])
    assert done["state"] == "received" and _wh(db)["on_order"] == Decimal(0)
    assert purchasing.close_purchase(db.uow(), meta, number=po["number"])["state"] == "closed"
    assert verify(db.uow()).consistent


def test_receiving_beyond_the_tolerance_is_refused_and_writes_nothing(db, meta, supplier):
    po = _approved(db, meta, supplier, "10")
    with pytest.raises(ValidationFailed) as err:
        purchasing.receive_purchase(db.uow(), meta, number=po["number"], lines=[ReceiptIn(1, "11")])
    assert err.value.errors[0].field == "lines[0].qty"
    assert _wh(db)["on_hand"] == Decimal(0)
    with db.uow() as uow:
        uow.session.add(Setting(key=purchasing.TOLERANCE_SETTING, value="10"))
        uow.commit()
    ok = purchasing.receive_purchase(db.uow(), meta, number=po["number"], lines=[ReceiptIn(1, "11")])
    assert ok["state"] == "received" and ok["lines"][0]["received_qty"] == "11"


def test_skus_needing_inspection_arrive_on_quality_hold(db, meta, supplier, network):
    masterdata.update_record(db.uow(), network, "sku", "SKU-1", 1, {"inspection": True})
    po = _approved(db, meta, supplier, "5")
    purchasing.receive_purchase(db.uow(), meta, number=po["number"], lines=[ReceiptIn(1, "5")])
    wh = _wh(db)
    assert (wh["available"], wh["quality_hold"]) == (Decimal(0), Decimal(5))


def test_foreign_currency_needs_a_rate_and_costs_in_base_currency(db, meta, supplier):
    with pytest.raises(ValidationFailed) as err:
        purchasing.create_purchase(db.uow(), meta, supplier=supplier, site="WH", currency="USD",
                                   lines=[PurchaseLineIn("SKU-1", "1", "3")])
    assert err.value.errors[0].field == "rate"
    po = purchasing.create_purchase(db.uow(), meta, supplier=supplier, site="WH", currency="USD",
                                    rate="7.1", lines=[PurchaseLineIn("SKU-1", "2", "3")])
    assert (po["total"], po["total_base"]) == ("6.00", "42.60")


def test_a_line_without_a_listed_price_needs_one(db, meta, supplier):
    with pytest.raises(ValidationFailed) as err:
        purchasing.create_purchase(db.uow(), meta, supplier=supplier, site="WH",
                                   lines=[PurchaseLineIn("SKU-KG", "1")])
    assert err.value.errors[0].field == "lines[0].price"


def test_cancelled_orders_take_no_receipts(db, meta, supplier):
    po = _approved(db, meta, supplier)
    purchasing.cancel_purchase(db.uow(), meta, number=po["number"])
    with pytest.raises(IllegalTransition):
        purchasing.receive_purchase(db.uow(), meta, number=po["number"], lines=[ReceiptIn(1, "1")])
    assert _wh(db) is None
