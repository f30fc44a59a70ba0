"""Serials moving with the documents: a purchase receipt binds them in stock, a transfer puts
them on the road and checks the arrival against the shipped list, a sale binds the customer, a
return brings them back; a wrong serial is refused and named and nothing is written."""

import pytest
from sqlalchemy import func, select

from cangliu.core.errors import Conflict, ValidationFailed
from cangliu.core.serials import gs1
from cangliu.core.serials.checkdigits import check_character
from cangliu.db.models import Serial, SerialEvent, Setting, StockMove
from cangliu.services import masterdata, purchasing, sales, serials, transfers
from cangliu.services.postings import Meta
from cangliu.services.purchasing import PurchaseLineIn, ReceiptIn
from cangliu.services.sales import LineQty, SalesLineIn, ShipLine
from cangliu.services.serial_binding import CAPTURE, REGISTER
from cangliu.services.transfers import ReceiptLineIn, ShipSerialsIn, TransferLineIn
from tests.races import race, workers

GTIN = "690000000005" + check_character("gs1", "690000000005")


@pytest.fixture
def phones(db, network):
    """PHONE (serial-tracked) with a supplier and a customer price, and six generated serials."""
    masterdata.create(db.uow(), network, "sku", {"code": "PHONE", "name": "手机",
                                                  "tracking": "serial", "barcodes": [GTIN]})
    masterdata.create(db.uow(), network, "sku", {"code": "TABLET", "name": "平板",
                                                  "tracking": "serial"})
    masterdata.create(db.uow(), network, "supplier", {"code": "SUP", "name": "供应商"})
    masterdata.create(db.uow(), network, "customer", {"code": "C1", "name": "客户一"})
    for sku in ("PHONE", "TABLET"):
        purchasing.set_supplier_price(db.uow(), network, supplier="SUP", sku=sku, price="100")
        sales.set_customer_price(db.uow(), network, customer="C1", sku=sku, price="150")
    return serials.generate(db.uow(), network, sku="PHONE", count=6)["codes"]


def _meta(network) -> Meta:  # type: ignore[no-untyped-def]
    return Meta(actor=network.__class__(**{**vars(network), "device": "PDA-7"}), reason="test")


def _setting(db, key: str, value: str) -> None:  # type: ignore[no-untyped-def]
    with db.uow() as uow:
        uow.session.add(Setting(key=key, value=value))
        uow.commit()


def _po(db, meta, qty="4", sku="PHONE"):  # type: ignore[no-untyped-def]
    po = purchasing.create_purchase(db.uow(), meta, supplier="SUP", site="WH",
                                    lines=[PurchaseLineIn(sku, qty)])
    return purchasing.submit_purchase(db.uow(), meta, number=po["number"])["number"]


def _serial(db, code: str) -> dict:  # type: ignore[type-arg, no-untyped-def]
    with db.read() as s:
        return serials.get_serial(s, code)


def _events(db) -> int:  # type: ignore[no-untyped-def]
    with db.read() as s:
        return s.scalar(select(func.count()).select_from(SerialEvent))


def _errors(failed) -> dict[str, dict[str, str]]:  # type: ignore[no-untyped-def]
    found: dict[str, dict[str, str]] = {}
    for e in failed.value.errors:  # the first problem of each field
        found.setdefault(e.field, {"message": e.message, **e.params})
    return found


def test_a_unit_is_followed_from_receipt_through_transfer_sale_and_return(db, network, phones):
    meta = _meta(network)
    a, b, c, d = phones[:4]
    number = _po(db, meta)
    received = purchasing.receive_purchase(db.uow(), meta, number=number, lines=[
        ReceiptIn(1, "4", bin="WH-A1", serials=[a, b, c, d])])
    assert received["lines"][0]["serials"] == [a, b, c, d]
    unit = _serial(db, a)
    assert (unit["status"], unit["site"], unit["location"], unit["purchase_order"]) == (
        "in_stock", "WH", "WH-A1", number)
    event = unit["events"][-1]
    assert (event["kind"], event["operator"], event["device"], event["document_type"],
            event["document_number"], event["site"]) == (
        "received", "admin", "PDA-7", "purchase_order", number, "WH")
    with db.read() as s:
        assert sorted(s.scalars(select(StockMove.serial).where(
            StockMove.document_number == number))) == sorted([a, b, c, d])

    # Transfer of three units: one shipped unit is not scanned, one unscanned-for unit shows up.
    order = transfers.create_transfer(db.uow(), meta, source="WH", dest="S1",
                                      lines=[TransferLineIn("PHONE", "3")])
    transfers.submit_transfer(db.uow(), meta, number=order["number"])
    shipped = transfers.ship_transfer(db.uow(), meta, number=order["number"],
                                      lines=[ShipSerialsIn(1, [a, b, c])])
    assert shipped["lines"][0]["serials"] == [a, b, c]
    assert (_serial(db, b)["status"], _serial(db, b)["events"][-1]["kind"]) == (
        "in_transit", "transfer_out")
    arrived = transfers.receive_transfer(db.uow(), meta, number=order["number"], lines=[
        ReceiptLineIn(1, received="2", shortage="1", serials=[a, d])])
    assert arrived["serials_missing"] == [{"line_no": 1, "serials": [b, c]}]
    assert arrived["serials_extra"] == [{"line_no": 1, "serials": [d]}]
    assert arrived["lines"][0]["received_serials"] == [a]
    assert (_serial(db, a)["status"], _serial(db, a)["site"]) == ("in_stock", "S1")
    assert (_serial(db, d)["status"], _serial(db, d)["site"]) == ("in_stock", "WH")
    with db.read() as s:  # the ledger names the shipped unit that arrived, not the extra one
        assert sorted(s.execute(select(StockMove.serial, StockMove.qty).where(
            StockMove.document_number == order["number"], StockMove.operation ==
            "transfer_receive")).tuples(), key=str) == sorted([(a, 1), (None, 1), (None, 1)],
                                                               key=str)

    # Sold at S1 to C1, then returned.
    so = sales.create_sale(db.uow(), meta, customer="C1", site="S1",
                           lines=[SalesLineIn("PHONE", "1")])
    sales.confirm_sale(db.uow(), meta, number=so["number"])
    sold = sales.ship_sale(db.uow(), meta, number=so["number"],
                           lines=[ShipLine(1, "1", serials=[a])])
    assert sold["lines"][0]["serials"] == [a]
    unit = _serial(db, a)
    assert (unit["status"], unit["customer"], unit["sales_order"], unit["site"]) == (
        "sold", "C1", so["number"], None)
    back = sales.return_sale(db.uow(), meta, number=so["number"],
                             lines=[LineQty(1, "1", serials=[a])])
    assert back["lines"][0]["returned_serials"] == [a]
    unit = _serial(db, a)
    assert (unit["status"], unit["site"]) == ("returned", "S1")
    assert [ev["kind"] for ev in unit["events"]] == [
        "generated", "received", "transfer_out", "transfer_in", "shipped", "returned"]
    with db.read() as s:
        assert list(s.scalars(select(StockMove.serial).where(
            StockMove.document_number == so["number"]).order_by(StockMove.id))) == [a, a]


def test_a_shipment_refuses_serials_of_another_sku_site_or_state_naming_each(db, network, phones):
    meta = _meta(network)
    a, b, c, d = phones[:4]
    purchasing.receive_purchase(db.uow(), meta, number=_po(db, meta, "2"),
                                lines=[ReceiptIn(1, "2", serials=[a, b])])
    tablet = serials.generate(db.uow(), network, sku="TABLET", count=1)["codes"][0]
    purchasing.receive_purchase(db.uow(), meta, number=_po(db, meta, "1", "TABLET"),
                                lines=[ReceiptIn(1, "1", serials=[tablet])])
    order = transfers.create_transfer(db.uow(), meta, source="WH", dest="S1",
                                      lines=[TransferLineIn("PHONE", "1")])
    transfers.submit_transfer(db.uow(), meta, number=order["number"])
    transfers.ship_transfer(db.uow(), meta, number=order["number"], lines=[ShipSerialsIn(1, [b])])
    transfers.receive_transfer(db.uow(), meta, number=order["number"],
                               lines=[ReceiptLineIn(1, received="1", serials=[b])])
    so = sales.create_sale(db.uow(), meta, customer="C1", site="WH",
                           lines=[SalesLineIn("PHONE", "1")])
    sales.confirm_sale(db.uow(), meta, number=so["number"])
    before = _events(db)
    with pytest.raises(ValidationFailed) as failed:
        sales.ship_sale(db.uow(), meta, number=so["number"], lines=[ShipLine(1, "1", serials=[b])])
    assert _errors(failed)["lines[0].serials[0]"]["message"] == (
        "serial {code} is at {actual}, not at {site}")
    assert _errors(failed)["lines[0].serials[0]"]["code"] == b
    for wrong, reason in ((tablet, "serial {code} belongs to SKU {actual}, not {sku}"),
                          (c, "serial {code} is {status}")):
        with pytest.raises(ValidationFailed) as failed:
            sales.ship_sale(db.uow(), meta, number=so["number"],
                            lines=[ShipLine(1, "1", serials=[wrong])])
        assert (reason, wrong) in {(e.message, e.params["code"]) for e in failed.value.errors
                                   if e.field == "lines[0].serials[0]"}
    with pytest.raises(ValidationFailed) as failed:
        sales.ship_sale(db.uow(), meta, number=so["number"],
                        lines=[ShipLine(1, "1", serials=[a, d])])
    assert "lines[0].serials" in _errors(failed)
    assert _events(db) == before
    assert _serial(db, a)["status"] == "in_stock"
    with db.read() as s:
        assert sales.get_sale(db.uow(), so["number"])["lines"][0]["shipped_qty"] == "0"
        assert s.scalar(select(Serial.customer_id).where(Serial.code == a)) is None


def test_a_refused_receipt_writes_nothing_and_a_used_serial_is_named(db, network, phones):
    meta = _meta(network)
    a, b, *_ = phones
    number = _po(db, meta, "2")
    purchasing.receive_purchase(db.uow(), meta, number=number, lines=[ReceiptIn(1, "1", serials=[a])])
    before = _events(db)
    with pytest.raises(ValidationFailed) as failed:
        purchasing.receive_purchase(db.uow(), meta, number=number,
                                    lines=[ReceiptIn(1, "1", serials=["NOPE-1"])])
    assert _errors(failed)["lines[0].serials[0]"]["code"] == "NOPE-1"
    with pytest.raises(ValidationFailed) as failed:
        purchasing.receive_purchase(db.uow(), meta, number=number,
                                    lines=[ReceiptIn(1, "1", serials=[a])])
    assert _errors(failed)["lines[0].serials[0]"].items() >= {
        "code": a, "status": "in_stock"}.items()
    assert _events(db) == before
    assert purchasing.get_purchase(db.uow(), number)["lines"][0]["received_qty"] == "1"
    assert _serial(db, b)["status"] == "generated"


def test_a_suppliers_unknown_serials_are_registered_when_the_setting_allows(db, network, phones):
    meta = _meta(network)
    _setting(db, REGISTER, "yes")
    number = _po(db, meta, "2")
    done = purchasing.receive_purchase(db.uow(), meta, number=number,
                                       lines=[ReceiptIn(1, "2", serials=["SUP-0001", phones[0]])])
    assert done["lines"][0]["serials"] == ["SUP-0001", phones[0]]
    unit = _serial(db, "SUP-0001")
    assert (unit["sku"], unit["status"], unit["purchase_order"]) == ("PHONE", "in_stock", number)


def test_required_capture_refuses_lines_without_serials_and_extra_units(db, network, phones):
    meta = _meta(network)
    a, b, c, *_ = phones
    # Optional by default: a line may go without, but given serials must match the quantity.
    loose = _po(db, meta, "2")
    with pytest.raises(ValidationFailed) as failed:
        purchasing.receive_purchase(db.uow(), meta, number=loose,
                                    lines=[ReceiptIn(1, "1", serials=[a, b])])
    assert _errors(failed)["lines[0].serials"]["expected"] == "1"
    assert purchasing.receive_purchase(db.uow(), meta, number=loose, lines=[ReceiptIn(1, "2")])[
        "lines"][0]["serials"] == []
    _setting(db, CAPTURE, "required")
    number = _po(db, meta, "3")
    with pytest.raises(ValidationFailed) as failed:
        purchasing.receive_purchase(db.uow(), meta, number=number, lines=[ReceiptIn(1, "3")])
    assert "lines[0].serials" in _errors(failed)
    purchasing.receive_purchase(db.uow(), meta, number=number,
                                lines=[ReceiptIn(1, "3", serials=[a, b, c])])
    order = transfers.create_transfer(db.uow(), meta, source="WH", dest="S1",
                                      lines=[TransferLineIn("PHONE", "2")])
    transfers.submit_transfer(db.uow(), meta, number=order["number"])
    with pytest.raises(ValidationFailed):
        transfers.ship_transfer(db.uow(), meta, number=order["number"])
    transfers.ship_transfer(db.uow(), meta, number=order["number"],
                            lines=[ShipSerialsIn(1, [a, b])])
    with pytest.raises(ValidationFailed) as failed:
        transfers.receive_transfer(db.uow(), meta, number=order["number"],
                                   lines=[ReceiptLineIn(1, received="2", serials=[a, c])])
    error = _errors(failed)["lines[0].serials"]
    assert (error["extra"], error["missing"]) == (c, b)
    assert _serial(db, a)["status"] == "in_transit"
    done = transfers.receive_transfer(db.uow(), meta, number=order["number"],
                                      lines=[ReceiptLineIn(1, received="2", serials=[b, a])])
    assert (done["serials_missing"], done["serials_extra"]) == ([], [])
    assert done["state"] == "received"
    so = sales.create_sale(db.uow(), meta, customer="C1", site="S1",
                           lines=[SalesLineIn("PHONE", "1")])
    sales.confirm_sale(db.uow(), meta, number=so["number"])
    with pytest.raises(ValidationFailed) as failed:
        sales.ship_sale(db.uow(), meta, number=so["number"])
    assert _errors(failed)["lines[0].serials"]["sku"] == "PHONE"


def test_scanned_gs1_content_is_read_and_a_return_takes_only_serials_of_its_order(
        db, network, phones):
    meta = _meta(network)
    a, b = phones[:2]
    number = _po(db, meta, "2")
    purchasing.receive_purchase(db.uow(), meta, number=number, lines=[
        ReceiptIn(1, "2", serials=[gs1.element_string(gtin=GTIN, serial=a), b])])
    assert _serial(db, a)["status"] == "in_stock"
    orders = []
    for code in (a, b):
        so = sales.create_sale(db.uow(), meta, customer="C1", site="WH",
                               lines=[SalesLineIn("PHONE", "1")])
        sales.confirm_sale(db.uow(), meta, number=so["number"])
        sales.ship_sale(db.uow(), meta, number=so["number"], lines=[ShipLine(1, "1", serials=[code])])
        orders.append(so["number"])
    before = _events(db)
    with pytest.raises(ValidationFailed) as failed:
        sales.return_sale(db.uow(), meta, number=orders[0], lines=[LineQty(1, "1", serials=[b])])
    assert _errors(failed)["lines[0].serials[0]"] == {
        "message": "serial {code} was not sold on {number}", "code": b, "number": orders[0]}
    assert _events(db) == before and _serial(db, b)["status"] == "sold"


def test_a_cancelled_transfer_puts_its_serials_back_in_stock_at_the_source(db, network, phones):
    meta = _meta(network)
    a, b = phones[:2]
    purchasing.receive_purchase(db.uow(), meta, number=_po(db, meta, "2"),
                                lines=[ReceiptIn(1, "2", serials=[a, b])])
    order = transfers.create_transfer(db.uow(), meta, source="WH", dest="S1",
                                      lines=[TransferLineIn("PHONE", "2")])
    transfers.submit_transfer(db.uow(), meta, number=order["number"])
    with pytest.raises(ValidationFailed) as failed:
        transfers.ship_transfer(db.uow(), meta, number=order["number"],
                                lines=[ShipSerialsIn(1, [a, a])])
    assert _errors(failed)["lines[0].serials[1]"]["message"] == "serial {code} is given twice"
    transfers.ship_transfer(db.uow(), meta, number=order["number"],
                            lines=[ShipSerialsIn(1, [a, b])])
    transfers.cancel_transfer(db.uow(), meta, number=order["number"])
    for code in (a, b):
        unit = _serial(db, code)
        assert (unit["status"], unit["site"], unit["events"][-1]["kind"]) == (
            "in_stock", "WH", "transfer_in")


def test_one_serial_shipped_on_several_orders_at_once_is_sold_once(db, network, phones):
    meta = _meta(network)
    codes = phones + serials.generate(db.uow(), network, sku="PHONE", count=2)["codes"]
    purchasing.receive_purchase(db.uow(), meta, number=_po(db, meta, "8"),
                                lines=[ReceiptIn(1, "8", serials=codes)])
    numbers = []
    for _ in range(workers(db)):
        so = sales.create_sale(db.uow(), meta, customer="C1", site="WH",
                               lines=[SalesLineIn("PHONE", "1")])
        sales.confirm_sale(db.uow(), meta, number=so["number"])
        numbers.append(so["number"])
    results = race(db, lambda i: sales.ship_sale(db.uow(), meta, number=numbers[i],
                                                 lines=[ShipLine(1, "1", serials=[codes[0]])]))
    shipped = [r for r in results if isinstance(r, dict)]
    assert len(shipped) == 1, results
    assert all(isinstance(r, (ValidationFailed, Conflict)) for r in results if r not in shipped)
    unit = _serial(db, codes[0])
    assert (unit["status"], unit["sales_order"]) == ("sold", shipped[0]["number"])
    assert [e["kind"] for e in unit["events"]].count("shipped") == 1
