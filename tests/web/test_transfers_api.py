"""Transfers over the API: the journey, list filters, errors as problem details."""


def test_transfer_journey_over_the_api(api):
    api.post("/api/v1/stock/receive", json={"sku": "SKU-1", "site": "WH", "qty": "9"})
    created = api.post("/api/v1/transfers", json={
        "source": "WH", "dest": "S1", "expected_arrival": "2020-01-01",
        "lines": [{"sku": "SKU-1", "qty": "5"}]})
    assert created.status_code == 201, created.text
    number = created.json()["number"]
    assert api.post(f"/api/v1/transfers/{number}/submit", json={}).json()["state"] == "approved"
    shipped = api.post(f"/api/v1/transfers/{number}/ship", json={},
                       headers={"Idempotency-Key": "ship-1"})
    assert shipped.status_code == 200 and shipped.json()["overdue"] is True
    replay = api.post(f"/api/v1/transfers/{number}/ship", json={},
                      headers={"Idempotency-Key": "ship-1"})
    assert replay.json() == shipped.json()  # a double click answers the same and posts nothing
    twice = api.post(f"/api/v1/transfers/{number}/ship", json={}, headers={"Accept-Language": "en"})
    assert twice.status_code == 409
    assert twice.json()["detail"] == f"Document {number} is shipped: cannot ship"
    view = {r["site"]: r for r in api.get("/api/v1/stock/SKU-1").json()["sites"]}
    assert (view["WH"]["in_transit_out"], view["S1"]["in_transit_in"]) == ("5", "5")
    received = api.post(f"/api/v1/transfers/{number}/receive",
                        json={"lines": [{"line_no": 1, "received": "5"}]})
    assert received.json()["state"] == "received"
    listed = api.get("/api/v1/transfers", params={"state": "received", "site": "S1"}).json()
    assert [t["number"] for t in listed["items"]] == [number]
    assert api.get("/api/v1/transfers", params={"state": "draft"}).json()["items"] == []


def test_bad_transfer_input_names_the_field(api):
    response = api.post("/api/v1/transfers", json={"source": "WH", "dest": "S1",
                                                   "lines": [{"sku": "SKU-1", "qty": "0"}]})
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "lines[0].qty"
    empty = api.post("/api/v1/transfers", json={"source": "WH", "dest": "S1", "lines": []})
    assert empty.status_code == 422 and empty.json()["errors"][0]["field"] == "lines"
    assert api.get("/api/v1/transfers/TO-NOPE").status_code == 404
    assert api.get("/api/v1/transfers", params={"state": "lost"}).status_code == 422
