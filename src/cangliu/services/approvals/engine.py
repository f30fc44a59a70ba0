"""Walking an instance through its steps: start on submit, decisions, restart on edit, cancel.

Where the policy says ``self_approve``, a submitter's own task is approved as they submit
(发起人自动审批); otherwise they decide on it like any other approver."""

from collections.abc import Iterable
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from cangliu.core import approvals as rules
from cangliu.core.approvals import Step
from cangliu.core.errors import NotFound, ValidationFailed
from cangliu.core.permissions import Actor
from cangliu.db.models import ApprovalInstance, ApprovalTask, AppUser
from cangliu.db.uow import UnitOfWork, retrying
from cangliu.services.approvals.documents import (
    DOCUMENTS,
    ApprovalRefused,
    DecisionIn,
    Result,
    document_row,
    fields_of,
    on_approved,
)
from cangliu.services.approvals.people import approvers_of, cc_of, fallback
from cangliu.services.approvals.policies import policy_at, steps_of
from cangliu.services.approvals.reading import answer, may_see, sees_document
from cangliu.services.notifications import notify
from cangliu.services.roles import actor_of
from cangliu.services.timeline import link


def tell(session: Session, at: datetime, inst: ApprovalInstance, users: Iterable[int],
         title: str, step: str = "") -> None:
    notify(session, at, users, kind="approval", title=title,
           params={"document": inst.document_number, "step": step},
           link=link(inst.document_type, inst.document_number))


def add_tasks(session: Session, inst: ApprovalInstance, users: Iterable[int], added_by: str,
              at: datetime) -> list[int]:
    """Put ``users`` on the current step (those already on it are left as they are)."""
    present = set(session.scalars(select(ApprovalTask.approver_id).where(
        ApprovalTask.instance_id == inst.id, ApprovalTask.step_index == inst.step_index)))
    new = [u for u in dict.fromkeys(users) if u not in present]
    signs = policy_at(session, inst.document_type, inst.policy_version).self_approve
    for user in new:
        own = signs and user == inst.submitter_id
        session.add(ApprovalTask(
            instance_id=inst.id, step_index=inst.step_index, approver_id=user,
            state="approved" if own else "pending", decided_at=at if own else None,
            comment="", added_by="submitter" if own else added_by))
    session.flush()
    return [u for u in new if not (signs and u == inst.submitter_id)]


def _outcome(session: Session, inst: ApprovalInstance, step: Step) -> str:
    rows = session.execute(select(ApprovalTask.approver_id, ApprovalTask.state).where(
        ApprovalTask.instance_id == inst.id, ApprovalTask.step_index == inst.step_index)).all()
    people = [str(u) for u, state in rows if state not in ("delegated", "skipped")]
    decisions: dict[str, rules.Decision] = {
        str(u): "approve" if state == "approved" else "reject"
        for u, state in rows if state in ("approved", "rejected")}
    return rules.step_outcome(step, people, decisions)


def close_step(session: Session, inst: ApprovalInstance) -> None:
    """Tasks still open when a step ends are skipped: nobody decides on a finished step."""
    session.execute(update(ApprovalTask).where(
        ApprovalTask.instance_id == inst.id, ApprovalTask.step_index == inst.step_index,
        ApprovalTask.state == "pending").values(state="skipped")
        .execution_options(synchronize_session=False))


def enter(session: Session, inst: ApprovalInstance, steps: tuple[Step, ...], index: int,
          at: datetime) -> str:
    """Start step ``index`` (or finish after the last); steps the submitter alone may approve
    pass at once. Answers the instance's state."""
    while index < len(steps):
        step = steps[index]
        inst.step_index, inst.step_started_at, inst.reminded_at = index, at, None
        users, added_by = approvers_of(session, inst, step), "policy"
        if not users:
            users, added_by = fallback(session, inst, step), "escalation"
        waiting = add_tasks(session, inst, users, added_by, at)
        if _outcome(session, inst, step) != "approved":
            tell(session, at, inst, waiting, "{document} is waiting for your approval ({step})",
                 step.name)
            tell(session, at, inst, cc_of(session, inst, step),
                 "{document} is awaiting approval ({step})", step.name)
            return inst.state
        close_step(session, inst)
        index += 1
    finish(session, inst, "approved", at)
    return inst.state


def finish(session: Session, inst: ApprovalInstance, state: str, at: datetime) -> None:
    inst.state, inst.finished_at = state, at
    session.flush()
    titles = {"approved": "{document} was approved", "rejected": "{document} was rejected",
              "returned": "{document} was returned for changes"}
    if state in titles:
        tell(session, at, inst, [inst.submitter_id], titles[state])


def settle_document(uow: UnitOfWork, inst: ApprovalInstance) -> None:
    """The document follows a finished approval: approved (and, for counts and held postings,
    posted), or back to draft."""
    kind = DOCUMENTS[inst.document_type]
    doc = document_row(uow.session, inst.document_type, inst.document_number, lock=True)
    if doc is None or doc.state != kind.pending or inst.state == "pending":
        return
    action = "approve" if inst.state == "approved" else "reject"
    doc.state = kind.table.next(doc.number, doc.state, action)
    doc.version += 1
    if action == "approve":
        submitter = uow.session.get_one(AppUser, inst.submitter_id)
        on_approved(uow, inst.document_type, doc, actor_of(uow.session, submitter))


def start(uow: UnitOfWork, actor: Actor, document_type: str, number: str,
          document_version: int, *, submitter_id: int | None = None) -> Result:
    """Within the submitting transaction: choose the branch and open its first step. The caller
    moves the document: ``state`` approved (at once) or pending."""
    s, now = uow.session, uow.now()
    policy = policy_at(s, document_type)
    branch = rules.choose_branch(policy, fields_of(uow, document_type, number))
    if not branch.steps:
        return {"state": "approved", "branch": branch.name, "instance": None}
    inst = ApprovalInstance(
        document_type=document_type, document_number=number, document_version=document_version,
        policy_version=policy.version, branch=branch.name, step_index=0, state="pending",
        submitter_id=submitter_id or actor.user_id, started_at=now, step_started_at=now,
        finished_at=None, escalations=0, reminded_at=None)
    s.add(inst)
    s.flush()
    state = enter(s, inst, branch.steps, 0, now)
    return {"state": state, "branch": branch.name, "instance": inst.id}


def _running(session: Session, document_type: str, number: str) -> ApprovalInstance | None:
    return session.scalars(select(ApprovalInstance).where(
        ApprovalInstance.document_type == document_type,
        ApprovalInstance.document_number == number, ApprovalInstance.state == "pending")
        .with_for_update()).first()


def cancel_running(uow: UnitOfWork, document_type: str, number: str) -> None:
    """Within the document's transaction: stop its running approval (the document is cancelled)."""
    _stop(uow, document_type, number)


def _stop(uow: UnitOfWork, document_type: str, number: str) -> ApprovalInstance | None:
    inst = _running(uow.session, document_type, number)
    if inst is not None:
        close_step(uow.session, inst)
        finish(uow.session, inst, "cancelled", uow.now())
    return inst


def restart(uow: UnitOfWork, actor: Actor, document_type: str, number: str,
            document_version: int) -> Result:
    """Editing a document under approval restarts it: the running instance is cancelled and a
    new one starts for the new version, for the same submitter and under today's policy."""
    old = _stop(uow, document_type, number)
    return start(uow, actor, document_type, number, document_version,
                 submitter_id=old.submitter_id if old else None)


def locked_instance(session: Session, instance_id: int) -> ApprovalInstance:
    """The instance, its document locked first (the order every document action locks in)."""
    found = session.get(ApprovalInstance, instance_id)
    if found is None:
        raise NotFound("Approval {id} not found", id=instance_id)
    document_row(session, found.document_type, found.document_number, lock=True)
    inst = session.scalar(select(ApprovalInstance).where(ApprovalInstance.id == instance_id)
                          .with_for_update().execution_options(populate_existing=True))
    assert inst is not None
    return inst


def _my_task(session: Session, inst: ApprovalInstance, actor: Actor,
             steps: tuple[Step, ...]) -> ApprovalTask:
    """The actor's open task on the current step, or the reason they may not decide (404 to
    whom the approval is invisible)."""
    if not may_see(session, actor, inst):
        raise NotFound("Approval {id} not found", id=inst.id)
    if inst.state != "pending":
        raise ApprovalRefused("This approval is already {state}", state=inst.state)
    mine = list(session.scalars(select(ApprovalTask).where(
        ApprovalTask.instance_id == inst.id, ApprovalTask.approver_id == actor.user_id)))
    current = [t for t in mine if t.step_index == inst.step_index and t.state == "pending"]
    if current and not sees_document(session, actor, inst):
        raise ApprovalRefused("Your access does not show you this document, so you may not "
                              "decide on it")
    if current:
        return current[0]
    later = {u for step in steps[inst.step_index + 1:] for u in approvers_of(session, inst, step)}
    if actor.user_id in later:
        raise ApprovalRefused("It is not your turn: this approval is at the step {step}",
                              step=steps[inst.step_index].name)
    if any(t.state != "skipped" for t in mine):
        raise ApprovalRefused("You have already decided on this approval")
    raise ApprovalRefused("You are not an approver of this step")


def _user_id(session: Session, username: str | None) -> int:
    uid = session.scalar(select(AppUser.id).where(AppUser.username == (username or ""),
                                                 AppUser.active.is_(True)))
    if uid is None:
        raise ValidationFailed.single("to_user", "unknown user {code}", code=username or "")
    return uid


def _claim(session: Session, task: ApprovalTask, state: str, at: datetime, comment: str,
           delegated_to: int | None = None) -> None:
    """Record the decision only if the task is still open: of two simultaneous clicks, one wins."""
    done = session.execute(update(ApprovalTask).where(
        ApprovalTask.id == task.id, ApprovalTask.state == "pending").values(
        state=state, decided_at=at, comment=comment[:2000], delegated_to_id=delegated_to)
        .execution_options(synchronize_session=False))
    if not getattr(done, "rowcount", 0):
        raise ApprovalRefused("You have already decided on this approval")


@retrying
def decide(uow: UnitOfWork, actor: Actor, instance_id: int, decision: DecisionIn,
           comment: str = "", to_user: str | None = None) -> Result:
    """Approve, reject, return for changes, delegate (转办) or add an approver (加签)."""
    with uow:
        s, now = uow.session, uow.now()
        inst = locked_instance(s, instance_id)
        steps = steps_of(s, inst)
        task = _my_task(s, inst, actor, steps)
        step = steps[inst.step_index]
        if decision in ("delegate", "add"):
            other = _user_id(s, to_user)
            if not sees_document(s, actor_of(s, s.get_one(AppUser, other)), inst):
                raise ValidationFailed.single("to_user", "{code} may not see this document",
                                              code=to_user or "")
            if other in set(s.scalars(select(ApprovalTask.approver_id).where(
                    ApprovalTask.instance_id == inst.id,
                    ApprovalTask.step_index == inst.step_index))):
                raise ValidationFailed.single("to_user", "{code} is already an approver of this step",
                                              code=to_user or "")
            if decision == "delegate":
                _claim(s, task, "delegated", now, comment, delegated_to=other)
            s.add(ApprovalTask(instance_id=inst.id, step_index=inst.step_index, approver_id=other,
                               state="pending", comment="", added_by=actor.username))
            s.flush()
            tell(s, now, inst, [other], "{document} is waiting for your approval ({step})",
                 step.name)
        else:
            _claim(s, task, "approved" if decision == "approve" else "rejected", now, comment)
            _after_decision(uow, inst, steps, step, decision, now)
        uow.commit()
        return answer(s, inst)


def _after_decision(uow: UnitOfWork, inst: ApprovalInstance, steps: tuple[Step, ...], step: Step,
                    decision: str, at: datetime) -> None:
    session = uow.session
    if decision == "return":
        close_step(session, inst)
        finish(session, inst, "returned", at)
    else:
        outcome = _outcome(session, inst, step)
        if outcome == "pending":
            return
        close_step(session, inst)
        if outcome == "rejected":
            finish(session, inst, "rejected", at)
        else:
            enter(session, inst, steps, inst.step_index + 1, at)
    settle_document(uow, inst)
