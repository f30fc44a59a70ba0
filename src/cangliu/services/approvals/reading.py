"""Reading approvals: one instance with its timeline, and my approvals (pending, done, CC)."""

from typing import Literal

from sqlalchemy import select
from sqlalchemy.orm import Session

from cangliu.core.errors import NotFound
from cangliu.core.permissions import Actor
from cangliu.db.models import ApprovalInstance, ApprovalTask, AppUser, Role, RoleAssignment
from cangliu.db.uow import UnitOfWork
from cangliu.services.approvals.documents import Result
from cangliu.services.approvals.people import cc_of
from cangliu.services.approvals.policies import steps_of
from cangliu.services.timeline import KINDS, document_sites, link


def answer(session: Session, inst: ApprovalInstance) -> Result:
    session.refresh(inst)
    tasks = list(session.scalars(select(ApprovalTask).where(ApprovalTask.instance_id == inst.id)
                                 .order_by(ApprovalTask.step_index, ApprovalTask.id)
                                 .execution_options(populate_existing=True)))
    ids = {inst.submitter_id} | {t.approver_id for t in tasks} | {
        t.delegated_to_id for t in tasks if t.delegated_to_id}
    names = dict(session.execute(select(AppUser.id, AppUser.username).where(AppUser.id.in_(ids)))
                 .tuples().all())
    steps = steps_of(session, inst)
    return {
        "id": inst.id, "document_type": inst.document_type,
        "document_number": inst.document_number, "document_version": inst.document_version,
        "link": link(inst.document_type, inst.document_number),
        "policy_version": inst.policy_version, "branch": inst.branch, "state": inst.state,
        "step_index": inst.step_index, "submitter": names[inst.submitter_id],
        "started_at": inst.started_at, "step_started_at": inst.step_started_at,
        "finished_at": inst.finished_at, "escalations": inst.escalations,
        "steps": [{"name": step.name, "mode": step.mode, "n": step.n, "tasks": [
            {"approver": names[t.approver_id], "state": t.state, "decided_at": t.decided_at,
             "comment": t.comment, "added_by": t.added_by,
             "delegated_to": names.get(t.delegated_to_id) if t.delegated_to_id else None}
            for t in tasks if t.step_index == i]} for i, step in enumerate(steps)],
    }


def get_approval(uow: UnitOfWork, actor: Actor, instance_id: int) -> Result:
    """An approval with its timeline, for its participants and whoever may see the document."""
    with uow:
        s = uow.session
        inst = s.get(ApprovalInstance, instance_id)
        if inst is None or not may_see(s, actor, inst):
            raise NotFound("Approval {id} not found", id=instance_id)
        return answer(s, inst)


def may_see(session: Session, actor: Actor, inst: ApprovalInstance) -> bool:
    """Its submitter and approvers, and whoever may see the document."""
    if actor.user_id == inst.submitter_id or session.scalar(select(ApprovalTask.id).where(
            ApprovalTask.instance_id == inst.id, ApprovalTask.approver_id == actor.user_id)):
        return True
    return sees_document(session, actor, inst)


def sees_document(session: Session, actor: Actor, inst: ApprovalInstance) -> bool:
    """``actor``'s permissions (a token's, if limited) show them the approval's document."""
    sites = document_sites(session, inst.document_type, inst.document_number)
    resource = KINDS[inst.document_type].resource
    return sites is not None and actor.sees(f"{resource}.view", sites)


def list_approvals(uow: UnitOfWork, actor: Actor, box: Literal["pending", "done", "cc"],
                   limit: int = 100) -> list[Result]:
    """My approvals: waiting for me, decided by me, or copied to one of my roles."""
    with uow:
        s = uow.session
        if box == "cc":
            return [answer(s, i) for i in copied(s, actor, limit)]
        query = select(ApprovalInstance).join(ApprovalTask, ApprovalTask.instance_id == ApprovalInstance.id
                                              ).where(ApprovalTask.approver_id == actor.user_id)
        if box == "pending":
            query = query.where(ApprovalTask.state == "pending", ApprovalInstance.state == "pending",
                                ApprovalTask.step_index == ApprovalInstance.step_index)
        else:
            query = query.where(ApprovalTask.state.in_(("approved", "rejected", "delegated")),
                                ApprovalTask.added_by != "submitter")
        rows = s.scalars(query.distinct().order_by(ApprovalInstance.id.desc()).limit(limit))
        return [answer(s, i) for i in rows]


def copied(session: Session, actor: Actor, limit: int) -> list[ApprovalInstance]:
    """The newest approvals copied to ``actor`` (a CC role of a step reached so far, held with a
    scope covering the document), among the latest ``limit × 5``."""
    mine = set(session.scalars(select(Role.code).join(RoleAssignment, RoleAssignment.role_id == Role.id)
                               .where(RoleAssignment.user_id == actor.user_id)))
    out = []
    for inst in session.scalars(select(ApprovalInstance).order_by(ApprovalInstance.id.desc())
                                .limit(limit * 5)):
        reached = steps_of(session, inst)[:inst.step_index + 1]
        if any(mine.intersection(step.cc) and actor.user_id in cc_of(session, inst, step)
               for step in reached):
            out.append(inst)
    return out[:limit]
