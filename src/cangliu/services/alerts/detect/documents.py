"""Document detectors: transfers on the road past their expected arrival (the end of that day,
UTC, plus the rule's grace hours) and approvals waiting at their current step longer than the
rule's hours (an escalation restarts the step's clock, as for the timeout sweep)."""

from datetime import UTC, datetime, time, timedelta
from typing import Any

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from cangliu.core.alerts import Check, Finding, Rule
from cangliu.db.models import ApprovalInstance, TransferLine, TransferOrder
from cangliu.services.alerts.detect.findings import Site, checked, settings, shown, sites
from cangliu.services.approvals.documents import DOCUMENTS
from cangliu.services.approvals.policies import steps_of
from cangliu.services.events import Event

ON_THE_ROAD = ("shipped", "partially_received")


def _hours(delta: timedelta) -> float:
    return round(delta.total_seconds() / 3600, 1)


def _transfers(session: Session, rule: Rule, until: datetime) -> list[Any]:
    lines = (select(TransferLine.transfer_id, func.count().label("lines"))
             .group_by(TransferLine.transfer_id).subquery())
    query = (select(TransferOrder.number, TransferOrder.source_site_id, TransferOrder.dest_site_id,
                    TransferOrder.expected_arrival, lines.c.lines)
             .outerjoin(lines, lines.c.transfer_id == TransferOrder.id)
             .where(TransferOrder.state.in_(ON_THE_ROAD),
                    TransferOrder.expected_arrival.is_not(None),
                    TransferOrder.expected_arrival < until.date()))
    if rule.site_ids is not None:  # a transfer concerns both its ends
        query = query.where(or_(TransferOrder.source_site_id.in_(rule.site_ids),
                                TransferOrder.dest_site_id.in_(rule.site_ids)))
    return list(session.execute(query))


def transfer_overdue(session: Session, rule: Rule, now: datetime, event: Event | None
                     ) -> Check | None:
    if event is not None:
        return None
    grace = timedelta(hours=float(settings(rule)["grace_hours"]))
    rows = _transfers(session, rule, now + timedelta(days=1))
    where = sites(session, {r.source_site_id for r in rows} | {r.dest_site_id for r in rows})
    findings = []
    for r in rows:
        due = datetime.combine(r.expected_arrival + timedelta(days=1), time(), UTC) + grace
        if now <= due:
            continue
        src, dst = where[r.source_site_id], where[r.dest_site_id]
        late = _hours(now - due)
        findings.append(Finding(
            f"transfer:{r.number}", "Transfer {number} from {from_site} to {to_site} is {hours} "
            "hours late", {"number": r.number, "from_site": src.code, "to_site": dst.code,
                           "hours": shown(late)},
            site_id=r.dest_site_id, link=f"/transfers/{r.number}",
            values={"number": r.number, "from_site": src.code, "to_site": dst.code,
                    "region": dst.region, "hours_late": late, "lines": float(r.lines or 0)}))
    # Either end in the rule's sites counts (the query judged it); the finding's is the destination.
    return checked(rule, findings, None, by_site=False)


def _document_sites(session: Session, instances: list[ApprovalInstance]) -> dict[tuple[str, str], int]:
    """The site of each instance's document: a transfer's destination, any other's site."""
    out: dict[tuple[str, str], int] = {}
    for doc_type in {i.document_type for i in instances}:
        model = DOCUMENTS[doc_type].model
        site = model.dest_site_id if model is TransferOrder else model.site_id
        numbers = {i.document_number for i in instances if i.document_type == doc_type}
        for number, site_id in session.execute(select(model.number, site).where(
                model.number.in_(numbers))):
            out[(doc_type, number)] = site_id
    return out


def _step_name(session: Session, inst: ApprovalInstance, seen: dict[Any, str]) -> str:
    key = (inst.document_type, inst.policy_version, inst.branch, inst.step_index)
    if key not in seen:
        try:
            seen[key] = steps_of(session, inst)[inst.step_index].name
        except (StopIteration, IndexError, KeyError):  # a policy changed beyond recognition
            seen[key] = str(inst.step_index + 1)
    return seen[key]


def approval_overdue(session: Session, rule: Rule, now: datetime, event: Event | None
                     ) -> Check | None:
    if event is not None:
        return None
    since = now - timedelta(hours=float(settings(rule)["hours"]))
    instances = list(session.scalars(select(ApprovalInstance).where(
        ApprovalInstance.state == "pending", ApprovalInstance.step_started_at < since)
        .order_by(ApprovalInstance.id)))
    site_of = _document_sites(session, instances)
    where = sites(session, set(site_of.values()))
    steps: dict[Any, str] = {}
    findings = []
    for inst in instances:
        site_id = site_of.get((inst.document_type, inst.document_number))
        site = where.get(site_id) if site_id is not None else None
        site = site or Site("", "")
        waited, step = _hours(now - inst.step_started_at), _step_name(session, inst, steps)
        findings.append(Finding(
            f"approval:{inst.id}", "Approval of {document_type} {number} has waited {hours} hours "
            "at step {step}", {"document_type": inst.document_type,
                               "number": inst.document_number, "hours": shown(waited),
                               "step": step},
            site_id=site_id, link=f"/approvals/{inst.id}",
            values={"document_type": inst.document_type, "number": inst.document_number,
                    "site": site.code, "region": site.region, "hours_waiting": waited,
                    "step": step}))
    return checked(rule, findings, None)
