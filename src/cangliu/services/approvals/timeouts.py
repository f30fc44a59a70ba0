"""Timeouts: remind, escalate, auto-approve or auto-reject a step left waiting too long."""

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import or_, select, update
from sqlalchemy.orm import Session

from cangliu.db.models import ApprovalInstance, ApprovalTask
from cangliu.db.uow import UnitOfWork, retrying
from cangliu.services.approvals.engine import (
    add_tasks,
    close_step,
    enter,
    finish,
    locked_instance,
    settle_document,
    tell,
)
from cangliu.services.approvals.people import fallback
from cangliu.services.approvals.policies import steps_of


def sweep_timeouts(uow: UnitOfWork, now: datetime) -> dict[str, int]:
    """Act on every step past its timeout, one instance per transaction. Idempotent: each action
    is claimed by an UPDATE that only matches the step's clock as it was read, so a second sweep
    (or a second worker) finds nothing left to do."""
    with uow:
        due = [i.id for i in uow.session.scalars(select(ApprovalInstance).where(
            ApprovalInstance.state == "pending", ApprovalInstance.step_started_at <= now))]
    done = {"remind": 0, "escalate": 0, "auto_approve": 0, "auto_reject": 0}
    for instance_id in due:
        action = _time_out(uow, instance_id, now)
        if action:
            done[action] += 1
    return done


@retrying
def _time_out(uow: UnitOfWork, instance_id: int, now: datetime) -> str | None:
    with uow:
        s = uow.session
        inst = locked_instance(s, instance_id)
        step = steps_of(s, inst)[inst.step_index] if inst.state == "pending" else None
        if step is None or step.timeout_hours is None or step.timeout_action is None:
            return None
        if inst.step_started_at + timedelta(hours=step.timeout_hours) > now:
            return None
        action = step.timeout_action
        if not _claim_timeout(s, inst, action, now):
            return None
        if action == "remind":
            tell(s, now, inst, _pending_approvers(s, inst),
                 "Reminder: {document} is waiting for your approval ({step})", step.name)
        elif action == "escalate":
            # The escalation role within the step's scope (the administrators if nobody holds it).
            tell(s, now, inst, add_tasks(s, inst, fallback(s, inst, step), "escalation", now),
                 "Escalated: {document} is waiting for your approval ({step})", step.name)
        else:
            close_step(s, inst)
            if action == "auto_approve":
                enter(s, inst, steps_of(s, inst), inst.step_index + 1, now)
            else:
                finish(s, inst, "rejected", now)
            settle_document(uow, inst)
        uow.commit()
        return action


def _claim_timeout(session: Session, inst: ApprovalInstance, action: str, now: datetime) -> bool:
    """The conditional UPDATE that makes a timeout act once: it matches only the step and clock
    read above. Escalation restarts the step's clock; a reminder is sent once per step."""
    where = [ApprovalInstance.id == inst.id, ApprovalInstance.state == "pending",
             ApprovalInstance.step_index == inst.step_index,
             ApprovalInstance.step_started_at == inst.step_started_at,
             ApprovalInstance.escalations == inst.escalations]
    values: dict[str, Any] = {"escalations": inst.escalations + 1, "step_started_at": now}
    if action == "remind":
        where.append(or_(ApprovalInstance.reminded_at.is_(None),
                         ApprovalInstance.reminded_at < ApprovalInstance.step_started_at))
        values = {"reminded_at": now}
    elif action != "escalate":
        values = {"step_started_at": now}
    done = session.execute(update(ApprovalInstance).where(*where).values(**values)
                           .execution_options(synchronize_session=False))
    if not getattr(done, "rowcount", 0):
        return False
    session.refresh(inst)
    return True


def _pending_approvers(session: Session, inst: ApprovalInstance) -> list[int]:
    return list(session.scalars(select(ApprovalTask.approver_id).where(
        ApprovalTask.instance_id == inst.id, ApprovalTask.step_index == inst.step_index,
        ApprovalTask.state == "pending")))
