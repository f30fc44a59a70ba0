"""Pages a person uses: login, stock overview, SKU page, master-data lists and forms."""

from tests.conftest import PASSWORD


def _csrf(html: str) -> str:
    return html.split('name="csrf_token" value="')[1].split('"')[0]


def test_pages_redirect_to_login_without_a_session(anon):
    response = anon.get("/stock", follow_redirects=False)
    assert response.status_code == 303 and response.headers["location"].startswith("/login")


def test_login_form_refuses_a_wrong_password_and_a_missing_csrf_token(anon):
    page = anon.get("/login")
    assert "登录" in page.text
    wrong = anon.post("/login", data={"username": "admin", "password": "wrong-password!",
                                      "csrf_token": _csrf(page.text)})
    assert wrong.status_code == 401 and "用户名或密码错误" in wrong.text
    forged = anon.post("/login", data={"username": "admin", "password": PASSWORD})
    assert forged.status_code in (403, 422)


def test_stock_overview_shows_water_levels_and_filters(browser):
    api_csrf = {"X-CSRF-Token": browser.csrf}
    for sku, site, qty in [("SKU-1", "WH", "600"), ("SKU-1", "S1", "3"), ("SKU-KG", "S1", "50")]:
        r = browser.post("/api/v1/stock/receive", json={"sku": sku, "site": site, "qty": qty},
                         headers=api_csrf)
        assert r.status_code == 201, r.text
    page = browser.get("/stock")
    assert page.status_code == 200 and "库存总览" in page.text
    assert 'class="lvl high">600' in page.text and 'class="lvl low">3' in page.text
    filtered = browser.get("/stock", params={"site": "S1", "q": "大米"},
                           headers={"HX-Request": "true"})
    assert "SKU-KG" in filtered.text and "SKU-1<" not in filtered.text
    assert "<html" not in filtered.text  # htmx gets only the rows


def test_api_writes_from_the_browser_session_need_the_csrf_header(browser):
    refused = browser.post("/api/v1/stock/receive", json={"sku": "SKU-1", "site": "WH", "qty": "1"})
    assert refused.status_code == 403


def test_sku_page_shows_sites_and_move_history_in_english(browser):
    browser.post("/api/v1/stock/receive", json={"sku": "SKU-1", "site": "WH", "qty": "5",
                                                "reason": "first delivery"},
                 headers={"X-CSRF-Token": browser.csrf})
    browser.cookies.set("lang", "en")
    page = browser.get("/stock/SKU-1")
    assert page.status_code == 200
    assert "Move history" in page.text and "first delivery" in page.text and "admin" in page.text
    assert "Stock by site" in page.text


def test_master_data_form_creates_edits_and_reports_errors_per_field(browser):
    new = browser.get("/md/sites/new")
    csrf = _csrf(new.text)
    bad = browser.post("/md/sites/new", data={"csrf_token": csrf, "code": "ST-9", "name": "",
                                              "site_kind": "store", "latitude": "500"})
    assert bad.status_code == 422 and "field-error" in bad.text
    ok = browser.post("/md/sites/new", data={"csrf_token": csrf, "code": "ST-9", "name": "新店",
                                             "site_kind": "store", "region": "华南",
                                             "channel": "store", "active": "on"},
                      follow_redirects=False)
    assert ok.status_code == 303
    listing = browser.get("/md/sites", params={"q": "新店"})
    assert "ST-9" in listing.text and "WH" not in listing.text.split("<tbody>")[1]
    edit = browser.post("/md/sites/ST-9", data={"csrf_token": csrf, "version": "1",
                                                "name": "新店二", "site_kind": "store",
                                                "channel": "store", "active": "on"},
                        follow_redirects=False)
    assert edit.status_code == 303
    stale = browser.post("/md/sites/ST-9", data={"csrf_token": csrf, "version": "1",
                                                 "name": "旧名", "site_kind": "store",
                                                 "channel": "store", "active": "on"})
    assert stale.status_code == 409 and "新店二" in stale.text


def test_every_master_data_list_renders(browser):
    for path in ("skus", "categories", "sites", "locations", "suppliers", "customers"):
        assert browser.get(f"/md/{path}").status_code == 200, path
