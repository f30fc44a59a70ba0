"""Money over the API: a shipment becomes a receivable, a payment settles it, value by site."""


def test_receivable_payment_aging_and_value_over_the_api(api):
    api.post("/api/v1/customers", json={"code": "C1", "name": "客户"})
    api.post("/api/v1/stock/receive", json={"sku": "SKU-1", "site": "WH", "qty": "5",
                                             "unit_cost": "2"})
    so = api.post("/api/v1/sales-orders", json={"customer": "C1", "site": "WH",
                                               "lines": [{"sku": "SKU-1", "qty": "2", "price": "7"}]})
    number = so.json()["number"]
    api.post(f"/api/v1/sales-orders/{number}/confirm", json={})
    api.post(f"/api/v1/sales-orders/{number}/ship", json={})
    aged = api.get("/api/v1/aging", params={"kind": "receivable"}).json()["items"]
    assert aged[0]["partner"] == "C1" and aged[0]["total"] == "14.00"
    paid = api.post("/api/v1/payments", json={"kind": "receivable", "partner": "C1",
                                              "amount": "14", "paid_on": "2026-11-23"})
    assert paid.status_code == 201 and paid.json()["unallocated"] == "0.00"
    assert api.get("/api/v1/aging", params={"kind": "receivable"}).json()["items"] == []
    value = api.get("/api/v1/inventory-value").json()["items"]
    assert value == [{"site": "WH", "category": "FOOD", "value": "6.00"}]
    closed = api.post("/api/v1/periods/close", json={"through": "2020-12-31"})
    assert closed.status_code == 200
    late = api.post("/api/v1/stock/receive", json={"sku": "SKU-1", "site": "WH", "qty": "1",
                                                   "occurred_at": "2020-06-01T00:00:00Z"})
    assert late.status_code == 422 and late.json()["errors"][0]["field"] == "occurred_at"
