"""The demo's people: one user per built-in role, each seeing a different, correct slice."""

from datetime import UTC, datetime
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import select

from cangliu.config import Settings
from cangliu.core.permissions import BUILTIN, Actor
from cangliu.db.models import ApprovalInstance, ApprovalTask, AppUser, TransferOrder
from cangliu.services import auth, demo, demo_approvals, demo_users
from cangliu.web.app import create_app
from tests.conftest import PASSWORD

EAST = {"WH-CENTRAL", "WH-EAST", "ST-SH01", "ST-SH02", "ST-HZ01", "ST-NJ01", "FC-ONLINE"}
NOW = datetime(2026, 11, 23, tzinfo=UTC)
SOUTH = {"WH-SOUTH", "ST-GZ01", "ST-GZ02", "ST-SZ01", "ST-XM01"}


def _demo(db: Any, monkeypatch: Any) -> tuple[Actor, tuple[demo_users.DemoUser, ...]]:
    monkeypatch.setattr(demo, "DAYS", 8)
    monkeypatch.setattr(demo, "PROMO_DAYS", range(6, 7))
    admin = auth.create_user(db.uow(), username="admin", password=PASSWORD, is_admin=True)
    demo.load(db, admin, now=NOW)
    return admin, demo_users.create(db, admin, PASSWORD)


def test_each_demo_user_sees_their_own_slice(db, monkeypatch):
    _admin, people = _demo(db, monkeypatch)
    assert {p.role for p in people} == set(BUILTIN) - {"admin"}
    app = create_app(Settings(database_url=db.url, secret_key="test-secret"), db=db)
    seen: dict[str, tuple[set[str], list[set[str]], int]] = {}
    with TestClient(app) as client:
        for person in people:
            token = client.post("/api/v1/auth/login", json={
                "username": person.username, "password": PASSWORD}).json()["access_token"]
            headers = {"Authorization": f"Bearer {token}"}
            sites = {s["code"] for s in client.get("/api/v1/sites", params={"limit": 100},
                                                   headers=headers).json()["items"]}
            transfers = client.get("/api/v1/transfers", params={"limit": 500}, headers=headers)
            ends = ([{t["source"], t["dest"]} for t in transfers.json()["items"]]
                    if transfers.status_code == 200 else [])
            purchases = client.get("/api/v1/purchase-orders", headers=headers).status_code
            seen[person.username] = (sites, ends, purchases)
    everything = EAST | SOUTH
    assert seen["clerk"][0] == {"WH-CENTRAL", "WH-EAST"}
    assert seen["sales"][0] == EAST and seen["sales"][2] == 403
    assert seen["store"][0] == {"ST-SH01"}
    assert seen["regional"][0] == SOUTH and seen["regional_east"][0] == EAST
    assert seen["purchaser"][0] == everything and seen["purchaser"][2] == 200
    assert seen["director"][0] == everything and seen["finance"][0] == everything
    # A transfer is seen by the people of either of its ends, and by nobody else.
    for username, (sites, ends, _) in seen.items():
        assert all(pair & sites for pair in ends), username
    everyone = len(seen["director"][1])
    assert everyone and all(len(ends) <= everyone for _, ends, _ in seen.values())
    assert len(seen["store"][1]) < everyone
    assert len({frozenset(s) for s, _, _ in seen.values()}) == 5


def test_the_demo_approvals_show_each_way_an_approval_ends(db, monkeypatch):
    admin, _people = _demo(db, monkeypatch)
    journey = demo_approvals.load(db, admin, NOW)
    with db.read() as s:
        def instances(number: str) -> list[ApprovalInstance]:
            return list(s.scalars(select(ApprovalInstance).where(
                ApprovalInstance.document_number == number)))

        def decided(number: str) -> list[tuple[int, str, str, str]]:
            return [(t.step_index, name, t.state, t.added_by) for t, name in s.execute(
                select(ApprovalTask, AppUser.username).join(AppUser, AppUser.id == ApprovalTask.approver_id)
                .join(ApprovalInstance, ApprovalInstance.id == ApprovalTask.instance_id)
                .where(ApprovalInstance.document_number == number)
                .order_by(ApprovalTask.step_index, ApprovalTask.id)).tuples()]

        state = {n: s.scalar(select(TransferOrder.state).where(TransferOrder.number == n))
                 for n in journey.values()}
        assert instances(journey["routine"]) == [] and state[journey["routine"]] == "approved"
        assert state[journey["walked"]] == "approved"
        assert decided(journey["walked"]) == [(0, "store", "approved", "policy"),
                                              (1, "regional", "approved", "policy"),
                                              (2, "director", "approved", "policy")]
        (late,) = instances(journey["escalated"])
        assert (state[journey["escalated"]], late.state, late.escalations) == (
            "pending_approval", "pending", 1)
        assert decided(journey["escalated"]) == [(0, "store", "pending", "policy"),
                                                 (0, "regional_east", "pending", "escalation")]
