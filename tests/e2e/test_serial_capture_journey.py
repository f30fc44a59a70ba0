"""A clerk scans serials into a purchase receipt: the scanner's Enter adds a line instead of
posting the form, the count follows and a wrong code is named at once."""

import pytest
from playwright.sync_api import expect

from cangliu.services import masterdata, purchasing, serials
from cangliu.services.postings import Meta
from cangliu.services.purchasing import PurchaseLineIn
from tests.conftest import PASSWORD


@pytest.mark.parametrize("page", ["en-US"], indirect=True)
def test_scanned_serials_are_counted_and_checked_as_they_arrive(server, page):
    base, db, admin = server
    for code in ("PHONE", "TABLET"):
        masterdata.create(db.uow(), admin, "sku", {"code": code, "name": code, "tracking": "serial"})
    masterdata.create(db.uow(), admin, "supplier", {"code": "SUP", "name": "供应商"})
    a, b = serials.generate(db.uow(), admin, sku="PHONE", count=2)["codes"]
    tablet = serials.generate(db.uow(), admin, sku="TABLET", count=1)["codes"][0]
    po = purchasing.create_purchase(db.uow(), Meta(admin), supplier="SUP", site="WH",
                                    lines=[PurchaseLineIn("PHONE", "2", "100")])
    number = purchasing.submit_purchase(db.uow(), Meta(admin), number=po["number"])["number"]
    page.goto(f"{base}/docs/purchase-orders/{number}")
    page.fill("input[name=username]", "admin")
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.goto(f"{base}/docs/purchase-orders/{number}")
    box = page.locator("#entry-receive [data-serial-capture]")
    page.click("#serials_1")
    page.keyboard.type(tablet)
    page.keyboard.press("Enter")  # a scanner's Enter: a new line, not a posted form
    expect(box.locator(".serial-checks")).to_contain_text(f"serial {tablet} belongs to SKU TABLET")
    expect(box.locator(".serial-count")).to_contain_text("1 / 2")
    page.fill("#serials_1", f"{a}\n")
    page.click("#serials_1")
    page.keyboard.press("End")
    page.keyboard.type(b)
    page.keyboard.press("Enter")
    expect(box.locator(".serial-count")).to_contain_text("2 / 2")
    expect(box.locator(".serial-checks li")).to_have_count(0)
    page.press("input[name=bin_1]", "Enter")  # a scan landing in a one-line field posts nothing
    assert page.url.endswith(f"/docs/purchase-orders/{number}")
    page.click("#entry-receive button")
    page.wait_for_url(f"{base}/docs/purchase-orders/{number}")
    expect(page.locator("h1 .state")).to_have_class("state received")
