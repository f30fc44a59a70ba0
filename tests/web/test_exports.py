"""List pages export their rows as CSV and XLSX: the page's filters, every page, headers in the
user's language, the export permission, and no column the user's field rules hide."""

import csv
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from io import BytesIO, StringIO

import pytest
from openpyxl import load_workbook

from cangliu.core.errors import ValidationFailed
from cangliu.core.permissions import Actor
from cangliu.i18n import translate
from cangliu.services import auth, roles
from cangliu.services.postings import Meta
from cangliu.services.stock import Line, receive
from cangliu.web.export import collect, disposition, export
from tests.conftest import PASSWORD
from tests.web.conftest import login

EN = {"Accept-Language": "en"}
TODAY = datetime.now(UTC).date()
LISTS = ("/stock", "/docs/purchase-orders", "/docs/sales-orders", "/docs/counts", "/transfers",
         "/docs/scrap", "/md/skus", "/md/categories", "/md/sites", "/md/locations",
         "/md/suppliers", "/md/customers", "/serials", "/lots/near-expiry", "/work-orders",
         "/repairs", "/recalls", "/planning/suggestions", "/planning/promotions",
         "/planning/events", "/audit", "/admin/users", "/alerts", "/admin/deliveries")


@pytest.fixture
def stocked(db, network):
    for site, sku, qty in (("WH", "SKU-KG", "12.5"), ("S1", "SKU-1", "3"), ("S1", "SKU-KG", "2")):
        receive(db.uow(), Meta(network), site=site, lines=[Line(sku, qty, unit_cost="2")])
    receive(db.uow(), Meta(network), site="WH", expiry_date=TODAY + timedelta(days=5),
            lines=[Line("SKU-LOT", "4", lot="L-5", unit_cost="1.5")])


def _user(app, db, network, name, permissions, hidden=()):
    roles.save_role(db.uow(), network, f"r-{name}", name=name, permissions=permissions,
                    hidden_fields=list(hidden))
    auth.create_user(db.uow(), username=name, password=PASSWORD)
    roles.set_assignments(db.uow(), network, name, [{"role": f"r-{name}", "scope": "all"}])
    return login(app, name)


def _csv(response):
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/csv")
    assert response.content.startswith("\ufeff".encode())  # Excel reads the BOM as UTF-8
    return list(csv.reader(StringIO(response.text.lstrip("\ufeff"))))


def _sheet(response):
    assert response.status_code == 200, response.text
    sheet = load_workbook(BytesIO(response.content)).active
    return sheet, [list(r) for r in sheet.iter_rows(values_only=True)]


def test_stock_overview_exports_the_filtered_rows_with_english_or_chinese_headers(browser, stocked):
    rows = _csv(browser.get("/stock", params={"site": "S1", "format": "csv"}, headers=EN))
    assert rows[0][:4] == ["SKU", "Name", "Site", "Region"] and "On hand" in rows[0]
    assert sorted((r[0], r[2]) for r in rows[1:]) == [("SKU-1", "S1"), ("SKU-KG", "S1")]
    chinese = _csv(browser.get("/stock", params={"format": "csv"},
                               headers={"Accept-Language": "zh-CN"}))
    assert "On hand" not in chinese[0] and chinese[0][2] == "站点"
    assert chinese[1][:3] == ["SKU-1", "矿泉水", "S1"] and chinese[1][4] == "3"
    assert chinese[3][:3] == ["SKU-KG", "大米", "WH"] and chinese[3][4] == "12.5"


def test_stock_overview_as_xlsx_keeps_numbers_as_numbers_under_a_bold_frozen_header(
        browser, stocked):
    response = browser.get("/stock", params={"site": "WH", "format": "xlsx"}, headers=EN)
    assert response.headers["content-type"].startswith(
        "application/vnd.openxmlformats-officedocument.spreadsheetml")
    disposition = response.headers["content-disposition"]
    assert disposition.startswith('attachment; filename="stock-') and ".xlsx" in disposition
    sheet, rows = _sheet(response)
    assert rows[0][0] == "SKU" and sheet["A1"].font.b and sheet.freeze_panes == "A2"
    by_sku = {r[0]: r for r in rows[1:]}
    assert set(by_sku) == {"SKU-KG", "SKU-LOT"}
    assert by_sku["SKU-KG"][4] == 12.5 and isinstance(by_sku["SKU-KG"][4], float)


def test_the_page_offers_export_links_that_keep_its_filters_but_not_its_paging(browser, stocked):
    page = browser.get("/lots/near-expiry", params={"days": "90", "page": "2"}, headers=EN).text
    assert "Export CSV" in page and "Export XLSX" in page
    assert 'href="/lots/near-expiry?days=90&amp;format=csv"' in page
    assert 'href="/lots/near-expiry?days=90&amp;format=xlsx"' in page


def test_a_document_list_exports_the_documents_its_filters_match(browser, db, network):
    for supplier in ("SUP-A", "SUP-B"):
        assert browser.post("/api/v1/suppliers", json={"code": supplier, "name": supplier},
                            headers={"X-CSRF-Token": browser.csrf}).status_code == 201
        assert browser.post("/api/v1/purchase-orders", headers={"X-CSRF-Token": browser.csrf}, json={
            "supplier": supplier, "site": "WH",
            "lines": [{"sku": "SKU-1", "qty": "5", "price": "3.20"}]}).status_code == 201
    rows = _csv(browser.get("/docs/purchase-orders", params={"partner": "SUP-B", "format": "csv"},
                            headers={"Accept-Language": "zh-CN"}))
    # Headed and worded as the page shows them: field names and states in the user's language.
    assert rows[0][:3] == [translate("zh_CN", c) for c in ("number", "state", "supplier")]
    assert len(rows) == 2 and rows[1][0].startswith("PO-") and rows[1][2] == "SUP-B"
    assert rows[1][1] == translate("zh_CN", "draft") != "draft"


def test_the_sku_list_exports_what_its_search_finds(browser):
    _ws, rows = _sheet(browser.get("/md/skus", params={"q": "SKU-K", "format": "xlsx"},
                                   headers=EN))
    assert [r[0] for r in rows[1:]] == ["SKU-KG"] and len(rows[0]) == 6


def test_the_audit_log_exports_each_change_with_its_diff(browser):
    rows = _csv(browser.get("/audit", params={"entity": "sku", "q": "SKU-KG", "format": "csv"},
                            headers=EN))
    assert rows[0][:3] == ["Time (UTC)", "Username", "Action"]
    assert len(rows) == 2 and rows[1][2:5] == ["create", "sku", "SKU-KG"]
    assert "uom:  → kg" in rows[1][5]  # the change, field by field


def test_a_role_with_cost_hidden_exports_no_cost_or_value_column_while_an_admin_does(
        app, db, network, stocked, browser):
    admin = _csv(browser.get("/lots/near-expiry", params={"format": "csv"}, headers=EN))
    assert admin[0][-2:] == ["Average cost", "Value"] and admin[1][-2:] == ["1.5000", "6.00"]
    with _user(app, db, network, "clerk2", ["stock.view", "stock.export"],
               hidden=["cost", "valuation"]) as clerk:
        rows = _csv(clerk.get("/lots/near-expiry", params={"format": "csv"}, headers=EN))
        assert rows[0] == admin[0][:-2] and rows[1] == admin[1][:-2]
        _ws, cells = _sheet(clerk.get("/lots/near-expiry", params={"format": "xlsx"},
                                      headers=EN))
        assert "Average cost" not in cells[0] and "Value" not in cells[0]


def test_exporting_needs_the_export_permission(app, db, network, stocked):
    with _user(app, db, network, "viewer", ["stock.view"]) as viewer:
        page = viewer.get("/stock", headers=EN)
        assert page.status_code == 200 and "Export CSV" not in page.text
        assert viewer.get("/stock", params={"format": "csv"}).status_code == 403
        assert viewer.get("/stock", params={"format": "xlsx"}).status_code == 403


def test_an_export_keeps_to_the_sites_where_the_user_may_export(app, db, network, stocked):
    roles.save_role(db.uow(), network, "looker", name="looker", permissions=["stock.view"])
    roles.save_role(db.uow(), network, "s1export", name="s1export",
                    permissions=["stock.view", "stock.export"])
    auth.create_user(db.uow(), username="mixed", password=PASSWORD)
    roles.set_assignments(db.uow(), network, "mixed", [
        {"role": "looker", "scope": "all"}, {"role": "s1export", "scope": "sites", "sites": ["S1"]}])
    with login(app, "mixed") as client:
        assert "WH" in client.get("/stock", headers=EN).text
        rows = _csv(client.get("/stock", params={"format": "csv"}, headers=EN))
        assert {r[2] for r in rows[1:]} == {"S1"}


def test_an_unknown_format_is_refused_naming_the_parameter(browser):
    response = browser.get("/stock", params={"format": "pdf"}, headers=EN)
    assert response.status_code == 422 and "format" in response.text


def test_every_covered_list_exports_a_header_row(browser):
    for path in LISTS:
        response = browser.get(path, params={"format": "csv"}, headers=EN)
        assert response.status_code == 200, (path, response.text)
        header = response.text.lstrip("\ufeff").splitlines()[0]
        assert header and "," in header, path


def test_collect_reads_every_page_and_refuses_more_rows_than_the_cap():
    pages = {None: ([{"n": 1}, {"n": 2}], "b"), "b": ([{"n": 3}], None)}
    assert [r["n"] for r in collect(lambda cursor: pages[cursor])] == [1, 2, 3]
    with pytest.raises(ValidationFailed) as refused:
        collect(lambda cursor: pages[cursor], limit=2)
    assert refused.value.errors[0].message == "more than {limit} rows: narrow the filters to export"


def test_a_chinese_file_name_has_an_ascii_fallback():
    assert disposition("库存-20261124.csv") == (
        "attachment; filename=\"20261124.csv\"; "
        "filename*=UTF-8''%E5%BA%93%E5%AD%98-20261124.csv")


def test_text_that_looks_like_a_formula_is_written_as_text():
    rows = [{"name": "=HYPERLINK(\"http://x\")", "qty": Decimal("-2")}]
    columns = [("name", "Name"), ("qty", "Quantity")]
    actor = Actor(user_id=1, username="a", is_admin=True)
    text = export(rows, columns, fmt="csv", filename="x", actor=actor, locale="en").body.decode()
    assert text.splitlines()[1] == '"\'=HYPERLINK(""http://x"")",-2'
    book = export(rows, columns, fmt="xlsx", filename="x", actor=actor, locale="en").body
    cell = load_workbook(BytesIO(book)).active["A2"]
    assert (cell.value, cell.data_type) == ("=HYPERLINK(\"http://x\")", "s")
