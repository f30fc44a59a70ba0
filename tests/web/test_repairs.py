"""Repair tickets over the API (open, act once per Idempotency-Key, close, refusals), the pages
(list, open by scan with the warranty shown, ticket with its forms) and who may do what; the
SKU's warranty period is set through the master-data API."""

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from cangliu.db.models import Serial
from cangliu.db.repositories import masterdata as md
from cangliu.services import auth, masterdata, roles, serials, stock
from cangliu.services.postings import Meta
from cangliu.services.stock import Line
from tests.conftest import PASSWORD
from tests.web.conftest import csrf_of, login


@pytest.fixture
def routers(db, network) -> list[str]:
    """Two routers in stock at WH."""
    masterdata.create(db.uow(), network, "sku", {"code": "ROUTER", "name": "Router",
                                                 "tracking": "serial"})
    codes = serials.generate(db.uow(), network, sku="ROUTER", count=2)["codes"]
    stock.receive(db.uow(), Meta(network), site="WH", lines=[Line("ROUTER", "2",
                                                                  unit_cost="100")])
    with db.uow() as uow:
        ids = uow.session.scalars(select(Serial.id).where(Serial.code.in_(codes))).all()
        serials.record_event(uow.session, ids, "received", at=uow.now(), operator="t",
                             site_id=md.site_by_code(uow.session, "WH").id)
        uow.commit()
    return codes


def test_the_api_opens_works_on_and_closes_a_ticket(api: TestClient, routers):
    opened = api.post("/api/v1/repairs", json={"serial": routers[0], "fault": "no power"})
    assert opened.status_code == 201, opened.text
    ticket = opened.json()
    assert (ticket["site"], ticket["warranty"], ticket["serial_status"]) == (
        "WH", "unknown", "in_repair")
    number = ticket["number"]
    note = {"version": 1, "kind": "diagnose", "note": "fuse blown"}
    first = api.post(f"/api/v1/repairs/{number}/actions", json=note,
                     headers={"Idempotency-Key": "a1"})
    again = api.post(f"/api/v1/repairs/{number}/actions", json=note,
                     headers={"Idempotency-Key": "a1"})
    assert first.status_code == again.status_code == 201
    assert first.json()["version"] == again.json()["version"] == 2
    assert len(api.get(f"/api/v1/repairs/{number}").json()["actions"]) == 1
    bad = api.post(f"/api/v1/repairs/{number}/close",
                   json={"version": 2, "outcome": "replaced", "resolution": "x"})
    assert bad.status_code == 422
    closed = api.post(f"/api/v1/repairs/{number}/close",
                      json={"version": 2, "outcome": "repaired", "resolution": "new fuse"})
    assert closed.status_code == 200 and closed.json()["serial_status"] == "in_stock"
    assert api.post(f"/api/v1/repairs/{number}/cancel", json={"version": 3}).status_code == 409
    listed = api.get("/api/v1/repairs", params={"status": "closed", "q": "fuse"}).json()
    assert listed["items"] == []  # q searches number, serial and fault, not actions
    listed = api.get("/api/v1/repairs", params={"status": "closed", "serial": routers[0]})
    assert [t["number"] for t in listed.json()["items"]] == [number]
    checked = api.get("/api/v1/repairs/check", params={"serial": "NOPE-1"}).json()
    assert checked["problems"] and api.get("/api/v1/repairs/RP-X").status_code == 404


def test_the_skus_warranty_period_is_set_in_master_data(api: TestClient, browser: TestClient,
                                                        routers):
    sku = api.get("/api/v1/skus/ROUTER").json()
    assert sku["warranty_days"] == 365
    done = api.patch("/api/v1/skus/ROUTER", json={"version": sku["version"],
                                                  "warranty_days": 730})
    assert done.status_code == 200 and done.json()["warranty_days"] == 730
    browser.cookies.set("lang", "en")
    form = browser.get("/md/skus/ROUTER")
    assert "Warranty (days)" in form.text and 'value="730"' in form.text
    too_long = browser.post("/md/skus/ROUTER", data={
        "csrf_token": csrf_of(form.text), "version": "2", "name": "Router", "uom": "pcs",
        "tracking": "serial", "warranty_days": "4000", "active": "on"})
    assert too_long.status_code == 422


def test_the_pages_open_a_ticket_by_scan_and_record_its_actions(browser: TestClient, routers):
    browser.cookies.set("lang", "en")
    assert "No repair tickets match." in browser.get("/repairs").text
    form = browser.get("/repairs/new", params={"serial": routers[0]})
    assert form.status_code == 200 and "Warranty unknown" in form.text
    made = browser.post("/repairs/new", data={
        "csrf_token": csrf_of(form.text), "serial": routers[0], "fault": "cracked case",
        "fault_code": "CASE", "customer": "", "site": "WH", "key": "k1"}, follow_redirects=False)
    assert made.status_code == 303, made.text
    url = made.headers["location"]
    page = browser.get(url)
    assert "Record an action" in page.text and "cracked case" in page.text
    number = url.rsplit("/", 1)[-1]
    acted = browser.post(f"{url}/actions", data={
        "csrf_token": csrf_of(page.text), "version": "1", "key": "k2", "kind": "repair",
        "note": "case swapped"}, follow_redirects=False)
    assert acted.status_code == 303
    stale = browser.post(f"{url}/close", data={
        "csrf_token": csrf_of(page.text), "version": "1", "key": "k3", "outcome": "repaired",
        "resolution": "done"})
    assert stale.status_code == 409 and "case swapped" in stale.text
    closed = browser.post(f"{url}/close", data={
        "csrf_token": csrf_of(page.text), "version": "2", "key": "k4", "outcome": "repaired",
        "resolution": "done"}, follow_redirects=True)
    assert "Turnaround" in closed.text and "Record an action" not in closed.text
    assert number in browser.get("/repairs", params={"status": "closed"}).text
    refused = browser.get("/repairs/new", params={"serial": routers[0] + "X"})
    assert "Open the ticket" not in refused.text


def test_a_salesperson_sees_tickets_but_may_not_open_one(app, api: TestClient, db, network,
                                                          routers):
    auth.create_user(db.uow(), username="seller", password=PASSWORD)
    roles.set_assignments(db.uow(), network, "seller", [{"role": "sales", "scope": "all"}])
    with TestClient(app) as seller:
        token = seller.post("/api/v1/auth/login", json={"username": "seller",
                                                        "password": PASSWORD}).json()
        seller.headers["Authorization"] = f"Bearer {token['access_token']}"
        refused = seller.post("/api/v1/repairs", json={"serial": routers[0], "fault": "x"})
        assert refused.status_code == 403
        number = api.post("/api/v1/repairs", json={"serial": routers[0],
                                                   "fault": "x"}).json()["number"]
        assert seller.get(f"/api/v1/repairs/{number}").status_code == 200
        assert seller.post(f"/api/v1/repairs/{number}/cancel",
                           json={"version": 1}).status_code == 403
    with login(app, "seller") as page:
        page.cookies.set("lang", "en")
        assert page.get("/repairs/new").status_code == 403
        ticket = page.get(f"/repairs/{number}")
        assert ticket.status_code == 200 and "Record an action" not in ticket.text
