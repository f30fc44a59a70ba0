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


def _batch(**extra):
    return {"source": "WH", "reason": "weekly restock", "destinations": [
        {"dest": "S1", "expected_arrival": "2030-01-02",
         "lines": [{"sku": "SKU-1", "qty": "4"}, {"sku": "SKU-KG", "qty": 1.5}]},
        {"dest": "S2", "lines": [{"sku": "SKU-1", "qty": "6"}]}], **extra}


def test_one_source_replenishes_several_destinations_in_one_call(api):
    created = api.post("/api/v1/transfers/batch", json=_batch(), headers={"Idempotency-Key": "b-1"})
    assert created.status_code == 201, created.text
    made = created.json()["transfers"]
    assert [(t["dest"], len(t["lines"]), t["expected_arrival"]) for t in made] == [
        ("S1", 2, "2030-01-02"), ("S2", 1, None)]
    replay = api.post("/api/v1/transfers/batch", json=_batch(), headers={"Idempotency-Key": "b-1"})
    assert replay.status_code == 201 and replay.json() == created.json()
    listed = api.get("/api/v1/transfers").json()["items"]
    assert sorted(t["number"] for t in listed) == sorted(t["number"] for t in made)
    other = api.post("/api/v1/transfers/batch", json=_batch(reason="changed"),
                     headers={"Idempotency-Key": "b-1"})
    assert other.status_code == 422  # the same key for a different request is refused
    assert api.get(f"/api/v1/transfers/{made[1]['number']}").json()["dest"] == "S2"


def test_a_bad_batch_names_the_destination_and_line_and_creates_nothing(api):
    body = _batch()
    body["destinations"][1]["lines"].append({"sku": "SKU-1", "qty": "0"})
    bad = api.post("/api/v1/transfers/batch", json=body)
    assert bad.status_code == 422
    assert [e["field"] for e in bad.json()["errors"]] == ["destinations[1].lines[1].qty"]
    unknown = api.post("/api/v1/transfers/batch", json=_batch(colour="red"))
    assert unknown.status_code == 422 and unknown.json()["errors"][0]["field"] == "colour"
    empty = api.post("/api/v1/transfers/batch", json={"source": "WH", "destinations": []})
    assert empty.status_code == 422 and empty.json()["errors"][0]["field"] == "destinations"
    assert api.get("/api/v1/transfers").json()["items"] == []


def _form_fields(html):
    csrf = html.split('name="csrf_token" value="')[1].split('"')[0]
    key = html.split('name="key" value="')[1].split('"')[0]
    return {"csrf_token": csrf, "key": key}


def test_the_new_transfer_page_splits_lines_by_destination(browser):
    """The page's several-destinations mode: ``DEST SKU QTY`` per line, one document per site."""
    form = browser.get("/transfers/new").text
    assert 'option value="*"' in form and 'name="expected_arrival"' in form
    fields = _form_fields(form)
    short = browser.post("/transfers/new", data={**fields, "source": "WH", "dest": "*",
                                                 "lines": "SKU-1 4"})
    assert short.status_code == 422 and "lines[0]" in short.text
    bad = browser.post("/transfers/new", data={**fields, "source": "WH", "dest": "*",
                                               "lines": "S1 SKU-1 4\nS2 SKU-1 x"})
    assert bad.status_code == 422 and "destinations[1].lines[0].qty" in bad.text
    lines = "S1 SKU-1 4\nS2 SKU-1 6\nS1 SKU-KG 1.5\n"
    made = browser.post("/transfers/new", data={**fields, "source": "WH", "dest": "*",
                                                "lines": lines, "expected_arrival": "2030-01-02"})
    assert made.status_code == 201
    api = browser.get("/api/v1/transfers").json()["items"]
    by_dest = {t["dest"]: t["number"] for t in api}
    assert sorted(by_dest) == ["S1", "S2"] and all(n in made.text for n in by_dest.values())
    s1 = browser.get(f"/api/v1/transfers/{by_dest['S1']}").json()
    assert [(ln["sku"], ln["qty"]) for ln in s1["lines"]] == [("SKU-1", "4"), ("SKU-KG", "1.5")]
    assert s1["expected_arrival"] == "2030-01-02"
    again = browser.post("/transfers/new", data={**fields, "source": "WH", "dest": "*",
                                                 "lines": lines, "expected_arrival": "2030-01-02"})
    assert again.status_code == 201 and len(browser.get("/api/v1/transfers").json()["items"]) == 2
