"""Work order pages (生产工单): the list with search and pagination, a new draft, its
components (SKU lines typed, component serials scanned one per line), completing it with
confirmation, and the finished serials it made. Viewing needs serial.view, the rest
serial.create at the work order's site."""

from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Request, Response
from fastapi.responses import HTMLResponse, RedirectResponse
from sqlalchemy import select
from sqlalchemy.orm import Session

from cangliu.core.errors import DomainError, FieldError, NotFound, ValidationFailed
from cangliu.core.permissions import Actor
from cangliu.db.models import Location, Serial, Sku
from cangliu.db.uow import Database
from cangliu.services import work_orders
from cangliu.services.postings import Meta
from cangliu.services.work_orders import Component
from cangliu.web.api.work_orders import order_in_scope
from cangliu.web.deps import DbDep, check_csrf, in_scope, page_permit
from cangliu.web.export import MAX_ROWS, answer, wants_export
from cangliu.web.export import sites as export_sites
from cangliu.web.pages.render import render
from cangliu.web.pages.serials import scanned_code
from cangliu.web.pages.transfers import errors_of, serial_codes

router = APIRouter(include_in_schema=False)
Viewer = Annotated[Actor, page_permit("serial.view")]
Creator = Annotated[Actor, page_permit("serial.create")]
PAGE = 50
STATUS_LABELS = {"draft": "Draft", "completed": "Completed", "cancelled": "Cancelled"}
FIELDS = ("sku", "site", "qty", "line", "lot", "note", "lines", "serials", "key")


def _sites(session: Session, scope: frozenset[int] | None) -> list[str]:
    query = select(Location.code).where(Location.kind == "site").order_by(Location.code)
    if scope is not None:
        query = query.where(Location.id.in_(scope))
    return list(session.scalars(query))


EXPORT_COLUMNS = (("number", "Number"), ("sku", "SKU"), ("sku_name", "Name"), ("site", "Site"),
                  ("line", "Production line"), ("qty", "Quantity"), ("lot", "Lot"),
                  ("status", "Status"), ("created_at", "Created"), ("created_by", "Created by"),
                  ("completed_at", "Completed"))


@router.get("/work-orders", response_class=HTMLResponse, response_model=None)
def list_page(request: Request, db: DbDep, actor: Viewer, q: str = "", status: str = "",
              page: int = 1) -> Response:
    filters = {"q": q.strip(), "status": status}
    page = max(page, 1)
    items: list[dict[str, Any]] = []
    total, errors, fmt = 0, [], wants_export(request)
    try:
        with db.read() as session:
            def fetch(limit: int, offset: int) -> Any:
                return work_orders.list_work_orders(
                    session, q=filters["q"] or None, status=status or None, limit=limit,
                    offset=offset, scope=export_sites(actor, "serial") if fmt
                    else actor.sites("serial.view"))
            if fmt:
                return answer(request, actor, "serial",
                              lambda _after: (fetch(MAX_ROWS + 1, 0)[0], None), EXPORT_COLUMNS,
                              fmt=fmt, filename="work-orders", labels={"status": STATUS_LABELS})
            items, total = fetch(PAGE, (page - 1) * PAGE)
    except ValidationFailed as exc:
        if fmt:
            raise
        errors = errors_of(request, exc)
    return render(request, "work_orders.html", actor, items=items, total=total, page=page,
                  pages=max(1, -(-total // PAGE)), filters=filters, errors=errors,
                  statuses=work_orders.STATUSES, status_labels=STATUS_LABELS)


def parse_components(session: Session, lines: str, scans: str) -> list[Component]:
    """``SKU QTY [LOT]`` per row of ``lines``, then the scanned component serials (one per
    row of ``scans``, GS1 content unpacked) grouped by their SKU."""
    components = []
    for i, raw in enumerate(r for r in lines.splitlines() if r.strip()):
        parts = raw.replace(",", " ").replace("\t", " ").split()
        if len(parts) < 2:
            raise ValidationFailed.single(f"components[{i}]", "write the SKU code and the quantity")
        components.append(Component(parts[0], parts[1], lot=parts[2] if len(parts) > 2 else None))
    by_sku: dict[str, list[str]] = {}
    for j, raw in enumerate(serial_codes(scans)):
        code, problems = scanned_code(raw)
        if problems or code is None:
            raise ValidationFailed([FieldError(f"serials[{j}]", p.message, p.params)
                                    for p in problems])
        skus = session.scalars(select(Sku.code).join(Serial, Serial.sku_id == Sku.id)
                               .where(Serial.code == code).limit(2)).all()
        if not skus:
            raise ValidationFailed.single(f"serials[{j}]", "no serial {code}", code=code)
        if len(skus) > 1:
            raise ValidationFailed.single(f"serials[{j}]", "serial {code} belongs to several SKUs",
                                          code=code)
        by_sku.setdefault(skus[0], []).append(code)
    return components + [Component(sku, serials=codes) for sku, codes in by_sku.items()]


def _form(request: Request, db: Database, actor: Actor, values: dict[str, str],
          errors: list[FieldError] | None = None, status_code: int = 200) -> HTMLResponse:
    with db.read() as session:
        sites = _sites(session, actor.sites("serial.create"))
    return render(request, "work_order_new.html", actor, status_code=status_code,
                  values=values, sites=sites, errors=errors or [])


@router.get("/work-orders/new", response_class=HTMLResponse)
def new_page(request: Request, db: DbDep, actor: Creator, sku: str = "") -> HTMLResponse:
    return _form(request, db, actor, {"sku": sku, "qty": "1"})


async def _values(request: Request, actor: Actor) -> dict[str, str]:
    form = await request.form()
    check_csrf(request, str(form.get("csrf_token", "")), actor)
    return {k: str(form.get(k) or "") for k in FIELDS}


@router.post("/work-orders/new", response_model=None)
async def create(request: Request, db: DbDep, actor: Creator) -> Response:
    values = await _values(request, actor)
    try:
        in_scope(db, request, actor, "serial.create", values["site"].strip() or None)
        with db.read() as session:
            components = parse_components(session, values["lines"], values["serials"])
        made = work_orders.create(db.uow(), Meta(actor, idempotency_key=values["key"] or None),
                                  sku=values["sku"].strip(), site=values["site"].strip(),
                                  qty=values["qty"].strip(), line=values["line"],
                                  lot=values["lot"], note=values["note"], components=components)
    except DomainError as exc:
        return _form(request, db, actor, values, errors_of(request, exc),
                     exc.status if exc.status != 400 else 422)
    return RedirectResponse(f"/work-orders/{quote(made['number'], safe='')}", status_code=303)


def _detail(request: Request, db: Database, actor: Actor, number: str,
            values: dict[str, str] | None = None, errors: list[FieldError] | None = None,
            status_code: int = 200) -> HTMLResponse:
    order_in_scope(db, request, actor, "serial.view", number)
    with db.read() as session:
        order = work_orders.answer(session, number)
    lines = [c for c in order["components"] if not c["serials"]]
    shown = values or {
        "lines": "\n".join(f"{c['sku']} {c['qty']} {c['lot']}".strip() for c in lines),
        "serials": "\n".join(s for c in order["components"] for s in c["serials"])}
    return render(request, "work_order.html", actor, status_code=status_code, order=order,
                  values=shown, errors=errors or [], status_labels=STATUS_LABELS,
                  can_create=actor.can("serial.create"), show_cost="cost" not in actor.hidden)


@router.get("/work-orders/{number}", response_class=HTMLResponse)
def detail(number: str, request: Request, db: DbDep, actor: Viewer) -> HTMLResponse:
    return _detail(request, db, actor, number)


@router.post("/work-orders/{number}/{action}", response_model=None)
async def act(number: str, action: str, request: Request, db: DbDep,
              actor: Creator) -> Response:
    """Save the components, complete or cancel the draft; a refusal shows the page again with
    what was typed and why."""
    form = await request.form()
    check_csrf(request, str(form.get("csrf_token", "")), actor)
    values = {k: str(form.get(k) or "") for k in ("lines", "serials", "finished", "lot", "key",
                                                  "version")}
    order_in_scope(db, request, actor, "serial.create", number)
    meta = Meta(actor, idempotency_key=values["key"] or None)
    version = int(values["version"]) if values["version"].isdigit() else None
    try:
        if action == "components":
            with db.read() as session:
                components = parse_components(session, values["lines"], values["serials"])
            work_orders.set_components(db.uow(), meta, number=number, components=components,
                                       version=version)
        elif action == "complete":
            work_orders.complete(db.uow(), meta, number=number, version=version,
                                 serials=serial_codes(values["finished"]),
                                 lot=values["lot"].strip() or None)
        elif action == "cancel":
            work_orders.cancel(db.uow(), meta, number=number, version=version)
        else:
            raise NotFound("No work order {number}", number=number)
    except DomainError as exc:
        return _detail(request, db, actor, number, values if action == "components" else None,
                       errors_of(request, exc), exc.status if exc.status != 400 else 422)
    return RedirectResponse(f"/work-orders/{quote(number, safe='')}", status_code=303)
