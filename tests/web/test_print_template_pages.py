"""Print template pages and API: edit with preview, save, reset to default; the print view of a
document in scope, 404 outside the reader's scope and 403 without the permission."""

import pytest

from cangliu.services import auth, masterdata, purchasing, roles
from cangliu.services.postings import Meta
from cangliu.services.purchasing import PurchaseLineIn
from tests.conftest import PASSWORD
from tests.services.test_print_templates import documents  # noqa: F401  (a fixture)
from tests.web.conftest import csrf_of, login

BASE = "/admin/print-templates"


@pytest.fixture
def po(db, network):
    masterdata.create(db.uow(), network, "supplier", {"code": "SUP-1", "name": "华东饮品"})
    return purchasing.create_purchase(db.uow(), Meta(network), supplier="SUP-1", site="WH",
                                      lines=[PurchaseLineIn("SKU-1", "4", "2.5")])["number"]


def _user(app, db, network, username, role, **scope):
    auth.create_user(db.uow(), username=username, password=PASSWORD)
    roles.set_assignments(db.uow(), network, username, [{"role": role, **(scope or {"scope": "all"})}])
    return login(app, username)


def test_an_administrator_edits_previews_saves_and_resets_a_template(browser, po):
    listing = browser.get(BASE)
    assert listing.status_code == 200 and "采购订单" in listing.text
    page = browser.get(f"{BASE}/purchase_order")
    assert page.status_code == 200 and "doc.lines[].sku" in page.text  # the documented variables
    csrf = csrf_of(page.text)
    body = "<h1>{{ company }} {{ doc.number }} {{ doc.supplier_name }}</h1>"
    preview = browser.post(f"{BASE}/purchase_order/preview",
                           data={"csrf_token": csrf, "body": body, "number": po})
    assert preview.status_code == 200 and f"{po} 华东饮品" in preview.text
    sample = browser.post(f"{BASE}/purchase_order/preview",
                          data={"csrf_token": csrf, "body": body, "number": ""})
    assert "PO-20261123-0001" in sample.text
    broken = browser.post(f"{BASE}/purchase_order",
                          data={"csrf_token": csrf, "body": "x\n{% if %}", "version": "0"})
    assert broken.status_code == 422 and "x\n{% if %}" in broken.text and "2" in broken.text
    saved = browser.post(f"{BASE}/purchase_order", data={"csrf_token": csrf, "body": body,
                                                         "version": "0"}, follow_redirects=False)
    assert saved.status_code == 303
    assert browser.get(f"/print/purchase_order/{po}").text == f"<h1>仓流 Cangliu {po} 华东饮品</h1>"
    stale = browser.post(f"{BASE}/purchase_order", data={"csrf_token": csrf, "body": body + "!",
                                                         "version": "0"})
    assert stale.status_code == 409
    reset = browser.post(f"{BASE}/purchase_order/reset", data={"csrf_token": csrf},
                         follow_redirects=False)
    assert reset.status_code == 303
    assert "window.print()" in browser.get(f"/print/purchase_order/{po}").text


def test_the_api_lists_saves_previews_and_resets(api, po):
    items = api.get("/api/v1/print-templates").json()["items"]
    assert len(items) == 7 and all(t["active"]["builtin"] for t in items)
    one = api.get("/api/v1/print-templates/transfer").json()
    assert one["version"] == 0 and any(v["name"] == "doc.source" for v in one["variables"])
    bad = api.put("/api/v1/print-templates/purchase_order",
                  json={"body": "{{ ''.__class__.__mro__ }}", "version": 0})
    assert bad.status_code == 422 and bad.json()["errors"][0]["field"] == "body"
    ok = api.put("/api/v1/print-templates/purchase_order",
                 json={"body": "PO {{ doc.number }}", "version": 0})
    assert ok.status_code == 200 and ok.json()["version"] == 1
    printed = api.get(f"/api/v1/documents/purchase_order/{po}/print")
    assert printed.status_code == 200 and printed.text == f"PO {po}"
    assert printed.headers["content-type"].startswith("text/html")
    shown = api.post("/api/v1/print-templates/purchase_order/preview",
                     json={"body": "{{ doc.total|money }}", "number": po})
    assert shown.text == "10.00"
    assert api.delete("/api/v1/print-templates/purchase_order").json()["builtin"] is True
    assert api.get("/api/v1/print-templates/invoice").status_code == 404


def test_a_clerk_in_scope_prints_a_document(app, db, network, po):
    with _user(app, db, network, "wh_clerk", "clerk", scope="sites", sites=["WH"]) as client:
        page = client.get(f"/print/purchase_order/{po}")
        assert page.status_code == 200 and po in page.text and "window.print()" in page.text


def test_a_document_outside_the_scope_is_not_found(app, db, network, po):
    with _user(app, db, network, "s1_clerk", "clerk", scope="sites", sites=["S1"]) as client:
        assert client.get(f"/print/purchase_order/{po}").status_code == 404
        assert client.get(f"/api/v1/documents/purchase_order/{po}/print").status_code == 404


def test_printing_needs_the_documents_view_permission(app, db, network, po):
    with _user(app, db, network, "seller", "sales") as client:
        assert client.get(f"/print/purchase_order/{po}").status_code == 403
        assert client.get(BASE).status_code == 403


def test_a_settings_viewer_cannot_save(app, db, network, po):
    roles.save_role(db.uow(), network, "settings_reader", name="设置只读",
                    permissions=["settings.view"])
    with _user(app, db, network, "reader", "settings_reader") as client:
        page = client.get(f"{BASE}/scrap")
        assert page.status_code == 200
        saved = client.post(f"{BASE}/scrap", data={"csrf_token": csrf_of(page.text),
                                                   "body": "x", "version": "0"})
        assert saved.status_code == 403


def test_every_document_type_has_a_print_view(browser, documents):  # noqa: F811
    for document_type, number in documents.items():
        page = browser.get(f"/print/{document_type}/{number}")
        assert page.status_code == 200 and number in page.text, document_type
    assert browser.get("/print/scrap/SP-19990101-0001").status_code == 404
    assert browser.get("/print/invoice/X-1").status_code == 404
