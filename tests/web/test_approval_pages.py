"""我的审批 in the browser: the pending / done / CC tabs and deciding from the list, the decision
page (refusals with their reason, delegation), the approvals on a document page, and signed
one-time links."""

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from cangliu.db.models import ApprovalInstance
from cangliu.services import approvals, auth, roles
from cangliu.services.approvals import links
from cangliu.web.pages.approvals import waited
from tests.conftest import PASSWORD
from tests.web.conftest import csrf_of, login

# username → (role, scope); a transfer WH (华东) → S2 (华南) crosses regions and walks
# store manager of S2 → regional manager of the source region → inventory director.
PEOPLE = {"clerk": ("clerk", {"scope": "all"}),
          "sm2": ("store_manager", {"scope": "sites", "sites": ["S2"]}),
          "rm_east": ("regional_manager", {"scope": "region", "region": "华东"}),
          "sales": ("sales", {"scope": "sites", "sites": ["S1"]}),
          "fin": ("finance", {"scope": "all"}),
          "director": ("inventory_director", {"scope": "all"})}


@pytest.fixture
def staff(db, network) -> dict[str, Any]:
    out = {}
    for username, (role, scope) in PEOPLE.items():
        out[username] = auth.create_user(db.uow(), username=username, password=PASSWORD)
        roles.set_assignments(db.uow(), network, username, [{"role": role, **scope}])
    return out


def _browser(app: Any, username: str) -> TestClient:
    client = login(app, username)
    client.headers["Accept-Language"] = "en"
    return client


def _submit(app: Any, dest: str = "S2") -> str:
    """A transfer raised and submitted by the clerk, over the API."""
    with TestClient(app) as clerk:
        token = clerk.post("/api/v1/auth/login", json={"username": "clerk", "password": PASSWORD}
                           ).json()["access_token"]
        clerk.headers["Authorization"] = f"Bearer {token}"
        made = clerk.post("/api/v1/transfers", json={"source": "WH", "dest": dest,
                                                     "lines": [{"sku": "SKU-1", "qty": "2"}]}).json()
        assert clerk.post(f"/api/v1/transfers/{made['number']}/submit", json={}).status_code == 200
    return str(made["number"])


def _approval_of(db: Any, number: str) -> int:
    with db.read() as session:
        return int(session.scalars(select(ApprovalInstance.id).where(
            ApprovalInstance.document_number == number)).one())


def _state(db: Any, approval: int) -> str:
    with db.read() as session:
        return str(session.get_one(ApprovalInstance, approval).state)


def _decide(client: TestClient, approval: int, decision: str, back: str = "", **fields: str
            ) -> Any:
    page = client.get(f"/approvals/{approval}")
    return client.post(f"/approvals/{approval}/decision", follow_redirects=False, data={
        "csrf_token": csrf_of(page.text), "decision": decision, "back": back, **fields})


def test_each_tab_shows_the_approvals_of_its_user_and_the_list_decides(app, db, staff):
    number = _submit(app)
    approval = _approval_of(db, number)
    with _browser(app, "sm2") as sm2, _browser(app, "rm_east") as rm, \
            _browser(app, "clerk") as clerk:
        mine = sm2.get("/approvals")
        assert mine.status_code == 200 and number in mine.text
        assert f'action="/approvals/{approval}/decision"' in mine.text
        assert "store_manager" not in mine.text and "Store manager" in mine.text  # the step, by name
        assert 'class="bell approvals-nav">My approvals <span class="badge"' in mine.text
        # Not yet the regional manager's turn, never the submitter's.
        assert number not in rm.get("/approvals").text
        assert number not in clerk.get("/approvals").text
        assert number not in sm2.get("/approvals?box=done").text

        done = sm2.post(f"/approvals/{approval}/decision", follow_redirects=False, data={
            "csrf_token": csrf_of(mine.text), "decision": "approve", "comment": "ok",
            "back": "/approvals?box=pending"})
        assert done.status_code == 303
        assert done.headers["location"] == f"/approvals?box=pending&decided={number}"
        after = sm2.get(done.headers["location"]).text
        assert f"Your decision on {number} was recorded." in after
        assert f"approval-{approval}" not in after
        assert number in sm2.get("/approvals?box=done").text
        now_rm = rm.get("/approvals").text
        assert number in now_rm and "Regional manager" in now_rm
        assert '<span class="badge"' in now_rm


def test_copied_approvals_show_on_the_cc_tab_only_for_the_copied_role(app, db, staff, network):
    approvals.save_policy(db.uow(), network, "transfer", """
document_type: transfer
branches:
- name: any
  steps:
  - name: store_manager
    approvers: {kind: role, role: store_manager, scope: site}
    cc: [finance]
""")
    number = _submit(app)
    with _browser(app, "fin") as fin, _browser(app, "sales") as sales:
        assert number in fin.get("/approvals?box=cc").text
        assert number not in fin.get("/approvals").text
        assert number not in sales.get("/approvals?box=cc").text


def test_pages_of_my_approvals_follow_one_another(app, db, staff):
    numbers = [_submit(app) for _ in range(21)]
    with _browser(app, "sm2") as sm2:
        first = sm2.get("/approvals").text
        assert numbers[-1] in first and numbers[0] not in first
        assert "/approvals?box=pending&page=2" in first
        second = sm2.get("/approvals?page=2").text
        assert numbers[0] in second and numbers[-1] not in second
        assert "page=3" not in second


def test_the_decision_page_refuses_who_may_not_decide_with_the_reason(app, db, staff):
    number = _submit(app)
    approval = _approval_of(db, number)
    with _browser(app, "rm_east") as rm, _browser(app, "sales") as sales:
        page = rm.get(f"/approvals/{approval}")
        assert page.status_code == 200 and number in page.text
        assert "This approval is not waiting for your decision." in page.text
        assert 'name="decision" value="approve"' not in page.text
        early = _decide(rm, approval, "approve")
        assert early.status_code == 403
        assert "It is not your turn: this approval is at the step store_manager" in early.text
        # Someone who may not see the transfer does not learn the approval exists.
        assert sales.get(f"/approvals/{approval}").status_code == 404
    assert _state(db, approval) == "pending"


def test_the_approver_delegates_and_a_wrong_name_changes_nothing(app, db, staff):
    number = _submit(app)
    approval = _approval_of(db, number)
    with _browser(app, "sm2") as sm2, _browser(app, "director") as director:
        page = sm2.get(f"/approvals/{approval}")
        for label in ("Approve", "Reject", "Return for changes", "Delegate", "Add an approver"):
            assert f">{label}</" in page.text
        wrong = _decide(sm2, approval, "delegate", to_user="nobody", comment="你来")
        assert wrong.status_code == 422 and "to_user: unknown user nobody" in wrong.text
        assert 'value="nobody"' in wrong.text  # what was typed is kept
        sm2.headers["Accept-Language"] = "zh-CN"
        assert "未知用户 nobody" in _decide(sm2, approval, "add", to_user="nobody").text
        sm2.headers["Accept-Language"] = "en"
        moved = _decide(sm2, approval, "delegate", to_user="director", comment="你来")
        assert moved.status_code == 303
        steps = sm2.get(moved.headers["location"]).text
        assert "delegated to director" in steps and "added by sm2" in steps and "你来" in steps
        assert number in director.get("/approvals").text
        assert _decide(director, approval, "approve").status_code == 303
        assert "Regional manager" in director.get(f"/approvals/{approval}").text


def test_a_transfer_page_shows_its_approvals_and_decides_in_place(app, db, staff):
    number = _submit(app)
    approval = _approval_of(db, number)
    with _browser(app, "sm2") as sm2, _browser(app, "clerk") as clerk:
        page = sm2.get(f"/transfers/{number}").text
        assert 'id="approvals"' in page and "cross_region_or_large" in page
        assert f'action="/approvals/{approval}/decision"' in page
        seen = clerk.get(f"/transfers/{number}").text
        assert 'id="approvals"' in seen and f'action="/approvals/{approval}/decision"' not in seen
        done = sm2.post(f"/approvals/{approval}/decision", follow_redirects=False, data={
            "csrf_token": csrf_of(page), "decision": "approve", "comment": "同意",
            "back": f"/transfers/{number}#approvals"})
        assert done.headers["location"] == f"/transfers/{number}?decided={number}#approvals"
        after = clerk.get(f"/transfers/{number}").text
        assert "同意" in after and "sm2" in after and "Regional manager" in after


def test_a_signed_link_opens_the_decision_once_for_its_user(app, db, staff):
    number = _submit(app)
    approval = _approval_of(db, number)
    secret, now = links.app_secret(db.uow()), datetime.now(UTC)
    path = links.signed_link(approval, staff["sm2"].user_id, now, secret=secret)
    assert path.startswith("/approvals/open/")
    with TestClient(app) as anon:
        assert anon.get(path, follow_redirects=False).headers["location"] == f"/login?next={path}"
    with _browser(app, "rm_east") as rm:
        other = rm.get(path)
        assert other.status_code == 403 and "This link was issued to another user" in other.text
    with _browser(app, "sm2") as sm2:
        tampered = sm2.get(path[:-2] + ("AA" if not path.endswith("AA") else "BB"))
        assert tampered.status_code == 403 and "changed or is incomplete" in tampered.text
        opened = sm2.get(path, follow_redirects=False)
        assert opened.status_code == 303 and opened.headers["location"] == f"/approvals/{approval}"
        assert 'name="decision" value="approve"' in sm2.get(opened.headers["location"]).text
        again = sm2.get(path)
        assert again.status_code == 410 and "already used" in again.text
        old = links.signed_link(approval, staff["sm2"].user_id, now - timedelta(hours=73),
                                secret=secret)
        expired = sm2.get(old)
        assert expired.status_code == 410 and "expired" in expired.text


def test_a_signed_link_brings_a_logged_out_user_back_after_login(app, db, staff):
    approval = _approval_of(db, _submit(app))
    path = links.signed_link(approval, staff["sm2"].user_id, datetime.now(UTC),
                             secret=links.app_secret(db.uow()))
    with TestClient(app) as client:
        form = client.get(client.get(path, follow_redirects=False).headers["location"]).text
        assert f'value="{path}"' in form
        back = client.post("/login", follow_redirects=False, data={
            "username": "sm2", "password": PASSWORD, "csrf_token": csrf_of(form), "next": path})
        assert back.headers["location"] == path
        assert client.get(path, follow_redirects=False).headers["location"] == \
            f"/approvals/{approval}"


def test_waiting_time_reads_in_days_hours_and_minutes():
    since = datetime(2026, 11, 20, 8, 0, tzinfo=UTC)
    assert waited("en", since, since + timedelta(minutes=7)) == "7 min"
    assert waited("en", since, since + timedelta(hours=3, minutes=5)) == "3 h 5 min"
    assert waited("en", since, since + timedelta(days=2, hours=4, minutes=59)) == "2 d 4 h"


def test_the_decision_page_shows_a_transfers_cost_amount_only_to_who_may_see_costs(app, db, staff):
    approval = _approval_of(db, _submit(app))
    with _browser(app, "sm2") as sm2, _browser(app, "clerk") as clerk:
        assert "<dt>Amount</dt>" in sm2.get(f"/approvals/{approval}").text
        summary = clerk.get(f"/approvals/{approval}").text
        assert "<dt>Amount</dt>" not in summary and "<dt>From</dt><dd>WH</dd>" in summary
