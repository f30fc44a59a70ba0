"""Purchase order pages: editing a draft, put-away suggestions on receipt, returns to the supplier."""

from decimal import Decimal

from sqlalchemy import select

from cangliu.db.models import Location, StockBalance
from cangliu.services import masterdata, purchasing
from cangliu.services.postings import Meta
from cangliu.services.purchasing import PurchaseLineIn, ReceiptIn
from cangliu.web.pages import documents


def _csrf(html):
    return html.split('name="csrf_token" value="')[1].split('"')[0]


def _post(browser, url, data):
    page = browser.get(url.rsplit("/", 1)[0])
    return browser.post(url, data={"csrf_token": _csrf(page.text), **data})


def _po(db, network, qty="10", submit=True):
    masterdata.create(db.uow(), network, "supplier", {"code": "SUP-1", "name": "供应商一"})
    purchasing.set_supplier_price(db.uow(), network, supplier="SUP-1", sku="SKU-1", price="2")
    meta = Meta(network)
    po = purchasing.create_purchase(db.uow(), meta, supplier="SUP-1", site="WH",
                                    lines=[PurchaseLineIn("SKU-1", qty)])
    if submit:
        purchasing.submit_purchase(db.uow(), meta, number=po["number"])
    return po["number"]


def test_a_draft_is_edited_from_its_page_and_a_stale_form_is_refused(browser, db, network):
    number = _po(db, network, submit=False)
    page = browser.get(f"/docs/purchase-orders/{number}").text
    assert f'action="/docs/purchase-orders/{number}/edit"' in page and "SKU-1 10 2" in page
    form = {"version": "1", "supplier": "SUP-1", "site": "WH", "currency": "CNY", "rate": "1",
            "expected_date": "2026-12-24", "lines": "SKU-1 12\nSKU-KG 2.5 8"}
    saved = _post(browser, f"/docs/purchase-orders/{number}/edit", {**form, "key": "e1"})
    assert saved.status_code == 200 and "2026-12-24" in saved.text
    po = purchasing.get_purchase(db.uow(), number)
    assert po["version"] == 2 and [ln["qty"] for ln in po["lines"]] == ["12", "2.5"]
    stale = _post(browser, f"/docs/purchase-orders/{number}/edit",
                  {**form, "lines": "SKU-1 99", "key": "e2"})
    assert stale.status_code == 409 and "SKU-1 99" in stale.text  # the typed lines are kept
    bad_date = _post(browser, f"/docs/purchase-orders/{number}/edit",
                     {**form, "version": "2", "expected_date": "24.12.2026", "key": "e3"})
    assert bad_date.status_code == 422 and "expected_date" in bad_date.text
    assert purchasing.get_purchase(db.uow(), number)["lines"][0]["qty"] == "12"
    purchasing.submit_purchase(db.uow(), Meta(network), number=number)
    assert f"/docs/purchase-orders/{number}/edit" not in browser.get(
        f"/docs/purchase-orders/{number}").text


def test_the_receipt_form_shows_suggested_bins_and_receives_into_the_chosen_one(browser, db,
                                                                              network):
    for code, litres in (("WH-B1", "10"), ("WH-B2", "30")):
        masterdata.create(db.uow(), network, "location", {
            "code": code, "name": code, "kind": "bin", "parent": "WH",
            "capacity_volume_l": Decimal(litres)})
    masterdata.update_record(db.uow(), network, "sku", "SKU-1", 1, {"volume_l": Decimal("2")})
    number = _po(db, network, qty="20")
    page = browser.get(f"/docs/purchase-orders/{number}").text
    assert "WH-B2 × 15, WH-B1 × 5" in page
    received = _post(browser, f"/docs/purchase-orders/{number}/receive",
                     {"qty_1": "15", "bin_1": "WH-B2", "key": "r1"})
    assert received.status_code == 200 and "WH-B1 × 5" in received.text
    assert "WH-B2 ×" not in received.text  # full now
    with db.read() as session:
        where = session.execute(select(Location.code, StockBalance.qty).join(
            Location, Location.id == StockBalance.location_id)).all()
    assert where == [("WH-B2", Decimal(15))]
    wrong = _post(browser, f"/docs/purchase-orders/{number}/receive",
                  {"qty_1": "1", "bin_1": "S1", "key": "r2"})
    assert wrong.status_code == 422 and "lines[0].bin" in wrong.text


def test_goods_go_back_to_the_supplier_from_the_page_and_show_on_the_pdf(browser, db, network,
                                                                      monkeypatch):
    number = _po(db, network, qty="5")
    purchasing.receive_purchase(db.uow(), Meta(network), number=number, lines=[ReceiptIn(1, "5")])
    page = browser.get(f"/docs/purchase-orders/{number}").text
    assert f'action="/docs/purchase-orders/{number}/return"' in page and 'name="reason_1"' in page
    returned = _post(browser, f"/docs/purchase-orders/{number}/return",
                     {"qty_1": "2", "reason_1": "leaking", "key": "ret-1"})
    assert returned.status_code == 200
    assert purchasing.get_purchase(db.uow(), number)["lines"][0]["returned_qty"] == "2"
    too_much = _post(browser, f"/docs/purchase-orders/{number}/return", {"qty_1": "4", "key": "ret-2"})
    assert too_much.status_code == 422 and "lines[0].qty" in too_much.text
    printed = {}

    def capture(**kw):
        printed.update(kw)
        return b"%PDF-fake"

    monkeypatch.setattr(documents, "document_pdf", capture)
    assert browser.get(f"/docs/purchase-orders/{number}/pdf").content == b"%PDF-fake"
    column = printed["columns"].index("退货数量")  # returned_qty, in the reader's language
    assert printed["rows"][0][column] == "2"
