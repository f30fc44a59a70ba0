"""The thresholds API: the levels in force with their explanation, one series' history, overrides
by those allowed to plan (within their sites), and a planning run on demand."""

from datetime import UTC, datetime, timedelta

from cangliu.services import auth, roles, thresholds
from cangliu.services.postings import Meta
from cangliu.services.stock import Line, receive
from tests.conftest import PASSWORD
from tests.services.test_thresholds import _history
from tests.web.test_approval_authorization import _client


def test_thresholds_are_read_overridden_and_refreshed_through_the_api(app, api, db, network):
    receive(db.uow(), Meta(network), site="S1", lines=[Line("SKU-1", "12")])
    _history(db)
    today = datetime.now(UTC).date()
    thresholds.recompute(db.uow(), today=today)
    for username, role, scope in (("rm", "regional_manager", {"scope": "region", "region": "华东"}),
                                  ("sm2", "store_manager", {"scope": "sites", "sites": ["S2"]}),
                                  ("clerk", "clerk", {"scope": "all"})):
        auth.create_user(db.uow(), username=username, password=PASSWORD)
        roles.set_assignments(db.uow(), network, username, [{"role": role, **scope}])
    rm, sm2, clerk = (_client(app, u) for u in ("rm", "sm2", "clerk"))

    listed = rm.get("/api/v1/thresholds", params={"sku": "SKU-1"}).json()["items"]
    s1 = next(i for i in listed if i["site"] == "S1")
    assert s1["explanation"].startswith(f"SS {s1['safety_stock']} = ")
    assert s1["inputs"]["lead_time_source"] == "default" and s1["override"] is None
    assert s1["inputs"]["route"] == "WH→S1" and s1["explanation"].endswith(
        "by default for WH→S1 (transfers into S1: 0 of 3 needed)")
    # Ninety days of history: backtested, MASE and bias beside the levels.
    assert s1["mase"] > 0 and abs(s1["bias"]) < 0.15  # moves with the day the history ends
    assert (s1["inputs"]["lifecycle"], s1["inputs"]["xyz"]) == ("new", "X")
    assert [i["site"] for i in sm2.get("/api/v1/thresholds").json()["items"]] == []  # S2 only
    assert clerk.get("/api/v1/thresholds").status_code == 403
    assert sm2.get("/api/v1/thresholds/SKU-1/S1").status_code == 404

    body = {"safety_stock": "10", "reorder_point": "20", "max_stock": "60", "reason": "春节备货",
            "expires_on": (today + timedelta(days=7)).isoformat()}
    bad = rm.post("/api/v1/thresholds/SKU-1/S1/override", json={**body, "max_stock": "15"})
    assert bad.status_code == 422 and bad.json()["errors"][0]["field"] == "max_stock"
    assert sm2.post("/api/v1/thresholds/SKU-1/S1/override", json=body).status_code == 403
    assert rm.post("/api/v1/thresholds/SKU-1/S1/override", json=body).status_code == 201
    after = rm.get("/api/v1/thresholds", params={"sku": "SKU-1", "site": "S1"}).json()["items"][0]
    assert after["override"]["reorder_point"] == "20" and after["override"]["reason"] == "春节备货"
    story = rm.get("/api/v1/thresholds/SKU-1/S1").json()
    assert len(story["computed"]) == 1 and story["overrides"][0]["created_by"] == "rm"
    assert story["computed"][0]["mase"] == s1["mase"]

    ran = api.post("/api/v1/planning/run")
    assert ran.status_code == 200 and ran.json()["thresholds"]["series"] >= 1
    assert ran.json()["suggestions"]["dry_run"] is False
