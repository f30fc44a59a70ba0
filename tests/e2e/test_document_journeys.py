"""Documents from the pages: a purchaser's order received and partly returned, a salesperson's
order confirmed with its pick list and shipped (screenshots in artifacts/screenshots/)."""

import pytest
from playwright.sync_api import expect

from cangliu.services import masterdata, purchasing, sales, stock
from cangliu.services.postings import Meta
from cangliu.services.stock import Line
from tests.e2e.test_stock_journey import _login


def _act(page, action, fields=None):
    form = page.locator(f"form[action$='/{action}']")
    for name, value in (fields or {}).items():
        form.locator(f"[name={name}]").fill(value)
    form.locator("button").click()
    page.wait_for_load_state()


def test_purchase_order_received_and_partly_returned_in_chinese(server, page):
    base, db, admin = server
    masterdata.create(db.uow(), admin, "supplier", {"code": "SUP-1", "name": "供应商一"})
    purchasing.set_supplier_price(db.uow(), admin, supplier="SUP-1", sku="SKU-1", price="2.50")
    _login(page, base)
    page.goto(f"{base}/docs/purchase-orders/new")
    page.select_option("select[name=supplier]", "SUP-1")
    page.select_option("select[name=site]", "WH")
    page.fill("textarea[name=lines]", "SKU-1 10")
    page.click("form.form button[type=submit]")
    expect(page.locator("h1 .state")).to_have_text("草稿")
    _act(page, "submit")
    expect(page.locator("h1 .state")).to_have_text("已审批")
    _act(page, "receive", {"qty_1": "10"})
    expect(page.locator("h1 .state")).to_have_text("已收货")
    _act(page, "return", {"qty_1": "2", "reason_1": "包装破损"})
    expect(page.locator("table.grid").first).to_contain_text("2")  # returned quantity column
    expect(page.locator(".error")).to_have_count(0)
    with db.read() as s:
        from cangliu.db.queries import single_view
        wh = {r["site"]: r for r in single_view(s, "SKU-1")["sites"]}["WH"]
    assert wh["on_hand"] == 8


@pytest.mark.parametrize("page", ["en-US"], indirect=True)
def test_sales_order_confirmed_with_a_pick_list_and_shipped_in_english(server, page):
    base, db, admin = server
    masterdata.create(db.uow(), admin, "customer", {"code": "C1", "name": "客户一"})
    sales.set_customer_price(db.uow(), admin, customer="C1", sku="SKU-1", price="5")
    stock.receive(db.uow(), Meta(admin), site="WH", lines=[Line("SKU-1", "4", bin="WH-A1"),
                                                          Line("SKU-1", "6")])
    _login(page, base)
    page.goto(f"{base}/docs/sales-orders/new")
    page.select_option("select[name=customer]", "C1")
    page.select_option("select[name=site]", "WH")
    page.fill("textarea[name=lines]", "SKU-1 7")
    page.click("form.form button[type=submit]")
    expect(page.locator("h1 .state")).to_have_text("draft")
    _act(page, "confirm")
    expect(page.locator("h1 .state")).to_have_text("confirmed")
    expect(page.locator("tr.pick")).to_have_count(2)  # the unbinned 6 and 1 from WH-A1
    expect(page.locator("section.card")).to_contain_text("Pick list")
    _act(page, "ship", {"qty_1": "7"})
    expect(page.locator("h1 .state")).to_have_text("shipped")
