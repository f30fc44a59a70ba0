"""A clerk scans on a phone with the network gone: receipts and counts wait in the browser's
queue ("待同步 N"), go to the server when the network is back, and post exactly once; an
operation the server refuses is shown to the clerk."""

from decimal import Decimal

import pytest
from playwright.sync_api import expect
from sqlalchemy import func, select

from cangliu.db.models import (
    Location,
    PurchaseLine,
    PurchaseOrder,
    Sku,
    StockBalance,
    StockCount,
    StockCountLine,
    StockMove,
)
from cangliu.i18n import translate
from cangliu.services import (
    auth,
    counts,
    masterdata,
    purchasing,
    roles,
    sales,
    serials,
    stock,
    transfers,
)
from cangliu.services.postings import Meta
from cangliu.services.purchasing import PurchaseLineIn, ReceiptIn
from tests.conftest import PASSWORD
from tests.e2e.conftest import ARTIFACTS

BARCODE = "6900000000017"  # SKU-1 in the seeded network
GTIN = "09506000134352"


@pytest.fixture
def phone(chromium, request):
    """A 390×844 touch screen in Chinese; a screenshot of the page is saved at the end."""
    context = chromium.new_context(locale="zh-CN", viewport={"width": 390, "height": 844},
                                   device_scale_factor=2, is_mobile=True, has_touch=True)
    page = context.new_page()
    page.set_default_timeout(15000)
    yield context, page
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{request.node.name}.png"), full_page=True)
    context.close()


def _purchase(db, admin, qty: str) -> str:
    if masterdata.list_records(db.read(), "supplier", limit=1)[0] == []:
        masterdata.create(db.uow(), admin, "supplier", {"code": "SUP", "name": "供应商"})
    po = purchasing.create_purchase(db.uow(), Meta(admin), supplier="SUP", site="WH",
                                    lines=[PurchaseLineIn("SKU-1", qty, "3")])
    return str(purchasing.submit_purchase(db.uow(), Meta(admin), number=po["number"])["number"])


def _clerk_logs_in(page, base, db, admin) -> None:
    auth.create_user(db.uow(), username="clerk", password=PASSWORD)
    roles.set_assignments(db.uow(), admin, "clerk", [{"role": "clerk", "scope": "sites",
                                                      "sites": ["WH"]}])
    page.goto(f"{base}/scan")
    page.fill("input[name=username]", "clerk")
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(f"{base}/scan")
    page.select_option("#site-select", "WH")
    expect(page.locator("#pack-status")).to_contain_text("20")  # the pack's date is shown
    # The service worker has kept the shell: the pages open offline from now on.
    page.wait_for_function("""async () => {
        const reg = await navigator.serviceWorker.ready;
        return !!reg.active && !!(await caches.match('/scan/count'))
            && !!(await caches.match('/static/js/scan/task.js'));
    }""")


def _zh(message: str) -> str:
    return translate("zh_CN", message)


def _scan(page, code: str) -> None:
    page.fill("#scan-input", code)
    page.press("#scan-input", "Enter")


def _counter(page):
    return page.locator("#sync-counter")


def _screenshot(page, name: str) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)


def test_receipt_and_count_scanned_offline_post_once_when_back_online(server, phone):
    base, db, admin = server
    context, page = phone
    number = _purchase(db, admin, "5")
    count_number = counts.start_count(db.uow(), Meta(admin), site="WH")["number"]
    _clerk_logs_in(page, base, db, admin)
    page.goto(f"{base}/scan/receive?doc={number}")
    expect(page.locator("#doc-number")).to_have_text(number)
    context.set_offline(True)
    expect(_counter(page)).to_have_class("sync-counter offline")
    _scan(page, BARCODE)
    expect(page.locator("#scan-message.error")).to_have_text(_zh("Scan the bin first"))
    _scan(page, "WH-A1")
    _scan(page, BARCODE)
    _scan(page, BARCODE)
    _scan(page, "NOT-A-CODE")
    expect(page.locator("#scan-message.error")).to_contain_text("NOT-A-CODE")
    expect(page.locator("#lines li")).to_have_text(["SKU-1 矿泉水 × 2 @WH-A1"])
    _screenshot(page, "scan_offline_receive_lines")
    page.click("#finish")
    expect(_counter(page)).to_have_attribute("data-count", "1")
    # Still offline: the count page opens from the service worker's cache.
    opened = page.goto(f"{base}/scan/count?doc={count_number}")
    assert opened is not None and opened.from_service_worker
    assert page.evaluate("fetch('/health').then(() => 'network', () => 'none')") == "none"
    expect(page.locator("#doc-number")).to_have_text(count_number)
    _scan(page, "WH-A1")
    page.fill("#scan-qty", "3")
    _scan(page, BARCODE)
    page.click("#finish")
    expect(_counter(page)).to_have_attribute("data-count", "2")
    expect(_counter(page)).to_contain_text("2")
    _screenshot(page, "scan_offline_two_to_sync")
    context.set_offline(False)
    expect(_counter(page)).to_have_attribute("data-count", "0", timeout=20000)
    with db.read() as session:
        received = session.scalar(select(PurchaseLine.received_qty).join(PurchaseOrder).where(
            PurchaseOrder.number == number))
        receipts = session.scalar(select(func.count()).select_from(StockMove).where(
            StockMove.document_number == number))
        counted = session.scalar(select(StockCountLine.counted_qty).join(StockCount).where(
            StockCount.number == count_number))
    assert received == Decimal(2) and receipts == 1
    assert counted == Decimal(3)
    page.goto(f"{base}/scan")
    expect(page.locator("#recent-results li")).to_have_count(2)


def test_an_offline_receipt_the_server_refuses_is_shown_as_failed(server, phone):
    base, db, admin = server
    context, page = phone
    number = _purchase(db, admin, "2")
    _clerk_logs_in(page, base, db, admin)
    page.goto(f"{base}/scan/receive?doc={number}")
    expect(page.locator("#doc-number")).to_have_text(number)
    context.set_offline(True)
    _scan(page, "WH-A1")
    _scan(page, BARCODE)
    _scan(page, BARCODE)
    _scan(page, BARCODE)
    expect(page.locator("#scan-message.error")).to_contain_text("SKU-1")  # over the order
    page.click("#finish")
    expect(_counter(page)).to_have_attribute("data-count", "1")
    # Meanwhile the whole order is received at the desk: the queued receipt is now too much.
    purchasing.receive_purchase(db.uow(), Meta(admin), number=number,
                                lines=[ReceiptIn(line_no=1, qty="2")])
    context.set_offline(False)
    expect(_counter(page)).to_have_attribute("data-count", "0", timeout=20000)
    failure = page.locator("#sync-failures li")
    expect(failure).to_have_count(1)
    expect(failure).to_contain_text(number)
    _screenshot(page, "scan_offline_failed_replay")
    with db.read() as session:
        receipts = session.scalar(select(func.count()).select_from(StockMove).where(
            StockMove.document_number == number))
    assert receipts == 1


def _admin_logs_in(page, base, site: str) -> None:
    page.goto(f"{base}/scan")
    page.fill("input[name=username]", "admin")
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(f"{base}/scan")
    _choose_site(page, site)


def _choose_site(page, site: str) -> None:
    page.select_option("#site-select", site)
    expect(page.locator("#pack-status")).to_contain_text("20")


def _finish_and_sync(page, task: str) -> None:
    """Finish the task online and wait for the server's answer to show (``task``: its name)."""
    page.click("#finish")
    expect(page.locator("#scan-message.info")).to_contain_text(f"{_zh('Synced')} · {_zh(task)}",
                                                               timeout=20000)
    expect(_counter(page)).to_have_attribute("data-count", "0")


def _stock_at(db, sku: str, bin_code: str) -> Decimal:
    with db.read() as session:
        return Decimal(session.scalar(
            select(func.coalesce(func.sum(StockBalance.qty), 0)).join(
                Location, Location.id == StockBalance.location_id).join(
                Sku, Sku.id == StockBalance.sku_id).where(
                Location.code == bin_code, Sku.code == sku)))


def _setup_network(db, admin) -> dict[str, str]:
    """Stock in WH-A1, a second bin, a GS1-labelled lot SKU on a PO, a confirmed sales order
    and an approved transfer WH → S1."""
    masterdata.create(db.uow(), admin, "location", {"code": "WH-B2", "name": "B2", "kind": "bin",
                                                    "parent": "WH"})
    masterdata.create(db.uow(), admin, "sku", {"code": "MILK", "name": "鲜奶", "tracking": "lot",
                                               "barcodes": [GTIN]})
    masterdata.create(db.uow(), admin, "customer", {"code": "CUS", "name": "客户"})
    stock.receive(db.uow(), Meta(admin), site="WH",
                  lines=[stock.Line("SKU-1", "10", bin="WH-A1", unit_cost="2")])
    made = {"po": _purchase(db, admin, "5")}
    po = purchasing.create_purchase(db.uow(), Meta(admin), supplier="SUP", site="WH",
                                    lines=[PurchaseLineIn("MILK", "4", "6")])
    made["milk_po"] = purchasing.submit_purchase(db.uow(), Meta(admin), number=po["number"])["number"]
    so = sales.create_sale(db.uow(), Meta(admin), customer="CUS", site="WH",
                           lines=[sales.SalesLineIn("SKU-1", "3", "9")])
    made["so"] = sales.confirm_sale(db.uow(), Meta(admin), number=so["number"])["number"]
    to = transfers.create_transfer(db.uow(), Meta(admin), source="WH", dest="S1",
                                   lines=[transfers.TransferLineIn("SKU-1", "2")])
    made["to"] = transfers.submit_transfer(db.uow(), Meta(admin), number=to["number"])["number"]
    return made


def test_gs1_receipt_put_away_guided_pick_and_a_transfer_both_ways(server, phone):
    base, db, admin = server
    _context, page = phone
    made = _setup_network(db, admin)
    _admin_logs_in(page, base, "WH")
    # Receive a lot from its GS1 label: the lot and expiry come from AIs 10 and 17.
    page.goto(f"{base}/scan/receive?doc={made['milk_po']}")
    _scan(page, "WH-B2")
    page.fill("#scan-qty", "4")
    _scan(page, f"]d201{GTIN}17261231" + "10L42")
    expect(page.locator("#lines li")).to_have_text(["MILK 鲜奶 × 4 @WH-B2 [L42]"])
    _finish_and_sync(page, "Receive")
    assert _stock_at(db, "MILK", "WH-B2") == 4
    # Put away: from WH-A1, two units, into WH-B2 (the target bin's scan finishes).
    page.goto(f"{base}/scan/putaway")
    _scan(page, "WH-A1")
    page.fill("#scan-qty", "2")
    _scan(page, BARCODE)
    _scan(page, "WH-B2")
    expect(page.locator("#scan-message.info")).to_contain_text(_zh("Put away"), timeout=20000)
    assert _stock_at(db, "SKU-1", "WH-B2") == 2
    # Pick, guided bin by bin; the wrong bin is refused.
    picks = sales.get_pick_list(db.uow(), made["so"])["lines"][0]["picks"]
    page.goto(f"{base}/scan/pick?doc={made['so']}")
    first = picks[0]["bin"]
    expect(page.locator("#prompt")).to_contain_text(first)
    _scan(page, "WH-B2" if first == "WH-A1" else "WH-A1")
    expect(page.locator("#scan-message.error")).to_contain_text(first)
    for pick in picks:
        _scan(page, pick["bin"])
        for _ in range(int(Decimal(pick["qty"]))):
            _scan(page, BARCODE)
    _finish_and_sync(page, "Pick")
    assert sales.get_sale(db.uow(), made["so"])["state"] == "shipped"
    # Ship the transfer at WH, receive it at S1.
    page.goto(f"{base}/scan/ship?doc={made['to']}")
    _scan(page, BARCODE)
    page.click("#finish")
    expect(page.locator("#scan-message.error")).to_be_visible()  # one of two: not complete
    _scan(page, BARCODE)
    _finish_and_sync(page, "Ship")
    assert transfers.get_transfer(db.uow(), made["to"])["state"] == "shipped"
    page.goto(f"{base}/scan")
    _choose_site(page, "S1")
    page.goto(f"{base}/scan/transfer-receive?doc={made['to']}")
    page.fill("#scan-qty", "2")
    _scan(page, BARCODE)
    _finish_and_sync(page, "Transfer receipt")
    assert transfers.get_transfer(db.uow(), made["to"])["state"] == "received"


def test_serial_tracked_units_each_ask_for_their_serial(server, phone):
    base, db, admin = server
    _context, page = phone
    masterdata.create(db.uow(), admin, "sku", {"code": "PHONE", "name": "手机",
                                               "tracking": "serial", "barcodes": ["6900000000024"]})
    masterdata.create(db.uow(), admin, "supplier", {"code": "SUP", "name": "供应商"})
    first, second = serials.generate(db.uow(), admin, sku="PHONE", count=2)["codes"]
    po = purchasing.create_purchase(db.uow(), Meta(admin), supplier="SUP", site="WH",
                                    lines=[PurchaseLineIn("PHONE", "2", "900")])
    number = purchasing.submit_purchase(db.uow(), Meta(admin), number=po["number"])["number"]
    _admin_logs_in(page, base, "WH")
    page.goto(f"{base}/scan/receive?doc={number}")
    _scan(page, "WH-A1")
    _scan(page, "6900000000024")
    expect(page.locator("#prompt")).to_have_text(_zh("Scan the serial of {sku}").replace(
        "{sku}", "PHONE"))
    _scan(page, first)
    _scan(page, "6900000000024")
    _scan(page, first)
    expect(page.locator("#scan-message.error")).to_contain_text(first)  # twice: refused
    _scan(page, "6900000000024")
    _scan(page, second)
    expect(page.locator("#lines li")).to_have_text([f"PHONE 手机 × 2 @WH-A1 #{first}, {second}"])
    _finish_and_sync(page, "Receive")
    assert purchasing.get_purchase(db.uow(), number)["lines"][0]["serials"] == [first, second]


def test_an_expired_session_keeps_the_queue_until_the_clerk_logs_in_again(server, phone):
    base, db, admin = server
    context, page = phone
    number = _purchase(db, admin, "5")
    _admin_logs_in(page, base, "WH")
    page.goto(f"{base}/scan/receive?doc={number}")
    context.set_offline(True)
    _scan(page, "WH-A1")
    _scan(page, BARCODE)
    page.click("#finish")
    expect(_counter(page)).to_have_attribute("data-count", "1")
    context.clear_cookies()  # the session is gone while the phone was away
    context.set_offline(False)
    login = page.locator("#sync-failures li.login a")
    expect(login).to_have_text(_zh("Session expired: log in again to sync"))
    expect(_counter(page)).to_have_attribute("data-count", "1")
    login.click()
    page.fill("input[name=username]", "admin")
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(f"{base}/scan/receive")
    expect(_counter(page)).to_have_attribute("data-count", "0", timeout=20000)
    assert purchasing.get_purchase(db.uow(), number)["lines"][0]["received_qty"] == "1"
