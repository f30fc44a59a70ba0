"""Repair and warranty tickets (/api/v1/repairs): open one on a serial, record actions and part
replacements, close or cancel it. Users limited to some sites see and work on the tickets of
their service sites; every change names the ``version`` it is based on."""

from datetime import UTC, datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Request
from fastapi.responses import JSONResponse
from pydantic import Field

from cangliu.core.errors import NotFound
from cangliu.core.permissions import Actor
from cangliu.db.uow import Database
from cangliu.i18n import translate
from cangliu.services import repairs
from cangliu.services.postings import Meta
from cangliu.web.api.schemas import MAX_ID, Code, Strict, jsonable
from cangliu.web.deps import (
    DbDep,
    Forbidden,
    IdempotencyKey,
    LocaleDep,
    deny,
    in_scope,
    permit,
    sites_in_scope,
)

router = APIRouter(prefix="/api/v1/repairs", tags=["repairs"])
Viewer = Annotated[Actor, permit("serial.view")]
Creator = Annotated[Actor, permit("serial.create")]
Editor = Annotated[Actor, permit("serial.edit")]
Scanned = Annotated[str, Field(min_length=1, max_length=200)]  # a serial or GS1 content
Text = Annotated[str, Field(max_length=2000)]
Version = Annotated[int, Field(ge=1, le=MAX_ID)]


class OpenIn(Strict):
    serial: Scanned
    fault: Annotated[str, Field(min_length=1, max_length=2000)]
    fault_code: Annotated[str, Field(max_length=40)] = ""
    customer: Code | None = None  # default: the customer the unit was sold to
    site: Code | None = None  # the service site; default: where the unit sits


class ActionIn(Strict):
    version: Version
    kind: Literal["diagnose", "repair", "replace_part", "test", "note"]
    note: Text = ""
    old_serial: Scanned | None = None
    old_part_fate: Literal["", "returned", "scrapped"] = ""
    new_serial: Scanned | None = None


class CloseIn(Strict):
    version: Version
    outcome: Literal["repaired", "scrapped"]
    resolution: Annotated[str, Field(min_length=1, max_length=2000)]


class CancelIn(Strict):
    version: Version


def guard(db: Database, request: Request, actor: Actor, number: str, permission: str) -> None:
    """A ticket at a service site the user cannot see answers 404; one they see but may not
    change there, 403."""
    with db.read() as session:
        site = repairs.ticket_site(session, number)
    sites = [site] if site is not None else []
    sites_in_scope(request, actor, "serial.view", sites,
                   NotFound("No repair ticket {number}", number=number))
    if not actor.can(permission, site):
        raise deny(request, Forbidden("Your role may not do this here"), actor)


@router.get("")
def list_tickets(db: DbDep, actor: Viewer, status: str | None = None,
                 warranty: str | None = None, sku: str | None = None, serial: str | None = None,
                 customer: str | None = None, site: str | None = None, q: str | None = None,
                 cursor: str | None = None,
                 limit: Annotated[int, Query(ge=1, le=500)] = 50) -> Any:
    """Tickets newest first, narrowed by the filters given; ``q`` searches number, serial and
    fault."""
    filters = repairs.Filters(status=status, warranty=warranty, sku=sku, serial=serial,
                              customer=customer, site=site, q=q,
                              scope=actor.sites("serial.view"))
    with db.read() as session:
        items, nxt = repairs.list_tickets(session, filters, after=cursor, limit=limit)
    return jsonable({"items": items, "next_cursor": nxt})


@router.get("/check")
def check_unit(serial: str, db: DbDep, actor: Viewer, locale: LocaleDep) -> Any:
    """A scanned unit and the warranty a ticket opened on it today would fall under; why no
    ticket can be opened on it, in the caller's language."""
    with db.read() as session:
        answer = repairs.check_unit(session, serial, today=datetime.now(UTC).date())
    answer["problems"] = [{"field": p.field, "message": translate(locale, p.message, **p.params),
                           "msgid": p.message, "params": p.params} for p in answer["problems"]]
    return jsonable(answer)


@router.post("", status_code=201)
def open_ticket(body: OpenIn, request: Request, db: DbDep, actor: Creator,
                key: IdempotencyKey = None) -> Any:
    in_scope(db, request, actor, "serial.create", body.site)
    ticket = repairs.open_ticket(db.uow(), Meta(actor, idempotency_key=key),
                                 scope=actor.sites("serial.create"), **body.model_dump())
    return JSONResponse(jsonable(ticket), status_code=201)


@router.get("/{number}")
def get_ticket(number: str, db: DbDep, actor: Viewer) -> Any:
    """The ticket with its actions, oldest first, and the unit's current components."""
    with db.read() as session:
        return jsonable(repairs.get_ticket(session, number, scope=actor.sites("serial.view")))


@router.post("/{number}/actions", status_code=201)
def add_action(number: str, body: ActionIn, request: Request, db: DbDep, actor: Editor,
               key: IdempotencyKey = None) -> Any:
    guard(db, request, actor, number, "serial.edit")
    ticket = repairs.add_action(db.uow(), Meta(actor, idempotency_key=key), number=number,
                                **body.model_dump())
    return JSONResponse(jsonable(ticket), status_code=201)


@router.post("/{number}/close")
def close_ticket(number: str, body: CloseIn, request: Request, db: DbDep, actor: Editor,
                 key: IdempotencyKey = None) -> Any:
    guard(db, request, actor, number, "serial.edit")
    return jsonable(repairs.close_ticket(db.uow(), Meta(actor, idempotency_key=key),
                                         number=number, **body.model_dump()))


@router.post("/{number}/cancel")
def cancel_ticket(number: str, body: CancelIn, request: Request, db: DbDep, actor: Editor,
                  key: IdempotencyKey = None) -> Any:
    guard(db, request, actor, number, "serial.edit")
    return jsonable(repairs.cancel_ticket(db.uow(), Meta(actor, idempotency_key=key),
                                          number=number, version=body.version))
