"""Serial pages (一物一码): the lookup by scan or search with the paginated list, one serial with
its timeline, batch generation and a batch's codes, each with its labels as PDF. Viewing needs
serial.view, generating serial.create at the site given; users limited to some sites see the
serials the service shows them (those at their sites and those at no site yet)."""

from datetime import UTC, datetime
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Query, Request, Response
from fastapi.responses import HTMLResponse, RedirectResponse
from pydantic import ValidationError
from sqlalchemy import select
from sqlalchemy.orm import Session

from cangliu.core.errors import DomainError, FieldError, NotFound, ValidationFailed
from cangliu.core.labels import MAX_LABELS
from cangliu.core.permissions import Actor
from cangliu.core.serials import gs1, lifecycle
from cangliu.db.models import Location, Serial, SerialBatch, SerialRule, Sku
from cangliu.i18n import translate
from cangliu.services import assemblies, labels, serials
from cangliu.services.postings import Meta
from cangliu.web.api.labels import PrintIn, labels_pdf
from cangliu.web.api.work_orders import units_in_scope
from cangliu.web.deps import DbDep, check_csrf, in_scope, page_permit
from cangliu.web.export import answer, wants_export
from cangliu.web.export import sites as export_sites
from cangliu.web.pages.masterdata import _errors
from cangliu.web.pages.render import render
from cangliu.web.pages.serial_rules import router as rules_router
from cangliu.web.problems import locale_of

router = APIRouter(include_in_schema=False)
router.include_router(rules_router)
Viewer = Annotated[Actor, page_permit("serial.view")]
Creator = Annotated[Actor, page_permit("serial.create")]
Editor = Annotated[Actor, page_permit("serial.edit")]
PAGE = 50
STATUS_LABELS = {"generated": "Generated (unused)", "in_stock": "In stock", "reserved": "Reserved",
                 "in_transit": "In transit", "sold": "Sold", "returned": "Returned by customer",
                 "in_repair": "In repair", "installed": "Installed", "scrapped": "Scrapped",
                 "retired": "Retired"}
EVENT_LABELS = {"generated": "Generated", "received": "Received", "reserved": "Reserved",
                "shipped": "Shipped", "transfer_out": "Transferred out",
                "transfer_in": "Transferred in", "sold": "Sold", "returned": "Returned by customer",
                "repair_opened": "Repair opened", "repair_closed": "Repair closed",
                "scrapped": "Scrapped", "retired": "Retired", "installed": "Installed",
                "removed": "Removed", "part_installed": "Part installed",
                "part_removed": "Part removed", "status_changed": "Status changed"}
DOC_PAGES = {"purchase_order": "/docs/purchase-orders/", "sales_order": "/docs/sales-orders/",
             "transfer": "/transfers/", "transfer_order": "/transfers/",
             "serial_batch": "/serials/batches/", "scrap": "/docs/scrap/",
             "work_order": "/work-orders/", "repair_ticket": "/repairs/", "recall": "/recalls/"}
GEN_FIELDS = ("sku", "count", "site", "line", "rule", "key")


def doc_link(kind: str | None, number: str | None) -> str | None:
    """The page of the document an event names, when it has one."""
    base = DOC_PAGES.get(kind or "")
    return f"{base}{quote(number, safe='')}" if base and number else None


def _today() -> Any:
    return datetime.now(UTC).date()


def _page(request: Request, name: str, actor: Actor, **context: Any) -> HTMLResponse:
    return render(request, name, actor, status_labels=STATUS_LABELS, event_labels=EVENT_LABELS,
                  doc_link=doc_link, **context)


def scanned_code(content: str) -> tuple[str | None, list[FieldError]]:
    """The serial a scan or typed text carries: GS1 content (AI 21) unpacked, else the text."""
    text = (content or "").strip()
    if not text or not gs1.is_gs1(text):
        return text or None, []
    try:
        data = gs1.parse(text, today=_today())
    except ValidationFailed as failed:
        return None, list(failed.errors)
    if not data.serial:
        return None, [FieldError("code", "the GS1 content carries no serial (AI 21)", {})]
    return data.serial, []


EXPORT_COLUMNS = (("code", "Serial"), ("sku", "SKU"), ("sku_name", "Name"), ("status", "Status"),
                  ("site", "Site"), ("lot", "Lot"), ("batch", "Batch"), ("customer", "Customer"))


@router.get("/serials", response_class=HTMLResponse, response_model=None)
def list_page(request: Request, db: DbDep, actor: Viewer, sku: str = "", status: str = "",
              batch: str = "", q: str = "", cursor: str | None = None) -> Response:
    filters = {"sku": sku.strip(), "status": status, "batch": batch.strip(), "q": q.strip()}
    errors: list[FieldError] = []
    items: list[dict[str, Any]] = []
    nxt, fmt = None, wants_export(request)
    try:
        with db.read() as session:
            def fetch(after: str | None, limit: int = PAGE) -> Any:
                return serials.list_serials(
                    session, sku=filters["sku"] or None, status=status or None,
                    batch=filters["batch"] or None, q=filters["q"] or None, after=after,
                    limit=limit, scope=export_sites(actor, "serial") if fmt
                    else actor.sites("serial.view"))
            if fmt:
                return answer(request, actor, "serial", lambda after: fetch(after, 1000),
                              EXPORT_COLUMNS, fmt=fmt, filename="serials",
                              labels={"status": STATUS_LABELS})
            items, nxt = fetch(cursor)
    except ValidationFailed as exc:
        if fmt:
            raise
        errors = _errors(locale_of(request), exc)
    return _page(request, "serials.html", actor, items=items, next_cursor=nxt, filters=filters,
                 statuses=lifecycle.STATES, errors=errors, code="")


def _missing(request: Request, db: DbDep, actor: Actor, code: str,
             problems: list[FieldError]) -> HTMLResponse:
    """The 404 page: the search box again, with what a check of the code found."""
    locale = locale_of(request)
    if code and not problems:
        with db.read() as session:
            problems = serials.check_scan(session, code, today=_today())["problems"]
    shown = [translate(locale, p.message, **p.params) for p in problems]
    return _page(request, "serial_missing.html", actor, status_code=404, code=code,
                 reasons=list(dict.fromkeys(shown)))


@router.get("/serials/find", response_model=None)
def find(request: Request, db: DbDep, actor: Viewer, code: str = "") -> Response:
    """The search box: a serial or GS1 content goes to the serial's page; otherwise a 404 page."""
    serial, problems = scanned_code(code)
    if serial is None:
        return _missing(request, db, actor, code.strip(), problems)
    return RedirectResponse(f"/serials/{quote(serial, safe='')}", status_code=303)


@router.get("/serials/generate", response_class=HTMLResponse)
def generate_page(request: Request, db: DbDep, actor: Creator, sku: str = "") -> HTMLResponse:
    return _generate_form(request, db, actor, {"sku": sku, "count": "1"})


def _generate_form(request: Request, db: DbDep, actor: Actor, values: dict[str, str],
                   errors: list[FieldError] | None = None, status_code: int = 200) -> HTMLResponse:
    with db.read() as session:
        rules = serials.list_rules(session, active=True)
        sites = _sites(session, actor.sites("serial.create"))
    errors = errors or []
    return render(request, "serial_generate.html", actor, status_code=status_code, values=values,
                  rules=rules, sites=sites, max_batch=serials.MAX_BATCH,
                  by_field={e.field: e.message for e in errors if e.field in GEN_FIELDS},
                  others=[e for e in errors if e.field not in GEN_FIELDS])


def _sites(session: Session, scope: frozenset[int] | None) -> list[str]:
    query = select(Location.code).where(Location.kind == "site").order_by(Location.code)
    if scope is not None:
        query = query.where(Location.id.in_(scope))
    return list(session.scalars(query))


def _count(text: str) -> int:
    if not text.isdigit() or not 1 <= int(text) <= serials.MAX_BATCH:
        raise ValidationFailed.single("count", "must be between {low} and {high}", low=1,
                                      high=serials.MAX_BATCH)
    return int(text)


@router.post("/serials/generate", response_model=None)
async def generate(request: Request, db: DbDep, actor: Creator) -> Response:
    """Generate the batch (once per form: its key), then show it with its print button."""
    form = await request.form()
    check_csrf(request, str(form.get("csrf_token", "")), actor)
    values = {k: str(form.get(k) or "").strip() for k in GEN_FIELDS}
    in_scope(db, request, actor, "serial.create", values["site"] or None)
    try:
        made = serials.generate(db.uow(), actor, sku=values["sku"], count=_count(values["count"]),
                                site=values["site"] or None, line=values["line"] or None,
                                rule=values["rule"] or None, idempotency_key=values["key"] or None)
    except DomainError as exc:
        status = exc.status if exc.status != 400 else 422
        return _generate_form(request, db, actor, values, _errors(locale_of(request), exc), status)
    return RedirectResponse(f"/serials/batches/{quote(made['batch'], safe='')}?new=1",
                            status_code=303)


def _batch(session: Session, number: str, scope: frozenset[int] | None) -> dict[str, Any]:
    """The batch's header; one at a site outside ``scope`` is not found."""
    row = session.execute(
        select(SerialBatch, Sku.code.label("sku"), Sku.name.label("sku_name"),
               SerialRule.code.label("rule"), SerialRule.kind.label("kind"))
        .join(Sku, Sku.id == SerialBatch.sku_id).join(SerialRule, SerialRule.id == SerialBatch.rule_id)
        .where(SerialBatch.number == number)).first()
    if row is None or (scope is not None and row[0].site_id is not None
                       and row[0].site_id not in scope):
        raise NotFound("No serial batch {number}", number=number)
    batch = row[0]
    site = session.get(Location, batch.site_id) if batch.site_id else None
    return {"number": batch.number, "sku": row.sku, "sku_name": row.sku_name, "rule": row.rule,
            "kind": row.kind, "count": batch.count, "first_code": batch.first_code,
            "last_code": batch.last_code, "site": site.code if site else None,
            "line": batch.line, "created_by": batch.created_by, "created_at": batch.created_at,
            "id": batch.id}


@router.get("/serials/batches/{number}", response_class=HTMLResponse)
def batch_page(number: str, request: Request, db: DbDep, actor: Viewer,
               cursor: str | None = None) -> HTMLResponse:
    scope = actor.sites("serial.view")
    with db.read() as session:
        batch = _batch(session, number, scope)
        items, nxt = serials.list_serials(session, batch=number, after=cursor, limit=PAGE,
                                          scope=scope)
        templates = labels.list_templates(session)
    return _page(request, "serial_batch.html", actor, batch=batch, items=items, next_cursor=nxt,
                 templates=templates, max_labels=MAX_LABELS, errors=[])


def _batch_codes(session: Session, batch_id: int, start: int, count: int) -> list[str]:
    return list(session.scalars(select(Serial.code).where(Serial.batch_id == batch_id)
                                .order_by(Serial.id).offset(start - 1).limit(count)))


def _positive(text: str, field: str, default: int, high: int) -> int:
    value = text or str(default)
    if not value.isdigit() or not 1 <= int(value) <= high:
        raise ValidationFailed.single(field, "must be between {low} and {high}", low=1, high=high)
    return int(value)


@router.post("/serials/batches/{number}/labels", response_model=None)
async def batch_labels(number: str, request: Request, db: DbDep, actor: Viewer) -> Response:
    """Labels for the batch's codes from position ``start`` (at most MAX_LABELS at a time)."""
    form = await request.form()
    check_csrf(request, str(form.get("csrf_token", "")), actor)
    template = str(form.get("template") or "").strip()
    with db.read() as session:
        batch = _batch(session, number, actor.sites("serial.view"))
    try:
        start = _positive(str(form.get("start") or "").strip(), "start", 1, batch["count"])
        count = _positive(str(form.get("count") or "").strip(), "count",
                          min(batch["count"], MAX_LABELS), MAX_LABELS)
        with db.read() as session:
            codes = _batch_codes(session, batch["id"], start, count)
        if not codes:
            raise ValidationFailed.single("start", "this batch has no serials to print")
        pdf = labels_pdf(db, request, actor, PrintIn(template=template, serials=codes))
    except (DomainError, ValidationError) as exc:
        status = exc.status if isinstance(exc, DomainError) and exc.status != 400 else 422
        with db.read() as session:
            items, nxt = serials.list_serials(session, batch=number, limit=PAGE,
                                              scope=actor.sites("serial.view"))
            templates = labels.list_templates(session)
        return _page(request, "serial_batch.html", actor, status_code=status, batch=batch,
                     items=items, next_cursor=nxt, templates=templates, max_labels=MAX_LABELS,
                     errors=_errors(locale_of(request), exc))
    return Response(pdf, media_type="application/pdf", headers={
        "Content-Disposition": f'inline; filename="labels-{number}.pdf"'})


@router.get("/serials/{code}", response_model=None)
def serial_page(code: str, request: Request, db: DbDep, actor: Viewer, sku: str | None = None,
                order: Annotated[str, Query(pattern="^(newest|oldest)$")] = "newest",
                history: bool = False) -> Response:
    """One serial and its timeline (newest first unless asked otherwise), its components
    (``history``: with those removed) and the unit it sits in."""
    try:
        return _serial_view(request, db, actor, code, sku=sku, order=order, history=history)
    except NotFound:
        return _missing(request, db, actor, code, [])
    except ValidationFailed:  # the code exists under several SKUs: list them to choose
        return RedirectResponse(f"/serials?q={quote(code, safe='')}", status_code=303)


def _serial_view(request: Request, db: DbDep, actor: Actor, code: str, *, sku: str | None = None,
                 order: str = "newest", history: bool = False, errors: list[FieldError] | None = None,
                 status_code: int = 200) -> HTMLResponse:
    with db.read() as session:
        serial = serials.get_serial(session, code, sku=sku, scope=actor.sites("serial.view"))
        row = assemblies.serial_named(session, code, field_name="code", sku=serial["sku"])
        parts = assemblies.children(session, row.id, history=history)
        sites = _sites(session, actor.sites("serial.edit")) if actor.can("serial.edit") else []
    events = serial["events"] if order == "oldest" else list(reversed(serial["events"]))
    return _page(request, "serial.html", actor, status_code=status_code, serial=serial,
                 events=events, order=order, parts=parts, history=history, edit_sites=sites,
                 can_edit=actor.can("serial.edit"), fates=assemblies.FATES, errors=errors or [])


@router.post("/serials/{code}/install", response_model=None)
async def install(code: str, request: Request, db: DbDep, actor: Editor) -> Response:
    """Install a component (child code) in this unit."""
    return await _assembly(code, "install", request, db, actor)


@router.post("/serials/{code}/remove", response_model=None)
async def remove(code: str, request: Request, db: DbDep, actor: Editor) -> Response:
    """Take one of this unit's components out (fate, site, reason)."""
    return await _assembly(code, "remove", request, db, actor)


async def _assembly(code: str, action: str, request: Request, db: DbDep, actor: Actor) -> Response:
    """A refusal shows the unit's page again with why."""
    form = await request.form()
    check_csrf(request, str(form.get("csrf_token", "")), actor)
    values = {k: str(form.get(k) or "").strip() for k in ("child", "fate", "site", "reason", "key")}
    child, problems = scanned_code(values["child"])
    meta = Meta(actor, idempotency_key=values["key"] or None)
    try:
        if child is None:
            raise ValidationFailed(problems or [FieldError("child", "is required")])
        units_in_scope(db, request, actor, code, child)
        if action == "install":
            assemblies.install(db.uow(), meta, parent=code, child=child)
        else:
            in_scope(db, request, actor, "serial.edit", values["site"] or None)
            assemblies.remove(db.uow(), meta, child=child, fate=values["fate"],
                              site=values["site"] or None, reason=values["reason"])
    except DomainError as exc:
        status = exc.status if exc.status != 400 else 422
        return _serial_view(request, db, actor, code, errors=_errors(locale_of(request), exc),
                            status_code=status)
    return RedirectResponse(f"/serials/{quote(code, safe='')}", status_code=303)
