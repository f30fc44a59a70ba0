"""A clerk logs in, finds a SKU in the overview, opens its page and sees every move."""

import pytest
from playwright.sync_api import expect

from cangliu.services import stock
from cangliu.services.postings import Meta
from cangliu.services.stock import Line
from tests.conftest import PASSWORD


def _login(page, base):
    page.goto(f"{base}/stock")
    page.fill("input[name=username]", "admin")
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(f"{base}/stock")


def test_overview_search_and_sku_page_in_chinese(server, page):
    base, db, admin = server
    stock.receive(db.uow(), Meta(admin, reason="首批到货"), site="WH", lines=[Line("SKU-1", "40")])
    stock.receive(db.uow(), Meta(admin), site="S1", lines=[Line("SKU-KG", "2.5")])
    _login(page, base)
    expect(page.locator("h1")).to_have_text("库存总览")
    expect(page.locator("#rows tr")).to_have_count(2)
    page.fill("input[name=q]", "大米")  # htmx swaps the rows as the user types
    expect(page.locator("#rows tr")).to_have_count(1)
    expect(page.locator("#rows")).to_contain_text("SKU-KG")
    expect(page.locator("#rows .lvl.low")).to_have_text("2.5")
    page.fill("input[name=q]", "")
    page.click("text=SKU-1")
    expect(page.locator("h1")).to_contain_text("SKU-1")
    expect(page.locator("text=首批到货")).to_be_visible()
    expect(page.locator("#chart canvas")).to_have_count(1)  # ECharts drew the chart


@pytest.mark.parametrize("page", ["en-US"], indirect=True)
def test_english_browser_gets_english_pages_and_a_failed_login_message(server, page):
    base, _db, _admin = server
    page.goto(f"{base}/login")
    page.fill("input[name=username]", "admin")
    page.fill("input[name=password]", "not-the-password")
    page.click("button[type=submit]")
    expect(page.locator(".error")).to_have_text("Wrong username or password")
    _login(page, base)
    expect(page.locator("h1")).to_have_text("Stock overview")
    page.click("text=中文")
    expect(page.locator("h1")).to_have_text("库存总览")
