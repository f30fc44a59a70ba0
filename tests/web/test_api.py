"""The JSON API: authentication, stock operations, single view, master data, problem details."""

from concurrent.futures import ThreadPoolExecutor

import pytest


def test_every_endpoint_but_login_and_health_requires_authentication(anon):
    assert anon.get("/health").status_code == 200
    for method, path in [("get", "/api/v1/stock"), ("get", "/api/v1/stock/SKU-1"),
                         ("post", "/api/v1/stock/receive"), ("get", "/api/v1/skus"),
                         ("post", "/api/v1/sites"), ("get", "/api/v1/auth/me"),
                         ("get", "/openapi.json")]:
        response = getattr(anon, method)(path)
        assert response.status_code == 401, path
        assert response.headers["content-type"].startswith("application/problem+json")


def test_the_api_schema_is_served_to_authenticated_callers(api):
    schema = api.get("/openapi.json").json()
    assert "/api/v1/stock/receive" in schema["paths"]
    receive = schema["paths"]["/api/v1/stock/receive"]["post"]
    assert receive["requestBody"]["content"]["application/json"]


def test_login_with_a_wrong_password_is_refused_in_the_callers_language(anon):
    response = anon.post("/api/v1/auth/login", json={"username": "admin", "password": "nope"},
                         headers={"Accept-Language": "en"})
    assert response.status_code == 401
    assert response.json()["detail"] == "Wrong username or password"
    zh = anon.post("/api/v1/auth/login", json={"username": "admin", "password": "nope"})
    assert zh.json()["detail"] == "用户名或密码错误"


def test_receive_then_single_view_shows_the_quantities_by_site(api):
    response = api.post("/api/v1/stock/receive",
                        json={"sku": "SKU-1", "site": "WH", "qty": "12", "reason": "PO"})
    assert response.status_code == 201, response.text
    assert response.json()["moves"][0] == {"sku": "SKU-1", "qty": "12", "from": "@supplier",
                                           "to": "WH", "from_status": "available",
                                           "to_status": "available", "lot": "",
                                           "unit_cost": "0", "value": "0"}
    api.post("/api/v1/stock/reserve", json={"sku": "SKU-1", "site": "WH", "qty": "5"})
    view = api.get("/api/v1/stock/SKU-1").json()
    row = view["sites"][0]
    assert (row["site"], row["on_hand"], row["reserved"], row["available"]) == ("WH", "12", "5", "7")
    assert set(row) >= {"in_transit_in", "in_transit_out", "on_order", "quality_hold", "damaged"}


def test_network_list_filters_and_paginates_with_a_cursor(api):
    for sku in ("SKU-1", "SKU-KG"):
        for site in ("WH", "S1"):
            api.post("/api/v1/stock/receive", json={"sku": sku, "site": site, "qty": "3"})
    first = api.get("/api/v1/stock", params={"limit": 3}).json()
    assert len(first["items"]) == 3 and first["next_cursor"]
    rest = api.get("/api/v1/stock", params={"limit": 3, "cursor": first["next_cursor"]}).json()
    assert [(r["sku"], r["site"]) for r in first["items"] + rest["items"]] == [
        ("SKU-1", "S1"), ("SKU-1", "WH"), ("SKU-KG", "S1"), ("SKU-KG", "WH")]
    assert rest["next_cursor"] is None
    only = api.get("/api/v1/stock", params={"site": "S1", "q": "大米"}).json()["items"]
    assert [(r["sku"], r["available"]) for r in only] == [("SKU-KG", "3")]
    assert api.get("/api/v1/stock", params={"region": "华南"}).json()["items"] == []


@pytest.mark.parametrize("body, field, status", [
    ({"sku": "SKU-1", "site": "WH", "qty": "0"}, "qty", 422),
    ({"sku": "SKU-1", "site": "WH", "qty": "-2"}, "qty", 422),
    ({"sku": "SKU-1", "site": "WH", "qty": "abc"}, "qty", 422),
    ({"sku": "SKU-1", "site": "WH", "qty": "1.5"}, "qty", 422),
    ({"sku": "SKU-KG", "site": "WH", "qty": "1.2345"}, "qty", 422),
    ({"sku": "NOPE", "site": "WH", "qty": "1"}, "sku", 422),
    ({"sku": "SKU-1", "site": "NOPE", "qty": "1"}, "site", 422),
    ({"sku": "SKU-1", "site": "WH", "qty": "1", "bin": "S1"}, "bin", 422),
    ({"sku": "SKU-1", "site": "WH"}, "qty", 422),
    ({"sku": "SKU-1", "site": "WH", "qty": "1", "unit_cost": "x", "cost": 1}, "cost", 422),
])
def test_bad_receipts_are_refused_naming_the_field_and_write_nothing(api, body, field, status):
    response = api.post("/api/v1/stock/receive", json=body, headers={"Accept-Language": "en"})
    assert response.status_code == status, response.text
    problem = response.json()
    assert problem["status"] == status and problem["title"] == "Invalid input"
    assert field in [e["field"] for e in problem["errors"]]
    assert api.get("/api/v1/stock").json()["items"] == []


def test_malformed_json_is_a_422_problem(api):
    response = api.post("/api/v1/stock/receive", content=b"{not json",
                        headers={"Content-Type": "application/json"})
    assert response.status_code == 422
    assert response.headers["content-type"].startswith("application/problem+json")


def test_issuing_more_than_available_is_a_409_naming_what_is_available(api):
    api.post("/api/v1/stock/receive", json={"sku": "SKU-1", "site": "WH", "qty": "2"})
    response = api.post("/api/v1/stock/issue", json={"sku": "SKU-1", "site": "WH", "qty": "5"},
                        headers={"Accept-Language": "en"})
    assert response.status_code == 409
    assert response.json()["detail"] == (
        "Insufficient stock of SKU-1 at WH: requested 5, available 2")


def test_moving_stock_into_a_virtual_location_is_refused(api):
    api.post("/api/v1/stock/receive", json={"sku": "SKU-1", "site": "WH", "qty": "2"})
    response = api.post("/api/v1/stock/move", json={"sku": "SKU-1", "from_site": "WH",
                                                    "to_site": "@customer", "qty": "1"})
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "to_site"


def test_same_idempotency_key_returns_the_first_result_and_posts_once(api):
    body = {"sku": "SKU-1", "site": "WH", "qty": "4"}
    headers = {"Idempotency-Key": "abc-1"}
    first = api.post("/api/v1/stock/receive", json=body, headers=headers)
    again = api.post("/api/v1/stock/receive", json=body, headers=headers)
    assert first.status_code == again.status_code == 201
    assert first.json() == again.json()
    assert api.get("/api/v1/stock/SKU-1").json()["total"]["on_hand"] == "4"
    other = api.post("/api/v1/stock/receive", json={**body, "qty": "5"}, headers=headers)
    assert other.status_code == 422
    assert api.get("/api/v1/stock/SKU-1").json()["total"]["on_hand"] == "4"


def test_concurrent_requests_with_one_key_produce_one_move(api):
    body = {"sku": "SKU-1", "site": "WH", "qty": "1"}

    def post(_):
        return api.post("/api/v1/stock/receive", json=body, headers={"Idempotency-Key": "k-9"})

    with ThreadPoolExecutor(8) as pool:
        results = list(pool.map(post, range(16)))
    assert {r.status_code for r in results} == {201}
    assert len({r.json()["ref"] for r in results}) == 1
    moves = api.get("/api/v1/stock/SKU-1/moves").json()["items"]
    assert len(moves) == 1


def test_status_change_and_reversal_through_the_api(api):
    ref = api.post("/api/v1/stock/receive",
                   json={"sku": "SKU-1", "site": "WH", "qty": "6"}).json()["ref"]
    held = api.post("/api/v1/stock/status", json={"sku": "SKU-1", "site": "WH", "qty": "2",
                                                  "from_status": "available",
                                                  "to_status": "quality_hold"})
    assert held.status_code == 201
    row = api.get("/api/v1/stock/SKU-1").json()["sites"][0]
    assert (row["available"], row["quality_hold"]) == ("4", "2")
    refused = api.post(f"/api/v1/stock/postings/{ref}/reverse", json={"reason": "wrong PO"})
    assert refused.status_code == 409  # 2 of the 6 are on hold: the receipt cannot be undone
    adjust = api.post("/api/v1/stock/adjust", json={"sku": "SKU-1", "site": "WH", "qty": "1",
                                                    "direction": "loss", "reason": "broken"})
    assert adjust.status_code == 201
    history = api.get("/api/v1/stock/SKU-1/moves").json()["items"]
    assert [m["operation"] for m in history] == ["adjust", "status", "receive"]


def test_master_data_crud_with_search_and_optimistic_locking(api):
    created = api.post("/api/v1/skus", json={"code": "SKU-9", "name": "绿茶", "uom": "pcs",
                                             "barcodes": ["6901234567892"]})
    assert created.status_code == 201, created.text
    assert created.json()["version"] == 1
    assert api.post("/api/v1/skus", json={"code": "SKU-9", "name": "x"}).status_code == 409
    found = api.get("/api/v1/skus", params={"q": "绿茶"}).json()["items"]
    assert [s["code"] for s in found] == ["SKU-9"]
    ok = api.patch("/api/v1/skus/SKU-9", json={"version": 1, "name": "乌龙茶"})
    assert ok.status_code == 200 and ok.json()["version"] == 2
    stale = api.patch("/api/v1/skus/SKU-9", json={"version": 1, "name": "红茶"})
    assert stale.status_code == 409
    assert stale.json()["current_version"] == 2 and stale.json()["current"]["name"] == "乌龙茶"
    assert api.get("/api/v1/skus/SKU-9").json()["name"] == "乌龙茶"
    assert api.get("/api/v1/skus/NOPE").status_code == 404
    bad = api.post("/api/v1/skus", json={"code": "SKU-10", "name": "x", "decimals": 9,
                                         "category": "NOPE"})
    assert bad.status_code == 422 and bad.json()["errors"][0]["field"] == "decimals"
    # An edit keeps the fields' limits and refuses to empty a field that cannot be empty.
    for change in ({"decimals": 9}, {"warranty_days": 4000}, {"decimals": None}, {"name": ""}):
        refused = api.patch("/api/v1/skus/SKU-9", json={"version": 2, **change})
        assert refused.status_code == 422, (change, refused.text)
        assert [e["field"] for e in refused.json()["errors"]] == list(change), refused.json()
    assert api.get("/api/v1/skus/SKU-9").json()["version"] == 2


def test_bins_belong_to_their_site(api):
    response = api.post("/api/v1/locations", json={"code": "S1-Z", "name": "Z", "kind": "zone",
                                                   "parent": "S1"})
    assert response.status_code == 201 and response.json()["site"] == "S1"
    bins = api.get("/api/v1/locations", params={"site": "S1"}).json()["items"]
    assert [b["code"] for b in bins] == ["S1-Z"]


def test_scrap_over_the_api_requires_a_reason_code(api):
    api.post("/api/v1/stock/receive", json={"sku": "SKU-1", "site": "WH", "qty": "3"})
    bad = api.post("/api/v1/stock/scrap", json={"sku": "SKU-1", "site": "WH", "qty": "1",
                                                "reason_code": "whim", "from_status": "available"})
    assert bad.status_code == 422 and bad.json()["errors"][0]["field"] == "reason_code"
    ok = api.post("/api/v1/stock/scrap", json={"sku": "SKU-1", "site": "WH", "qty": "1",
                                               "reason_code": "expired", "from_status": "available"})
    assert ok.status_code == 201 and ok.json()["number"].startswith("SP-")
    assert api.get("/api/v1/stock/SKU-1").json()["total"]["on_hand"] == "2"
