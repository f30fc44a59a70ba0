"""Stock counts over the API: blind until review, variances posted."""


def test_count_journey_over_the_api(api):
    api.post("/api/v1/stock/receive", json={"sku": "SKU-1", "site": "WH", "qty": "10"})
    started = api.post("/api/v1/counts", json={"site": "WH"})
    assert started.status_code == 201
    number = started.json()["number"]
    assert "expected_qty" not in api.get(f"/api/v1/counts/{number}").json()["lines"][0]
    bad = api.post(f"/api/v1/counts/{number}/entries", json={"entries": [{"sku": "SKU-1", "qty": "-1"}]})
    assert bad.status_code == 422 and bad.json()["errors"][0]["field"] == "entries[0].qty"
    api.post(f"/api/v1/counts/{number}/entries", json={"entries": [{"sku": "SKU-1", "qty": "8"}]})
    review = api.post(f"/api/v1/counts/{number}/submit", json={}).json()
    assert review["lines"][0]["variance"] == "-2"
    assert api.post(f"/api/v1/counts/{number}/post", json={}).json()["state"] == "posted"
    assert api.get("/api/v1/stock/SKU-1").json()["total"]["available"] == "8"
