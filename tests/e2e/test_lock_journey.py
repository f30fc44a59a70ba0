"""Two people at one draft in real browsers: opening the editor takes the lock (static/locks.js),
the other sees who edits it and a read-only page, leaving gives the lock back."""

from playwright.sync_api import expect

from cangliu.services import auth, locks, masterdata, roles, sales
from cangliu.services.postings import Meta
from cangliu.services.sales import SalesLineIn
from tests.conftest import PASSWORD
from tests.e2e.test_stock_journey import _login


def _holder(db, number):
    lock = locks.holder(db.uow(), "sales_order", number)
    return lock.holder if lock else None


def test_the_editor_holds_the_lock_while_open_and_the_other_user_reads_only(server, page, chromium):
    base, db, admin = server
    masterdata.create(db.uow(), admin, "customer", {"code": "C1", "name": "客户一"})
    sales.set_customer_price(db.uow(), admin, customer="C1", sku="SKU-1", price="5")
    number = sales.create_sale(db.uow(), Meta(admin), customer="C1", site="WH",
                               lines=[SalesLineIn("SKU-1", "3")])["number"]
    auth.create_user(db.uow(), username="li", password=PASSWORD)
    roles.set_assignments(db.uow(), admin, "li", [{"role": "sales", "scope": "all"}])

    _login(page, base)
    page.goto(f"{base}/docs/sales-orders/{number}")
    assert _holder(db, number) is None  # looking is not editing
    with page.expect_response(lambda r: r.url.endswith(f"/locks/sales_order/{number}")
                              and r.request.method == "POST"):
        page.locator("details[data-edit-lock] summary").click()
    assert _holder(db, number) == "admin"

    other = chromium.new_context(locale="en-US").new_page()
    other.goto(f"{base}/login")
    other.fill("input[name=username]", "li")
    other.fill("input[name=password]", PASSWORD)
    other.click("button[type=submit]")
    other.goto(f"{base}/docs/sales-orders/{number}")
    expect(other.locator(".lock-banner")).to_contain_text("admin")
    expect(other.locator(f"form[action$='/{number}/edit']")).to_have_count(0)
    other.context.close()

    page.goto(f"{base}/stock")  # leaving sends the release as the page goes away
    for _ in range(50):
        if _holder(db, number) is None:
            break
        page.wait_for_timeout(100)
    assert _holder(db, number) is None
