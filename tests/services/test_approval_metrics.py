"""Approval times (issue 5): known step durations give known mean, median and p90 per document
type and step; the whole approval is timed too; pending approvals past their step's timeout are
counted as overdue; a step passed by a timeout has no time of its own."""

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from cangliu.core.permissions import Actor
from cangliu.db.models import ApprovalInstance, AppUser
from cangliu.db.uow import Database
from cangliu.services import approvals, auth, roles, transfers
from cangliu.services.postings import Meta
from cangliu.services.transfers import TransferLineIn
from tests.conftest import PASSWORD

T0 = datetime(2026, 11, 2, 8, tzinfo=UTC)
POLICY = """
document_type: transfer
branches:
  - name: default
    steps:
      - {{name: check, approvers: {{kind: role, role: inventory_director}}, {timeout}}}
      - {{name: sign, approvers: {{kind: role, role: regional_manager}}}}
"""


@pytest.fixture
def people(db: Database, network: Actor) -> dict[str, Actor]:
    out = {}
    for username, role in (("clerk", "clerk"), ("director", "inventory_director"),
                           ("regional", "regional_manager")):
        user = auth.create_user(db.uow(), username=username, password=PASSWORD)
        roles.set_assignments(db.uow(), network, username, [{"role": role, "scope": "all"}])
        with db.read() as s:
            out[username] = roles.actor_of(s, s.get_one(AppUser, user.user_id))
    return out


def _policy(db: Database, admin: Actor, timeout: str) -> None:
    approvals.save_policy(db.uow(), admin, "transfer", POLICY.format(timeout=timeout))


def _at(hours: float) -> datetime:
    return T0 + timedelta(hours=hours)


def _submitted(db: Database, clerk: Actor, at: datetime) -> int:
    number = transfers.create_transfer(db.uow(), Meta(clerk), source="WH", dest="S1",
                                       lines=[TransferLineIn("SKU-1", "1")])["number"]
    transfers.submit_transfer(db.uow(clock=lambda: at), Meta(clerk), number=number)
    with db.uow() as uow:
        found = uow.session.scalar(select(ApprovalInstance.id).where(
            ApprovalInstance.document_number == number))
    assert found is not None
    return found


def _approve(db: Database, who: Actor, instance_id: int, at: datetime) -> None:
    approvals.decide(db.uow(clock=lambda: at), who, instance_id, "approve")


def test_known_step_times_give_known_mean_median_and_p90(db, network, people):
    _policy(db, network, "timeout_hours: 10, timeout_action: remind")
    for check in (1, 2, 3, 4, 10):  # every approval: the check takes these hours, the sign 2
        inst = _submitted(db, people["clerk"], T0)
        _approve(db, people["director"], inst, _at(check))
        _approve(db, people["regional"], inst, _at(check + 2))
    late = _submitted(db, people["clerk"], T0)  # waits at the check, 11 hours by now
    _submitted(db, people["clerk"], _at(10.5))  # waits too, within its 10 hours
    figures = approvals.approval_metrics(db.uow(), now=_at(11))["document_types"]
    transfer = figures["transfer"]
    # p90 interpolates between the 4th and 5th of five: 4 + 0.6 × (10 − 4).
    assert transfer["steps"]["check"] == {"count": 5, "mean_hours": 4.0, "median_hours": 3.0,
                                          "p90_hours": 7.6, "overdue": 1}
    assert transfer["steps"]["sign"] == {"count": 5, "mean_hours": 2.0, "median_hours": 2.0,
                                         "p90_hours": 2.0, "overdue": 0}
    assert transfer["approvals"] == {"count": 5, "mean_hours": 6.0, "median_hours": 5.0,
                                     "p90_hours": 9.6}
    assert transfer["overdue"] == 1
    # The steps of a policy in force are listed before anyone passed them.
    assert figures["purchase"]["approvals"]["count"] == 0
    purchase = approvals.active_policy(db.uow(), "purchase")
    assert list(figures["purchase"]["steps"]) == [s.name for b in purchase.branches for s in b.steps]
    assert all(s["mean_hours"] is None for s in figures["purchase"]["steps"].values())
    # Once the late one is decided it is no longer overdue, and its check took 12 hours.
    _approve(db, people["director"], late, _at(12))
    later = approvals.approval_metrics(db.uow(), now=_at(12))["document_types"]["transfer"]
    assert later["overdue"] == 0 and later["steps"]["check"]["count"] == 6
    assert later["steps"]["check"]["mean_hours"] == round(32 / 6, 2)


def test_only_steps_and_approvals_ending_within_the_period_count(db, network, people):
    _policy(db, network, "timeout_hours: 10, timeout_action: remind")
    for check in (1, 2, 3):
        inst = _submitted(db, people["clerk"], T0)
        _approve(db, people["director"], inst, _at(check))
        _approve(db, people["regional"], inst, _at(check + 2))
    early = approvals.approval_metrics(db.uow(), until=_at(2.5), now=_at(24))["document_types"]
    assert early["transfer"]["steps"]["check"]["count"] == 2
    assert early["transfer"]["steps"]["sign"]["count"] == 0
    assert early["transfer"]["approvals"]["count"] == 0
    late = approvals.approval_metrics(db.uow(), since=_at(4.5), now=_at(24))["document_types"]
    assert late["transfer"]["steps"]["sign"]["count"] == 1
    assert late["transfer"]["approvals"] == {"count": 1, "mean_hours": 5.0, "median_hours": 5.0,
                                             "p90_hours": 5.0}


def test_a_step_passed_by_its_timeout_has_no_time_of_its_own(db, network, people):
    _policy(db, network, "timeout_hours: 1, timeout_action: auto_approve")
    inst = _submitted(db, people["clerk"], T0)
    approvals.sweep_timeouts(db.uow(clock=lambda: _at(2)), _at(2))
    _approve(db, people["regional"], inst, _at(3))
    transfer = approvals.approval_metrics(db.uow(), now=_at(4))["document_types"]["transfer"]
    # The check ended when the sweep ran, which no decision records: it and the sign (whose
    # start is that moment) are left out, while the whole approval took 3 hours.
    assert [s["count"] for s in transfer["steps"].values()] == [0, 0]
    assert transfer["approvals"]["count"] == 1 and transfer["approvals"]["mean_hours"] == 3.0


def test_a_rejected_approval_times_its_last_step_to_the_rejection(db, network, people):
    _policy(db, network, "timeout_hours: 10, timeout_action: remind")
    inst = _submitted(db, people["clerk"], T0)
    _approve(db, people["director"], inst, _at(1))
    approvals.decide(db.uow(clock=lambda: _at(5)), people["regional"], inst, "reject")
    transfer = approvals.approval_metrics(db.uow(), now=_at(6))["document_types"]["transfer"]
    assert transfer["steps"]["sign"]["mean_hours"] == 4.0
    assert transfer["approvals"]["mean_hours"] == 5.0
