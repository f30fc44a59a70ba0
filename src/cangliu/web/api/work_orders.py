"""Work orders and assemblies: /api/v1/work-orders (draft, components, complete, cancel),
/api/v1/assemblies/install and /remove, and a unit's components at
/api/v1/serials/{code}/components. Users limited to some sites reach the work orders and units
at those sites only."""

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Request
from fastapi.responses import JSONResponse
from pydantic import Field
from sqlalchemy import select

from cangliu.core.errors import NotFound
from cangliu.core.permissions import Actor
from cangliu.db.models import Serial
from cangliu.db.uow import Database
from cangliu.services import assemblies, serials, work_orders
from cangliu.services.postings import Meta
from cangliu.services.work_orders import Component
from cangliu.web.api.schemas import MAX_ID, Code, Quantity, Reason, Strict, jsonable
from cangliu.web.deps import DbDep, IdempotencyKey, in_scope, permit, sites_in_scope

router = APIRouter(prefix="/api/v1", tags=["work orders"])
Viewer = Annotated[Actor, permit("serial.view")]
Creator = Annotated[Actor, permit("serial.create")]
Editor = Annotated[Actor, permit("serial.edit")]
ScannedCode = Annotated[str, Field(min_length=1, max_length=200)]
Version = Annotated[int, Field(ge=1, le=MAX_ID)]


class ComponentIn(Strict):
    sku: Code
    qty: Quantity | None = None  # serial-tracked: the number of serials
    lot: Annotated[str, Field(max_length=64)] | None = None
    serials: Annotated[list[ScannedCode], Field(max_length=10_000)] = []


Components = Annotated[list[ComponentIn], Field(max_length=500)]


class WorkOrderIn(Strict):
    sku: Code
    site: Code
    qty: Quantity
    line: Annotated[str, Field(max_length=40)] = ""
    lot: Annotated[str, Field(max_length=64)] = ""
    note: Annotated[str, Field(max_length=2000)] = ""
    components: Components = []


class ComponentsIn(Strict):
    components: Components
    version: Version | None = None


class CompleteIn(Strict):
    serials: Annotated[list[ScannedCode], Field(max_length=work_orders.MAX_UNITS)] = []
    lot: Annotated[str, Field(max_length=64)] | None = None
    version: Version | None = None


class CancelIn(Strict):
    version: Version | None = None


class InstallIn(Strict):
    parent: ScannedCode
    child: ScannedCode
    sku: Code | None = None  # the child's SKU, where codes repeat across SKUs


class RemoveIn(Strict):
    child: ScannedCode
    fate: Literal["in_stock", "returned", "scrapped"]
    site: Code | None = None
    reason: Reason
    sku: Code | None = None


def _components(items: list[ComponentIn]) -> list[Component]:
    return [Component(sku=c.sku, qty=c.qty, lot=c.lot, serials=c.serials) for c in items]


def order_in_scope(db: Database, request: Request, actor: Actor, permission: str,
                    number: str) -> None:
    """A work order at a site outside the user's scope is not found."""
    with db.read() as session:
        site = work_orders.site_of(session, number)
    missing = NotFound("No work order {number}", number=number)
    sites_in_scope(request, actor, permission, [site] if site else [], missing)
    if site is None:
        raise missing


def units_in_scope(db: Database, request: Request, actor: Actor, *codes: str) -> None:
    """The named units at a site (those installed or not yet stocked have none) lie in the
    user's serial.edit scope."""
    with db.read() as session:
        sites = [s for s in session.scalars(select(Serial.site_id).where(
            Serial.code.in_([c.strip() for c in codes]))) if s is not None]
    sites_in_scope(request, actor, "serial.edit", sites,
                   NotFound("No serial {code}", code=codes[0]))


@router.get("/work-orders")
def list_orders(db: DbDep, actor: Viewer, q: str | None = None,
                status: Literal["draft", "completed", "cancelled"] | None = None,
                limit: Annotated[int, Query(ge=1, le=500)] = 50,
                offset: Annotated[int, Query(ge=0)] = 0) -> Any:
    """Work orders newest first; ``q`` matches the number or SKU code from its start."""
    with db.read() as session:
        items, total = work_orders.list_work_orders(session, q=q, status=status, limit=limit,
                                                    offset=offset,
                                                    scope=actor.sites("serial.view"))
    return jsonable({"items": items, "total": total})


@router.post("/work-orders", status_code=201)
def create(body: WorkOrderIn, request: Request, db: DbDep, actor: Creator,
           key: IdempotencyKey = None) -> Any:
    in_scope(db, request, actor, "serial.create", body.site)
    made = work_orders.create(db.uow(), Meta(actor, idempotency_key=key), sku=body.sku,
                              site=body.site, qty=body.qty, line=body.line, lot=body.lot,
                              note=body.note, components=_components(body.components))
    return JSONResponse(jsonable(made), status_code=201)


@router.get("/work-orders/{number}")
def get(number: str, request: Request, db: DbDep, actor: Viewer) -> Any:
    order_in_scope(db, request, actor, "serial.view", number)
    with db.read() as session:
        return jsonable(work_orders.answer(session, number))


@router.put("/work-orders/{number}/components")
def set_components(number: str, body: ComponentsIn, request: Request, db: DbDep, actor: Creator,
                   key: IdempotencyKey = None) -> Any:
    """Replace a draft's component lines (``version``: refused when stale)."""
    order_in_scope(db, request, actor, "serial.create", number)
    return jsonable(work_orders.set_components(
        db.uow(), Meta(actor, idempotency_key=key), number=number,
        components=_components(body.components), version=body.version))


@router.post("/work-orders/{number}/complete")
def complete(number: str, body: CompleteIn, request: Request, db: DbDep, actor: Creator,
             key: IdempotencyKey = None) -> Any:
    """Consume the components, make the finished goods and record their genealogy."""
    order_in_scope(db, request, actor, "serial.create", number)
    return jsonable(work_orders.complete(db.uow(), Meta(actor, idempotency_key=key),
                                         number=number, serials=body.serials, lot=body.lot,
                                         version=body.version))


@router.post("/work-orders/{number}/cancel")
def cancel(number: str, body: CancelIn, request: Request, db: DbDep, actor: Creator,
           key: IdempotencyKey = None) -> Any:
    order_in_scope(db, request, actor, "serial.create", number)
    return jsonable(work_orders.cancel(db.uow(), Meta(actor, idempotency_key=key),
                                       number=number, version=body.version))


@router.post("/assemblies/install")
def install(body: InstallIn, request: Request, db: DbDep, actor: Editor,
            key: IdempotencyKey = None) -> Any:
    """Put a component serial into a unit (a part in stock leaves the shelf)."""
    units_in_scope(db, request, actor, body.parent, body.child)
    return jsonable(assemblies.install(db.uow(), Meta(actor, idempotency_key=key),
                                       parent=body.parent, child=body.child, sku=body.sku))


@router.post("/assemblies/remove")
def remove(body: RemoveIn, request: Request, db: DbDep, actor: Editor,
           key: IdempotencyKey = None) -> Any:
    """Take a component serial out of its unit: back to stock at ``site``, returned or
    scrapped; the link stays as history."""
    in_scope(db, request, actor, "serial.edit", body.site)
    units_in_scope(db, request, actor, body.child)
    return jsonable(assemblies.remove(db.uow(), Meta(actor, idempotency_key=key),
                                      child=body.child, fate=body.fate, site=body.site,
                                      reason=body.reason, sku=body.sku))


@router.get("/serials/{code}/components")
def components(code: str, db: DbDep, actor: Viewer, sku: str | None = None,
               history: bool = False) -> Any:
    """A unit's components, oldest first (``history``: with those removed, who, when, why),
    and the unit it sits in."""
    with db.read() as session:
        unit = serials.get_serial(session, code, sku=sku, scope=actor.sites("serial.view"))
        row = assemblies.serial_named(session, code, field_name="code", sku=unit["sku"])
        return jsonable({"serial": unit["code"], "sku": unit["sku"], "parent": unit["parent"],
                         "components": assemblies.children(session, row.id, history=history)})
