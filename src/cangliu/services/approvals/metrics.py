"""Approval times (审批时效): how long each step and each whole approval took per document type,
and how many approvals wait past their step's timeout now.

A step runs from the end of the step before it (the approval's start for the first) to its own
end. Its end is the last approve or reject decision on it when decisions ended it, and the
approval's finish when it was the last step (whatever ended it: a decision, a return, a timeout).
``step_started_at`` is not used: an escalation restarts that clock. A step passed by a timeout's
auto-approval leaves no time of its own, so it and the step after it are left out of the step
figures; the whole approval still counts. Cancelled approvals were never decided and count only
for the steps they finished. Durations are hours; p90 is the 9th decile of
``statistics.quantiles(method="inclusive")``: linear interpolation between the closest ranks,
as Excel's PERCENTILE.INC and NumPy's default."""

import statistics
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from cangliu.core import approvals as rules
from cangliu.core.approvals import Step
from cangliu.db.models import ApprovalInstance, ApprovalTask
from cangliu.db.uow import UnitOfWork
from cangliu.services.approvals.policies import policy_at, steps_of

DECIDED: tuple[str, ...] = ("approved", "rejected", "returned")


@dataclass(frozen=True)
class _Task:
    approver: int
    state: str
    decided_at: datetime | None


def approval_metrics(uow: UnitOfWork, *, since: datetime | None = None,
                     until: datetime | None = None, now: datetime) -> dict[str, Any]:
    """Per document type: whole approvals finished in [since, until), steps that ended in it (by
    step name, across branches and policy versions), and approvals overdue at ``now`` (whatever
    the window)."""
    with uow:
        s = uow.session
        instances, tasks = _load(s, since, until)
        steps = _Steps(s)
        step_hours: dict[tuple[str, str], list[float]] = defaultdict(list)
        whole: dict[str, list[float]] = defaultdict(list)
        overdue: dict[tuple[str, str], int] = defaultdict(int)
        for inst in instances:
            chain = steps.of(inst)
            for name, hours in _step_times(inst, chain, tasks.get(inst.id, {}), since, until):
                step_hours[inst.document_type, name].append(hours)
            if inst.state in DECIDED and inst.finished_at and _within(inst.finished_at, since, until):
                whole[inst.document_type].append(_hours(inst.started_at, inst.finished_at))
            if inst.state == "pending" and _overdue(inst, chain[inst.step_index], now):
                overdue[inst.document_type, chain[inst.step_index].name] += 1
        # The steps of the policy in force come first, measured or not, in their order.
        current = {kind: [step.name for b in policy_at(s, kind).branches for step in b.steps]
                   for kind in rules.DEFAULT_POLICIES}
    return {"since": since, "until": until, "now": now,
            "document_types": {kind: _type_figures(kind, current[kind], whole[kind], step_hours,
                                                   overdue) for kind in rules.DEFAULT_POLICIES}}


def _load(session: Session, since: datetime | None, until: datetime | None
          ) -> tuple[list[ApprovalInstance], dict[int, dict[int, list[_Task]]]]:
    """Instances that may have a step ending in the window or be overdue, and their tasks by
    instance and step."""
    where = []
    if since is not None:
        where.append(or_(ApprovalInstance.state == "pending", ApprovalInstance.finished_at >= since))
    if until is not None:
        where.append(or_(ApprovalInstance.state == "pending", ApprovalInstance.started_at < until))
    instances = list(session.scalars(select(ApprovalInstance).where(*where)
                                     .order_by(ApprovalInstance.id)))
    rows = session.execute(
        select(ApprovalTask.instance_id, ApprovalTask.step_index, ApprovalTask.approver_id,
               ApprovalTask.state, ApprovalTask.decided_at)
        .join(ApprovalInstance, ApprovalInstance.id == ApprovalTask.instance_id).where(*where))
    tasks: dict[int, dict[int, list[_Task]]] = defaultdict(lambda: defaultdict(list))
    for instance_id, step_index, approver, state, decided_at in rows:
        tasks[instance_id][step_index].append(_Task(approver, state, decided_at))
    return instances, tasks


class _Steps:
    """Each instance's chain of steps, read once per policy version and branch."""

    def __init__(self, session: Session) -> None:
        self.session = session
        self.seen: dict[tuple[str, int, str], tuple[Step, ...]] = {}

    def of(self, inst: ApprovalInstance) -> tuple[Step, ...]:
        key = (inst.document_type, inst.policy_version, inst.branch)
        if key not in self.seen:
            self.seen[key] = steps_of(self.session, inst)
        return self.seen[key]


def _step_times(inst: ApprovalInstance, chain: Sequence[Step], tasks: dict[int, list[_Task]],
                since: datetime | None, until: datetime | None) -> Iterable[tuple[str, float]]:
    """(step name, hours) for each step of the instance that ended within the window."""
    start: datetime | None = inst.started_at
    for index in range(min(inst.step_index + 1, len(chain))):
        if index < inst.step_index:
            end = _decided_end(chain[index], tasks.get(index, []))
        elif inst.state in DECIDED:
            end = inst.finished_at
        else:  # still running, or cancelled before its step was decided
            return
        if start is not None and end is not None and _within(end, since, until):
            yield chain[index].name, _hours(start, end)
        start = end


def _decided_end(step: Step, tasks: list[_Task]) -> datetime | None:
    """When decisions passed the step: its last decision, unless the decisions alone did not
    pass it (a timeout did; tasks skipped at its end still count as its approvers here)."""
    people = [str(t.approver) for t in tasks if t.state != "delegated"]
    decisions: dict[str, rules.Decision] = {
        str(t.approver): "approve" if t.state == "approved" else "reject"
        for t in tasks if t.state in ("approved", "rejected")}
    if rules.step_outcome(step, people, decisions) != "approved":
        return None
    return max((t.decided_at for t in tasks if t.state == "approved" and t.decided_at), default=None)


def _overdue(inst: ApprovalInstance, step: Step, now: datetime) -> bool:
    """Past the step's timeout as the timeout sweep judges it (an escalation restarts the clock)."""
    return (step.timeout_hours is not None
            and inst.step_started_at + timedelta(hours=step.timeout_hours) <= now)


def _within(at: datetime, since: datetime | None, until: datetime | None) -> bool:
    return (since is None or at >= since) and (until is None or at < until)


def _hours(start: datetime, end: datetime) -> float:
    return (end - start).total_seconds() / 3600


def _type_figures(kind: str, current: list[str], whole: list[float],
                  step_hours: dict[tuple[str, str], list[float]],
                  overdue: dict[tuple[str, str], int]) -> dict[str, Any]:
    seen = [name for k, name in [*step_hours, *overdue] if k == kind]
    names = list(dict.fromkeys([*current, *seen]))
    return {"approvals": _summary(whole),
            "overdue": sum(n for (k, _name), n in overdue.items() if k == kind),
            "steps": {name: {**_summary(step_hours.get((kind, name), [])),
                             "overdue": overdue.get((kind, name), 0)} for name in names}}


def _summary(hours: list[float]) -> dict[str, Any]:
    """Count, mean, median and p90 of durations in hours (None when there are none)."""
    if not hours:
        return {"count": 0, "mean_hours": None, "median_hours": None, "p90_hours": None}
    p90 = statistics.quantiles(hours, n=10, method="inclusive")[-1] if len(hours) > 1 else hours[0]
    return {"count": len(hours), "mean_hours": round(statistics.fmean(hours), 2),
            "median_hours": round(statistics.median(hours), 2), "p90_hours": round(p90, 2)}
