"""Recalls (/api/v1/recalls): trace a component or finished lot or serial to every unit holding
it (a preview, nothing saved), open a recall freezing the units found, hold them, close it,
export its list. Viewing needs serial.view (users limited to some sites see the units at those
sites and those at none); a recall spans the whole network, so opening, holding and closing
need serial.edit at every site, and the export serial.export."""

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request, Response
from fastapi.responses import JSONResponse
from pydantic import Field

from cangliu.core.permissions import Actor
from cangliu.i18n import translate
from cangliu.services import recalls
from cangliu.services.postings import Meta
from cangliu.web.api.schemas import Code, Strict, jsonable
from cangliu.web.deps import DbDep, Forbidden, IdempotencyKey, LocaleDep, deny, permit

router = APIRouter(prefix="/api/v1/recalls", tags=["recalls"])
Viewer = Annotated[Actor, permit("serial.view")]
Editor = Annotated[Actor, permit("serial.edit")]
Exporter = Annotated[Actor, permit("serial.export")]
Limit = Annotated[int, Query(ge=1, le=1000)]
PartCode = Annotated[str, Field(min_length=1, max_length=64)]
HIDDEN = ("id", "site_id", "customer_id")  # row ids: internal
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


class RecallIn(Strict):
    sku: Code
    lot: PartCode | None = None
    serial: PartCode | None = None
    reason: Annotated[str, Field(min_length=1, max_length=2000)]


def network_wide(request: Request, actor: Actor, permission: str) -> None:
    """A recall reaches units at every site: only a user holding ``permission`` everywhere acts."""
    if actor.sites(permission) is not None:
        raise deny(request, Forbidden("A recall spans every site: your role must hold "
                                      "{permission} at all sites", permission=permission), actor)


def shown(row: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in row.items() if k not in HIDDEN}


@router.get("/trace")
def trace(db: DbDep, actor: Viewer, sku: str = "", lot: str | None = None,
          serial: str | None = None, limit: Limit = 200) -> Any:
    """Every unit containing the part, top-level units first (the first ``limit``), with counts
    over all of them. Nothing is saved."""
    with db.read() as session:
        rows = recalls.trace(session, sku, lot, serial, scope=actor.sites("serial.view"))
    return jsonable({"summary": recalls.summary(rows), "items": [shown(r) for r in rows[:limit]],
                     "truncated": len(rows) > limit})


@router.get("")
def list_recalls(db: DbDep, actor: Viewer, q: str | None = None, status: str | None = None,
                 cursor: str | None = None, limit: Annotated[int, Query(ge=1, le=200)] = 50
                 ) -> Any:
    with db.read() as session:
        items, nxt = recalls.list_recalls(session, q=q, status=status, after=cursor, limit=limit)
    return jsonable({"items": items, "next_cursor": nxt})


@router.post("", status_code=201)
def create(body: RecallIn, request: Request, db: DbDep, actor: Editor,
           key: IdempotencyKey = None) -> Any:
    network_wide(request, actor, "serial.edit")
    made = recalls.create(db.uow(), Meta(actor=actor, idempotency_key=key), sku=body.sku,
                          lot=body.lot, serial=body.serial, reason=body.reason)
    return JSONResponse(jsonable(made), status_code=201)


@router.get("/{number}")
def get_recall(number: str, db: DbDep, actor: Viewer, cursor: str | None = None,
               limit: Limit = 100) -> Any:
    """The recall and one page of its units (``next_cursor`` for the next)."""
    with db.read() as session:
        got = recalls.get_recall(session, number, after=cursor, limit=limit,
                                 scope=actor.sites("serial.view"))
    got["units"] = [shown(u) for u in got["units"]]
    return jsonable(got)


@router.post("/{number}/hold")
def hold(number: str, request: Request, db: DbDep, actor: Editor,
         key: IdempotencyKey = None) -> Any:
    """Every unit still in stock onto quality hold; those held before stay as they are."""
    network_wide(request, actor, "serial.edit")
    return jsonable(recalls.hold(db.uow(), Meta(actor=actor, idempotency_key=key), number))


@router.post("/{number}/close")
def close(number: str, request: Request, db: DbDep, actor: Editor,
          key: IdempotencyKey = None) -> Any:
    network_wide(request, actor, "serial.edit")
    return jsonable(recalls.close(db.uow(), Meta(actor=actor, idempotency_key=key), number))


@router.get("/{number}/export.xlsx")
def export(number: str, db: DbDep, actor: Exporter, locale: LocaleDep) -> Response:
    with db.read() as session:
        data = recalls.export_xlsx(session, number, lambda m: translate(locale, m),
                                   scope=actor.sites("serial.export"))
    return Response(data, media_type=XLSX, headers={
        "Content-Disposition": f'attachment; filename="recall-{number}.xlsx"'})
