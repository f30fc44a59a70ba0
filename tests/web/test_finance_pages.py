"""The aging and statement pages: what the API says, as tables in the reader's language, with
totals and links; bad dates and unknown partners answered on the page; finance.view required."""

from datetime import UTC, datetime

from cangliu.services import auth, roles
from tests.conftest import PASSWORD
from tests.web.conftest import csrf_of, login


def _owed(api, customer: str, qty: str, price: str) -> str:  # type: ignore[no-untyped-def]
    """Ship ``qty`` at ``price`` to ``customer``: a receivable of qty × price."""
    so = api.post("/api/v1/sales-orders", json={"customer": customer, "site": "WH",
                                               "lines": [{"sku": "SKU-1", "qty": qty, "price": price}]})
    number = so.json()["number"]
    api.post(f"/api/v1/sales-orders/{number}/confirm", json={})
    assert api.post(f"/api/v1/sales-orders/{number}/ship", json={}).status_code == 200
    return str(number)


def _cells(html: str, row_id: str) -> list[str]:
    row = html.split(f'data-partner="{row_id}"', 1)[1].split("</tr>", 1)[0]
    return [c.split(">", 1)[1].split("<", 1)[0].strip()
            for c in row.split("<td")[1:]]


def test_the_aging_page_shows_each_partner_by_age_with_totals(api, browser):
    for code, name in (("C1", "华东客户"), ("C2", "华南客户")):
        api.post("/api/v1/customers", json={"code": code, "name": name})
    api.post("/api/v1/stock/receive", json={"sku": "SKU-1", "site": "WH", "qty": "10"})
    _owed(api, "C1", "2", "7")
    _owed(api, "C2", "1", "5.5")
    page = browser.get("/finance/aging")
    assert page.status_code == 200
    assert "账龄" in page.text and "应收账款" in page.text and "0-30 天" in page.text
    assert _cells(page.text, "C1")[0] == "C1 华东客户"
    assert _cells(page.text, "C1")[1:6] == ["14.00", "0.00", "0.00", "0.00", ""]
    foot = page.text.split("<tfoot>", 1)[1]
    assert "19.50" in foot
    assert 'href="/finance/statements/receivable/C1"' in page.text
    # seen from a day before anything was booked, nothing is open
    early = browser.get("/finance/aging", params={"as_of": "2020-01-01"})
    assert "没有未结款项" in early.text and "<tfoot>" not in early.text
    english = browser.get("/finance/aging", params={"kind": "payable"},
                          headers={"Accept-Language": "en"})
    assert "Payables" in english.text and "Nothing is open." in english.text


def test_the_statement_runs_from_the_opening_to_the_closing_balance(api, browser):
    api.post("/api/v1/customers", json={"code": "C1", "name": "华东客户"})
    api.post("/api/v1/stock/receive", json={"sku": "SKU-1", "site": "WH", "qty": "10"})
    number = _owed(api, "C1", "2", "7")
    today = datetime.now(UTC).date().isoformat()
    api.post("/api/v1/payments", json={"kind": "receivable", "partner": "C1", "amount": "4",
                                       "paid_on": today})
    page = browser.get("/finance/statements/receivable/C1", params={"from": today, "to": today})
    assert page.status_code == 200 and "对账单" in page.text and "华东客户" in page.text
    body = page.text.split('id="statement"', 1)[1]
    assert body.index(number) < body.index("14.00") < body.index("-4.00") < body.index("10.00")
    assert "期末余额" in body and "期初余额" in body


def test_bad_input_is_answered_on_the_page_and_unknown_partners_are_404(api, browser):
    api.post("/api/v1/customers", json={"code": "C1", "name": "华东客户"})
    bad = browser.get("/finance/aging", params={"as_of": "yesterday"})
    assert bad.status_code == 422 and "截至" in bad.text and "YYYY-MM-DD" in bad.text
    wrong = browser.get("/finance/aging", params={"kind": "both"})
    assert wrong.status_code == 422 and "receivable, payable" in wrong.text
    reversed_ = browser.get("/finance/statements/receivable/C1",
                            params={"from": "2026-11-20", "to": "2026-11-01"})
    assert reversed_.status_code == 422 and "结束日期" in reversed_.text
    assert browser.get("/finance/statements/receivable/NOPE").status_code == 404
    # a customer is no supplier: its payables statement does not exist
    assert browser.get("/finance/statements/payable/C1").status_code == 404


def test_the_pages_need_finance_view(app, db, network):
    for name, role in (("money", "finance"), ("seller", "sales")):
        auth.create_user(db.uow(), username=name, password=PASSWORD)
        roles.set_assignments(db.uow(), network, name, [{"role": role, "scope": "all"}])
    with login(app, "money") as client:
        page = client.get("/finance/aging")
        assert page.status_code == 200 and 'href="/finance/aging"' in page.text
    with login(app, "seller") as client:
        assert client.get("/finance/aging").status_code == 403
        assert client.get("/finance/statements/receivable/C1").status_code == 403
        assert 'href="/finance/aging"' not in client.get("/stock").text


def _stock_in(api, site: str, sku: str, qty: str, cost: str) -> None:  # type: ignore[no-untyped-def]
    assert api.post("/api/v1/stock/receive", json={"sku": sku, "site": site, "qty": qty,
                                                   "unit_cost": cost}).status_code == 201


def _value_cells(html: str, site: str, category: str) -> list[str]:
    row = html.split(f'data-site="{site}" data-category="{category}"', 1)[1].split("</tr>", 1)[0]
    return [c.split(">", 1)[1].split("<", 1)[0].strip() for c in row.split("<td")[1:]]


def test_the_inventory_value_page_sums_sites_and_categories_within_the_readers_sites(
        api, browser, app, db, network):
    _stock_in(api, "WH", "SKU-1", "10", "2")   # FOOD
    _stock_in(api, "WH", "SKU-KG", "4", "3")   # no category
    _stock_in(api, "S1", "SKU-1", "1", "2.5")
    page = browser.get("/finance/inventory-value")
    assert page.status_code == 200 and "库存金额" in page.text
    assert _value_cells(page.text, "WH", "") == ["WH 中央仓", "无品类", "12.00"]
    assert _value_cells(page.text, "WH", "FOOD") == ["", "FOOD 食品", "20.00"]
    assert 'data-subtotal="WH"><td></td><th>小计</th><th class="num">32.00' in page.text
    assert "34.50" in page.text.split("<tfoot>", 1)[1]
    # the end of a day before anything happened: nothing held a value
    early = browser.get("/finance/inventory-value", params={"at": "2020-01-01"})
    assert early.status_code == 200 and "没有计价的库存" in early.text
    bad = browser.get("/finance/inventory-value", params={"at": "1 May"})
    assert bad.status_code == 422 and "截至" in bad.text and "YYYY-MM-DD" in bad.text
    # a store manager of S1 sees S1 only, on the page and in the API
    auth.create_user(db.uow(), username="s1boss", password=PASSWORD)
    roles.set_assignments(db.uow(), network, "s1boss",
                          [{"role": "store_manager", "scope": "sites", "sites": ["S1"]}])
    with login(app, "s1boss") as client:
        page = client.get("/finance/inventory-value", headers={"Accept-Language": "en"})
        assert 'data-site="S1"' in page.text and 'data-site="WH"' not in page.text
        assert "Inventory value" in page.text
        assert [r["site"] for r in client.get("/api/v1/inventory-value").json()["items"]] == ["S1"]
    # a role whose field rules hide values is told so instead of seeing figures
    roles.save_role(db.uow(), network, "report_novalue", name="报表无金额",
                    permissions=["report.view"], hidden_fields=["valuation"])
    auth.create_user(db.uow(), username="viewer", password=PASSWORD)
    roles.set_assignments(db.uow(), network, "viewer", [{"role": "report_novalue", "scope": "all"}])
    with login(app, "viewer") as client:
        page = client.get("/finance/inventory-value")
        assert "您的角色不显示库存金额" in page.text and "34.50" not in page.text


def test_a_period_is_closed_from_its_page_after_a_confirmation_and_never_backwards(
        browser, app, db, network):
    page = browser.get("/finance/periods")
    assert page.status_code == 200 and "尚未结过账" in page.text
    assert "data-confirm=" in page.text and "结账不能撤销" in page.text
    token = csrf_of(page.text)
    assert browser.post("/finance/periods/close", data={"through": "2026-10-31"}).status_code == 403
    done = browser.post("/finance/periods/close", data={"through": "2026-10-31", "csrf_token": token},
                        follow_redirects=False)
    assert done.status_code == 303
    page = browser.get(done.headers["location"])
    assert "已结账至 2026-10-31。" in page.text and "业务日期在该日及之前的过账将被拒绝" in page.text
    back = browser.post("/finance/periods/close", data={"through": "2026-09-30", "csrf_token": token})
    assert back.status_code == 422 and "2026-10-31" in back.text and "结账至" in back.text
    empty = browser.post("/finance/periods/close", data={"through": "", "csrf_token": token})
    assert empty.status_code == 422
    # finance.view without finance.post: the state, no form, and a refused post
    roles.save_role(db.uow(), network, "finance_reader", name="财务只读",
                    permissions=["finance.view"])
    auth.create_user(db.uow(), username="reader", password=PASSWORD)
    roles.set_assignments(db.uow(), network, "reader", [{"role": "finance_reader", "scope": "all"}])
    with login(app, "reader") as client:
        page = client.get("/finance/periods")
        assert "已结账至 2026-10-31" in page.text and 'action="/finance/periods/close"' not in page.text
        assert client.post("/finance/periods/close", data={
            "through": "2026-11-30", "csrf_token": csrf_of(page.text)}).status_code == 403
    assert "已结账至 2026-10-31：" in browser.get("/finance/periods").text
