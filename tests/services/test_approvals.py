"""The approval engine (issue 5): branches chosen by the document, steps walked by the right
people, each mode, reject / return / delegate / add, simultaneous clicks, policy changes while an
approval runs, timeouts with an injected clock, and edits that restart an approval."""

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import func, select

from cangliu.core.errors import NotFound, ValidationFailed
from cangliu.core.permissions import Actor
from cangliu.db.models import ApprovalInstance, ApprovalTask, AppUser, Notification
from cangliu.db.uow import Database
from cangliu.jobs import approvals as approval_job
from cangliu.services import approvals, auth, masterdata, purchasing, roles, transfers
from cangliu.services.approvals import ApprovalRefused
from cangliu.services.postings import Meta
from cangliu.services.purchasing import PurchaseLineIn
from cangliu.services.transfers import TransferLineIn
from tests.conftest import PASSWORD
from tests.races import race

T0 = datetime(2026, 11, 23, 9, tzinfo=UTC)
# (username, role, scope, region, sites)
PEOPLE = (
    ("clerk", "clerk", "all", "", ()),
    ("sm1", "store_manager", "sites", "", ("S1",)),
    ("sm2", "store_manager", "sites", "", ("S2",)),
    ("rm_east", "regional_manager", "region", "华东", ()),
    ("rm_south", "regional_manager", "region", "华南", ()),
    ("director", "inventory_director", "all", "", ()),
    ("finance", "finance", "all", "", ()),
    ("buyer_lead", "purchasing_manager", "all", "", ()),
    ("deputy", "store_manager", "sites", "", ("S1",)),
    ("sm1b", "store_manager", "sites", "", ("S1",)),
)


@pytest.fixture
def people(db: Database, network: Actor) -> dict[str, Actor]:
    """Each with the grants of their role (as a request would see them)."""
    out = {}
    for username, role, scope, region, sites in PEOPLE:
        user = auth.create_user(db.uow(), username=username, password=PASSWORD)
        roles.set_assignments(db.uow(), network, username, [
            {"role": role, "scope": scope, "region": region, "sites": list(sites)}])
        with db.read() as s:
            out[username] = roles.actor_of(s, s.get_one(AppUser, user.user_id))
    return out


def _transfer(db: Database, who: Actor, dest: str, qty: str = "5", *, at: datetime = T0) -> str:
    number = transfers.create_transfer(db.uow(), Meta(who), source="WH", dest=dest,
                                       lines=[TransferLineIn("SKU-1", qty)])["number"]
    transfers.submit_transfer(db.uow(clock=lambda: at), Meta(who), number=number)
    return str(number)


def _instance(db: Database, number: str) -> dict[str, Any]:
    with db.uow() as uow:
        inst_id = uow.session.scalar(select(ApprovalInstance.id).where(
            ApprovalInstance.document_number == number).order_by(ApprovalInstance.id.desc()))
    assert inst_id is not None, f"{number} has no approval"
    return approvals.get_approval(db.uow(), Actor(0, "root", True), inst_id)


def _state(db: Database, number: str) -> str:
    return str(transfers.get_transfer(db.uow(), number)["state"])


def _decide(db: Database, who: Actor, number: str, decision: Any = "approve", **kw: Any
            ) -> dict[str, Any]:
    return approvals.decide(db.uow(), who, _instance(db, number)["id"], decision, **kw)


def _waiting(step: dict[str, Any]) -> list[str]:
    return [t["approver"] for t in step["tasks"] if t["state"] == "pending"]


def _policy(db: Database, admin: Actor, step: str) -> None:
    approvals.save_policy(db.uow(), admin, "transfer", f"""
document_type: transfer
branches:
  - name: default
    steps:
      - {{name: managers, approvers: {{kind: role, role: store_manager}}, {step}}}
""")


def test_a_routine_store_replenishment_is_approved_at_once(db, people):
    number = _transfer(db, people["clerk"], "S1")
    assert _state(db, number) == "approved"
    with db.uow() as uow:
        assert uow.session.scalar(select(func.count()).select_from(ApprovalInstance)) == 0


def test_a_cross_region_transfer_walks_store_manager_regional_manager_director(db, people):
    number = _transfer(db, people["clerk"], "S2")
    inst = _instance(db, number)
    assert (_state(db, number), inst["branch"]) == ("pending_approval", "cross_region_or_large")
    assert _waiting(inst["steps"][0]) == ["sm2"]  # the destination's store manager
    with pytest.raises(ApprovalRefused, match="not your turn"):
        _decide(db, people["rm_east"], number)
    with pytest.raises(NotFound):  # S1's manager does not even see WH → S2
        _decide(db, people["sm1"], number)
    with pytest.raises(ApprovalRefused, match="not an approver"):
        _decide(db, people["clerk"], number)
    _decide(db, people["sm2"], number, comment="ok")
    # The source site's regional manager, not the destination's.
    assert _waiting(_instance(db, number)["steps"][1]) == ["rm_east"]
    _decide(db, people["rm_east"], number)
    assert _state(db, number) == "pending_approval"
    done = _decide(db, people["director"], number)
    assert done["state"] == "approved" and _state(db, number) == "approved"
    assert [[(t["approver"], t["state"]) for t in s["tasks"]] for s in done["steps"]] == [
        [("sm2", "approved")], [("rm_east", "approved")], [("director", "approved")]]
    assert done["steps"][0]["tasks"][0]["comment"] == "ok"
    with db.uow() as uow:  # the submitter hears of the outcome
        titles = uow.session.scalars(select(Notification.title).where(
            Notification.user_id == people["clerk"].user_id))
        assert "{document} was approved" in list(titles)


def test_a_submitter_decides_their_own_step_unless_the_policy_says_self_approve(
        db, network, people):
    number = _transfer(db, people["sm2"], "S2")
    inst = _instance(db, number)
    assert inst["step_index"] == 0 and _waiting(inst["steps"][0]) == ["sm2"]
    text = approvals.policy_yaml(db.uow(), "transfer").replace(
        "version: 1\n", "version: 1\nself_approve: true\n")
    approvals.save_policy(db.uow(), network, "transfer", text)
    assert approvals.active_policy(db.uow(), "transfer").self_approve
    number = _transfer(db, people["sm2"], "S2")
    inst = _instance(db, number)
    assert inst["step_index"] == 1 and inst["steps"][0]["tasks"][0]["state"] == "approved"
    assert _waiting(inst["steps"][1]) == ["rm_east"]


def test_a_step_nobody_holds_goes_to_the_administrators_at_once(db, network):
    clerk = auth.create_user(db.uow(), username="lonely", password=PASSWORD)
    number = _transfer(db, clerk, "S2")
    tasks = _instance(db, number)["steps"][0]["tasks"]
    assert [(t["approver"], t["added_by"]) for t in tasks] == [("admin", "escalation")]
    for _ in range(3):
        _decide(db, network, number)
    assert _state(db, number) == "approved"


@pytest.mark.parametrize(("step", "votes", "expected"), [
    ("mode: any", [("sm1", "approve")], "approved"),
    ("mode: any", [("deputy", "reject")], "draft"),
    ("mode: all", [("sm1", "approve")], "pending_approval"),
    ("mode: all", [("sm1", "approve"), ("sm1b", "approve"), ("deputy", "approve")], "approved"),
    ("mode: n_of_m, n: 2", [("sm1", "approve")], "pending_approval"),
    ("mode: n_of_m, n: 2", [("sm1", "approve"), ("deputy", "approve")], "approved"),
    ("mode: n_of_m, n: 2", [("sm1", "reject"), ("deputy", "reject")], "draft"),
])
def test_each_mode_decides_the_step(db, network, people, step, votes, expected):
    """The step's role within scope ``all``: S1's three store managers (S2's does not see WH → S1)."""
    _policy(db, network, step)
    number = _transfer(db, people["clerk"], "S1")
    assert sorted(_waiting(_instance(db, number)["steps"][0])) == ["deputy", "sm1", "sm1b"]
    for who, decision in votes:
        _decide(db, people[who], number, decision)
    assert _state(db, number) == expected


def test_reject_and_return_send_the_document_back_to_draft(db, people):
    rejected, returned = _transfer(db, people["clerk"], "S2"), _transfer(db, people["clerk"], "S2")
    assert _decide(db, people["sm2"], rejected, "reject", comment="too much")["state"] == "rejected"
    assert _decide(db, people["sm2"], returned, "return", comment="fix qty")["state"] == "returned"
    assert _state(db, rejected) == _state(db, returned) == "draft"
    with pytest.raises(ApprovalRefused, match="already rejected"):
        _decide(db, people["sm2"], rejected)
    # Submitted again, it starts a new approval.
    transfers.submit_transfer(db.uow(), Meta(people["clerk"]), number=returned)
    assert _instance(db, returned)["state"] == "pending"


def test_a_delegated_task_moves_to_the_other_user(db, people):
    number = _transfer(db, people["clerk"], "S2")
    with pytest.raises(ValidationFailed) as refused:  # S1 only: cannot see WH → S2
        _decide(db, people["sm2"], number, "delegate", to_user="deputy")
    assert refused.value.errors[0].field == "to_user"
    _decide(db, people["sm2"], number, "delegate", to_user="rm_south", comment="on leave")
    with pytest.raises(ApprovalRefused, match="already decided"):
        _decide(db, people["sm2"], number)
    tasks = _instance(db, number)["steps"][0]["tasks"]
    assert [(t["approver"], t["state"], t["delegated_to"]) for t in tasks] == [
        ("sm2", "delegated", "rm_south"), ("rm_south", "pending", None)]
    _decide(db, people["rm_south"], number)
    assert _waiting(_instance(db, number)["steps"][1]) == ["rm_east"]
    with pytest.raises(ValidationFailed):
        _decide(db, people["rm_east"], number, "delegate", to_user="nobody")


def test_an_added_approver_joins_the_current_step(db, network, people):
    _policy(db, network, "mode: all")
    number = _transfer(db, people["clerk"], "S1")
    with pytest.raises(ValidationFailed) as refused:  # finance does not see transfers
        _decide(db, people["sm1"], number, "add", to_user="finance")
    assert refused.value.errors[0].field == "to_user"
    _decide(db, people["sm1"], number, "add", to_user="rm_east")
    for who in ("sm1", "sm1b", "deputy"):
        _decide(db, people[who], number)
    assert _state(db, number) == "pending_approval"  # rm_east has not approved yet
    _decide(db, people["rm_east"], number)
    assert _state(db, number) == "approved"


def test_simultaneous_clicks_by_one_approver_record_one_decision(db, people):
    number = _transfer(db, people["clerk"], "S2")
    inst = _instance(db, number)["id"]
    outcomes = race(db, lambda _i: approvals.decide(db.uow(), people["sm2"], inst, "approve"))
    assert sum(isinstance(o, dict) for o in outcomes) == 1
    assert all(isinstance(o, dict | ApprovalRefused) for o in outcomes), outcomes
    with db.uow() as uow:
        rows = uow.session.execute(select(ApprovalTask.step_index, ApprovalTask.state)
                                   .where(ApprovalTask.instance_id == inst)).all()
    assert sorted(rows) == [(0, "approved"), (1, "pending")]


def test_simultaneous_decisions_of_everyone_on_an_all_step_approve_it_once(db, network, people):
    _policy(db, network, "mode: all")
    number = _transfer(db, people["clerk"], "S1")
    inst = _instance(db, number)["id"]
    deciders = [people[u] for u in ("sm1", "sm1b", "deputy")]
    outcomes = race(db, lambda i: approvals.decide(db.uow(), deciders[i % 3], inst, "approve"))
    assert sum(isinstance(o, dict) for o in outcomes) == 3
    assert all(isinstance(o, dict | ApprovalRefused) for o in outcomes), outcomes
    assert _state(db, number) == "approved"


def test_a_reminder_is_sent_once_per_timed_out_step(db, network, people):
    _policy(db, network, "timeout_hours: 4, timeout_action: remind")
    _transfer(db, people["clerk"], "S1")
    for hours, sent in ((3, 0), (5, 1), (9, 0)):
        assert approvals.sweep_timeouts(db.uow(), T0 + timedelta(hours=hours))["remind"] == sent
    with db.uow() as uow:
        reminders = uow.session.scalars(select(Notification.user_id).where(
            Notification.title.startswith("Reminder")))
        assert sorted(reminders) == sorted(people[u].user_id for u in ("sm1", "sm1b", "deputy"))


def test_a_running_approval_keeps_the_policy_it_started_with(db, network, people):
    running = _transfer(db, people["clerk"], "S2")
    approvals.save_policy(db.uow(), network, "transfer", """
document_type: transfer
branches:
  - {name: everything, steps: []}
""")
    assert approvals.active_policy(db.uow(), "transfer").version == 2
    assert _state(db, _transfer(db, people["clerk"], "S2")) == "approved"
    for who in ("sm2", "rm_east", "director"):
        _decide(db, people[who], running)
    assert _instance(db, running)["policy_version"] == 1 and _state(db, running) == "approved"


def test_a_policy_naming_unknown_things_is_refused_with_the_reasons(db, network, people):
    with pytest.raises(ValidationFailed) as refused:
        approvals.save_policy(db.uow(), network, "transfer", """
document_type: transfer
branches:
  - name: big
    condition: weight > 3
    steps: [{name: a, approvers: {kind: role, role: pope}}]
""")
    fields = {e.field for e in refused.value.errors}
    assert {"branches[0].condition", "branches[0].steps[0].approvers.role", "branches"} <= fields
    assert approvals.active_policy(db.uow(), "transfer").version == 1


def test_a_timed_out_step_escalates_once_however_often_the_sweep_runs(db, people):
    number = _transfer(db, people["clerk"], "S2")
    early = approval_job.run(db, clock=lambda: T0 + timedelta(hours=23))
    assert early["escalate"] == 0
    later = T0 + timedelta(hours=25)
    assert approval_job.run(db, clock=lambda: later)["escalate"] == 1
    assert approval_job.run(db, clock=lambda: later)["escalate"] == 0
    inst = _instance(db, number)
    assert inst["escalations"] == 1
    assert _waiting(inst["steps"][0]) == ["sm2", "rm_south"]  # the region of the step's site
    with db.uow() as uow:
        assert uow.session.scalar(select(func.count()).select_from(Notification).where(
            Notification.user_id == people["rm_south"].user_id)) == 1
    _decide(db, people["rm_south"], number)
    assert _instance(db, number)["step_index"] == 1


def test_a_timed_out_step_can_approve_or_reject_itself(db, network, people):
    _policy(db, network, "timeout_hours: 2, timeout_action: auto_approve")
    approved = _transfer(db, people["clerk"], "S1")
    _policy(db, network, "timeout_hours: 2, timeout_action: auto_reject")
    rejected = _transfer(db, people["clerk"], "S1")
    done = approvals.sweep_timeouts(db.uow(), T0 + timedelta(hours=3))
    assert (done["auto_approve"], done["auto_reject"]) == (1, 1)
    assert (_state(db, approved), _state(db, rejected)) == ("approved", "draft")
    assert approvals.sweep_timeouts(db.uow(), T0 + timedelta(hours=3)) == {
        "remind": 0, "escalate": 0, "auto_approve": 0, "auto_reject": 0}


def test_editing_a_transfer_under_approval_restarts_it(db, people):
    number = _transfer(db, people["clerk"], "S2")
    _decide(db, people["sm2"], number)
    first = _instance(db, number)["id"]
    version = transfers.get_transfer(db.uow(), number)["version"]
    edited = transfers.update_transfer(db.uow(), Meta(people["clerk"]), number=number,
                                       version=version, lines=[TransferLineIn("SKU-1", "7")])
    assert edited["state"] == "pending_approval"
    again = _instance(db, number)
    assert again["id"] != first and again["step_index"] == 0 and again["submitter"] == "clerk"
    assert approvals.get_approval(db.uow(), people["clerk"], first)["state"] == "cancelled"
    with pytest.raises(ApprovalRefused, match="already cancelled"):
        approvals.decide(db.uow(), people["rm_east"], first, "approve")


def test_a_large_purchase_needs_the_purchasing_manager_and_finance(db, network, people):
    masterdata.create(db.uow(), network, "supplier", {"code": "SUP-1", "name": "供应商"})
    po = purchasing.create_purchase(db.uow(), Meta(people["clerk"]), supplier="SUP-1", site="WH",
                                    lines=[PurchaseLineIn("SKU-1", "1000", price="150")])
    number = po["number"]
    assert purchasing.submit_purchase(db.uow(), Meta(people["clerk"]),
                                      number=number)["state"] == "submitted"
    with pytest.raises(ApprovalRefused, match="not an approver"):
        _decide(db, people["director"], number)
    _decide(db, people["buyer_lead"], number)
    assert purchasing.get_purchase(db.uow(), number)["state"] == "submitted"
    _decide(db, people["finance"], number)
    assert purchasing.get_purchase(db.uow(), number)["state"] == "approved"


def test_cancelling_a_document_under_approval_closes_its_approval(db, people):
    number = _transfer(db, people["clerk"], "S2")
    transfers.cancel_transfer(db.uow(), Meta(people["clerk"]), number=number)
    assert _instance(db, number)["state"] == "cancelled"
    assert approvals.list_approvals(db.uow(), people["sm2"], "pending") == []
