"""Serial capture on the document pages with ``serial_capture`` = required: a PO received, a
sales order shipped and returned, a transfer shipped and received through their page forms,
one code per line; a refused code re-renders the form naming it, with everything typed kept."""

import pytest
from sqlalchemy import select

from cangliu.db.models import Serial, Setting
from cangliu.services import masterdata, purchasing, sales, serials
from cangliu.services.postings import Meta
from cangliu.services.purchasing import PurchaseLineIn, ReceiptIn
from cangliu.services.sales import SalesLineIn
from cangliu.services.serial_binding import CAPTURE


@pytest.fixture
def phones(browser, db, network):
    """Four PHONE serials (generated), one TABLET serial, serials required on documents."""
    for code in ("PHONE", "TABLET"):
        masterdata.create(db.uow(), network, "sku", {"code": code, "name": code,
                                                     "tracking": "serial"})
    masterdata.create(db.uow(), network, "supplier", {"code": "SUP", "name": "供应商"})
    masterdata.create(db.uow(), network, "customer", {"code": "C1", "name": "客户一"})
    purchasing.set_supplier_price(db.uow(), network, supplier="SUP", sku="PHONE", price="100")
    sales.set_customer_price(db.uow(), network, customer="C1", sku="PHONE", price="150")
    with db.uow() as uow:
        uow.session.add(Setting(key=CAPTURE, value="required"))
        uow.commit()
    browser.cookies.set("lang", "en")
    codes = serials.generate(db.uow(), network, sku="PHONE", count=4)["codes"]
    return [*codes, serials.generate(db.uow(), network, sku="TABLET", count=1)["codes"][0]]


def _csrf(html: str) -> str:
    return html.split('name="csrf_token" value="')[1].split('"')[0]


def _po(db, network, qty: str) -> str:  # type: ignore[no-untyped-def]
    meta = Meta(network)
    po = purchasing.create_purchase(db.uow(), meta, supplier="SUP", site="WH",
                                    lines=[PurchaseLineIn("PHONE", qty)])
    return purchasing.submit_purchase(db.uow(), meta, number=po["number"])["number"]


def _status(db, code: str) -> str:  # type: ignore[no-untyped-def]
    with db.read() as s:
        return s.scalar(select(Serial.status).where(Serial.code == code))


def test_a_purchase_is_received_through_its_page_with_the_serials_scanned(browser, db, network,
                                                                          phones):
    a, b, c, _d, tablet = phones
    number = _po(db, network, "3")
    url = f"/docs/purchase-orders/{number}"
    page = browser.get(url).text
    assert 'name="serials_1"' in page and "/static/js/serial_capture.js" in page
    assert 'data-expected="3"' in page  # the count shows "0 / 3"
    typed = f"{a}\r\n{b}\r\n{tablet}\r\n"
    wrong = browser.post(f"{url}/receive", data={"csrf_token": _csrf(page), "key": "r1",
                                                "qty_1": "3", "bin_1": "WH-A1",
                                                "serials_1": typed})
    assert wrong.status_code == 422
    assert f"serial {tablet} belongs to SKU TABLET, not PHONE" in wrong.text
    assert f"{a}\n{b}\n{tablet}" in wrong.text.replace("\r\n", "\n")  # everything typed is kept
    assert 'value="WH-A1"' in wrong.text
    assert purchasing.get_purchase(db.uow(), number)["lines"][0]["received_qty"] == "0"
    assert _status(db, a) == "generated"
    # Scanned serials alone say how many units arrived; GS1 content (AI 21) is read too.
    done = browser.post(f"{url}/receive", data={"csrf_token": _csrf(page), "key": "r2",
                                               "serials_1": f"{a}\n{b}\n(21){c}\n"},
                        follow_redirects=False)
    assert done.status_code == 303, done.text
    assert [_status(db, x) for x in (a, b, c)] == ["in_stock"] * 3
    assert purchasing.get_purchase(db.uow(), number)["lines"][0]["serials"] == [a, b, c]
    # The receipt prints the labels of the units it received.
    labels = f'href="/labels?serials={a}%20{b}%20{c}"'
    assert labels in browser.get(url).text
    pdf = browser.post("/labels", data={"csrf_token": _csrf(page), "template": "50x30",
                                        "serials": f"{a} {b} {c}"})
    assert pdf.headers["content-type"] == "application/pdf"


def test_a_sales_order_is_shipped_and_returned_through_its_page_with_serials(browser, db,
                                                                             network, phones):
    a, b, *_ = phones
    meta = Meta(network)
    purchasing.receive_purchase(db.uow(), meta, number=_po(db, network, "2"),
                                lines=[ReceiptIn(1, "2", serials=[a, b])])
    so = sales.create_sale(db.uow(), meta, customer="C1", site="WH",
                           lines=[SalesLineIn("PHONE", "1")])
    sales.confirm_sale(db.uow(), meta, number=so["number"])
    url = f"/docs/sales-orders/{so['number']}"
    page = browser.get(url).text
    assert 'name="serials_1"' in page and 'data-site="WH"' in page
    missing = browser.post(f"{url}/ship", data={"csrf_token": _csrf(page), "key": "s1",
                                               "qty_1": "1"})
    assert missing.status_code == 422 and "scan the serial of every unit" in missing.text
    shipped = browser.post(f"{url}/ship", data={"csrf_token": _csrf(page), "key": "s2",
                                               "qty_1": "1", "serials_1": b})
    assert shipped.status_code == 200, shipped.text
    assert _status(db, b) == "sold" and _status(db, a) == "in_stock"
    back = browser.post(f"{url}/return", data={"csrf_token": _csrf(page), "key": "s3",
                                              "serials_1": b})
    assert back.status_code == 200, back.text
    assert sales.get_sale(db.uow(), so["number"])["lines"][0]["returned_serials"] == [b]
    assert _status(db, b) == "returned"


def test_a_transfer_is_shipped_and_received_with_serials_and_a_missing_one_is_reported(
        browser, db, network, phones):
    a, b, *_ = phones
    meta = Meta(network)
    purchasing.receive_purchase(db.uow(), meta, number=_po(db, network, "2"),
                                lines=[ReceiptIn(1, "2", serials=[a, b])])
    page = browser.get("/transfers/new").text
    created = browser.post("/transfers/new", data={"csrf_token": _csrf(page), "key": "t0",
                                                   "source": "WH", "dest": "S1",
                                                   "lines": "PHONE 2"}, follow_redirects=False)
    url = created.headers["location"]
    browser.post(f"{url}/submit", data={"csrf_token": _csrf(page), "key": "t1"})
    page = browser.get(url).text
    assert 'id="ship-serials"' in page and 'data-site="WH"' in page
    short = browser.post(f"{url}/ship", data={"csrf_token": _csrf(page), "key": "t2",
                                             "serials_1": a})
    assert short.status_code == 422 and "2 expected, 1 given" in short.text
    assert f">{a}</textarea>" in short.text
    shipped = browser.post(f"{url}/ship", data={"csrf_token": _csrf(page), "key": "t3",
                                               "serials_1": f"{a}\n{b}"})
    assert shipped.status_code == 200 and f"Shipped: {a}, {b}" in shipped.text
    assert _status(db, a) == "in_transit"
    got = browser.post(f"{url}/receive", data={"csrf_token": _csrf(page), "key": "t4",
                                              "received_1": "1", "shortage_1": "1",
                                              "serials_1": a})
    assert got.status_code == 200, got.text
    assert f"Line 1: shipped but not received: {b}" in got.text
    assert _status(db, a) == "in_stock" and _status(db, b) == "in_transit"


def test_the_receipt_page_shows_the_lot_the_lot_rule_generated(browser, db, network):
    serials.create(db.uow(), network, code="MILK-LOT", name="牛奶批次", kind="lot",
                   template="MILK-{seq:4}", sku="SKU-LOT")
    masterdata.create(db.uow(), network, "supplier", {"code": "SUP", "name": "供应商"})
    meta = Meta(network)
    po = purchasing.create_purchase(db.uow(), meta, supplier="SUP", site="WH",
                                    lines=[PurchaseLineIn("SKU-LOT", "5", "3")])
    number = purchasing.submit_purchase(db.uow(), meta, number=po["number"])["number"]
    browser.cookies.set("lang", "en")
    page = browser.get(f"/docs/purchase-orders/{number}").text
    got = browser.post(f"/docs/purchase-orders/{number}/receive",
                       data={"csrf_token": _csrf(page), "key": "l1", "qty_1": "5"})
    assert got.status_code == 200, got.text
    assert "Line 1 (SKU-LOT) was received as the new lot MILK-0001" in got.text
    assert 'href="/labels?sku=SKU-LOT&amp;lot=MILK-0001"' in got.text
