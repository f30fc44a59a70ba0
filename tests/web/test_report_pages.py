"""Reports over the API and the page: generating a period, its figures and files, subscriptions;
a reader limited to one site sees that site's rows, and downloads need report.export."""

from io import BytesIO

from openpyxl import load_workbook

from cangliu.services import auth, roles
from tests.conftest import PASSWORD
from tests.services.test_reports import seeded  # noqa: F401 - the fixture
from tests.web.conftest import csrf_of, login


def test_reports_over_the_api(api, seeded):  # noqa: F811
    made = api.post("/api/v1/reports", json={"kind": "daily", "period_start": "2026-11-02"})
    assert made.status_code == 201, made.text
    report_id = made.json()["id"]
    assert made.json()["period_end"] == "2026-11-02"
    got = api.get(f"/api/v1/reports/{report_id}").json()
    assert {(m["operation"], m["site"], m["value"]) for m in got["movements"]} == {
        ("receive", "WH", "20.00"), ("receive", "S1", "10.00"), ("issue", "WH", "8.00")}
    assert [r["id"] for r in api.get("/api/v1/reports", params={"kind": "daily"}).json()[
        "items"]] == [report_id]
    english = api.get(f"/api/v1/reports/{report_id}/xlsx", headers={"Accept-Language": "en"})
    assert load_workbook(BytesIO(english.content)).sheetnames[0] == "Movements"
    assert api.get(f"/api/v1/reports/{report_id}/pdf").content.startswith(b"%PDF")
    for body, field in (({"kind": "weekly", "period_start": "2026-11-03"}, "period_start"),
                        ({"kind": "daily", "period_start": "2999-01-01"}, "period_start"),
                        ({"kind": "yearly", "period_start": "2026-11-02"}, "kind")):
        bad = api.post("/api/v1/reports", json=body)
        assert bad.status_code == 422 and field in bad.text, bad.text
    sub = api.post("/api/v1/reports/subscriptions", json={"kind": "weekly", "channel": "email"})
    assert sub.status_code == 201, sub.text
    assert [s["kind"] for s in api.get("/api/v1/reports/subscriptions").json()["items"]] == [
        "weekly"]
    assert api.delete(f"/api/v1/reports/subscriptions/{sub.json()['id']}").status_code == 204
    assert api.get("/api/v1/reports/subscriptions").json()["items"] == []


def test_a_store_manager_sees_their_store_and_may_not_download(app, api, db, seeded):  # noqa: F811
    report_id = api.post("/api/v1/reports",
                         json={"kind": "daily", "period_start": "2026-11-02"}).json()["id"]
    for name, role, scope in (("mgr", "store_manager", {"scope": "sites", "sites": ["S1"]}),
                              ("seller", "sales", {"scope": "all"})):
        auth.create_user(db.uow(), username=name, password=PASSWORD)
        roles.set_assignments(db.uow(), seeded, name, [{"role": role, **scope}])
    with login(app, "mgr") as client:
        got = client.get(f"/api/v1/reports/{report_id}").json()
        assert {m["site"] for m in got["movements"]} == {"S1"} and got["kpis"] is None
        assert client.get(f"/api/v1/reports/{report_id}/xlsx").status_code == 403
        page = client.get("/reports")
        assert page.status_code == 200 and "/xlsx" not in page.text
        assert client.post("/api/v1/reports", json={"kind": "daily",
                                                    "period_start": "2026-11-02"},
                           headers={"X-CSRF-Token": client.csrf}).status_code == 403
    with login(app, "seller") as client:
        assert client.get("/api/v1/reports").status_code == 403


def test_the_reports_page_generates_and_subscribes(browser, seeded):  # noqa: F811
    page = browser.get("/reports", headers={"Accept-Language": "en"})
    assert page.status_code == 200 and "No reports yet." in page.text
    made = browser.post("/reports/generate", data={"csrf_token": csrf_of(page.text),
                                                   "kind": "weekly", "period_start": "2026-11-02"},
                        follow_redirects=False)
    assert made.status_code == 303
    listed = browser.get(made.headers["location"], headers={"Accept-Language": "en"}).text
    assert "2026-11-02 – 2026-11-08" in listed and "/pdf" in listed
    bad = browser.post("/reports/generate", data={"csrf_token": csrf_of(page.text),
                                                  "kind": "monthly", "period_start": "2026-11-02"},
                       headers={"Accept-Language": "en"})
    assert bad.status_code == 422 and "the 1st for a monthly one" in bad.text
    done = browser.post("/reports/subscriptions", data={"csrf_token": csrf_of(page.text),
                                                        "kind": "daily", "channel": "in_app",
                                                        "role": "finance"},
                        headers={"Accept-Language": "en"})
    assert done.status_code == 200 and "Subscribed." in done.text and "Finance" in done.text
