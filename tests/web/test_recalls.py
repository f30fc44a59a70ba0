"""Recalls over the API and the pages: trace preview, open, hold, export, close; bad input is a
422 naming the field; a role without serial.edit is refused."""

from io import BytesIO

from openpyxl import load_workbook

from cangliu.services import auth, roles
from tests.conftest import PASSWORD
from tests.services.test_recalls import tree  # noqa: F401 - the fixture
from tests.web.conftest import csrf_of, login


def test_a_recall_over_the_api(api, tree):  # noqa: F811
    _boards, phones = tree
    preview = api.get("/api/v1/recalls/trace", params={"sku": "CELL", "lot": "L1"})
    assert preview.status_code == 200, preview.text
    summary = preview.json()["summary"]
    assert (summary["top_level"], summary["in_stock"], summary["customers"]) == (3, 1, ["C1"])
    for params, field in (({"sku": "NOPE", "lot": "L1"}, "sku"), ({"sku": "CELL"}, "lot"),
                          ({"sku": "CELL", "lot": "L9"}, "lot")):
        bad = api.get("/api/v1/recalls/trace", params=params)
        assert bad.status_code == 422 and bad.json()["errors"][0]["field"] == field
    made = api.post("/api/v1/recalls", json={"sku": "CELL", "lot": "L1", "reason": "swelling"})
    assert made.status_code == 201, made.text
    number = made.json()["number"]
    held = api.post(f"/api/v1/recalls/{number}/hold").json()
    assert held["held"] == 1 and api.post(f"/api/v1/recalls/{number}/hold").json()["held"] == 0
    got = api.get(f"/api/v1/recalls/{number}", params={"limit": 2}).json()
    assert got["held_count"] == 1 and len(got["units"]) == 2 and got["next_cursor"]
    rest = api.get(f"/api/v1/recalls/{number}", params={"cursor": got["next_cursor"]}).json()
    assert len(rest["units"]) == 1
    assert [r["number"] for r in api.get("/api/v1/recalls", params={"q": "CELL"}).json()[
        "items"]] == [number]
    sheet = api.get(f"/api/v1/recalls/{number}/export.xlsx")
    assert sheet.status_code == 200
    rows = list(load_workbook(BytesIO(sheet.content)).active.iter_rows(values_only=True))
    assert phones[0] in {r[0] for r in rows}
    assert api.post(f"/api/v1/recalls/{number}/close").json()["status"] == "closed"
    assert api.post(f"/api/v1/recalls/{number}/hold").status_code == 409


def test_recall_pages_and_a_role_that_may_not_hold(app, browser, db, network, tree):  # noqa: F811
    browser.cookies.set("lang", "en")
    page = browser.get("/recalls/new", params={"sku": "CELL", "lot": "L1"})
    assert page.status_code == 200 and "3 top-level" in page.text
    made = browser.post("/recalls/new", data={"csrf_token": csrf_of(page.text), "sku": "CELL",
                                              "lot": "L1", "reason": "swelling"},
                        follow_redirects=False)
    assert made.status_code == 303
    number = made.headers["location"].rsplit("/", 1)[1]
    shown = browser.get(f"/recalls/{number}")
    assert "Hold 1 units in stock" in shown.text and "export.xlsx" in shown.text
    done = browser.post(f"/recalls/{number}/hold", data={"csrf_token": csrf_of(shown.text)})
    assert done.status_code == 200 and "on quality hold" in done.text
    assert number in browser.get("/recalls", params={"q": number[:4]}).text

    auth.create_user(db.uow(), username="viewer", password=PASSWORD)
    roles.set_assignments(db.uow(), network, "viewer", [{"role": "sales", "scope": "all"}])
    with login(app, "viewer") as client:
        assert client.get(f"/recalls/{number}").status_code == 200
        refused = client.post(f"/recalls/{number}/hold", data={"csrf_token": client.csrf})
        assert refused.status_code == 403
        assert client.get(f"/api/v1/recalls/{number}/export.xlsx").status_code == 403
