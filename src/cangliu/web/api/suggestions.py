"""Planning suggestions (调拨建议): /api/v1/suggestions — list, read, accept, dismiss, and the
planning run that proposes them (dry or for real)."""

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Request
from pydantic import Field

from cangliu.core.errors import NotFound
from cangliu.core.permissions import Actor
from cangliu.services import planning, suggestions
from cangliu.services.postings import Meta
from cangliu.web.api.schemas import MAX_ID, Code, PathId, Reason, Strict, jsonable
from cangliu.web.deps import DbDep, IdempotencyKey, deny, permit

router = APIRouter(prefix="/api/v1/suggestions", tags=["planning"])
Viewer = Annotated[Actor, permit("planning.view")]
Editor = Annotated[Actor, permit("planning.edit")]
Ids = Annotated[list[Annotated[int, Field(ge=1, le=MAX_ID)]],
                Field(min_length=1, max_length=suggestions.MAX_BATCH)]


class AcceptIn(Strict):
    ids: Ids
    reason: Reason = ""


class DismissIn(Strict):
    ids: Ids
    reason: Annotated[str, Field(min_length=1, max_length=200)]


class RunIn(Strict):
    dry_run: bool = False


@router.get("")
def list_suggestions(db: DbDep, actor: Viewer,
                     state: Literal["open", "accepted", "dismissed", "superseded"] | None = "open",
                     rule: Code | None = None, kind: Literal["transfer", "purchase"] | None = None,
                     site: Code | None = None, sku: Code | None = None,
                     exception: bool | None = None,
                     limit: Annotated[int, Query(ge=1, le=500)] = 50,
                     offset: Annotated[int, Query(ge=0)] = 0) -> Any:
    """Suggestions with the rule and the values that triggered them and the destination's days
    of cover before and after; ``total`` counts every match, for paging."""
    with db.read() as session:
        return jsonable(suggestions.list_suggestions(
            session, state=state, rule=rule, kind=kind, site=site, sku=sku, exception=exception,
            scope=actor.sites("planning.view"), limit=limit, offset=offset))


@router.get("/{suggestion_id}")
def get_suggestion(suggestion_id: PathId, request: Request, db: DbDep, actor: Viewer) -> Any:
    with db.read() as session:
        found = suggestions.get(session, suggestion_id, actor.sites("planning.view"))
    if found is None:
        raise deny(request, NotFound("Suggestion {id} not found", id=suggestion_id), actor)
    return jsonable(found)


@router.post("/accept")
def accept(body: AcceptIn, db: DbDep, actor: Editor, key: IdempotencyKey = None) -> Any:
    """Accept open suggestions, all or none: transfers become transfer orders submitted for
    approval (one per rule, source and destination), purchases draft purchase orders."""
    meta = Meta(actor=actor, reason=body.reason, idempotency_key=key)
    return jsonable(suggestions.accept(db.uow(), meta, body.ids))


@router.post("/dismiss")
def dismiss(body: DismissIn, db: DbDep, actor: Editor) -> Any:
    """Dismiss open suggestions with a reason; the rule's cooldown starts."""
    return jsonable(suggestions.dismiss(db.uow(), actor, body.ids, body.reason))


@router.post("/run")
def run(body: RunIn, db: DbDep, actor: Editor) -> Any:
    """Run the rules now on the thresholds in force. ``dry_run`` only reports what would be
    added, changed and superseded; a run repeated on the same day changes nothing (it plans the
    whole network the same way whoever starts it)."""
    return jsonable(planning.run(db.uow(), dry_run=body.dry_run))
