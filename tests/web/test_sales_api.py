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
