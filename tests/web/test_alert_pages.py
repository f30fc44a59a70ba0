"""Alert pages and API (issue 8): the list and one alert with acknowledge and resolve, out of
sight for another region's store manager; rules refused at save naming the field, on the form
keeping what was typed and in the API as problem details; the user's own subscriptions."""

from datetime import UTC, datetime

import pytest
from sqlalchemy import select

from cangliu.core.alerts import Check, Finding
from cangliu.db.models import Location, Sku
from cangliu.services import auth, roles
from cangliu.services.alerts import lifecycle, rules
from tests.conftest import PASSWORD
from tests.web.conftest import csrf_of, login

T0 = datetime(2026, 11, 23, 9, tzinfo=UTC)


@pytest.fixture
def alert_id(db, network):
    for username, site in (("sm1", "S1"), ("sm2", "S2")):
        auth.create_user(db.uow(), username=username, password=PASSWORD)
        roles.set_assignments(db.uow(), network, username, [
            {"role": "store_manager", "scope": "sites", "region": "", "sites": [site]}])
    rules.create_rule(db.uow(), network, {"code": "low", "name": "低库存", "kind": "low_stock",
                                          "roles": ["store_manager"]})
    with db.uow() as uow:
        s = uow.session
        finding = Finding("SKU-1@S1", "Low stock: {sku} at {site}", {"sku": "SKU-1", "site": "S1"},
                          site_id=s.scalar(select(Location.id).where(Location.code == "S1")),
                          sku_id=s.scalar(select(Sku.id).where(Sku.code == "SKU-1")))
        lifecycle.apply(s, rules.row_of(s, "low"), Check([finding]), T0, respond=lambda *a: None)
        uow.commit()
    return 1


def test_the_store_manager_acknowledges_and_resolves_from_the_pages(app, alert_id):
    with login(app, "sm1") as sm1:
        page = sm1.get("/alerts")
        assert page.status_code == 200 and 'id="alert-list"' in page.text
        assert "SKU-1" in page.text and f"/alerts/{alert_id}/acknowledge" in page.text
        detail = sm1.get(f"/alerts/{alert_id}")
        assert detail.status_code == 200 and "SKU-1@S1" in detail.text
        done = sm1.post(f"/alerts/{alert_id}/acknowledge", data={
            "csrf_token": csrf_of(detail.text), "version": "1", "note": "补货中"},
            follow_redirects=False)
        assert done.status_code == 303
        stale = sm1.post(f"/alerts/{alert_id}/resolve", data={
            "csrf_token": csrf_of(detail.text), "version": "1"})
        assert stale.status_code == 409
        after = sm1.get(f"/alerts/{alert_id}")
        assert "sm1: 补货中" in after.text
        assert sm1.post(f"/alerts/{alert_id}/resolve", data={
            "csrf_token": csrf_of(after.text), "version": "2"},
            follow_redirects=False).status_code == 303
        listed = sm1.get("/alerts?state=resolved")
        assert f"/alerts/{alert_id}" in listed.text
    with login(app, "sm2") as sm2:
        assert sm2.get(f"/alerts/{alert_id}").status_code == 404
        assert sm2.get("/api/v1/alerts", headers={}).json()["items"] == []
        assert f"/alerts/{alert_id}" not in sm2.get("/alerts?state=").text


def test_the_api_lists_reads_and_acknowledges_an_alert(api, alert_id):
    listed = api.get("/api/v1/alerts", params={"state": "open", "site": "S1"}).json()
    assert [a["key"] for a in listed["items"]] == ["SKU-1@S1"] and listed["next_cursor"] is None
    assert api.get(f"/api/v1/alerts/{alert_id}").json()["rule_roles"] == ["store_manager"]
    done = api.post(f"/api/v1/alerts/{alert_id}/acknowledge", json={"note": "", "version": 1})
    assert done.status_code == 200 and done.json()["acknowledged_by"] == "admin"
    assert api.post(f"/api/v1/alerts/{alert_id}/acknowledge", json={"version": 1}).status_code == 409
    assert api.get("/api/v1/alerts", params={"state": "bogus"}).status_code == 422


def test_the_api_refuses_a_bad_rule_naming_the_field_and_saves_a_good_one(api):
    bad = api.post("/api/v1/alert-rules", json={
        "code": "x", "name": "X", "kind": "low_stock", "roles": ["janitor"],
        "condition": "available <<< 1"})
    assert bad.status_code == 422
    assert {e["field"] for e in bad.json()["errors"]} == {"roles", "condition"}
    made = api.post("/api/v1/alert-rules", json={"code": "x", "name": "X", "kind": "stock_out",
                                                 "roles": ["clerk"]})
    assert made.status_code == 201 and made.json()["version"] == 1
    changed = api.put("/api/v1/alert-rules/x", json={"severity": "critical", "version": 1})
    assert changed.json()["severity"] == "critical"
    assert api.put("/api/v1/alert-rules/x", json={"severity": "info", "version": 1}).status_code == 409
    assert "stock_out" in api.get("/api/v1/alert-rules").json()["kinds"]
    assert api.delete("/api/v1/alert-rules/x").status_code == 204


def test_the_rule_form_shows_the_reason_beside_the_field_and_keeps_what_was_typed(browser):
    page = browser.get("/admin/alert-rules/new")
    assert page.status_code == 200 and "safety_stock" in page.text
    refused = browser.post("/admin/alert-rules/new", data={
        "csrf_token": csrf_of(page.text), "code": "s1-low", "name": "门店一", "kind": "low_stock",
        "params": "{}", "condition": "colour = 'red'", "severity": "warning",
        "roles": "store_manager", "cooldown_minutes": "30", "auto_resolve": "on", "enabled": "on"})
    assert refused.status_code == 422
    assert "colour" in refused.text and 'value="门店一"' in refused.text
    saved = browser.post("/admin/alert-rules/new", data={
        "csrf_token": csrf_of(page.text), "code": "s1-low", "name": "门店一", "kind": "low_stock",
        "params": '{"level": "reorder_point"}', "condition": "available < 3",
        "severity": "warning", "roles": "store_manager", "cooldown_minutes": "30",
        "enabled": "on"}, follow_redirects=False)
    assert saved.status_code == 303
    assert "reorder_point" in browser.get("/admin/alert-rules/s1-low").text
    assert "s1-low" in browser.get("/admin/alert-rules").text


def test_a_user_subscribes_to_every_rule_and_sets_an_e_mail_address(app, alert_id):
    with login(app, "sm1") as sm1:
        page = sm1.get("/alerts/subscriptions")
        token = csrf_of(page.text)
        refused = sm1.post("/alerts/subscriptions/add", data={"csrf_token": token,
                                                              "channel": "email", "rule": ""})
        assert refused.status_code == 422
        for path, data in (("email", {"email": "sm1@example.com"}),
                           ("add", {"channel": "email", "rule": "low"})):
            assert sm1.post(f"/alerts/subscriptions/{path}", data={"csrf_token": token, **data},
                            follow_redirects=False).status_code == 303
        mine = sm1.get("/api/v1/alert-subscriptions").json()
        assert mine["email"] == "sm1@example.com"
        assert [(s["rule"], s["channel"]) for s in mine["items"]] == [("low", "email")]
        assert sm1.post("/alerts/subscriptions/add", data={
            "csrf_token": token, "channel": "in_app", "role": "clerk"}).status_code == 403
