"""Serials over the document API: a receipt, a transfer and a shipment carry them per line,
the answers show them, and a wrong one is a 422 naming ``lines[i].serials[j]``."""

from cangliu.services import masterdata, purchasing, sales, serials


def test_serials_travel_with_the_documents_over_the_api(api, db, network):
    masterdata.create(db.uow(), network, "sku", {"code": "PHONE", "name": "手机",
                                                  "tracking": "serial"})
    masterdata.create(db.uow(), network, "supplier", {"code": "SUP", "name": "供应商"})
    masterdata.create(db.uow(), network, "customer", {"code": "C1", "name": "客户一"})
    purchasing.set_supplier_price(db.uow(), network, supplier="SUP", sku="PHONE", price="100")
    sales.set_customer_price(db.uow(), network, customer="C1", sku="PHONE", price="150")
    a, b = serials.generate(db.uow(), network, sku="PHONE", count=2)["codes"]

    po = api.post("/api/v1/purchase-orders", json={"supplier": "SUP", "site": "WH",
                                             "lines": [{"sku": "PHONE", "qty": "2"}]}).json()
    api.post(f"/api/v1/purchase-orders/{po['number']}/submit", json={})
    bad = api.post(f"/api/v1/purchase-orders/{po['number']}/receive",
                   json={"lines": [{"line_no": 1, "qty": "2", "serials": [a, "NOPE"]}]})
    assert bad.status_code == 422, bad.text
    assert bad.json()["errors"][0]["field"] == "lines[0].serials[1]"
    got = api.post(f"/api/v1/purchase-orders/{po['number']}/receive",
                   json={"lines": [{"line_no": 1, "qty": "2", "serials": [a, b]}]})
    assert got.status_code == 200, got.text
    assert got.json()["lines"][0]["serials"] == [a, b]

    moved = api.post("/api/v1/transfers", json={"source": "WH", "dest": "S1",
                                                 "lines": [{"sku": "PHONE", "qty": "1"}]}).json()
    api.post(f"/api/v1/transfers/{moved['number']}/submit", json={})
    shipped = api.post(f"/api/v1/transfers/{moved['number']}/ship",
                       json={"lines": [{"line_no": 1, "serials": [a]}]})
    assert shipped.status_code == 200, shipped.text
    assert shipped.json()["lines"][0]["serials"] == [a]
    arrived = api.post(f"/api/v1/transfers/{moved['number']}/receive",
                       json={"lines": [{"line_no": 1, "received": "1", "serials": [a]}]}).json()
    assert (arrived["serials_missing"], arrived["serials_extra"]) == ([], [])

    so = api.post("/api/v1/sales-orders", json={"customer": "C1", "site": "WH",
                                         "lines": [{"sku": "PHONE", "qty": "1"}]}).json()
    api.post(f"/api/v1/sales-orders/{so['number']}/confirm", json={})
    wrong = api.post(f"/api/v1/sales-orders/{so['number']}/ship",
                     json={"lines": [{"line_no": 1, "qty": "1", "serials": [a]}]})
    assert wrong.status_code == 422
    assert wrong.json()["errors"][0]["field"] == "lines[0].serials[0]"
    sold = api.post(f"/api/v1/sales-orders/{so['number']}/ship",
                    json={"lines": [{"line_no": 1, "qty": "1", "serials": [b]}]})
    assert sold.status_code == 200, sold.text
    assert sold.json()["lines"][0]["serials"] == [b]
    back = api.post(f"/api/v1/sales-orders/{so['number']}/return",
                    json={"lines": [{"line_no": 1, "qty": "1", "serials": [b]}]})
    assert back.json()["lines"][0]["returned_serials"] == [b]
