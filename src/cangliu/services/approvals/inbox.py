"""My approvals page by page, the count of those waiting for me, and every approval of one
document, each marked with whether it is my turn to decide."""

from typing import Literal

from sqlalchemy import func, select
from sqlalchemy.orm import Session
from sqlalchemy.sql import Select

from cangliu.core.permissions import Actor
from cangliu.db.models import ApprovalInstance, ApprovalTask, Role
from cangliu.db.uow import UnitOfWork
from cangliu.services.approvals.documents import Result
from cangliu.services.approvals.reading import answer, copied, get_approval, may_see

Box = Literal["pending", "done", "cc"]
DECIDED = ("approved", "rejected", "delegated")


def _mine(actor: Actor, box: Box) -> Select[tuple[int]]:
    """Ids of the instances waiting for me (``pending``) or decided by me (``done``)."""
    query = select(ApprovalInstance.id).join(
        ApprovalTask, ApprovalTask.instance_id == ApprovalInstance.id).where(
        ApprovalTask.approver_id == actor.user_id)
    if box == "pending":
        return query.where(ApprovalTask.state == "pending", ApprovalInstance.state == "pending",
                           ApprovalTask.step_index == ApprovalInstance.step_index).distinct()
    return query.where(ApprovalTask.state.in_(DECIDED),
                       ApprovalTask.added_by != "submitter").distinct()


def my_turn(session: Session, actor: Actor, instance_id: int) -> bool:
    """Whether the actor has an open task on the instance's current step."""
    return session.scalar(select(ApprovalTask.id).join(
        ApprovalInstance, ApprovalInstance.id == ApprovalTask.instance_id).where(
        ApprovalTask.instance_id == instance_id, ApprovalTask.approver_id == actor.user_id,
        ApprovalTask.state == "pending", ApprovalInstance.state == "pending",
        ApprovalTask.step_index == ApprovalInstance.step_index).limit(1)) is not None


def my_approvals(uow: UnitOfWork, actor: Actor, box: Box, *, offset: int = 0,
                 limit: int = 20) -> tuple[list[Result], bool]:
    """One page of my approvals, newest first, and whether another page follows."""
    with uow:
        s = uow.session
        if box == "cc":
            found = copied(s, actor, offset + limit + 1)[offset:]
        else:
            ids = list(s.scalars(_mine(actor, box).order_by(ApprovalInstance.id.desc())
                                 .offset(offset).limit(limit + 1)))
            rows = {i.id: i for i in s.scalars(select(ApprovalInstance).where(
                ApprovalInstance.id.in_(ids)))}
            found = [rows[i] for i in ids]
        return [{**answer(s, i), "my_turn": box == "pending"} for i in found[:limit]], \
            len(found) > limit


def pending_count(uow: UnitOfWork, actor: Actor) -> int:
    """The number on the 我的审批 badge."""
    with uow:
        return uow.session.scalar(select(func.count()).select_from(
            _mine(actor, "pending").subquery())) or 0


def document_approvals(uow: UnitOfWork, actor: Actor, document_type: str, number: str
                       ) -> list[Result]:
    """Every approval of the document the actor may see, newest first (a document edited under
    approval has one cancelled instance per earlier version)."""
    with uow:
        s = uow.session
        found = s.scalars(select(ApprovalInstance).where(
            ApprovalInstance.document_type == document_type,
            ApprovalInstance.document_number == number).order_by(ApprovalInstance.id.desc()))
        return [{**answer(s, i), "my_turn": my_turn(s, actor, i.id)}
                for i in list(found) if may_see(s, actor, i)]


def approval_for(uow: UnitOfWork, actor: Actor, instance_id: int) -> Result:
    """One approval (404 unless the actor may see it) and whether it is the actor's turn."""
    found = get_approval(uow, actor, instance_id)
    with uow:
        return {**found, "my_turn": my_turn(uow.session, actor, instance_id)}


def role_names(uow: UnitOfWork) -> dict[str, tuple[str, str]]:
    """Role code → (Chinese name, English name): steps are named after their approvers' role."""
    with uow:
        return {code: (name, name_en) for code, name, name_en in uow.session.execute(
            select(Role.code, Role.name, Role.name_en))}
