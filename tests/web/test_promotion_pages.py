"""The promotion calendar over HTTP: the API (list, read, plan, edit with a version, cancel) with
planners kept to their sites, and the 促销 pages (list with badges and filters, form with errors
named, cancelling after a confirmation)."""

from datetime import UTC, datetime, timedelta

from cangliu.services import auth, roles
from tests.conftest import PASSWORD
from tests.web.conftest import csrf_of, login
from tests.web.test_approval_authorization import _client

TODAY = datetime.now(UTC).date()


def _body(**fields):
    return {"name": "双十二", "starts_on": (TODAY + timedelta(days=3)).isoformat(),
            "ends_on": (TODAY + timedelta(days=5)).isoformat(), "uplift_pct": "40"} | fields


def _person(app, db, admin, username, role, scope):
    auth.create_user(db.uow(), username=username, password=PASSWORD)
    roles.set_assignments(db.uow(), admin, username, [{"role": role, **scope}])
    return _client(app, username)


def test_promotions_are_planned_edited_and_cancelled_through_the_api(api):
    made = api.post("/api/v1/promotions", json=_body(skus=["SKU-1"], sites=["S1"]))
    assert made.status_code == 201
    code = made.json()["code"]
    assert made.json()["uplift_pct"] == "40" and made.json()["state"] == "upcoming"
    api.post("/api/v1/promotions", json=_body(name="全网", code="NET-1", uplift_pct=15))
    listed = api.get("/api/v1/promotions", params={"site": "S2", "limit": 1}).json()
    assert [i["code"] for i in listed["items"]] == ["NET-1"] and listed["next_cursor"] is None
    page = api.get("/api/v1/promotions", params={"limit": 1}).json()
    assert len(page["items"]) == 1 and page["next_cursor"]

    bad = api.post("/api/v1/promotions", json=_body(ends_on=TODAY.isoformat(), sites=["NOPE"]))
    assert bad.status_code == 422
    assert {e["field"] for e in bad.json()["errors"]} == {"ends_on", "sites"}
    assert api.post("/api/v1/promotions", json=_body(uplift_pct="-100")).status_code == 422

    edited = api.patch(f"/api/v1/promotions/{code}", json={"version": 1, "uplift_pct": "60"})
    assert edited.status_code == 200 and edited.json()["version"] == 2
    stale = api.patch(f"/api/v1/promotions/{code}", json={"version": 1, "name": "旧"})
    assert stale.status_code == 409
    assert api.get(f"/api/v1/promotions/{code}").json()["uplift_pct"] == "60"
    gone = api.delete(f"/api/v1/promotions/{code}", params={"version": 2})
    assert gone.status_code == 200 and gone.json()["state"] == "cancelled"
    assert [i["code"] for i in api.get("/api/v1/promotions",
                                       params={"state": "upcoming"}).json()["items"]] == ["NET-1"]
    assert api.get("/api/v1/promotions/NOPE").status_code == 404


def test_a_regional_planner_plans_and_sees_only_promotions_at_their_sites(app, api, db, network):
    rm = _person(app, db, network, "rm", "regional_manager", {"scope": "region", "region": "华东"})
    clerk = _person(app, db, network, "clerk", "clerk", {"scope": "all"})
    south = api.post("/api/v1/promotions", json=_body(name="华南", sites=["S2"])).json()["code"]
    wide = rm.post("/api/v1/promotions", json=_body())
    assert wide.status_code == 422 and wide.json()["errors"][0]["field"] == "sites"
    assert rm.post("/api/v1/promotions", json=_body(sites=["S1", "S2"])).status_code == 422
    mine = rm.post("/api/v1/promotions", json=_body(sites=["S1"]))
    assert mine.status_code == 201
    network_wide = api.post("/api/v1/promotions", json=_body(name="全网")).json()["code"]
    seen = {i["code"] for i in rm.get("/api/v1/promotions").json()["items"]}
    assert seen == {mine.json()["code"], network_wide}
    assert rm.get(f"/api/v1/promotions/{south}").status_code == 404
    assert rm.patch(f"/api/v1/promotions/{network_wide}",
                    json={"version": 1, "name": "改"}).status_code == 403
    assert clerk.get("/api/v1/promotions").status_code == 403
    assert api.get(f"/api/v1/promotions/{network_wide}").json()["name"] == "全网"


def test_the_promotion_pages_list_plan_edit_and_cancel_with_confirmation(browser):
    listed = browser.get("/planning/promotions")
    assert listed.status_code == 200 and "没有找到记录" in listed.text
    form = browser.get("/planning/promotions/new")
    assert 'name="sites" multiple' in form.text
    token = csrf_of(form.text)
    fields = {"csrf_token": token, "name": "双十二", "starts_on": (TODAY + timedelta(days=2)).isoformat(),
              "ends_on": TODAY.isoformat(), "uplift_pct": "abc", "skus": "SKU-1, NOPE"}
    bad = browser.post("/planning/promotions/new", data=fields)
    assert bad.status_code == 422
    assert "未知商品 NOPE" in bad.text and 'value="双十二"' in bad.text
    done = browser.post("/planning/promotions/new", follow_redirects=False, data={
        **fields, "code": "D12", "ends_on": (TODAY + timedelta(days=4)).isoformat(),
        "uplift_pct": "35", "skus": "SKU-1", "sites": ["S1", "S2"]})
    assert done.status_code == 303 and done.headers["location"] == "/planning/promotions/D12?saved=1"
    page = browser.get("/planning/promotions", params={"state": "upcoming", "site": "S2"}).text
    assert "D12" in page and 'class="state upcoming"' in page and "SKU-1" in page
    assert "D12" not in browser.get("/planning/promotions", params={"state": "past"}).text
    edit = browser.get("/planning/promotions/D12").text
    assert 'value="S2" selected' in edit and 'name="version" value="1"' in edit
    saved = browser.post("/planning/promotions/D12", follow_redirects=False, data={
        **fields, "ends_on": (TODAY + timedelta(days=4)).isoformat(), "uplift_pct": "50",
        "skus": "", "sites": ["S1"], "version": "1"})
    assert saved.status_code == 303
    stale = browser.post("/planning/promotions/D12", data={
        **fields, "ends_on": (TODAY + timedelta(days=4)).isoformat(), "uplift_pct": "70",
        "version": "1"})
    assert stale.status_code == 409
    confirm = browser.get("/planning/promotions/D12/cancel")
    assert confirm.status_code == 200 and 'name="version" value="2"' in confirm.text
    cancelled = browser.post("/planning/promotions/D12/cancel", follow_redirects=False,
                             data={"csrf_token": token, "version": "2"})
    assert cancelled.status_code == 303
    english = browser.get("/planning/promotions", headers={"Accept-Language": "en"}).text
    assert "All SKUs" in english and '<span class="state cancelled">cancelled</span>' in english
    assert browser.post("/planning/promotions/new", data={**fields, "csrf_token": "x"}
                        ).status_code == 403


def test_a_store_manager_reads_promotions_but_cannot_plan_them(app, db, network, api):
    api.post("/api/v1/promotions", json=_body(code="NET-2"))
    auth.create_user(db.uow(), username="sm", password=PASSWORD)
    roles.set_assignments(db.uow(), network, "sm", [{"role": "store_manager", "scope": "sites",
                                                     "sites": ["S1"]}])
    with login(app, "sm") as sm:
        page = sm.get("/planning/promotions/NET-2")
        assert page.status_code == 200 and " inert" in page.text
        assert sm.get("/planning/promotions/new").status_code == 403
        assert 'href="/planning/promotions/new"' not in sm.get("/planning/promotions").text
