"""Transfer orders: /api/v1/transfers."""

from datetime import date
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Request
from fastapi.responses import JSONResponse
from pydantic import Field

from cangliu.core.permissions import Actor
from cangliu.db import queries
from cangliu.services import transfers
from cangliu.services.postings import Meta
from cangliu.services.transfers import (
    DestinationIn,
    ReceiptLineIn,
    ShipSerialsIn,
    TransferLineIn,
)
from cangliu.web.api.custom_fields import Custom
from cangliu.web.api.purchasing import Serials
from cangliu.web.api.schemas import MAX_ID, Code, Quantity, Reason, Strict, jsonable
from cangliu.web.deps import DbDep, IdempotencyKey, in_scope, permit

router = APIRouter(prefix="/api/v1/transfers", tags=["transfers"])
Viewer = Annotated[Actor, permit("transfer.view")]
Creator = Annotated[Actor, permit("transfer.create")]
Editor = Annotated[Actor, permit("transfer.edit")]
Poster = Annotated[Actor, permit("transfer.post")]
Canceller = Annotated[Actor, permit("transfer.cancel")]
State = Literal["draft", "pending_approval", "approved", "shipped", "partially_received",
                "received", "closed", "cancelled"]


class LineIn(Strict):
    sku: Code
    qty: Quantity
    lot: str | None = None


class TransferIn(Strict):
    source: Code
    dest: Code
    lines: Annotated[list[LineIn], Field(min_length=1, max_length=5000)]
    expected_arrival: date | None = None
    reason: Reason = ""
    custom: Custom = None


class DestinationLines(Strict):
    dest: Code
    lines: Annotated[list[LineIn], Field(min_length=1, max_length=5000)]
    expected_arrival: date | None = None


class TransferBatchIn(Strict):
    """One source replenishing several destinations: one transfer order per destination."""

    source: Code
    destinations: Annotated[list[DestinationLines], Field(min_length=1, max_length=200)]
    reason: Reason = ""
    custom: Custom = None  # the same values on every transfer created


class TransferEdit(Strict):
    version: Annotated[int, Field(ge=1, le=MAX_ID)]
    lines: Annotated[list[LineIn], Field(min_length=1, max_length=5000)] | None = None
    expected_arrival: date | None = None
    custom: Custom = None


class ActionIn(Strict):
    reason: Reason = ""
    version: Annotated[int, Field(ge=1, le=MAX_ID)] | None = None


class ReceiptLine(Strict):
    line_no: Annotated[int, Field(ge=1, le=MAX_ID)]
    received: Quantity = "0"
    damaged: Quantity = "0"
    shortage: Quantity = "0"
    serials: Serials = None


class ShipSerialsLine(Strict):
    line_no: Annotated[int, Field(ge=1, le=MAX_ID)]
    serials: Annotated[list[Annotated[str, Field(min_length=1, max_length=200)]],
                       Field(max_length=10_000)]


class ShipBody(ActionIn):
    lines: Annotated[list[ShipSerialsLine], Field(max_length=5000)] | None = None


class ReceiptIn(Strict):
    lines: Annotated[list[ReceiptLine], Field(min_length=1)]
    reason: Reason = ""


def _meta(actor: Any, reason: str, key: str | None) -> Meta:
    return Meta(actor=actor, reason=reason, idempotency_key=key)


@router.post("", status_code=201)
def create(body: TransferIn, request: Request, db: DbDep, actor: Creator,
           key: IdempotencyKey = None) -> Any:
    in_scope(db, request, actor, "transfer.create", body.source, body.dest, either=True)
    lines = [TransferLineIn(x.sku, x.qty, x.lot) for x in body.lines]
    result = transfers.create_transfer(db.uow(), _meta(actor, body.reason, key), source=body.source,
                                       dest=body.dest, lines=lines,
                                       expected_arrival=body.expected_arrival,
                                       custom=body.custom or {})
    return JSONResponse(jsonable(result), status_code=201)


@router.post("/batch", status_code=201)
def create_batch(body: TransferBatchIn, request: Request, db: DbDep, actor: Creator,
                 key: IdempotencyKey = None) -> Any:
    """Create a draft transfer per destination, all or nothing; answers ``{"source", "transfers"}``."""
    for d in body.destinations:
        in_scope(db, request, actor, "transfer.create", body.source, d.dest, either=True)
    destinations = [DestinationIn(d.dest, [TransferLineIn(x.sku, x.qty, x.lot) for x in d.lines],
                                  d.expected_arrival) for d in body.destinations]
    result = transfers.create_transfers(db.uow(), _meta(actor, body.reason, key),
                                        source=body.source, destinations=destinations,
                                        custom=body.custom or {})
    return JSONResponse(jsonable(result), status_code=201)


@router.get("")
def list_transfers(db: DbDep, actor: Viewer, state: State | None = None, site: str | None = None,
                   q: str | None = None, limit: Annotated[int, Query(ge=1, le=500)] = 50,
                   cursor: str | None = None, created_from: date | None = None,
                   created_to: date | None = None) -> Any:
    """Newest first; ``created_from`` / ``created_to`` are inclusive days (UTC) of creation."""
    with db.read() as session:
        items, nxt = queries.transfers(session, state=state, site=site, q=q, limit=limit,
                                       after=cursor, created_from=created_from,
                                       created_to=created_to,
                                       scope=actor.sites("transfer.view"))
    return jsonable({"items": items, "next_cursor": nxt})


@router.get("/{number}")
def get(number: str, db: DbDep, actor: Viewer) -> Any:
    return jsonable(transfers.get_transfer(db.uow(), number))


@router.patch("/{number}")
def edit(number: str, body: TransferEdit, db: DbDep, actor: Editor,
         key: IdempotencyKey = None) -> Any:
    lines = [TransferLineIn(x.sku, x.qty, x.lot) for x in body.lines] if body.lines else None
    return jsonable(transfers.update_transfer(db.uow(), _meta(actor, "", key), number=number,
                                              version=body.version, lines=lines,
                                              expected_arrival=body.expected_arrival,
                                              custom=body.custom))


@router.post("/{number}/submit")
def submit(number: str, body: ActionIn, db: DbDep, actor: Editor,
           key: IdempotencyKey = None) -> Any:
    return jsonable(transfers.submit_transfer(db.uow(), _meta(actor, body.reason, key),
                                              number=number, version=body.version))


@router.post("/{number}/ship")
def ship(number: str, body: ShipBody, db: DbDep, actor: Poster,
         key: IdempotencyKey = None) -> Any:
    lines = [ShipSerialsIn(x.line_no, x.serials) for x in body.lines] if body.lines else None
    return jsonable(transfers.ship_transfer(db.uow(), _meta(actor, body.reason, key),
                                            number=number, lines=lines))


@router.post("/{number}/receive")
def receive(number: str, body: ReceiptIn, db: DbDep, actor: Poster,
            key: IdempotencyKey = None) -> Any:
    lines = [ReceiptLineIn(x.line_no, x.received, x.damaged, x.shortage, x.serials)
             for x in body.lines]
    return jsonable(transfers.receive_transfer(db.uow(), _meta(actor, body.reason, key),
                                               number=number, lines=lines))


@router.post("/{number}/cancel")
def cancel(number: str, body: ActionIn, db: DbDep, actor: Canceller,
           key: IdempotencyKey = None) -> Any:
    return jsonable(transfers.cancel_transfer(db.uow(), _meta(actor, body.reason, key),
                                              number=number))


@router.post("/{number}/close")
def close(number: str, body: ActionIn, db: DbDep, actor: Editor,
          key: IdempotencyKey = None) -> Any:
    return jsonable(transfers.close_transfer(db.uow(), _meta(actor, body.reason, key), number=number))
