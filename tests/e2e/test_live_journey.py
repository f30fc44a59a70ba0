"""Two people at once: what one commits appears on the other's open page without a reload, with
the "updated" cue (screenshots in artifacts/screenshots/)."""

from playwright.sync_api import expect

from cangliu.services import masterdata, purchasing
from tests.e2e.conftest import ARTIFACTS
from tests.e2e.test_stock_journey import _login


def test_a_receipt_in_one_session_appears_live_on_the_sku_page_of_another(server, chromium, page):
    base, db, admin = server
    masterdata.create(db.uow(), admin, "supplier", {"code": "SUP-1", "name": "供应商一"})
    purchasing.set_supplier_price(db.uow(), admin, supplier="SUP-1", sku="SKU-1", price="2.50")
    _login(page, base)  # the watcher
    page.goto(f"{base}/docs/purchase-orders")
    page.evaluate("window.notReloaded = true")
    expect(page.locator("body.live-on")).to_have_count(1)  # the stream is open

    other = chromium.new_context(locale="zh-CN", viewport={"width": 1280, "height": 800})
    clerk = other.new_page()
    try:
        _login(clerk, base)
        clerk.goto(f"{base}/docs/purchase-orders/new")
        clerk.select_option("select[name=supplier]", "SUP-1")
        clerk.select_option("select[name=site]", "WH")
        clerk.fill("textarea[name=lines]", "SKU-1 10")
        clerk.click("form.form button[type=submit]")
        expect(clerk.locator("h1 .state")).to_have_text("草稿")
        number = clerk.url.rstrip("/").rsplit("/", 1)[-1]

        # The new order shows up in the watcher's list, which was not reloaded.
        expect(page.locator("#doc-list")).to_contain_text(number)
        expect(page.locator("#live-cue")).to_contain_text("已更新")
        assert page.evaluate("window.notReloaded") is True

        page.goto(f"{base}/stock/SKU-1")
        page.evaluate("window.notReloaded = true")
        expect(page.locator("body.live-on")).to_have_count(1)
        for action, fields in (("submit", {}), ("receive", {"qty_1": "10"})):
            form = clerk.locator(f"form[action$='/{action}']")
            for name, value in fields.items():
                form.locator(f"[name={name}]").fill(value)
            form.locator("button").click()
            clerk.wait_for_load_state()
        expect(clerk.locator("h1 .state")).to_have_text("已收货")
        clerk.screenshot(path=str(ARTIFACTS / "live_clerk_received.png"), full_page=True)

        # The receipt reaches the SKU page: WH now holds 10.
        expect(page.locator("#sku-live table.grid").first).to_contain_text("WH")
        expect(page.locator("#sku-live tfoot")).to_contain_text("10")
        assert page.evaluate("window.notReloaded") is True
    finally:
        other.close()
