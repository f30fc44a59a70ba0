"""Scrap pages (customer return → quality hold → scrap or release) and every document's print view
and PDF."""

import pytest

from cangliu.core.ledger import StockStatus
from cangliu.services import counts, masterdata, purchasing, sales, stock, transfers
from cangliu.services.postings import Meta
from cangliu.services.purchasing import PurchaseLineIn
from cangliu.services.sales import LineQty, SalesLineIn
from cangliu.services.scrap import scrap
from cangliu.services.stock import Line
from cangliu.services.transfers import TransferLineIn


def _csrf(html):
    return html.split('name="csrf_token" value="')[1].split('"')[0]


def _returned(db, actor, qty="3"):
    """A customer took 5 units of SKU-1 from WH and brought ``qty`` back onto quality hold."""
    meta = Meta(actor)
    masterdata.create(db.uow(), actor, "customer", {"code": "C1", "name": "客户一"})
    stock.receive(db.uow(), meta, site="WH", lines=[Line("SKU-1", "5")])
    so = sales.create_sale(db.uow(), meta, customer="C1", site="WH",
                           lines=[SalesLineIn("SKU-1", "5", "9")])
    sales.confirm_sale(db.uow(), meta, number=so["number"])
    sales.ship_sale(db.uow(), meta, number=so["number"])
    sales.return_sale(db.uow(), meta, number=so["number"], lines=[LineQty(1, qty)])


def _figures(browser):
    return browser.get("/api/v1/stock/SKU-1").json()["total"]


def test_a_returned_unit_is_scrapped_from_quality_hold_and_the_rest_released(browser, db, network):
    _returned(db, network)
    assert _figures(browser)["quality_hold"] == "3"
    assert 'href="/docs/scrap"' in browser.get("/stock").text  # in the navigation
    form = browser.get("/docs/scrap/new").text
    assert 'value="quality_hold"' in form and 'value="expired"' in form
    bad = browser.post("/docs/scrap/new", data={
        "csrf_token": _csrf(form), "key": "sp-0", "site": "WH", "from_status": "quality_hold",
        "reason_code": "quality", "lines": "SKU-1 9"})
    assert bad.status_code == 409 and "库存不足" in bad.text
    posted = browser.post("/docs/scrap/new", data={
        "csrf_token": _csrf(form), "key": "sp-1", "site": "WH", "from_status": "quality_hold",
        "reason_code": "quality", "reason": "seal broken", "lines": "SKU-1 1"},
        follow_redirects=False)
    assert posted.status_code == 303
    url = posted.headers["location"]
    number = url.rsplit("/", 1)[1]
    assert number.startswith("SP-")
    again = browser.post("/docs/scrap/new", data={
        "csrf_token": _csrf(form), "key": "sp-1", "site": "WH", "from_status": "quality_hold",
        "reason_code": "quality", "reason": "seal broken", "lines": "SKU-1 1"},
        follow_redirects=False)
    assert again.headers["location"] == url  # a double submit writes off once
    assert _figures(browser)["quality_hold"] == "2"
    page = browser.get(url).text
    assert number in page and "seal broken" in page and "质量问题" in page
    released = browser.post("/docs/scrap/release", data={
        "csrf_token": _csrf(form), "key": "rel-1", "site": "WH", "release_lines": "SKU-1 2"})
    assert released.status_code == 201 and "SKU-1 × 2" in released.text
    totals = _figures(browser)
    assert (totals["quality_hold"], totals["available"]) == ("0", "2")
    listing = browser.get("/docs/scrap", params={"site": "WH"}).text
    assert number in listing and "admin" in listing
    assert number not in browser.get("/docs/scrap", params={"site": "S1"}).text
    assert number not in browser.get("/docs/scrap", params={"q": "SP-19990101"}).text
    api = browser.get(f"/api/v1/scrap/{number}").json()
    assert (api["reason_code"], api["from_status"], api["lines"][0]["qty"]) == (
        "quality", "quality_hold", "1")
    assert browser.get("/api/v1/scrap", params={"site": "WH"}).json()["items"][0]["number"] == number
    assert browser.get("/api/v1/scrap/SP-19990101-0001").status_code == 404


def test_the_scrap_form_names_bad_input(browser, db, network):
    form = browser.get("/docs/scrap/new").text
    bad = browser.post("/docs/scrap/new", data={
        "csrf_token": _csrf(form), "key": "sp-x", "site": "WH", "from_status": "available",
        "reason_code": "bored", "lines": "SKU-1 1"})
    assert bad.status_code == 422 and "reason_code" in bad.text
    status = browser.post("/docs/scrap/new", data={
        "csrf_token": _csrf(form), "key": "sp-y", "site": "WH", "from_status": "sold",
        "reason_code": "lost", "lines": "SKU-1 1"})
    assert status.status_code == 422 and "from_status" in status.text
    nothing = browser.post("/docs/scrap/release", data={
        "csrf_token": _csrf(form), "key": "rel-x", "site": "WH", "release_lines": "SKU-1"})
    assert nothing.status_code == 422 and "lines[0]" in nothing.text
    assert browser.get("/docs/scrap").status_code == 200


def test_the_scrap_api_posts_several_lines_under_one_number(browser, db, network):
    headers = {"X-CSRF-Token": browser.csrf}
    browser.post("/api/v1/stock/receive", json={"sku": "SKU-1", "site": "WH", "qty": "5"},
                 headers=headers)
    browser.post("/api/v1/stock/receive", json={"sku": "SKU-KG", "site": "WH", "qty": "5"},
                 headers=headers)
    posted = browser.post("/api/v1/scrap", headers=headers, json={
        "site": "WH", "reason_code": "expired", "from_status": "available",
        "lines": [{"sku": "SKU-1", "qty": "1"}, {"sku": "SKU-KG", "qty": "0.5"}]})
    assert posted.status_code == 201, posted.text
    doc = browser.get(f"/api/v1/scrap/{posted.json()['number']}").json()
    assert [(ln["sku"], ln["qty"]) for ln in doc["lines"]] == [("SKU-1", "1"), ("SKU-KG", "0.5")]


@pytest.fixture
def every_document(db, network):
    """A number of each document type."""
    meta = Meta(network)
    masterdata.create(db.uow(), network, "supplier", {"code": "SUP-1", "name": "供应商一"})
    masterdata.create(db.uow(), network, "customer", {"code": "C1", "name": "客户一"})
    stock.receive(db.uow(), meta, site="WH", lines=[Line("SKU-1", "5")])
    return {
        "/transfers": transfers.create_transfer(db.uow(), meta, source="WH", dest="S1",
                                                lines=[TransferLineIn("SKU-1", "1")])["number"],
        "/docs/purchase-orders": purchasing.create_purchase(
            db.uow(), meta, supplier="SUP-1", site="WH",
            lines=[PurchaseLineIn("SKU-1", "1", "2")])["number"],
        "/docs/sales-orders": sales.create_sale(db.uow(), meta, customer="C1", site="WH",
                                                lines=[SalesLineIn("SKU-1", "1", "3")])["number"],
        "/docs/counts": counts.start_count(db.uow(), meta, site="WH", blind=False)["number"],
        "/docs/scrap": scrap(db.uow(), meta, site="WH", reason_code="lost",
                             lines=[Line("SKU-1", "1")], from_status=StockStatus.AVAILABLE)["number"],
    }


PRINT_KINDS = {"/transfers": "transfer", "/docs/purchase-orders": "purchase_order",
               "/docs/sales-orders": "sales_order", "/docs/counts": "stock_count",
               "/docs/scrap": "scrap"}


@pytest.mark.parametrize("base", ["/transfers", "/docs/purchase-orders", "/docs/sales-orders",
                                  "/docs/counts", "/docs/scrap"])
def test_every_document_has_a_print_view_and_a_pdf(browser, every_document, base):
    number = every_document[base]
    page = browser.get(f"{base}/{number}").text
    kind = PRINT_KINDS[base]
    assert f'href="/print/{kind}/{number}"' in page and f'href="{base}/{number}/pdf"' in page
    for view in (f"/print/{kind}/{number}", f"{base}/{number}/print"):
        printed = browser.get(view)
        assert printed.status_code == 200 and number in printed.text and "SKU-1" in printed.text
    pdf = browser.get(f"{base}/{number}/pdf")
    assert pdf.headers["content-type"] == "application/pdf" and pdf.content.startswith(b"%PDF")
    assert browser.get(f"{base}/NOPE-1/print").status_code == 404
