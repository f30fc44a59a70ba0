"""Recall pages (召回): the list with search, the trace form with its preview and the reason to
open a recall, and one recall with its units, the hold and close buttons (each confirmed) and
the Excel export. Permissions as in the API (web/api/recalls.py)."""

from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Request, Response
from fastapi.responses import HTMLResponse, RedirectResponse

from cangliu.core.errors import DomainError, FieldError
from cangliu.core.permissions import Actor
from cangliu.services import recalls
from cangliu.services.postings import Meta
from cangliu.web.api.recalls import network_wide
from cangliu.web.deps import DbDep, check_csrf, page_permit
from cangliu.web.export import answer, wants_export
from cangliu.web.pages.masterdata import _errors
from cangliu.web.pages.render import render
from cangliu.web.pages.serials import STATUS_LABELS
from cangliu.web.problems import locale_of

router = APIRouter(include_in_schema=False)
Viewer = Annotated[Actor, page_permit("serial.view")]
Editor = Annotated[Actor, page_permit("serial.edit")]
PAGE = 50
PREVIEW = 200
STATUSES = {**STATUS_LABELS, "installed": "Installed"}
FORM_FIELDS = ("sku", "lot", "serial", "reason")


def _page(request: Request, name: str, actor: Actor, **context: Any) -> HTMLResponse:
    return render(request, name, actor, status_labels=STATUSES, **context)


EXPORT_COLUMNS = (("number", "Recall"), ("sku", "SKU"), ("sku_name", "Name"), ("lot", "Lot"),
                  ("serial", "Serial"), ("reason", "Reason"), ("unit_count", "Units"),
                  ("held_count", "Held"), ("status", "Status"), ("created_at", "Created"),
                  ("created_by", "Created by"))


@router.get("/recalls", response_class=HTMLResponse, response_model=None)
def list_page(request: Request, db: DbDep, actor: Viewer, q: str = "", status: str = "",
              cursor: str | None = None) -> Response:
    filters = {"q": q.strip(), "status": status}
    items: list[dict[str, Any]] = []
    nxt, errors, fmt = None, [], wants_export(request)
    try:
        with db.read() as session:
            def fetch(after: str | None, limit: int = PAGE) -> Any:
                return recalls.list_recalls(session, q=filters["q"] or None,
                                            status=status or None, after=after, limit=limit)
            if fmt:
                return answer(request, actor, "serial", lambda after: fetch(after, 1000),
                              EXPORT_COLUMNS, fmt=fmt, filename="recalls",
                              labels={"status": {"open": "Open", "closed": "Closed"}})
            items, nxt = fetch(cursor)
    except DomainError as exc:
        if fmt:
            raise
        errors = _errors(locale_of(request), exc)
    return _page(request, "recalls.html", actor, items=items, next_cursor=nxt, filters=filters,
                 errors=errors)


@router.get("/recalls/new", response_class=HTMLResponse)
def new_page(request: Request, db: DbDep, actor: Viewer, sku: str = "", lot: str = "",
             serial: str = "") -> HTMLResponse:
    """The trace form; with a SKU given, the units it finds (a preview: nothing is saved)."""
    values = {"sku": sku.strip(), "lot": lot.strip(), "serial": serial.strip(), "reason": ""}
    return _new_form(request, db, actor, values, preview=bool(values["sku"]))


def _new_form(request: Request, db: DbDep, actor: Actor, values: dict[str, str], *,
              preview: bool, errors: list[FieldError] | None = None,
              status_code: int = 200) -> HTMLResponse:
    rows: list[dict[str, Any]] = []
    errors = list(errors or [])
    if preview:
        try:
            with db.read() as session:
                rows = recalls.trace(session, values["sku"], values["lot"], values["serial"],
                                     scope=actor.sites("serial.view"))
        except DomainError as exc:
            errors += _errors(locale_of(request), exc)
            status_code = exc.status if exc.status != 400 else 422
    return _page(request, "recall_new.html", actor, status_code=status_code, values=values,
                 rows=rows[:PREVIEW], summary=recalls.summary(rows) if rows else None,
                 truncated=len(rows) > PREVIEW, preview_limit=PREVIEW,
                 by_field={e.field: e.message for e in errors if e.field in FORM_FIELDS},
                 others=[e for e in errors if e.field not in FORM_FIELDS])


@router.post("/recalls/new", response_model=None)
async def create(request: Request, db: DbDep, actor: Editor) -> Response:
    form = await request.form()
    check_csrf(request, str(form.get("csrf_token", "")), actor)
    values = {k: str(form.get(k) or "").strip() for k in FORM_FIELDS}
    network_wide(request, actor, "serial.edit")
    meta = Meta(actor=actor, idempotency_key=str(form.get("key") or "") or None)
    try:
        made = recalls.create(db.uow(), meta, sku=values["sku"], lot=values["lot"] or None,
                              serial=values["serial"] or None, reason=values["reason"])
    except DomainError as exc:
        return _new_form(request, db, actor, values, preview=bool(values["sku"]),
                         errors=_errors(locale_of(request), exc),
                         status_code=exc.status if exc.status != 400 else 422)
    return RedirectResponse(f"/recalls/{quote(made['number'], safe='')}", status_code=303)


@router.get("/recalls/{number}", response_class=HTMLResponse)
def recall_page(number: str, request: Request, db: DbDep, actor: Viewer,
                cursor: str | None = None, done: str = "") -> HTMLResponse:
    return _recall(request, db, actor, number, cursor=cursor, done=done)


def _recall(request: Request, db: DbDep, actor: Actor, number: str, *,
            cursor: str | None = None, done: str = "", errors: list[FieldError] | None = None,
            status_code: int = 200) -> HTMLResponse:
    with db.read() as session:
        recall = recalls.get_recall(session, number, after=cursor, limit=PAGE,
                                    scope=actor.sites("serial.view"))
    return _page(request, "recall.html", actor, status_code=status_code, recall=recall,
                 to_hold=recall["not_held"].get("in_stock", 0), done=done,
                 errors=errors or [])


@router.post("/recalls/{number}/{action}", response_model=None)
async def act(number: str, action: str, request: Request, db: DbDep, actor: Editor) -> Response:
    """Hold or close (each confirmed in the browser first)."""
    form = await request.form()
    check_csrf(request, str(form.get("csrf_token", "")), actor)
    network_wide(request, actor, "serial.edit")
    run = {"hold": recalls.hold, "close": recalls.close}.get(action)
    if run is None:
        return _recall(request, db, actor, number, status_code=404)
    meta = Meta(actor=actor, idempotency_key=str(form.get("key") or "") or None)
    try:
        run(db.uow(), meta, number)
    except DomainError as exc:
        return _recall(request, db, actor, number, errors=_errors(locale_of(request), exc),
                       status_code=exc.status if exc.status != 400 else 422)
    return RedirectResponse(f"/recalls/{quote(number, safe='')}?done={action}",
                            status_code=303)
