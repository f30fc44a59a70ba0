"""Approvals: /api/v1/approvals (my approvals and decisions) and /api/v1/approval-policies
(each document type's policy as YAML)."""

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Request
from fastapi.responses import PlainTextResponse
from pydantic import AwareDatetime, Field

from cangliu.core.permissions import Actor
from cangliu.services import approvals
from cangliu.web.api.schemas import PathId, Strict, jsonable
from cangliu.web.deps import AnyUser, DbDep, permit

router = APIRouter(prefix="/api/v1", tags=["approvals"])
PolicyViewer = Annotated[Actor, permit("settings.view")]
PolicyEditor = Annotated[Actor, permit("settings.edit")]
ReportViewer = Annotated[Actor, permit("report.view")]
YAML = "application/yaml"


class DecisionIn(Strict):
    decision: approvals.DecisionIn
    comment: Annotated[str, Field(max_length=2000)] = ""
    to_user: Annotated[str | None, Field(min_length=1, max_length=64)] = None


@router.get("/approvals")
def list_approvals(db: DbDep, actor: AnyUser,
                   box: Literal["pending", "done", "cc"] = "pending",
                   limit: Annotated[int, Query(ge=1, le=200)] = 100) -> Any:
    """我的审批: waiting for me, decided by me, or copied to my roles."""
    return jsonable({"items": approvals.list_approvals(db.uow(), actor, box, limit)})


# Declared before /approvals/{instance_id}, which would otherwise take "metrics" for an id.
@router.get("/approvals/metrics")
def approval_metrics(db: DbDep, actor: ReportViewer, since: AwareDatetime | None = None,
                     until: AwareDatetime | None = None) -> Any:
    """审批时效: mean, median and p90 hours per document type and step, and the overdue count."""
    uow = db.uow()
    return jsonable(approvals.approval_metrics(uow, since=since, until=until, now=uow.now()))


@router.get("/approvals/{instance_id}")
def get_approval(instance_id: PathId, db: DbDep, actor: AnyUser) -> Any:
    """One approval with every step and decision; for its participants and the document's viewers."""
    return jsonable(approvals.get_approval(db.uow(), actor, instance_id))


@router.post("/approvals/{instance_id}/decision")
def decide(instance_id: PathId, body: DecisionIn, db: DbDep, actor: AnyUser) -> Any:
    """Approve, reject, return, delegate (to_user) or add an approver (to_user); the engine
    answers 403 with the reason to anyone whose decision it is not."""
    return jsonable(approvals.decide(db.uow(), actor, instance_id, body.decision, body.comment,
                                     body.to_user))


@router.get("/approval-policies/{document_type}", response_class=PlainTextResponse)
def get_policy(document_type: str, db: DbDep, actor: PolicyViewer) -> PlainTextResponse:
    """The policy in force, as YAML (the built-in default until one is saved)."""
    return PlainTextResponse(approvals.policy_yaml(db.uow(), document_type), media_type=YAML)


@router.put("/approval-policies/{document_type}", response_class=PlainTextResponse,
            openapi_extra={"requestBody": {"content": {YAML: {"schema": {"type": "string"}}},
                                           "required": True}})
async def put_policy(document_type: str, request: Request, db: DbDep,
                     actor: PolicyEditor) -> PlainTextResponse:
    """Save a new version from YAML; it is refused, with every reason, if it names an unknown
    field, role or user, has an invalid expression or no default branch."""
    text = (await request.body()).decode("utf-8", errors="replace")
    saved = approvals.save_policy(db.uow(), actor, document_type, text)
    return PlainTextResponse(saved["yaml"], media_type=YAML,
                             headers={"X-Policy-Version": str(saved["version"])})
