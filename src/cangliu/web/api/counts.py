"""Stock counts: /api/v1/counts."""

from datetime import date
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Request
from fastapi.responses import JSONResponse
from pydantic import Field

from cangliu.core.permissions import Actor
from cangliu.db import queries
from cangliu.services import counts
from cangliu.services.counts import CountIn
from cangliu.services.postings import Meta
from cangliu.web.api.purchasing import ActionIn
from cangliu.web.api.schemas import Code, Quantity, Strict, jsonable
from cangliu.web.deps import DbDep, IdempotencyKey, in_scope, permit

router = APIRouter(prefix="/api/v1/counts", tags=["stock counts"])
CanActCount = Annotated[Actor, permit(
    "count.{action}", actions={"submit": "edit", "post": "post", "reopen": "edit", "cancel": "cancel"})]
CanCreateCount = Annotated[Actor, permit("count.create")]
CanEditCount = Annotated[Actor, permit("count.edit")]
CanViewCount = Annotated[Actor, permit("count.view")]


class StartIn(Strict):
    site: Code
    zone: Code | None = None
    blind: bool = True


class EntryIn(Strict):
    sku: Annotated[str, Field(min_length=1, max_length=64, description="SKU code or barcode")]
    qty: Quantity
    location: Code | None = None
    lot: Annotated[str, Field(max_length=64)] = ""


class EntriesIn(Strict):
    entries: Annotated[list[EntryIn], Field(min_length=1, max_length=5000)]


@router.post("", status_code=201)
def start(body: StartIn, request: Request, db: DbDep, actor: CanCreateCount,
          key: IdempotencyKey = None) -> Any:
    in_scope(db, request, actor, "count.create", body.site)
    result = counts.start_count(db.uow(), Meta(actor, idempotency_key=key), site=body.site,
                                zone=body.zone, blind=body.blind)
    return JSONResponse(jsonable(result), status_code=201)


State = Literal["counting", "review", "posted", "cancelled"]


@router.get("")
def list_counts(db: DbDep, actor: CanViewCount, state: State | None = None, site: str | None = None,
                q: str | None = None, limit: Annotated[int, Query(ge=1, le=500)] = 50,
                cursor: str | None = None, created_from: date | None = None,
                created_to: date | None = None) -> Any:
    """Newest first; a count's creation day is the day its snapshot was taken."""
    with db.read() as session:
        items, nxt = queries.stock_counts(session, state=state, site=site, q=q, limit=limit,
                                          after=cursor, created_from=created_from,
                                          created_to=created_to,
                                       scope=actor.sites("count.view"))
    return jsonable({"items": items, "next_cursor": nxt})


@router.get("/{number}")
def get(number: str, db: DbDep, actor: CanViewCount) -> Any:
    return counts.get_count(db.uow(), number)


@router.post("/{number}/entries")
def record(number: str, body: EntriesIn, db: DbDep, actor: CanEditCount,
           key: IdempotencyKey = None) -> Any:
    entries = [CountIn(e.sku, e.qty, e.location, e.lot) for e in body.entries]
    return counts.record_counts(db.uow(), Meta(actor, idempotency_key=key), number=number,
                                entries=entries)


ACTIONS = {"submit": counts.submit_count, "post": counts.post_count,
           "reopen": counts.reopen_count, "cancel": counts.cancel_count}


@router.post("/{number}/{action}")
def act(number: str, action: Literal["submit", "post", "reopen", "cancel"], body: ActionIn,
        db: DbDep, actor: CanActCount, key: IdempotencyKey = None) -> Any:
    return ACTIONS[action](db.uow(), Meta(actor, reason=body.reason, idempotency_key=key),
                           number=number)
