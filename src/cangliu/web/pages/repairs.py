"""Repair pages (维修/保修): the ticket list with search and filters, opening a ticket by scanning
a serial (its warranty shown at once), and one ticket with its unit, actions timeline, part
replacement, close and cancel. Viewing needs serial.view, opening serial.create, working on a
ticket serial.edit at its service site."""

from datetime import UTC, datetime
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Request, Response
from fastapi.responses import HTMLResponse, RedirectResponse

from cangliu.core.errors import DomainError, FieldError, ValidationFailed
from cangliu.core.permissions import Actor
from cangliu.db.uow import Database
from cangliu.services import masterdata, repairs
from cangliu.services.postings import Meta
from cangliu.web.api.repairs import guard
from cangliu.web.deps import DbDep, check_csrf, in_scope, page_permit
from cangliu.web.export import answer, wants_export
from cangliu.web.export import sites as export_sites
from cangliu.web.pages.render import render
from cangliu.web.pages.serials import STATUS_LABELS as SERIAL_LABELS
from cangliu.web.pages.transfers import errors_of

router = APIRouter(include_in_schema=False)
Viewer = Annotated[Actor, page_permit("serial.view")]
Creator = Annotated[Actor, page_permit("serial.create")]
Editor = Annotated[Actor, page_permit("serial.edit")]
PAGE = 50
LABELS = {
    "open": "Open", "in_progress": "In progress", "closed": "Closed", "cancelled": "Cancelled",
    "in_warranty": "In warranty", "out_of_warranty": "Out of warranty",
    "unknown": "Warranty unknown", "diagnose": "Diagnosis", "repair": "Repair",
    "replace_part": "Part replaced", "test": "Test", "note": "Note",
    "scrapped": "Scrapped", "repaired": "Repaired", **SERIAL_LABELS, "installed": "Installed",
}
# What became of a replaced part.
FATE_LABELS = {"returned": "Returned to its supplier", "scrapped": "Scrapped"}
FILTERS = ("status", "warranty", "sku", "serial", "customer", "site", "q")


def _page(request: Request, name: str, actor: Actor, status_code: int = 200,
          **context: Any) -> HTMLResponse:
    return render(request, name, actor, status_code=status_code, labels=LABELS,
                  fate_labels=FATE_LABELS, **context)


EXPORT_COLUMNS = (("number", "Number"), ("status", "Status"), ("serial", "Serial"), ("sku", "SKU"),
                  ("sku_name", "Name"), ("customer", "Customer"), ("site", "Service site"),
                  ("fault_code", "Fault code"), ("fault", "Fault"), ("warranty", "Warranty"),
                  ("opened_at", "Opened"), ("closed_at", "Closed"))


@router.get("/repairs", response_class=HTMLResponse, response_model=None)
def list_page(request: Request, db: DbDep, actor: Viewer, status: str = "", warranty: str = "",
              sku: str = "", serial: str = "", customer: str = "", site: str = "", q: str = "",
              cursor: str | None = None) -> Response:
    given = dict(zip(FILTERS, (status, warranty, sku, serial, customer, site, q), strict=True))
    filters = {k: v.strip() for k, v in given.items()}
    items: list[dict[str, Any]] = []
    nxt, errors, code, fmt = None, [], 200, wants_export(request)
    try:
        with db.read() as session:
            found = repairs.Filters(**{k: v or None for k, v in filters.items()},
                                    scope=export_sites(actor, "serial") if fmt
                                    else actor.sites("serial.view"))
            if fmt:
                return answer(request, actor, "serial", lambda after: repairs.list_tickets(
                    session, found, after=after, limit=1000), EXPORT_COLUMNS, fmt=fmt,
                    filename="repairs", labels={"status": LABELS, "warranty": LABELS})
            items, nxt = repairs.list_tickets(session, found, after=cursor, limit=PAGE)
    except DomainError as exc:
        if fmt:
            raise
        errors, code = errors_of(request, exc), exc.status
    return _page(request, "repairs.html", actor, code, items=items, next_cursor=nxt,
                 filters=filters, errors=errors, statuses=repairs.STATUSES,
                 warranties=repairs.WARRANTIES, query="&".join(
                     f"{k}={quote(v, safe='')}" for k, v in filters.items() if v))


def _sites(db: Database, actor: Actor) -> list[dict[str, Any]]:
    with db.read() as session:
        return list(masterdata.list_records(session, "site", limit=500,
                                            scope=actor.sites("serial.create"))[0])


def _new(request: Request, db: Database, actor: Actor, values: dict[str, str],
         errors: list[FieldError] | None = None, status_code: int = 200) -> HTMLResponse:
    """The form, with what a scan of the serial says (unit, warranty, why not) when one is given."""
    unit = None
    if values.get("serial"):
        with db.read() as session:
            unit = repairs.check_unit(session, values["serial"], today=datetime.now(UTC).date())
        unit["problems"] = errors_of(request, ValidationFailed(unit["problems"])) if unit["problems"] else []
    return _page(request, "repair_new.html", actor, status_code, values=values, unit=unit,
                 sites=_sites(db, actor), errors=errors or [])


@router.get("/repairs/new", response_class=HTMLResponse)
def new_page(request: Request, db: DbDep, actor: Creator, serial: str = "") -> HTMLResponse:
    return _new(request, db, actor, {"serial": serial.strip()})


async def _form(request: Request, actor: Actor, names: tuple[str, ...]) -> dict[str, str]:
    form = await request.form()
    check_csrf(request, str(form.get("csrf_token", "")), actor)
    return {k: str(form.get(k) or "").strip() for k in names}


@router.post("/repairs/new", response_model=None)
async def create(request: Request, db: DbDep, actor: Creator) -> Response:
    values = await _form(request, actor, ("serial", "fault", "fault_code", "customer", "site",
                                          "key"))
    try:
        in_scope(db, request, actor, "serial.create", values["site"] or None)
        ticket = repairs.open_ticket(
            db.uow(), Meta(actor, idempotency_key=values["key"] or None),
            serial=values["serial"], fault=values["fault"], fault_code=values["fault_code"],
            customer=values["customer"] or None, site=values["site"] or None,
            scope=actor.sites("serial.create"))
    except DomainError as exc:
        return _new(request, db, actor, values, errors_of(request, exc),
                    exc.status if exc.status != 400 else 422)
    return RedirectResponse(f"/repairs/{quote(ticket['number'], safe='')}", status_code=303)


def turnaround(seconds: float | None) -> dict[str, int] | None:
    """Closed − opened, as whole days, hours and minutes."""
    if seconds is None:
        return None
    minutes = int(seconds) // 60
    return {"days": minutes // 1440, "hours": minutes % 1440 // 60, "minutes": minutes % 60}


def _ticket(request: Request, db: Database, actor: Actor, number: str,
            errors: list[FieldError] | None = None, status_code: int = 200,
            values: dict[str, str] | None = None) -> HTMLResponse:
    with db.read() as session:
        ticket = repairs.get_ticket(session, number, scope=actor.sites("serial.view"))
    return _page(request, "repair.html", actor, status_code, t=ticket,
                 turnaround=turnaround(ticket["turnaround_seconds"]), errors=errors or [],
                 values=values or {}, kinds=("diagnose", "repair", "test", "note"),
                 fates=repairs.FATES, outcomes=repairs.OUTCOMES)


@router.get("/repairs/{number}", response_class=HTMLResponse)
def ticket_page(number: str, request: Request, db: DbDep, actor: Viewer) -> HTMLResponse:
    return _ticket(request, db, actor, number)


async def _act(request: Request, db: Database, actor: Actor, number: str,
               names: tuple[str, ...], work: Any) -> Response:
    """One ticket form: checked, done once per form key, then the ticket again (with what
    was wrong and the input kept, when refused)."""
    values = await _form(request, actor, ("version", "key", *names))
    guard(db, request, actor, number, "serial.edit")
    meta = Meta(actor, idempotency_key=values["key"] or None)
    try:
        version = int(values["version"]) if values["version"].isdigit() else 0
        work(meta, version, values)
    except DomainError as exc:
        return _ticket(request, db, actor, number, errors_of(request, exc),
                       exc.status if exc.status != 400 else 422, values)
    return RedirectResponse(f"/repairs/{quote(number, safe='')}", status_code=303)


@router.post("/repairs/{number}/actions", response_model=None)
async def add_action(number: str, request: Request, db: DbDep, actor: Editor) -> Response:
    names = ("kind", "note", "old_serial", "old_part_fate", "new_serial")
    return await _act(request, db, actor, number, names, lambda meta, version, v: (
        repairs.add_action(db.uow(), meta, number=number, version=version, kind=v["kind"],
                           note=v["note"], old_serial=v["old_serial"] or None,
                           new_serial=v["new_serial"] or None,
                           old_part_fate=v["old_part_fate"] if v["old_serial"] else "")))


@router.post("/repairs/{number}/close", response_model=None)
async def close(number: str, request: Request, db: DbDep, actor: Editor) -> Response:
    return await _act(request, db, actor, number, ("outcome", "resolution"),
                      lambda meta, version, v: repairs.close_ticket(
                          db.uow(), meta, number=number, version=version,
                          outcome=v["outcome"], resolution=v["resolution"]))


@router.post("/repairs/{number}/cancel", response_model=None)
async def cancel(number: str, request: Request, db: DbDep, actor: Editor) -> Response:
    return await _act(request, db, actor, number, (), lambda meta, version, _v: (
        repairs.cancel_ticket(db.uow(), meta, number=number, version=version)))
