"""Purchase order, sales order and stock count pages: what a clerk clicks through."""

from cangliu.services import masterdata, purchasing, sales


def _csrf(html):
    return html.split('name="csrf_token" value="')[1].split('"')[0]


def _post(browser, url, data):
    page = browser.get(url.rsplit("/", 1)[0] if not url.endswith("/new") else url)
    return browser.post(url, data={"csrf_token": _csrf(page.text), **data})


def test_purchase_order_pages_create_submit_and_receive(browser, db, network):
    masterdata.create(db.uow(), network, "supplier", {"code": "SUP-1", "name": "供应商一"})
    purchasing.set_supplier_price(db.uow(), network, supplier="SUP-1", sku="SKU-1", price="2")
    created = _post(browser, "/docs/purchase-orders/new",
                    {"supplier": "SUP-1", "site": "WH", "lines": "SKU-1 10\nSKU-KG 2.5 8", "key": "po-1"})
    assert created.status_code == 200 and "草稿" in created.text  # followed the redirect
    number = created.url.path.rsplit("/", 1)[1]
    submitted = _post(browser, f"/docs/purchase-orders/{number}/submit", {"key": "s1"})
    assert "已审批" in submitted.text and 'name="qty_1"' in submitted.text
    received = _post(browser, f"/docs/purchase-orders/{number}/receive",
                     {"key": "r1", "qty_1": "10", "qty_2": "1"})
    assert "部分收货" in received.text
    over = _post(browser, f"/docs/purchase-orders/{number}/receive", {"key": "r2", "qty_2": "9"})
    assert over.status_code == 422 and "lines[0].qty" in over.text
    listing = browser.get("/docs/purchase-orders", params={"state": "partially_received"}).text
    assert number in listing


def test_sales_order_and_count_pages(browser, db, network):
    masterdata.create(db.uow(), network, "customer", {"code": "C1", "name": "客户一"})
    sales.set_customer_price(db.uow(), network, customer="C1", sku="SKU-1", price="5")
    browser.post("/api/v1/stock/receive", json={"sku": "SKU-1", "site": "WH", "qty": "4"},
                 headers={"X-CSRF-Token": browser.csrf})
    created = _post(browser, "/docs/sales-orders/new",
                    {"customer": "C1", "site": "WH", "channel": "online", "lines": "SKU-1 6", "key": "so"})
    number = created.url.path.rsplit("/", 1)[1]
    short = _post(browser, f"/docs/sales-orders/{number}/confirm", {"key": "c1"})
    assert short.status_code == 409 and "库存不足" in short.text
    count = _post(browser, "/docs/counts/new", {"site": "WH", "blind": "on", "key": "cnt"})
    assert "盘点中" in count.text
    cnt = count.url.path.rsplit("/", 1)[1]
    _post(browser, f"/docs/counts/{cnt}/entries", {"lines": "6900000000017 3", "key": "e1"})
    review = _post(browser, f"/docs/counts/{cnt}/submit", {"key": "s"})
    assert "-1" in review.text  # variance shown once counting is closed
    posted = _post(browser, f"/docs/counts/{cnt}/post", {"key": "p"})
    assert "已过账" in posted.text
    assert browser.get("/api/v1/stock/SKU-1").json()["total"]["available"] == "3"


def test_every_document_type_prints_a_pdf(browser, db, network):
    masterdata.create(db.uow(), network, "supplier", {"code": "SUP-1", "name": "供应商一"})
    created = _post(browser, "/docs/purchase-orders/new",
                    {"supplier": "SUP-1", "site": "WH", "lines": "SKU-1 3 2.5", "key": "po-pdf"})
    number = created.url.path.rsplit("/", 1)[1]
    pdf = browser.get(f"/docs/purchase-orders/{number}/pdf")
    assert pdf.headers["content-type"] == "application/pdf" and pdf.content.startswith(b"%PDF")
    count = _post(browser, "/docs/counts/new", {"site": "WH", "key": "c-pdf"})
    cnt = count.url.path.rsplit("/", 1)[1]
    assert browser.get(f"/docs/counts/{cnt}/pdf").content.startswith(b"%PDF")
