"""Calendar event pages (节假日与活动): the list by date — upcoming first, then the past — with
search and pages, the add form, and deleting after a confirmation step. Viewing takes
planning.view; changing takes planning.edit at every site (events concern every site)."""

from datetime import UTC, date, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from cangliu.core.errors import DomainError, FieldError
from cangliu.core.permissions import Actor
from cangliu.db.models.calendar import KINDS
from cangliu.db.uow import Database
from cangliu.services import calendar_events
from cangliu.web.deps import DbDep, check_csrf, page_permit
from cangliu.web.export import answer, wants_export
from cangliu.web.pages.masterdata import _errors
from cangliu.web.pages.render import render
from cangliu.web.problems import locale_of

router = APIRouter(include_in_schema=False)
Viewer = Annotated[Actor, page_permit("planning.view")]
Editor = Annotated[Actor, page_permit("planning.edit")]
BASE = "/planning/events"
PAGE_SIZE = 50
FORM_FIELDS = ("day", "name", "kind")


def _today() -> date:
    return datetime.now(UTC).date()


def _list(request: Request, db: Database, actor: Actor, *, values: dict[str, str] | None = None,
          errors: list[FieldError] | None = None, status_code: int = 200,
          confirm: dict[str, Any] | None = None) -> HTMLResponse:
    q = (request.query_params.get("q") or "").strip()
    cursor = request.query_params.get("cursor") or None
    items: list[dict[str, Any]] = []
    nxt = None
    errors = list(errors or [])
    try:
        with db.read() as session:
            items, nxt = calendar_events.list_events(session, today=_today(), q=q or None,
                                                     after=cursor, limit=PAGE_SIZE)
    except DomainError as exc:
        errors += _errors(locale_of(request), exc)
        status_code = max(status_code, 422)
    by_field = {e.field: e.message for e in errors if e.field in FORM_FIELDS}
    return render(request, "calendar_events.html", actor, status_code=status_code, items=items,
                  next_cursor=nxt, q=q, values=values or {}, by_field=by_field, kinds=KINDS,
                  others=[e for e in errors if e.field not in FORM_FIELDS],
                  today=_today().isoformat(), confirm=confirm,
                  can_edit=actor.sites("planning.edit") is None)


EXPORT_COLUMNS = (("day", "Day"), ("name", "Name"), ("kind", "Kind"), ("source", "Source"))
KIND_LABELS = {"national": "National holiday", "religious": "Religious", "cultural": "Cultural",
               "sporting": "Sporting", "commercial": "Commercial", "other": "Other"}
SOURCE_LABELS = {"manual": "Typed in", "import": "Imported"}


@router.get(BASE, response_class=HTMLResponse, response_model=None)
def list_page(request: Request, db: DbDep, actor: Viewer) -> Response:
    fmt = wants_export(request)
    if not fmt:
        return _list(request, db, actor)
    q = (request.query_params.get("q") or "").strip() or None
    with db.read() as session:
        return answer(request, actor, "planning", lambda after: calendar_events.list_events(
            session, today=_today(), q=q, after=after, limit=1000), EXPORT_COLUMNS, fmt=fmt,
            filename="calendar-events", labels={"kind": KIND_LABELS, "source": SOURCE_LABELS})


def _date(raw: str) -> date | None:
    try:
        return date.fromisoformat(raw)
    except ValueError:
        return None  # the service names the field


@router.post(BASE, response_model=None)
async def add(request: Request, db: DbDep, actor: Editor) -> HTMLResponse | RedirectResponse:
    form = await request.form()
    check_csrf(request, str(form.get("csrf_token", "")), actor)
    values = {k: str(form.get(k) or "").strip() for k in FORM_FIELDS}
    try:
        calendar_events.add(db.uow(), actor, day=_date(values["day"]), name=values["name"],
                            kind=values["kind"])
    except DomainError as exc:
        return _list(request, db, actor, values=values, errors=_errors(locale_of(request), exc),
                     status_code=exc.status if exc.status != 400 else 422)
    return RedirectResponse(f"{BASE}?added=1", status_code=303)


def _event(db: Database, event_id: int) -> dict[str, Any]:
    with db.read() as session:
        return calendar_events.get(session, event_id)


@router.get(f"{BASE}/{{event_id}}/delete", response_class=HTMLResponse)
def delete_page(event_id: int, request: Request, db: DbDep, actor: Editor) -> HTMLResponse:
    """The confirmation step: which event goes, and the button that deletes it."""
    return _list(request, db, actor, confirm=_event(db, event_id))


@router.post(f"{BASE}/{{event_id}}/delete", response_model=None)
async def delete(event_id: int, request: Request, db: DbDep, actor: Editor
                 ) -> HTMLResponse | RedirectResponse:
    form = await request.form()
    check_csrf(request, str(form.get("csrf_token", "")), actor)
    try:
        calendar_events.remove(db.uow(), actor, event_id)
    except DomainError as exc:
        return _list(request, db, actor, errors=_errors(locale_of(request), exc),
                     status_code=exc.status)
    return RedirectResponse(f"{BASE}?deleted=1", status_code=303)
