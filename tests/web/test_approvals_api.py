"""The approval routes: my approvals, one approval's timeline, decisions (403 with the reason for
anyone whose decision it is not) and policies as YAML."""

from typing import Any

from fastapi.testclient import TestClient

from cangliu.services import auth, roles
from tests.conftest import PASSWORD

# username → (role, scope)
PEOPLE = {"clerk": ("clerk", {"scope": "all"}),
          "sm2": ("store_manager", {"scope": "sites", "sites": ["S2"]}),
          "rm_east": ("regional_manager", {"scope": "region", "region": "华东"}),
          "sales": ("sales", {"scope": "sites", "sites": ["S1"]}),
          "director": ("inventory_director", {"scope": "all"})}


def _clients(app: Any, db: Any, admin: Any) -> dict[str, TestClient]:
    out = {}
    for username, (role, scope) in PEOPLE.items():
        auth.create_user(db.uow(), username=username, password=PASSWORD)
        roles.set_assignments(db.uow(), admin, username, [{"role": role, **scope}])
        client = TestClient(app, headers={"Accept-Language": "en"})
        token = client.post("/api/v1/auth/login", json={"username": username, "password": PASSWORD}
                            ).json()["access_token"]
        client.headers["Authorization"] = f"Bearer {token}"
        out[username] = client
    return out


def _submitted(clerk: TestClient, dest: str) -> str:
    made = clerk.post("/api/v1/transfers", json={"source": "WH", "dest": dest,
                                                 "lines": [{"sku": "SKU-1", "qty": "2"}]}).json()
    clerk.post(f"/api/v1/transfers/{made['number']}/submit", json={})
    return str(made["number"])


def test_a_cross_region_transfer_is_decided_from_my_approvals(app, db, network):
    people = _clients(app, db, network)
    number = _submitted(people["clerk"], "S2")
    assert people["clerk"].get(f"/api/v1/transfers/{number}").json()["state"] == "pending_approval"
    mine = people["sm2"].get("/api/v1/approvals").json()["items"]
    assert [a["document_number"] for a in mine] == [number]
    approval = mine[0]["id"]
    early = people["rm_east"].post(f"/api/v1/approvals/{approval}/decision",
                                   json={"decision": "approve"})
    assert early.status_code == 403 and "not your turn" in early.json()["detail"]
    stranger = people["sales"].post(f"/api/v1/approvals/{approval}/decision",
                                    json={"decision": "approve"})
    assert stranger.status_code == 404  # S1's salesperson does not see WH → S2
    onlooker = people["clerk"].post(f"/api/v1/approvals/{approval}/decision",
                                    json={"decision": "approve"})
    assert onlooker.status_code == 403 and "not an approver" in onlooker.json()["detail"]
    ok = people["sm2"].post(f"/api/v1/approvals/{approval}/decision",
                            json={"decision": "approve", "comment": "同意"})
    assert ok.status_code == 200 and ok.json()["step_index"] == 1
    again = people["sm2"].post(f"/api/v1/approvals/{approval}/decision",
                               json={"decision": "approve"})
    assert again.status_code == 403 and "already decided" in again.json()["detail"]
    assert [a["id"] for a in people["sm2"].get("/api/v1/approvals?box=done").json()["items"]] == [
        approval]
    assert people["sm2"].get("/api/v1/approvals").json()["items"] == []
    timeline = people["clerk"].get(f"/api/v1/approvals/{approval}").json()
    assert timeline["steps"][0]["tasks"][0]["comment"] == "同意"
    # Someone who may not see the document does not learn the approval exists.
    assert people["sales"].get(f"/api/v1/approvals/{approval}").status_code == 404
    bad = people["rm_east"].post(f"/api/v1/approvals/{approval}/decision",
                                 json={"decision": "approve", "extra": 1})
    assert bad.status_code == 422
    # Every decision is in the audit log: who, and the task's state before and after.
    with TestClient(app) as admin:
        admin.headers["Authorization"] = "Bearer " + admin.post("/api/v1/auth/login", json={
            "username": "admin", "password": PASSWORD}).json()["access_token"]
        events = admin.get("/api/v1/audit", params={"entity": "approval_task", "user": "sm2"})
    assert events.status_code == 200
    # sm2's approval decided their task and opened the next step's.
    assert sorted(e["action"] for e in events.json()["items"]) == ["create", "update"]


def test_policies_are_read_and_saved_as_yaml_by_settings_editors(app, api, db, network):
    people = _clients(app, db, network)
    current = api.get("/api/v1/approval-policies/transfer")
    assert current.status_code == 200 and "cross_region_or_large" in current.text
    assert people["director"].get("/api/v1/approval-policies/transfer").status_code == 200
    assert people["clerk"].get("/api/v1/approval-policies/transfer").status_code == 403
    simple = "document_type: transfer\nbranches:\n  - {name: all, steps: []}\n"
    assert people["director"].put("/api/v1/approval-policies/transfer",
                                  content=simple).status_code == 403
    bad = api.put("/api/v1/approval-policies/transfer",
                  content="document_type: transfer\nbranches:\n  - {name: x, condition: 'nope > 1'}\n")
    assert bad.status_code == 422
    assert {e["field"] for e in bad.json()["errors"]} == {"branches[0].condition", "branches"}
    saved = api.put("/api/v1/approval-policies/transfer", content=simple)
    assert saved.status_code == 200 and saved.headers["X-Policy-Version"] == "2"
    assert "version: 2" in api.get("/api/v1/approval-policies/transfer").text
    assert api.get("/api/v1/approval-policies/invoice").status_code == 404
    number = _submitted(people["clerk"], "S2")
    assert people["clerk"].get(f"/api/v1/transfers/{number}").json()["state"] == "approved"
