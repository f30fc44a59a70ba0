"""Work orders and assemblies over the API and the pages: a draft, its components, completing
it (once per idempotency key), a unit's components with their history, install and remove;
a salesperson may look but not make."""

import pytest
from sqlalchemy import select

from cangliu.db.models import Serial
from cangliu.db.repositories import masterdata as md
from cangliu.services import auth, masterdata, roles, serials, stock, work_orders
from cangliu.services.postings import Meta
from cangliu.services.stock import Line
from tests.conftest import PASSWORD
from tests.web.conftest import login


@pytest.fixture
def boards(db, network):
    """Three boards in stock at WH and the PC they go into."""
    for code in ("BOARD", "PC"):
        masterdata.create(db.uow(), network, "sku", {"code": code, "name": code,
                                                      "tracking": "serial"})
    codes = serials.generate(db.uow(), network, sku="BOARD", count=3)["codes"]
    stock.receive(db.uow(), Meta(network), site="WH", lines=[Line("BOARD", "3", unit_cost="10")])
    with db.uow() as uow:
        ids = uow.session.scalars(select(Serial.id).where(Serial.code.in_(codes))).all()
        serials.record_event(uow.session, ids, "received", at=uow.now(), operator="t",
                             site_id=md.site_by_code(uow.session, "WH").id)
        uow.commit()
    return codes


def test_a_work_order_over_the_api_then_its_parts_change(api, boards):
    bad = api.post("/api/v1/work-orders", json={"sku": "PC", "site": "WH", "qty": "1",
                                                 "components": [{"sku": "BOARD",
                                                                 "serials": ["NOPE"]}]})
    assert bad.status_code == 422 and bad.json()["errors"][0]["field"] == "components[0].serials[0]"
    made = api.post("/api/v1/work-orders", json={"sku": "PC", "site": "WH", "qty": "1"})
    assert made.status_code == 201, made.text
    number = made.json()["number"]
    put = api.put(f"/api/v1/work-orders/{number}/components",
                  json={"components": [{"sku": "BOARD", "serials": boards[:1]},
                                       {"sku": "SKU-1", "qty": "2"}], "version": 1})
    assert put.status_code == 200 and put.json()["version"] == 2
    stale = api.put(f"/api/v1/work-orders/{number}/components",
                    json={"components": [{"sku": "BOARD", "serials": boards[:1]}], "version": 1})
    assert stale.status_code == 409
    put = api.put(f"/api/v1/work-orders/{number}/components",
                  json={"components": [{"sku": "BOARD", "serials": boards[:1]}], "version": 2})
    assert put.status_code == 200, put.text
    key = {"Idempotency-Key": "wo-complete-1"}
    done = api.post(f"/api/v1/work-orders/{number}/complete", json={}, headers=key)
    assert done.status_code == 200, done.text
    again = api.post(f"/api/v1/work-orders/{number}/complete", json={}, headers=key)
    assert again.json() == done.json()
    pc = done.json()["serials"][0]
    listed = api.get("/api/v1/work-orders", params={"q": "PC", "status": "completed"}).json()
    assert listed["total"] == 1 and listed["items"][0]["number"] == number

    assert api.post("/api/v1/assemblies/install",
                    json={"parent": pc, "child": boards[1]}).status_code == 200
    out = api.post("/api/v1/assemblies/remove", json={"child": boards[0], "fate": "in_stock",
                                                     "site": "WH", "reason": "faulty"})
    assert out.status_code == 200 and out.json()["child_status"] == "in_stock"
    now = api.get(f"/api/v1/serials/{pc}/components").json()
    assert [c["serial"] for c in now["components"]] == [boards[1]]
    past = api.get(f"/api/v1/serials/{pc}/components", params={"history": "true"}).json()
    assert [(c["serial"], c["removal_reason"], c["work_order"]) for c in past["components"]] \
        == [(boards[0], "faulty", number), (boards[1], "", None)]


def test_pages_show_and_complete_a_work_order(app, db, network, browser, boards):
    browser.cookies.set("lang", "en")
    assert "Work orders" in browser.get("/work-orders").text
    form = browser.get("/work-orders/new")
    assert form.status_code == 200 and "Component serials" in form.text
    made = browser.post("/work-orders/new", data={
        "csrf_token": browser.csrf, "sku": "PC", "site": "WH", "qty": "1", "key": "p1",  # type: ignore[attr-defined]
        "serials": f"{boards[2]}\n"}, follow_redirects=False)
    assert made.status_code == 303, made.text
    page = browser.get(made.headers["location"])
    assert boards[2] in page.text and "Complete work order" in page.text
    done = browser.post(made.headers["location"] + "/complete", data={
        "csrf_token": browser.csrf, "key": "p2"}, follow_redirects=True)  # type: ignore[attr-defined]
    assert "Finished serials" in done.text
    number = made.headers["location"].rsplit("/", 1)[1]
    assert number in browser.get("/work-orders", params={"q": "PC", "status": "completed"}).text
    with db.read() as s:
        pc = work_orders.answer(s, number)["serials"][0]
    unit = browser.get(f"/serials/{pc}")
    assert boards[2] in unit.text and "Install a component" in unit.text
    wrong = browser.post(f"/serials/{pc}/install", data={
        "csrf_token": browser.csrf, "child": pc, "key": "p3"})  # type: ignore[attr-defined]
    assert wrong.status_code == 422 and "cannot be installed in itself" in wrong.text
    out = browser.post(f"/serials/{pc}/remove", data={
        "csrf_token": browser.csrf, "child": boards[2], "fate": "scrapped",  # type: ignore[attr-defined]
        "site": "", "reason": "cracked", "key": "p4"}, follow_redirects=False)
    assert out.status_code == 303, out.text
    assert "cracked" in browser.get(f"/serials/{pc}?history=true").text

    auth.create_user(db.uow(), username="sam", password=PASSWORD)
    roles.set_assignments(db.uow(), network, "sam", [{"role": "sales", "scope": "all"}])
    with login(app, "sam") as sam:
        sam.cookies.set("lang", "en")
        assert sam.get("/work-orders").status_code == 200
        assert sam.get("/work-orders/new").status_code == 403
        token = sam.post("/api/v1/auth/login", json={"username": "sam", "password": PASSWORD})
        headers = {"Authorization": f"Bearer {token.json()['access_token']}"}
        refused = sam.post("/api/v1/work-orders", headers=headers,
                           json={"sku": "PC", "site": "WH", "qty": "1"})
        assert refused.status_code == 403
