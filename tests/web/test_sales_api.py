"""Sales over the API."""


def test_sales_order_journey_over_the_api(api):
    api.post("/api/v1/customers", json={"code": "C1", "name": "客户一"})
    api.put("/api/v1/customers/C1/prices/SKU-1", json={"price": "9.9"})
    api.post("/api/v1/stock/receive", json={"sku": "SKU-1", "site": "WH", "qty": "3"})
    created = api.post("/api/v1/sales-orders", json={
        "customer": "C1", "site": "WH", "channel": "wholesale",
        "lines": [{"sku": "SKU-1", "qty": "5"}]})
    assert created.status_code == 201, created.text
    number = created.json()["number"]
    short = api.post(f"/api/v1/sales-orders/{number}/confirm", json={},
                     headers={"Accept-Language": "zh-CN"})
    assert short.status_code == 409
    assert short.json()["detail"] == "WH 的 SKU-1 库存不足：需要 5，可用 3"
    api.post("/api/v1/stock/receive", json={"sku": "SKU-1", "site": "WH", "qty": "2"})
    assert api.post(f"/api/v1/sales-orders/{number}/confirm", json={}).json()["state"] == "confirmed"
    shipped = api.post(f"/api/v1/sales-orders/{number}/ship", json={})
    assert shipped.json()["state"] == "shipped"
    back = api.post(f"/api/v1/sales-orders/{number}/return",
                    json={"lines": [{"line_no": 1, "qty": "1"}]})
    assert back.status_code == 200
    row = api.get("/api/v1/stock/SKU-1").json()["sites"][0]
    assert (row["on_hand"], row["quality_hold"], row["available"]) == ("1", "1", "0")
    listed = api.get("/api/v1/sales-orders", params={"customer": "C1", "state": "shipped"})
    assert [o["number"] for o in listed.json()["items"]] == [number]


def _draft(api, qty="3"):
    api.post("/api/v1/customers", json={"code": "C1", "name": "客户一"})
    api.put("/api/v1/customers/C1/prices/SKU-1", json={"price": "2"})
    created = api.post("/api/v1/sales-orders", json={
        "customer": "C1", "site": "WH", "lines": [{"sku": "SKU-1", "qty": qty}]})
    assert created.status_code == 201, created.text
    return created.json()["number"]


def test_editing_a_draft_with_a_stale_version_answers_409_with_the_current_one(api):
    number = _draft(api)
    edited = api.patch(f"/api/v1/sales-orders/{number}", json={
        "version": 1, "channel": "online", "lines": [{"sku": "SKU-KG", "qty": "2.5", "price": "4"}]})
    assert edited.status_code == 200, edited.text
    assert (edited.json()["version"], edited.json()["total"]) == (2, "10.00")
    stale = api.patch(f"/api/v1/sales-orders/{number}", json={"version": 1, "channel": "store"},
                      headers={"Accept-Language": "en"})
    assert stale.status_code == 409
    body = stale.json()
    assert body["current_version"] == 2 and body["current"]["channel"] == "online"
    assert body["detail"] == "This record was changed by admin (now version 2)"
    assert api.get(f"/api/v1/sales-orders/{number}").json()["channel"] == "online"


def test_the_edit_model_is_strict_and_a_confirmed_order_cannot_be_edited(api):
    number = _draft(api)
    extra = api.patch(f"/api/v1/sales-orders/{number}", json={"version": 1, "state": "shipped"})
    assert extra.status_code == 422 and extra.json()["errors"][0]["field"] == "state"
    missing = api.patch(f"/api/v1/sales-orders/{number}", json={"channel": "online"})
    assert missing.status_code == 422 and missing.json()["errors"][0]["field"] == "version"
    api.post("/api/v1/stock/receive", json={"sku": "SKU-1", "site": "WH", "qty": "3"})
    api.post(f"/api/v1/sales-orders/{number}/confirm", json={})
    refused = api.patch(f"/api/v1/sales-orders/{number}", json={"version": 2, "channel": "online"},
                        headers={"Accept-Language": "en"})
    assert refused.status_code == 409
    assert refused.json()["detail"] == f"Document {number} is confirmed: cannot edit"


def test_the_pick_list_names_bins_and_ship_may_override_them(api):
    api.post("/api/v1/locations", json={"code": "WH-B1", "name": "B1", "kind": "bin",
                                        "parent": "WH"})
    api.post("/api/v1/stock/receive", json={"sku": "SKU-1", "site": "WH", "bin": "WH-A1",
                                            "qty": "2"})
    api.post("/api/v1/stock/receive", json={"sku": "SKU-1", "site": "WH", "bin": "WH-B1",
                                            "qty": "6"})
    number = _draft(api, qty="5")
    draft = api.get(f"/api/v1/sales-orders/{number}/pick-list")
    assert draft.status_code == 409
    api.post(f"/api/v1/sales-orders/{number}/confirm", json={})
    pick = api.get(f"/api/v1/sales-orders/{number}/pick-list")
    assert pick.status_code == 200
    assert [(p["bin"], p["qty"]) for p in pick.json()["lines"][0]["picks"]] == [("WH-B1", "5")]
    wrong = api.post(f"/api/v1/sales-orders/{number}/ship",
                     json={"lines": [{"line_no": 1, "qty": "2", "bin": "S1"}]})
    assert wrong.status_code == 422 and wrong.json()["errors"][0]["field"] == "lines[0].bin"
    shipped = api.post(f"/api/v1/sales-orders/{number}/ship",
                       json={"lines": [{"line_no": 1, "qty": "2", "bin": "WH-A1"}]})
    assert shipped.status_code == 200 and shipped.json()["state"] == "partially_shipped"
    rest = api.get(f"/api/v1/sales-orders/{number}/pick-list").json()["lines"][0]
    assert (rest["qty"], [(p["bin"], p["qty"]) for p in rest["picks"]]) == ("3", [("WH-B1", "3")])
    assert api.get("/api/v1/sales-orders/SO-NOPE/pick-list").status_code == 404
