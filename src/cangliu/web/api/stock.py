"""Stock operations and the single view: /api/v1/stock."""

import base64
import json
from datetime import date
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Request
from fastapi.responses import JSONResponse
from pydantic import Field

from cangliu.core.errors import NotFound, ValidationFailed
from cangliu.core.ledger import ScrapReason, StockStatus
from cangliu.core.permissions import Actor
from cangliu.db import queries
from cangliu.services import reservations, stock
from cangliu.services.postings import Meta
from cangliu.services.scrap import get_scrap, list_scraps, scrap
from cangliu.services.stock import Line
from cangliu.web.api.schemas import Code, PostingIn, Quantity, Reason, Strict, jsonable
from cangliu.web.deps import DbDep, IdempotencyKey, in_scope, permit, sites_in_scope

router = APIRouter(prefix="/api/v1/stock", tags=["stock"])
CanCreateScrap = Annotated[Actor, permit("scrap.create")]
CanCreateStock = Annotated[Actor, permit("stock.create")]
CanViewScrap = Annotated[Actor, permit("scrap.view")]
CanViewStock = Annotated[Actor, permit("stock.view")]
# Scrap documents are read back from the ledger; they are posted with POST /api/v1/stock/scrap.
scrap_router = APIRouter(prefix="/api/v1/scrap", tags=["stock"])


class ReceiveIn(PostingIn):
    sku: Code
    site: Code
    qty: Quantity
    bin: Code | None = None
    lot: str | None = None
    expiry_date: date | None = None
    unit_cost: Quantity | None = None


class IssueIn(PostingIn):
    sku: Code
    site: Code
    qty: Quantity
    bin: Code | None = None
    lot: str | None = None
    reservation: str | None = None


class MoveIn(PostingIn):
    sku: Code
    from_site: Code
    to_site: Code
    qty: Quantity
    bin: Code | None = None
    to_bin: Code | None = None
    lot: str | None = None


class AdjustIn(PostingIn):
    sku: Code
    site: Code
    qty: Quantity
    direction: Literal["gain", "loss"]
    bin: Code | None = None
    lot: str | None = None


class StatusIn(PostingIn):
    sku: Code
    site: Code
    qty: Quantity
    from_status: StockStatus
    to_status: StockStatus
    bin: Code | None = None
    lot: str | None = None


class ScrapIn(PostingIn):
    sku: Code
    site: Code
    qty: Quantity
    reason_code: ScrapReason
    from_status: StockStatus = StockStatus.DAMAGED
    bin: Code | None = None
    lot: str | None = None


class ScrapLineIn(Strict):
    sku: Code
    qty: Quantity
    bin: Code | None = None
    lot: str | None = None


class ScrapDocumentIn(PostingIn):
    """A scrap document of several lines from one site."""

    site: Code
    reason_code: ScrapReason
    from_status: StockStatus = StockStatus.DAMAGED
    lines: Annotated[list[ScrapLineIn], Field(min_length=1, max_length=5000)]


class ReserveIn(Strict):
    sku: Code
    site: Code
    qty: Quantity
    lot: str | None = None
    reason: Reason = ""


class ReleaseIn(Strict):
    reservation: str
    reason: Reason = ""


class ReverseIn(Strict):
    reason: Reason


def _meta(actor: Actor, body: Any, key: str | None) -> Meta:
    return Meta(actor=actor, reason=body.reason, idempotency_key=key,
                occurred_at=getattr(body, "occurred_at", None))


def _created(result: dict[str, Any]) -> JSONResponse:
    return JSONResponse(jsonable(result), status_code=201)


@router.post("/receive", status_code=201)
def receive(body: ReceiveIn, request: Request, db: DbDep, actor: CanCreateStock,
            key: IdempotencyKey = None) -> Any:
    in_scope(db, request, actor, "stock.create", body.site)
    line = Line(body.sku, body.qty, body.bin, body.lot, body.unit_cost)
    return _created(stock.receive(db.uow(), _meta(actor, body, key), site=body.site, lines=[line],
                                  expiry_date=body.expiry_date))


@router.post("/issue", status_code=201)
def issue(body: IssueIn, request: Request, db: DbDep, actor: CanCreateStock,
          key: IdempotencyKey = None) -> Any:
    in_scope(db, request, actor, "stock.create", body.site)
    line = Line(body.sku, body.qty, body.bin, body.lot)
    return _created(stock.issue(db.uow(), _meta(actor, body, key), site=body.site, lines=[line],
                                reservation=body.reservation))


@router.post("/move", status_code=201)
def move(body: MoveIn, request: Request, db: DbDep, actor: CanCreateStock,
         key: IdempotencyKey = None) -> Any:
    in_scope(db, request, actor, "stock.create", body.from_site, body.to_site)
    line = Line(body.sku, body.qty, body.bin, body.lot, to_bin=body.to_bin)
    return _created(stock.move(db.uow(), _meta(actor, body, key), from_site=body.from_site,
                               to_site=body.to_site, lines=[line]))


@router.post("/adjust", status_code=201)
def adjust(body: AdjustIn, request: Request, db: DbDep, actor: CanCreateStock,
           key: IdempotencyKey = None) -> Any:
    in_scope(db, request, actor, "stock.create", body.site)
    line = Line(body.sku, body.qty, body.bin, body.lot)
    return _created(stock.adjust(db.uow(), _meta(actor, body, key), site=body.site,
                                 gain=body.direction == "gain", lines=[line]))


@router.post("/status", status_code=201)
def change_status(body: StatusIn, request: Request, db: DbDep, actor: CanCreateStock,
                  key: IdempotencyKey = None) -> Any:
    in_scope(db, request, actor, "stock.create", body.site)
    line = Line(body.sku, body.qty, body.bin, body.lot)
    return _created(stock.change_status(db.uow(), _meta(actor, body, key), site=body.site,
                                        from_status=body.from_status, to_status=body.to_status,
                                        lines=[line]))


@router.post("/scrap", status_code=201)
def write_off(body: ScrapIn, request: Request, db: DbDep, actor: CanCreateScrap,
              key: IdempotencyKey = None) -> Any:
    in_scope(db, request, actor, "scrap.create", body.site)
    line = Line(body.sku, body.qty, body.bin, body.lot)
    return _created(scrap(db.uow(), _meta(actor, body, key), site=body.site,
                          reason_code=body.reason_code, lines=[line], from_status=body.from_status))


@router.post("/reserve", status_code=201)
def reserve(body: ReserveIn, request: Request, db: DbDep, actor: CanCreateStock,
            key: IdempotencyKey = None) -> Any:
    in_scope(db, request, actor, "stock.create", body.site)
    return _created(reservations.reserve(db.uow(), _meta(actor, body, key), sku=body.sku,
                                         site=body.site, qty=body.qty, lot=body.lot))


@router.post("/release", status_code=201)
def release(body: ReleaseIn, request: Request, db: DbDep, actor: CanCreateStock,
            key: IdempotencyKey = None) -> Any:
    sites_in_scope(request, actor, "stock.create",
                   queries.ref_sites(db.uow(), "reservation", body.reservation),
                   NotFound("Reservation {ref} not found", ref=body.reservation))
    return _created(reservations.release(db.uow(), _meta(actor, body, key), ref=body.reservation))


@router.post("/postings/{ref}/reverse", status_code=201)
def reverse(ref: str, body: ReverseIn, request: Request, db: DbDep, actor: CanCreateStock,
            key: IdempotencyKey = None) -> Any:
    sites_in_scope(request, actor, "stock.create", queries.ref_sites(db.uow(), "posting", ref),
                   NotFound("Posting {ref} not found", ref=ref))
    return _created(stock.reverse_posting(db.uow(), _meta(actor, body, key), ref=ref))


def encode_cursor(value: Any) -> str | None:
    if value is None:
        return None
    return base64.urlsafe_b64encode(json.dumps(value).encode()).decode()


def decode_cursor(cursor: str | None) -> Any:
    if not cursor:
        return None
    try:
        return json.loads(base64.urlsafe_b64decode(cursor.encode()))
    except ValueError:
        raise ValidationFailed.single("cursor", "is not a cursor this server issued") from None


Limit = Annotated[int, Query(ge=1, le=500)]


@router.get("")
def network(db: DbDep, actor: CanViewStock, site: str | None = None, region: str | None = None,
            category: str | None = None, q: str | None = None, limit: Limit = 50,
            cursor: str | None = None) -> Any:
    after = decode_cursor(cursor)
    if after is not None and (not isinstance(after, list) or len(after) != 2):
        raise ValidationFailed.single("cursor", "is not a cursor this server issued")
    with db.read() as session:
        items, nxt = queries.network(session, queries.StockFilter(site, region, category, q,
                                                                   actor.sites("stock.view")),
                                     limit=limit, after=tuple(after) if after else None)
    return jsonable({"items": items, "next_cursor": encode_cursor(list(nxt) if nxt else None)})


@router.get("/{sku_code}")
def single_view(sku_code: str, db: DbDep, actor: CanViewStock) -> Any:
    with db.read() as session:
        return jsonable(queries.single_view(session, sku_code, actor.sites("stock.view")))


@router.get("/{sku_code}/moves")
def moves(sku_code: str, db: DbDep, actor: CanViewStock, limit: Limit = 50,
          cursor: str | None = None) -> Any:
    before = decode_cursor(cursor)
    if before is not None and not isinstance(before, int):
        raise ValidationFailed.single("cursor", "is not a cursor this server issued")
    with db.read() as session:
        items = queries.move_history(session, sku_code, limit=limit, before_id=before,
                                     scope=actor.sites("stock.view"))
    nxt = items[-1]["id"] if len(items) == limit else None
    return jsonable({"items": [{k: v for k, v in i.items() if k != "id"} for i in items],
                     "next_cursor": encode_cursor(nxt)})


@scrap_router.post("", status_code=201)
def scrap_document_create(body: ScrapDocumentIn, request: Request, db: DbDep, actor: CanCreateScrap,
                          key: IdempotencyKey = None) -> Any:
    """Write off several lines under one SP number (POST /api/v1/stock/scrap takes one line)."""
    in_scope(db, request, actor, "scrap.create", body.site)
    lines = [Line(x.sku, x.qty, x.bin, x.lot) for x in body.lines]
    return _created(scrap(db.uow(), _meta(actor, body, key), site=body.site,
                          reason_code=body.reason_code, lines=lines, from_status=body.from_status))


@scrap_router.get("")
def scrap_documents(db: DbDep, actor: CanViewScrap, site: str | None = None, q: str | None = None,
                    created_from: date | None = None, created_to: date | None = None,
                    limit: Limit = 50, cursor: str | None = None) -> Any:
    """Scrap documents, newest first; dates are inclusive UTC days of the write-off."""
    items, nxt = list_scraps(db.uow(), site=site, q=q, created_from=created_from,
                             created_to=created_to, limit=limit, after=cursor,
                             scope=actor.sites("scrap.view"))
    return jsonable({"items": items, "next_cursor": nxt})


@scrap_router.get("/{number}")
def scrap_document(number: str, db: DbDep, actor: CanViewScrap) -> Any:
    """One scrap document: site, reason code, operator, time and its lines from the ledger."""
    return jsonable(get_scrap(db.uow(), number))
