"""The demo's people: one user per built-in role, each seeing a different, correct slice."""

from datetime import UTC, datetime

from fastapi.testclient import TestClient

from cangliu.config import Settings
from cangliu.core.permissions import BUILTIN
from cangliu.services import auth, demo, demo_users
from cangliu.web.app import create_app
from tests.conftest import PASSWORD

EAST = {"WH-CENTRAL", "WH-EAST", "ST-SH01", "ST-SH02", "ST-HZ01", "ST-NJ01", "FC-ONLINE"}
SOUTH = {"WH-SOUTH", "ST-GZ01", "ST-GZ02", "ST-SZ01", "ST-XM01"}


def test_each_demo_user_sees_their_own_slice(db, monkeypatch):
    monkeypatch.setattr(demo, "DAYS", 8)
    monkeypatch.setattr(demo, "PROMO_DAYS", range(6, 7))
    admin = auth.create_user(db.uow(), username="admin", password=PASSWORD, is_admin=True)
    demo.load(db, admin, now=datetime(2026, 11, 23, tzinfo=UTC))
    people = demo_users.create(db, admin, PASSWORD)
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
    assert seen["regional"][0] == SOUTH
    assert seen["purchaser"][0] == everything and seen["purchaser"][2] == 200
    assert seen["director"][0] == everything and seen["finance"][0] == everything
    # A transfer is seen by the people of either of its ends, and by nobody else.
    for username, (sites, ends, _) in seen.items():
        assert all(pair & sites for pair in ends), username
    everyone = len(seen["director"][1])
    assert everyone and all(len(ends) <= everyone for _, ends, _ in seen.values())
    assert len(seen["store"][1]) < everyone
    assert len({frozenset(s) for s, _, _ in seen.values()}) == 5
