"""Working at once on pages and through the API: edit locks (who edits, read-only for others,
breaking a lock) and stale saves that show both versions and let the user save again."""

import pytest
from fastapi.testclient import TestClient

from cangliu.db import audit
from cangliu.services import auth, masterdata, roles, sales, transfers
from cangliu.services.postings import Meta
from cangliu.services.sales import SalesLineIn
from cangliu.services.transfers import TransferLineIn
from tests.conftest import PASSWORD
from tests.web.conftest import login


@pytest.fixture
def li(db, network):
    """A salesperson: edits sales orders and customers, may not break locks."""
    actor = auth.create_user(db.uow(), username="li", password=PASSWORD)
    roles.set_assignments(db.uow(), network, "li", [{"role": "sales", "scope": "all"}])
    return actor


@pytest.fixture
def li_browser(app, li):
    with login(app, "li") as client:
        yield client


@pytest.fixture
def li_api(app, li):
    with TestClient(app) as client:
        token = client.post("/api/v1/auth/login",
                            json={"username": "li", "password": PASSWORD}).json()["access_token"]
        client.headers["Authorization"] = f"Bearer {token}"
        yield client


@pytest.fixture
def order(db, network):
    masterdata.create(db.uow(), network, "customer", {"code": "C1", "name": "客户一"})
    sales.set_customer_price(db.uow(), network, customer="C1", sku="SKU-1", price="5")
    return sales.create_sale(db.uow(), Meta(network), customer="C1", site="WH",
                             lines=[SalesLineIn("SKU-1", "3")])["number"]


FORM = {"version": "1", "customer": "C1", "site": "WH", "channel": "store", "currency": "CNY",
        "rate": "1"}


def test_opening_a_draft_for_editing_makes_it_read_only_for_others(browser, li_browser, order):
    editing = browser.get(f"/docs/sales-orders/{order}?edit=1").text
    assert f'action="/docs/sales-orders/{order}/edit"' in editing and 'class="lock-banner"' not in editing
    assert f'data-edit-lock="/api/v1/locks/sales_order/{order}"' in editing
    assert '<script src="/static/locks.js" defer></script>' in editing
    seen = li_browser.get(f"/docs/sales-orders/{order}?edit=1").text
    assert 'class="lock-banner"' in seen and "admin" in seen.split('class="lock-banner"')[1]
    assert f'action="/docs/sales-orders/{order}/edit"' not in seen  # read-only
    assert "/break" not in seen  # only administrators may break a lock
    refused = li_browser.post(f"/docs/sales-orders/{order}/edit",
                              data={**FORM, "csrf_token": li_browser.csrf, "lines": "SKU-1 9"})
    assert refused.status_code == 423 and 'class="lock-banner"' in refused.text


def test_an_administrator_breaks_a_lock_after_confirming(browser, li_browser, db, order):
    li_browser.get(f"/docs/sales-orders/{order}?edit=1")
    seen = browser.get(f"/docs/sales-orders/{order}").text
    assert f'action="/locks/sales_order/{order}/break"' in seen and "data-confirm=" in seen
    broken = browser.post(f"/locks/sales_order/{order}/break",
                          data={"csrf_token": browser.csrf, "next": f"/docs/sales-orders/{order}"},
                          follow_redirects=False)
    assert broken.status_code == 303 and broken.headers["location"] == f"/docs/sales-orders/{order}"
    assert 'class="lock-banner"' not in browser.get(f"/docs/sales-orders/{order}").text
    assert li_browser.post(f"/locks/sales_order/{order}/break",
                           data={"csrf_token": li_browser.csrf}).status_code == 403


def test_the_lock_api_takes_renews_releases_and_names_the_holder(api, li_api, order):
    url = f"/api/v1/locks/sales_order/{order}"
    taken = api.post(url)
    assert taken.status_code == 200 and taken.json()["holder"] == "admin" and taken.json()["mine"]
    refused = li_api.post(url)
    assert refused.status_code == 423 and refused.json()["locked_by"] == "admin"
    assert refused.headers["content-type"].startswith("application/problem+json")
    assert li_api.get(url).json()["holder"] == "admin"
    stale_patch = li_api.patch(f"/api/v1/sales-orders/{order}", json={"version": 1, "channel": "online"})
    assert stale_patch.status_code == 423 and stale_patch.json()["locked_by"] == "admin"
    assert api.post(f"{url}/renew").status_code == 200
    assert api.delete(url).status_code == 204
    assert li_api.get(url).json() == {"locked": False}
    assert li_api.post(url).json()["holder"] == "li"
    assert li_api.post(f"{url}/break").status_code == 403
    assert api.post(f"{url}/break").json()["broken"]["holder"] == "li"
    assert li_api.post(f"{url}/renew").status_code == 409  # broken: not silently taken back
    assert api.post("/api/v1/locks/nothing/X").status_code == 422


def test_a_stale_patch_answers_409_with_who_saved_and_what_changed(api, li_api):
    api.post("/api/v1/customers", json={"code": "C0", "name": "客户"})
    assert li_api.patch("/api/v1/customers/C0", json={"version": 1, "name": "李的名字"}
                        ).status_code == 200
    stale = api.patch("/api/v1/customers/C0", json={"version": 1, "name": "管理员的名字"})
    assert stale.status_code == 409
    body = stale.json()
    assert body["current_version"] == 2 and body["saved_by"] == "li" and body["saved_at"]
    assert body["changes"] == {"name": {"before": "客户", "after": "李的名字"}}
    assert "li" in body["detail"]


def test_a_stale_save_shows_both_versions_and_saving_again_applies_it(browser, db, li, order):
    with audit.acting(li):
        sales.update_sale(db.uow(), Meta(li), number=order, version=1, channel="online")
    stale = browser.post(f"/docs/sales-orders/{order}/edit",
                         data={**FORM, "csrf_token": browser.csrf, "lines": "SKU-1 9"})
    assert stale.status_code == 409
    page = stale.text
    assert 'class="conflict card"' in page and "li" in page.split('class="conflict card"')[1]
    conflict = page.split('class="conflict card"')[1].split("</section>")[0]
    assert "<td>store</td><td>online</td>" in conflict.replace("\n", "").replace("    ", "")
    assert 'data-conflict-fields="[&#34;channel&#34;, ' in page  # page.js marks the fields
    assert "SKU-1 9" in page and 'name="version" value="2"' in page  # theirs, on the current one
    again = browser.post(f"/docs/sales-orders/{order}/edit",
                         data={**FORM, "version": "2", "csrf_token": browser.csrf,
                               "lines": "SKU-1 9"})
    assert again.status_code == 200
    saved = sales.get_sale(db.uow(), order)
    assert saved["version"] == 3 and saved["lines"][0]["qty"] == "9"


def test_a_master_data_edit_page_is_locked_while_open(browser, li_browser, db):
    browser.post("/md/customers/new", data={"csrf_token": browser.csrf, "code": "C9", "name": "九",
                                            "channel": "store", "active": "on"},
                 follow_redirects=False)
    mine = li_browser.get("/md/customers/C9").text
    assert 'data-edit-lock="/api/v1/locks/customer/C9"' in mine
    seen = browser.get("/md/customers/C9").text
    assert 'class="lock-banner"' in seen and " inert" in seen and 'type="submit"' not in seen
    refused = browser.post("/md/customers/C9", data={"csrf_token": browser.csrf, "version": "1",
                                                     "name": "改", "channel": "store"})
    assert refused.status_code == 423
    assert masterdata.get(db.uow(), "customer", "C9")["name"] == "九"


def test_a_master_data_stale_save_keeps_the_typed_values_on_the_current_version(browser, db, li):
    with audit.acting(li):
        masterdata.update_record(db.uow(), li, "sku", "SKU-1", 1, {"name": "红茶"})
    stale = browser.post("/md/skus/SKU-1", data={"csrf_token": browser.csrf, "version": "1",
                                                 "name": "绿茶", "uom": "pcs", "decimals": "0",
                                                 "tracking": "none", "active": "on"})
    assert stale.status_code == 409
    assert 'class="conflict card"' in stale.text and 'value="绿茶"' in stale.text
    assert 'name="version" value="2"' in stale.text and "红茶" in stale.text


def test_a_transfer_draft_is_edited_from_its_page_under_a_lock(browser, db, network):
    draft = transfers.create_transfer(db.uow(), Meta(network), source="WH", dest="S1",
                                      lines=[TransferLineIn("SKU-1", "2")])
    number = draft["number"]
    page = browser.get(f"/transfers/{number}?edit=1").text
    assert f'action="/transfers/{number}/edit"' in page and "SKU-1 2" in page
    edited = browser.post(f"/transfers/{number}/edit", data={
        "csrf_token": browser.csrf, "version": "1", "lines": "SKU-1 5", "expected_arrival": ""})
    assert edited.status_code == 200
    assert transfers.get_transfer(db.uow(), number)["lines"][0]["qty"] == "5"
    stale = browser.post(f"/transfers/{number}/edit", data={
        "csrf_token": browser.csrf, "version": "1", "lines": "SKU-1 7", "expected_arrival": ""})
    assert stale.status_code == 409 and "SKU-1 7" in stale.text
    assert 'name="version" value="2"' in stale.text and 'class="conflict card"' in stale.text
