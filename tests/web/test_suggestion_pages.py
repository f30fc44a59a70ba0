"""Suggestions through the API and the 调拨建议 page: listed within the user's sites, accepted
into a transfer order by those allowed to plan and to create transfers there, dismissed with a
reason, runs (dry or real) by planners."""

from sqlalchemy import select

from cangliu.db.models import PlanningSuggestion, TransferOrder
from cangliu.services import auth, planning, roles
from tests.conftest import PASSWORD
from tests.services.test_planning_run import TODAY, short_store  # noqa: F401 — a fixture
from tests.web.conftest import login
from tests.web.test_approval_authorization import _client

PEOPLE = {"rm_east": ("regional_manager", {"scope": "region", "region": "华东"}),
          "rm_south": ("regional_manager", {"scope": "region", "region": "华南"}),
          "director": ("inventory_director", {"scope": "all"}),
          "clerk": ("clerk", {"scope": "all"})}


def _people(db, network) -> None:
    for username, (role, scope) in PEOPLE.items():
        auth.create_user(db.uow(), username=username, password=PASSWORD)
        roles.set_assignments(db.uow(), network, username, [{"role": role, **scope}])


def test_suggestions_api_by_scope_accept_dismiss_and_run(app, db, network, short_store):  # noqa: F811
    _people(db, network)
    planning.run(db.uow(), today=TODAY)
    east, south, director, clerk = (_client(app, u) for u in PEOPLE)
    (item,) = east.get("/api/v1/suggestions").json()["items"]
    assert (item["rule"], item["from_site"], item["to_site"], item["qty"]) == (
        "store_replenishment", "WH", "S1", "28")
    assert item["trigger"]["available"] == 2 and item["cover_before"] is None
    assert south.get("/api/v1/suggestions").json() == {"items": [], "total": 0,
                                                       "rules": ["store_replenishment"]}
    assert south.get(f"/api/v1/suggestions/{item['id']}").status_code == 404
    assert clerk.get("/api/v1/suggestions").status_code == 403
    assert east.get("/api/v1/suggestions", params={"state": "nonsense"}).status_code == 422

    assert clerk.post("/api/v1/suggestions/run", json={"dry_run": True}).status_code == 403
    dry = director.post("/api/v1/suggestions/run", json={"dry_run": True}).json()
    assert (dry["dry_run"], dry["unchanged"], dry["added"]) == (True, 1, 0)

    no_reason = east.post("/api/v1/suggestions/dismiss", json={"ids": [item["id"]], "reason": ""})
    assert no_reason.status_code == 422 and no_reason.json()["errors"][0]["field"] == "reason"
    assert south.post("/api/v1/suggestions/accept", json={"ids": [item["id"]]}).status_code == 422
    accepted = east.post("/api/v1/suggestions/accept", json={"ids": [item["id"]]},
                         headers={"Idempotency-Key": "accept-1"}).json()
    again = east.post("/api/v1/suggestions/accept", json={"ids": [item["id"]]},
                      headers={"Idempotency-Key": "accept-1"}).json()
    assert again == accepted  # the same key answers the same, creating nothing more
    (doc,) = accepted["documents"]
    with db.read() as s:
        assert s.scalars(select(TransferOrder.state).where(
            TransferOrder.number == doc["number"])).one() == "approved"
        assert s.scalar(select(PlanningSuggestion.state)) == "accepted"
    shown = east.get("/api/v1/suggestions", params={"state": "accepted"}).json()["items"]
    assert shown[0]["document"] == doc["number"]


def test_the_page_explains_and_accepts_in_chinese(app, db, network, short_store):  # noqa: F811
    _people(db, network)
    planning.run(db.uow(), today=TODAY)
    client = login(app, "rm_east")
    page = client.get("/planning/suggestions")
    assert page.status_code == 200
    assert "调拨建议" in page.text and "门店补货" in page.text and "available = 2" in page.text
    (sid,) = [s.id for s in db.read().__enter__().scalars(select(PlanningSuggestion))]
    bad = client.post("/planning/suggestions/dismiss", data={
        "csrf_token": client.csrf, "ids": str(sid), "reason": ""})
    assert bad.status_code == 422 and "原因" in bad.text
    forged = client.post("/planning/suggestions/accept", data={"csrf_token": "x", "ids": str(sid)})
    assert forged.status_code == 403
    done = client.post("/planning/suggestions/accept", data={
        "csrf_token": client.csrf, "ids": str(sid), "key": "page-accept-1"})
    assert done.status_code == 200 and "TO-" in done.text
    assert "已接受" in client.get("/planning/suggestions?state=accepted").text
