"""Each role's main day in real browsers, in Chinese and in English: every person logs in as
themselves and works only through the pages; approvers decide in a browser of their own. The
outcome is checked on the page and in the database; screenshots of the key steps go to
artifacts/screenshots/journey_<role>_<step>_<lang>.png."""

from collections.abc import Iterator
from datetime import date

import pytest
from playwright.sync_api import Browser, Page, expect
from sqlalchemy import select

from cangliu.db.models import PlanningSuggestion, Serial
from cangliu.services import accounts, counts, planning, purchasing, sales, transfers
from tests.e2e.roles import (
    LOCALES,
    World,
    approve,
    login,
    new_sku,
    on_hand,
    open_items,
    partner,
    receive,
    serial_purchase,
    serve,
    short_store,
    shot,
)

pytestmark = [pytest.mark.slow, pytest.mark.parametrize("locale", list(LOCALES))]


@pytest.fixture(scope="module")
def world(chromium: Browser, sqlite_template: str, tmp_path_factory: pytest.TempPathFactory
          ) -> Iterator[World]:
    """One server and one database for every journey of the module, in both languages."""
    yield from serve(chromium, sqlite_template, tmp_path_factory)


@pytest.fixture(autouse=True)
def _close_browsers(world: World) -> Iterator[None]:
    yield
    world.close_browsers()


# What the pages say, by browser locale (the English catalogue keeps most msgids as they are).
WORDS = {
    "zh-CN": {"draft": "草稿", "submitted": "已提交", "approved": "已审批", "received": "已收货",
              "confirmed": "已确认", "shipped": "已发货", "pending_approval": "待审批",
              "counting": "盘点中", "review": "待复核", "posted": "已过账",
              "Purchase orders": "采购单", "Sales orders": "销售单", "Transfer orders": "调拨单",
              "Stock counts": "盘点单", "Suggestions": "调拨建议", "Dashboard": "仪表盘",
              "Pick list": "拣货单", "Next steps": "下一步", "Water levels": "水位",
              "accepted": "已接受 1 条建议", "Red": "红", "settled": "已核销付款：累计结清 30"},
    "en": {"pending_approval": "pending approval", "accepted": "1 suggestions accepted",
           "settled": "Payment allocated: 30 settled so far"},
}


def word(locale: str, msgid: str) -> str:
    return WORDS[locale].get(msgid, msgid)


def state_is(page: Page, locale: str, state: str) -> None:
    expect(page.locator("h1 .state")).to_have_text(word(locale, state))


def act(page: Page, action: str) -> None:
    """Press a document's action button (submit, confirm, post…)."""
    page.locator(f".actions form[action$='/{action}'] button").click()
    page.wait_for_load_state()


def new_document(page: Page, world: World, path: str, fields: dict[str, str], lines: str) -> str:
    """Fill in and save the new-document form the page shows."""
    for name, value in fields.items():
        page.select_option(f"select[name={name}]", value)
    if lines:
        page.fill("textarea[name=lines]", lines)
    page.click("form.form button[type=submit]")
    page.wait_for_url(f"{world.base}/docs/{path}/*-*")
    return page.url.rsplit("/", 1)[1]


def type_serials(page: Page, field: str, codes: list[str]) -> None:
    """Scan: each code typed into the serial field and ended by the scanner's Enter."""
    page.click(field)
    for code in codes:
        page.keyboard.type(code)
        page.keyboard.press("Enter")


def test_purchaser_orders_the_manager_approves_and_the_clerk_receives(world: World, locale: str) -> None:
    tag = LOCALES[locale]
    sku, supplier = f"PUR-{tag}", f"SUP-P-{tag}"
    new_sku(world, sku, "办公椅")
    partner(world, "supplier", supplier, "家具供应商")
    purchasing.set_supplier_price(world.db.uow(), world.admin, supplier=supplier, sku=sku,
                                  price="250")

    buyer = login(world, "purchaser", locale, "/docs/purchase-orders/new")
    number = new_document(buyer, world, "purchase-orders",
                          {"supplier": supplier, "site": "WH"}, f"{sku} 10")
    expect(buyer.locator("h1")).to_contain_text(word(locale, "Purchase orders"))
    state_is(buyer, locale, "draft")
    act(buyer, "submit")
    state_is(buyer, locale, "submitted")  # 2,500.00 waits for the purchasing manager
    expect(buyer.locator("#approvals")).to_contain_text("buyer_lead")
    shot(buyer, "purchaser", "submitted", locale)
    assert purchasing.get_purchase(world.db.uow(), number)["state"] == "submitted"

    approve(world, "buyer_lead", number, locale, "purchaser")
    assert purchasing.get_purchase(world.db.uow(), number)["state"] == "approved"

    clerk = login(world, "clerk", locale, f"/docs/purchase-orders/{number}")
    state_is(clerk, locale, "approved")
    clerk.fill("#entry-receive input[name=qty_1]", "10")
    clerk.locator("#entry-receive button").click()
    state_is(clerk, locale, "received")
    clerk.context.close()

    buyer.reload()
    state_is(buyer, locale, "received")
    shot(buyer, "purchaser", "received", locale)
    buyer.context.close()
    assert purchasing.get_purchase(world.db.uow(), number)["state"] == "received"
    assert on_hand(world.db, sku, "WH") == 10


def test_clerk_receives_serials_moves_them_to_a_store_and_counts(world: World, locale: str) -> None:
    tag = LOCALES[locale]
    number, codes = serial_purchase(world, tag)
    counted = f"CNT-{tag}"
    new_sku(world, counted, "纸巾")
    receive(world, "S1", counted, "10")

    # The receipt: three serials scanned, the count follows.
    page = login(world, "clerk", locale, f"/docs/purchase-orders/{number}")
    type_serials(page, "#serials_1", codes)
    expect(page.locator("#entry-receive .serial-count")).to_contain_text("3 / 3")
    shot(page, "clerk", "receipt_scanned", locale)
    page.locator("#entry-receive button").click()
    state_is(page, locale, "received")
    assert on_hand(world.db, f"SER-{tag}", "WH") == 3

    # The transfer: two of them to store S1, scanned out and scanned in.
    page.goto(f"{world.base}/transfers/new")
    page.select_option("select[name=source]", "WH")
    page.select_option("select[name=dest]", "S1")
    page.fill("textarea[name=lines]", f"SER-{tag} 2")
    page.click("form button[type=submit]")
    page.wait_for_url(f"{world.base}/transfers/*-*")
    transfer = page.url.rsplit("/", 1)[1]
    expect(page.locator("h1")).to_contain_text(word(locale, "Transfer orders"))
    state_is(page, locale, "draft")
    act(page, "submit")
    state_is(page, locale, "approved")  # a clerk's replenishment needs no approval
    type_serials(page, "#ship-serials textarea", codes[:2])
    expect(page.locator("#ship-serials .serial-count")).to_contain_text("2 / 2")
    page.locator("#ship-serials button").click()
    state_is(page, locale, "shipped")
    shot(page, "clerk", "transfer_shipped", locale)
    type_serials(page, "#serials_1", codes[:2])
    page.locator("form[action$='/receive'] > p > button").click()
    state_is(page, locale, "received")
    expect(page.locator("tr.serial-row")).to_contain_text(codes[1])  # shipped and received
    shot(page, "clerk", "transfer_received", locale)
    assert transfers.get_transfer(world.db.uow(), transfer)["state"] == "received"
    assert (on_hand(world.db, f"SER-{tag}", "WH"), on_hand(world.db, f"SER-{tag}", "S1")) == (1, 2)
    with world.db.read() as s:
        at_store = s.scalars(select(Serial.status).where(Serial.code.in_(codes[:2]))).all()
    assert at_store == ["in_stock", "in_stock"]

    # The count at S1: one packet missing.
    page.goto(f"{world.base}/docs/counts/new")
    page.select_option("select[name=site]", "S1")
    page.click("form.form button[type=submit]")
    page.wait_for_url(f"{world.base}/docs/counts/*-*")
    count = page.url.rsplit("/", 1)[1]
    expect(page.locator("h1")).to_contain_text(word(locale, "Stock counts"))
    state_is(page, locale, "counting")
    page.fill("form[action$='/entries'] textarea[name=lines]", f"{counted} 9")
    page.locator("form[action$='/entries'] button").click()
    page.wait_for_load_state()
    act(page, "submit")
    state_is(page, locale, "review")
    expect(page.locator("table.grid tr", has_text=counted)).to_contain_text("-1")  # the variance
    shot(page, "clerk", "count_review", locale)
    act(page, "post")
    state_is(page, locale, "posted")
    page.context.close()
    assert counts.get_count(world.db.uow(), count)["state"] == "posted"
    assert on_hand(world.db, counted, "S1") == 9


def test_salesperson_sells_and_the_clerk_ships_from_the_pick_list(world: World, locale: str) -> None:
    tag = LOCALES[locale]
    sku, customer = f"SAL-{tag}", f"CUS-S-{tag}"
    new_sku(world, sku, "保温杯")
    partner(world, "customer", customer, "零售客户")
    sales.set_customer_price(world.db.uow(), world.admin, customer=customer, sku=sku, price="5")
    receive(world, "WH", sku, "20")

    seller = login(world, "sales", locale, "/docs/sales-orders/new")
    number = new_document(seller, world, "sales-orders",
                          {"customer": customer, "site": "WH"}, f"{sku} 7")
    expect(seller.locator("h1")).to_contain_text(word(locale, "Sales orders"))
    state_is(seller, locale, "draft")
    act(seller, "confirm")
    state_is(seller, locale, "confirmed")
    expect(seller.locator("tr.pick")).to_have_count(1)
    expect(seller.locator("section.card", has=seller.locator("tr.pick"))).to_contain_text(
        word(locale, "Pick list"))
    shot(seller, "sales", "confirmed", locale)

    clerk = login(world, "clerk", locale, f"/docs/sales-orders/{number}")  # sales.post
    clerk.fill("#entry-ship input[name=qty_1]", "7")
    clerk.locator("#entry-ship button").click()
    state_is(clerk, locale, "shipped")
    clerk.context.close()

    seller.reload()
    state_is(seller, locale, "shipped")
    shot(seller, "sales", "shipped", locale)
    seller.context.close()
    assert sales.get_sale(world.db.uow(), number)["state"] == "shipped"
    assert on_hand(world.db, sku, "WH") == 13


def test_finance_records_payments_and_reads_the_aging(world: World, locale: str) -> None:
    tag = LOCALES[locale]
    so, po = open_items(world, tag)
    customer, supplier = f"CUS-F-{tag}", f"SUP-F-{tag}"

    # A customer pays 30 of the 50 owed, found through the sales order list.
    page = login(world, "finance", locale, f"/docs/sales-orders?partner={customer}")
    page.locator(f"a[href='/docs/sales-orders/{so}']").first.click()
    page.wait_for_url(f"{world.base}/docs/sales-orders/{so}")
    panel = page.locator("#collab .next-steps")
    expect(panel).to_contain_text(word(locale, "Next steps"))
    settle = panel.locator("form.settle")
    settle.locator("input[name=amount]").fill("30")
    settle.locator("input[name=reference]").fill(f"BANK-{tag}-1")
    settle.locator("button").click()
    page.wait_for_url(f"{world.base}/docs/sales-orders/{so}*")
    expect(page.locator("#collab .next-steps")).to_contain_text("20.00")  # still open
    expect(page.locator("#collab .timeline li").last).to_contain_text(word(locale, "settled"))
    shot(page, "finance", "customer_paid", locale)

    # The supplier is paid in full: nothing is left to pay.
    page.goto(f"{world.base}/docs/purchase-orders/{po}")
    settle = page.locator("#collab form.settle")
    expect(settle.locator("input[name=amount]")).to_have_value("100.00")
    settle.locator("button").click()
    page.wait_for_url(f"{world.base}/docs/purchase-orders/{po}*")
    expect(page.locator("#collab form.settle")).to_have_count(0)
    shot(page, "finance", "supplier_paid", locale)

    # The aging page: the customer still owes 20; its statement ends there too.
    page.goto(f"{world.base}/finance/aging?kind=receivable")
    row = page.locator(f"#aging tr[data-partner='{customer}']")
    expect(row).to_contain_text("20.00")
    shot(page, "finance", "aging", locale)
    row.locator("a").click()
    page.wait_for_url(f"{world.base}/finance/statements/receivable/{customer}")
    expect(page.locator("#statement tr.closing")).to_contain_text("20.00")
    expect(page.locator("#statement")).to_contain_text(so)
    shot(page, "finance", "statement", locale)
    page.goto(f"{world.base}/finance/aging?kind=payable")
    expect(page.locator("#aging")).to_be_visible()
    expect(page.locator(f"#aging tr[data-partner='{supplier}']")).to_have_count(0)
    page.context.close()
    with world.db.read() as s:
        receivable = {r["partner"]: r for r in accounts.aging(s, kind="receivable",
                                                              as_of=date.today())}
        payable = {r["partner"] for r in accounts.aging(s, kind="payable", as_of=date.today())}
    assert receivable[customer]["total"] == "20.00" and supplier not in payable


def test_managers_accept_a_suggestion_approve_it_and_read_the_dashboard(world: World, locale: str) -> None:
    tag = LOCALES[locale]
    sku = short_store(world, tag)
    planning.run(world.db.uow())  # the night's planning run

    regional = login(world, "regional", locale, f"/planning/suggestions?sku={sku}")
    expect(regional.locator("h1")).to_have_text(word(locale, "Suggestions"))
    rows = regional.locator("#suggestions tbody tr")
    expect(rows).to_have_count(1)
    expect(rows).to_contain_text("available = 2")
    rows.locator("input[name=ids]").check()
    shot(regional, "managers", "suggestions", locale)
    regional.locator("#suggestions button:not(.danger)").click()
    notice = regional.locator(".notice[role=status]")
    expect(notice).to_contain_text(word(locale, "accepted"))
    notice.locator("a[href^='/transfers/']").click()
    regional.wait_for_url(f"{world.base}/transfers/*-*")
    number = regional.url.rsplit("/", 1)[1]
    state_is(regional, locale, "pending_approval")  # a planned move waits for the director
    assert transfers.get_transfer(world.db.uow(), number)["generated_by_rule"]

    approve(world, "director", number, locale, "managers")
    regional.reload()
    state_is(regional, locale, "approved")
    expect(regional.locator(".approval-steps")).to_contain_text("director")
    shot(regional, "managers", "approved", locale)
    assert transfers.get_transfer(world.db.uow(), number)["state"] == "approved"
    with world.db.read() as s:
        assert s.scalars(select(PlanningSuggestion.state).where(
            PlanningSuggestion.document == number)).all() == ["accepted"]

    regional.locator("header nav a[href='/dashboard']").click()
    regional.wait_for_url(f"{world.base}/dashboard")
    expect(regional.locator("h1")).to_have_text(word(locale, "Dashboard"))
    expect(regional.locator("#kpi-cards .kpi-card").first).to_be_visible()
    expect(regional.locator("h2", has_text=word(locale, "Water levels"))).to_be_visible()
    store = regional.locator("table.grid tr", has_text=f"{sku} ·").filter(has_text="S1")
    expect(store.locator(".level")).to_have_text(word(locale, "Red"))  # still short until shipped
    shot(regional, "managers", "dashboard", locale)
    regional.context.close()
