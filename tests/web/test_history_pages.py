"""History over the API and on pages: versions, a diff, restoring with a confirmation step,
deleting master data and restoring it; bad input answers 4xx naming the field, changing nothing."""

import pytest
from fastapi.testclient import TestClient

from cangliu.services import auth, masterdata, purchasing, roles
from cangliu.services.postings import Meta
from cangliu.services.purchasing import PurchaseLineIn
from tests.conftest import PASSWORD


def _rename(db, actor, name, version):
    masterdata.update_record(db.uow(), actor, "sku", "SKU-1", version, {"name": name})


def test_api_lists_versions_diffs_them_and_restores_one(api, db, network):
    _rename(db, network, "第二版", 1)
    versions = api.get("/api/v1/history/sku/SKU-1").json()
    assert [v["version"] for v in versions["items"]] == [2, 1]
    fields = {f["field"]: f for f in api.get("/api/v1/history/sku/SKU-1/diff",
                                             params={"from": 1, "to": 2}).json()["fields"]}
    assert fields["name"]["before"] == "矿泉水" and fields["name"]["after"] == "第二版"
    restored = api.post("/api/v1/history/sku/SKU-1/restore",
                        json={"version": 1, "current_version": 2})
    assert restored.status_code == 200
    assert restored.json()["name"] == "矿泉水" and restored.json()["version"] == 3


@pytest.mark.parametrize(("url", "body", "status", "field"), [
    ("/api/v1/history/warehouse/WH", None, 422, "entity"),
    ("/api/v1/history/sku/SKU-1/diff?from=1&to=8", None, 422, "to"),
    ("/api/v1/history/sku/SKU-1/restore", {"version": 9, "current_version": 2}, 422, "version"),
    ("/api/v1/history/sku/SKU-1/restore", {"version": 1, "current_version": 1}, 409, None),
    ("/api/v1/history/sku/SKU-1/restore", {"version": 1}, 422, "current_version"),
    ("/api/v1/deleted/warehouse", None, 422, "kind"),
])
def test_bad_history_requests_are_refused_naming_the_field(api, db, network, url, body, status,
                                                          field):
    _rename(db, network, "第二版", 1)
    response = api.post(url, json=body) if body is not None else api.get(url)
    assert response.status_code == status
    if field:
        assert field in [e["field"] for e in response.json()["errors"]]
    assert masterdata.get(db.uow(), "sku", "SKU-1")["version"] == 2


def test_api_deletes_and_restores_master_data_with_its_version(api, db):
    assert api.delete("/api/v1/skus/SKU-KG", params={"version": 7}).status_code == 409
    gone = api.delete("/api/v1/skus/SKU-KG", params={"version": 1})
    assert gone.status_code == 200 and gone.json()["deleted_at"]
    codes = [r["code"] for r in api.get("/api/v1/skus").json()["items"]]
    assert "SKU-KG" not in codes
    assert [r["code"] for r in api.get("/api/v1/deleted/sku").json()["items"]] == ["SKU-KG"]
    assert api.post("/api/v1/skus", json={"code": "SKU-KG", "name": "x"}).status_code == 409
    back = api.post("/api/v1/skus/SKU-KG/restore", json={"version": 2})
    assert back.status_code == 200 and back.json()["deleted_at"] is None
    assert "SKU-KG" in [r["code"] for r in api.get("/api/v1/skus").json()["items"]]


def test_restoring_a_document_that_is_no_longer_a_draft_answers_409(api, db, network):
    masterdata.create(db.uow(), network, "supplier", {"code": "SUP-1", "name": "供应商一"})
    meta = Meta(actor=network)
    po = purchasing.create_purchase(db.uow(), meta, supplier="SUP-1", site="WH",
                                    lines=[PurchaseLineIn("SKU-1", "10", "2")])
    purchasing.update_purchase(db.uow(), meta, number=po["number"], version=1,
                               lines=[PurchaseLineIn("SKU-1", "3", "2")])
    purchasing.submit_purchase(db.uow(), meta, number=po["number"])
    response = api.post(f"/api/v1/history/purchase/{po['number']}/restore",
                        json={"version": 1, "current_version": 3},
                        headers={"Accept-Language": "en"})
    assert response.status_code == 409 and "draft" in response.json()["detail"]
    assert purchasing.get_purchase(db.uow(), po["number"])["lines"][0]["qty"] == "3"


def test_a_user_without_the_permission_cannot_read_or_restore_history(app, db, network):
    auth.create_user(db.uow(), username="li", password=PASSWORD)
    roles.set_assignments(db.uow(), network, "li", [{"role": "sales", "scope": "all"}])
    with TestClient(app) as client:
        token = client.post("/api/v1/auth/login",
                            json={"username": "li", "password": PASSWORD}).json()["access_token"]
        client.headers["Authorization"] = f"Bearer {token}"
        assert client.get("/api/v1/history/sku/SKU-1").status_code == 200  # sku.view
        refused = client.post("/api/v1/history/sku/SKU-1/restore",
                              json={"version": 1, "current_version": 1})
        assert refused.status_code == 403
        assert client.delete("/api/v1/skus/SKU-1", params={"version": 1}).status_code == 403
        assert client.get("/api/v1/history/supplier/NONE").status_code == 403


def test_history_page_shows_versions_and_restores_only_after_confirming(browser, db, network):
    _rename(db, network, "第二版", 1)
    page = browser.get("/history/sku/SKU-1")
    assert page.status_code == 200 and 'id="version-1"' in page.text and "第二版" in page.text
    confirm = browser.get("/history/sku/SKU-1?confirm=restore&version=1")
    assert 'action="/history/sku/SKU-1/restore"' in confirm.text
    assert masterdata.get(db.uow(), "sku", "SKU-1")["version"] == 2  # nothing yet
    done = browser.post("/history/sku/SKU-1/restore", data={
        "csrf_token": browser.csrf, "version": "1", "current_version": "2"},
        follow_redirects=False)
    assert done.status_code == 303
    assert masterdata.get(db.uow(), "sku", "SKU-1")["name"] == "矿泉水"
    stale = browser.post("/history/sku/SKU-1/restore", data={
        "csrf_token": browser.csrf, "version": "2", "current_version": "2"})
    assert stale.status_code == 409 and masterdata.get(db.uow(), "sku", "SKU-1")["version"] == 3


def test_deleting_on_the_page_lists_the_record_as_deleted_until_restored(browser, db):
    assert "?confirm=delete" in browser.get("/history/sku/SKU-KG").text
    done = browser.post("/history/sku/SKU-KG/delete", data={
        "csrf_token": browser.csrf, "version": "1"}, follow_redirects=False)
    assert done.status_code == 303
    listed = browser.get("/history/deleted?kind=sku")
    assert 'id="deleted-SKU-KG"' in listed.text
    assert "SKU-KG" not in browser.get("/md/skus").text
    back = browser.post("/history/deleted/sku/SKU-KG/restore", data={
        "csrf_token": browser.csrf, "version": "2"}, follow_redirects=False)
    assert back.status_code == 303 and back.headers["location"] == "/md/skus/SKU-KG?saved=1"
    assert masterdata.get(db.uow(), "sku", "SKU-KG")["deleted_at"] is None


def test_record_pages_link_to_their_history(browser, db, network):
    assert "/history/sku/SKU-1" in browser.get("/md/skus/SKU-1").text
    assert "/history/deleted?kind=sku" in browser.get("/md/skus/new").text
    masterdata.create(db.uow(), network, "supplier", {"code": "SUP-1", "name": "供应商一"})
    po = purchasing.create_purchase(db.uow(), Meta(actor=network), supplier="SUP-1", site="WH",
                                    lines=[PurchaseLineIn("SKU-1", "10", "2")])
    assert f"/history/purchase/{po['number']}" in browser.get(
        f"/docs/purchase-orders/{po['number']}").text


def test_the_diff_leaves_out_fields_the_readers_role_hides(app, db, network):
    masterdata.create(db.uow(), network, "supplier", {"code": "SUP-1", "name": "供应商一"})
    meta = Meta(actor=network)
    po = purchasing.create_purchase(db.uow(), meta, supplier="SUP-1", site="WH",
                                    lines=[PurchaseLineIn("SKU-1", "10", "2")])
    purchasing.update_purchase(db.uow(), meta, number=po["number"], version=1,
                               lines=[PurchaseLineIn("SKU-1", "4", "3")])
    roles.save_role(db.uow(), network, "viewer", name="只读", permissions=["purchase.view"],
                    hidden_fields=["price"])
    for username, role in (("wang", "viewer"), ("zhao", "finance")):
        auth.create_user(db.uow(), username=username, password=PASSWORD)
        roles.set_assignments(db.uow(), network, username, [{"role": role, "scope": "all"}])
    url = f"/api/v1/history/purchase/{po['number']}/diff?from=1&to=2"
    seen = {}
    for username in ("wang", "zhao"):
        with TestClient(app) as client:
            token = client.post("/api/v1/auth/login", json={
                "username": username, "password": PASSWORD}).json()["access_token"]
            client.headers["Authorization"] = f"Bearer {token}"
            seen[username] = [f["field"] for f in client.get(url).json()["fields"]]
    assert "lines[1].qty" in seen["wang"] and "lines[1].price" not in seen["wang"]
    assert "lines[1].price" in seen["zhao"]
