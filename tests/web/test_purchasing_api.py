"""Purchasing over the API."""


def test_purchase_order_journey_over_the_api(api):
    api.post("/api/v1/suppliers", json={"code": "SUP-1", "name": "供应商一"})
    price = api.put("/api/v1/suppliers/SUP-1/prices/SKU-1", json={"price": "3.2"})
    assert price.status_code == 200 and price.json()["price"] == "3.2"
    created = api.post("/api/v1/purchase-orders", json={
        "supplier": "SUP-1", "site": "WH", "lines": [{"sku": "SKU-1", "qty": "8"}]})
    assert created.status_code == 201, created.text
    number = created.json()["number"]
    assert number.startswith("PO-")
    assert api.post(f"/api/v1/purchase-orders/{number}/submit", json={}).json()["state"] == "approved"
    assert api.get("/api/v1/stock/SKU-1").json()["sites"][0]["on_order"] == "8"
    received = api.post(f"/api/v1/purchase-orders/{number}/receive",
                        json={"lines": [{"line_no": 1, "qty": "8"}]})
    assert received.json()["state"] == "received"
    row = api.get("/api/v1/stock/SKU-1").json()["sites"][0]
    assert (row["available"], row["on_order"]) == ("8", "0")
    listed = api.get("/api/v1/purchase-orders", params={"supplier": "SUP-1"}).json()["items"]
    assert [p["number"] for p in listed] == [number]
    unknown = api.post(f"/api/v1/purchase-orders/{number}/approve", json={})
    assert unknown.status_code == 422
    too_much = api.post(f"/api/v1/purchase-orders/{number}/receive",
                        json={"lines": [{"line_no": 1, "qty": "1"}]}, headers={"Accept-Language": "en"})
    assert too_much.status_code == 409
    assert too_much.json()["detail"] == f"Document {number} is received: cannot receive"


def _po(api, qty="10", submit=True):
    api.post("/api/v1/suppliers", json={"code": "SUP-1", "name": "供应商一"})
    api.put("/api/v1/suppliers/SUP-1/prices/SKU-1", json={"price": "2.5"})
    number = api.post("/api/v1/purchase-orders", json={
        "supplier": "SUP-1", "site": "WH", "lines": [{"sku": "SKU-1", "qty": qty}]}).json()["number"]
    if submit:
        api.post(f"/api/v1/purchase-orders/{number}/submit", json={})
    return number


def test_a_draft_is_edited_over_the_api_with_its_version(api):
    number = _po(api, submit=False)
    url = f"/api/v1/purchase-orders/{number}"
    edited = api.patch(url, json={"version": 1, "expected_date": "2026-12-24", "lines": [
        {"sku": "SKU-1", "qty": "4"}, {"sku": "SKU-KG", "qty": "1.5", "price": "6"}]})
    assert edited.status_code == 200, edited.text
    body = edited.json()
    assert body["version"] == 2 and body["total"] == "19.00" and body["expected_date"] == "2026-12-24"
    stale = api.patch(url, json={"version": 1, "lines": [{"sku": "SKU-1", "qty": "99"}]})
    assert stale.status_code == 409 and stale.json()["current_version"] == 2
    assert stale.json()["current"]["lines"][0]["qty"] == "4"
    extra = api.patch(url, json={"version": 2, "state": "approved"})
    assert extra.status_code == 422 and extra.json()["errors"][0]["field"] == "state"
    assert api.get(url).json()["version"] == 2
    api.post(f"{url}/submit", json={})
    late = api.patch(url, json={"version": 3, "lines": [{"sku": "SKU-1", "qty": "1"}]},
                     headers={"Accept-Language": "en"})
    assert late.status_code == 409
    assert late.json()["detail"] == f"Document {number} is approved: cannot edit"


def test_putaway_suggestions_per_open_line(api):
    api.post("/api/v1/locations", json={"code": "WH-B1", "name": "B1", "kind": "bin", "parent": "WH",
                                        "capacity_volume_l": "10"})
    sku = api.get("/api/v1/skus/SKU-1").json()
    api.patch("/api/v1/skus/SKU-1", json={"version": sku["version"], "volume_l": "2"})
    number = _po(api, qty="8")
    suggested = api.get(f"/api/v1/purchase-orders/{number}/putaway")
    assert suggested.status_code == 200, suggested.text
    assert suggested.json()["lines"] == [{"line_no": 1, "sku": "SKU-1", "open_qty": "8",
                                          "placements": [{"bin": "WH-B1", "qty": "5"}],
                                          "unplaced": "3"}]
    api.post(f"/api/v1/purchase-orders/{number}/receive",
             json={"lines": [{"line_no": 1, "qty": "5", "bin": "WH-B1"}]})
    after = api.get(f"/api/v1/purchase-orders/{number}/putaway").json()["lines"]
    assert after[0]["open_qty"] == "3" and after[0]["placements"] == []
    assert api.get("/api/v1/purchase-orders/PO-NOPE/putaway").status_code == 404


def test_supplier_returns_over_the_api_post_once_per_key(api):
    number = _po(api, qty="6")
    api.post(f"/api/v1/purchase-orders/{number}/receive", json={"lines": [{"line_no": 1, "qty": "6"}]})
    url = f"/api/v1/purchase-orders/{number}/return"
    body = {"lines": [{"line_no": 1, "qty": "2", "reason": "damaged on arrival"}], "reason": "RMA-7"}
    first = api.post(url, json=body, headers={"Idempotency-Key": "rma-7"})
    again = api.post(url, json=body, headers={"Idempotency-Key": "rma-7"})
    assert first.status_code == 200, first.text
    assert first.json() == again.json() and first.json()["lines"][0]["returned_qty"] == "2"
    assert api.get("/api/v1/stock/SKU-1").json()["sites"][0]["available"] == "4"
    too_much = api.post(url, json={"lines": [{"line_no": 1, "qty": "5"}]},
                        headers={"Accept-Language": "en"})
    assert too_much.status_code == 422 and too_much.json()["errors"][0]["field"] == "lines[0].qty"
    assert number in too_much.json()["detail"] and "at most 4" in too_much.json()["detail"]
    bad_status = api.post(url, json={"lines": [{"line_no": 1, "qty": "1", "from_status": "damaged"}]})
    assert bad_status.status_code == 422
    cancelled = _po(api)
    api.post(f"/api/v1/purchase-orders/{cancelled}/cancel", json={})
    refused = api.post(f"/api/v1/purchase-orders/{cancelled}/return",
                       json={"lines": [{"line_no": 1, "qty": "1"}]}, headers={"Accept-Language": "en"})
    assert refused.status_code == 409
    assert refused.json()["detail"] == f"Document {cancelled} is cancelled: cannot return"
