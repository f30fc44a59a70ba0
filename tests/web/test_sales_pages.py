"""Sales order pages: editing a draft, the pick list on a confirmed order, its print view and PDF,
and shipping from another bin."""

from datetime import date

from cangliu.services import masterdata, sales, stock
from cangliu.services.postings import Meta
from cangliu.services.sales import SalesLineIn
from cangliu.services.stock import Line


def _csrf(html):
    return html.split('name="csrf_token" value="')[1].split('"')[0]


def _post(browser, url, data):
    page = browser.get(url.rsplit("/", 1)[0])
    return browser.post(url, data={"csrf_token": _csrf(page.text), **data})


def _order(db, network, qty, sku="SKU-1"):
    masterdata.create(db.uow(), network, "customer", {"code": "C1", "name": "客户一"})
    sales.set_customer_price(db.uow(), network, customer="C1", sku=sku, price="5")
    return sales.create_sale(db.uow(), Meta(network), customer="C1", site="WH",
                             lines=[SalesLineIn(sku, qty)])["number"]


def test_a_draft_is_edited_from_its_page_and_a_stale_tab_overwrites_nothing(browser, db, network):
    number = _order(db, network, "3")
    page = browser.get(f"/docs/sales-orders/{number}").text
    assert f'action="/docs/sales-orders/{number}/edit"' in page and "SKU-1 3 5" in page
    form = {"version": "1", "customer": "C1", "site": "WH", "channel": "online",
            "currency": "CNY", "rate": "1"}
    edited = _post(browser, f"/docs/sales-orders/{number}/edit",
                   {**form, "key": "e1", "lines": "SKU-1 4\nSKU-KG 1.5 2"})
    assert edited.status_code == 200 and "SKU-KG 1.5 2" in edited.text  # the refreshed form
    assert sales.get_sale(db.uow(), number)["version"] == 2
    stale = _post(browser, f"/docs/sales-orders/{number}/edit",
                  {**form, "key": "e2", "lines": "SKU-1 9"})
    assert stale.status_code == 409 and "SKU-1 9" in stale.text  # what was typed is kept
    kept = sales.get_sale(db.uow(), number)
    assert [(ln["sku"], ln["qty"]) for ln in kept["lines"]] == [("SKU-1", "4"), ("SKU-KG", "1.5")]
    bad = _post(browser, f"/docs/sales-orders/{number}/edit",
                {**form, "version": "2", "key": "e3", "lines": "SKU-NOPE 1"})
    assert bad.status_code == 422 and "lines[0].sku" in bad.text


def test_a_confirmed_order_shows_its_pick_list_first_expiry_first(browser, db, network):
    for code in ("WH-B1", "WH-C1"):
        masterdata.create(db.uow(), network, "location",
                          {"code": code, "name": code, "kind": "bin", "parent": "WH"})
    meta = Meta(network)
    stock.receive(db.uow(), meta, site="WH", expiry_date=date(2031, 1, 1),
                  lines=[Line("SKU-LOT", "9", bin="WH-B1", lot="L-LATE")])
    stock.receive(db.uow(), meta, site="WH", expiry_date=date(2030, 1, 1),
                  lines=[Line("SKU-LOT", "2", bin="WH-C1", lot="L-SOON")])
    number = _order(db, network, "5", sku="SKU-LOT")
    draft = browser.get(f"/docs/sales-orders/{number}").text
    assert f"/docs/sales-orders/{number}/pick-list" not in draft and 'class="pick"' not in draft
    confirmed = _post(browser, f"/docs/sales-orders/{number}/confirm", {"key": "c1"})
    assert confirmed.status_code == 200
    assert f'action="/docs/sales-orders/{number}/edit"' not in confirmed.text
    rows = confirmed.text.split('<tr class="pick">')[1:]
    assert ["WH-C1" in rows[0] and "L-SOON" in rows[0] and "2030-01-01" in rows[0],
            "WH-B1" in rows[1] and "L-LATE" in rows[1]] == [True, True]
    printed = browser.get(f"/docs/sales-orders/{number}/pick-list")
    assert printed.status_code == 200 and "data-print-on-load" in printed.text
    assert printed.text.index("L-SOON") < printed.text.index("L-LATE")
    pdf = browser.get(f"/docs/sales-orders/{number}/pick-list/pdf")
    assert pdf.headers["content-type"] == "application/pdf" and pdf.content.startswith(b"%PDF")
    refused = _post(browser, f"/docs/sales-orders/{number}/edit",
                    {"version": "2", "customer": "C1", "site": "WH", "lines": "SKU-LOT 1",
                     "key": "e1"})
    assert refused.status_code == 409 and number in refused.text


def test_the_ship_form_takes_another_bin_and_refuses_one_outside_the_site(browser, db, network):
    masterdata.create(db.uow(), network, "location",
                      {"code": "WH-B1", "name": "B1", "kind": "bin", "parent": "WH"})
    stock.receive(db.uow(), Meta(network), site="WH", lines=[Line("SKU-1", "4", bin="WH-A1"),
                                                             Line("SKU-1", "4", bin="WH-B1")])
    number = _order(db, network, "4")
    page = _post(browser, f"/docs/sales-orders/{number}/confirm", {"key": "c1"}).text
    assert 'name="bin_1"' in page and 'name="lot_1"' in page
    wrong = _post(browser, f"/docs/sales-orders/{number}/ship",
                  {"key": "s0", "qty_1": "1", "bin_1": "S1"})
    assert wrong.status_code == 422 and "lines[0].bin" in wrong.text
    shipped = _post(browser, f"/docs/sales-orders/{number}/ship",
                    {"key": "s1", "qty_1": "1", "bin_1": "WH-B1"})
    assert shipped.status_code == 200
    picks = sales.get_pick_list(db.uow(), number)["lines"][0]["picks"]
    assert [(p["bin"], p["qty"]) for p in picks] == [("WH-A1", "3")]
    view = browser.get("/api/v1/stock/SKU-1").json()["total"]
    assert (view["on_hand"], view["reserved"]) == ("7", "3")
    assert browser.get("/docs/sales-orders/SO-NOPE/pick-list").status_code == 404
