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
