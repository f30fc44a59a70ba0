"""Promotion calendar pages (促销): the list by start date with state badges, search, filters and
pages; the new / edit form; cancelling after a confirmation step."""

from datetime import UTC, date, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy import select

from cangliu.core.errors import DomainError, FieldError, StaleVersion
from cangliu.core.locations import LocationKind
from cangliu.core.permissions import Actor
from cangliu.db.models import Location
from cangliu.db.uow import Database
from cangliu.i18n import translate
from cangliu.services import promotions
from cangliu.web.deps import DbDep, check_csrf, page_permit
from cangliu.web.export import answer, wants_export
from cangliu.web.pages.locks import conflict_of
from cangliu.web.pages.masterdata import _errors
from cangliu.web.pages.render import render
from cangliu.web.problems import locale_of

router = APIRouter(include_in_schema=False)
Viewer = Annotated[Actor, page_permit("planning.view")]
Editor = Annotated[Actor, page_permit("planning.edit")]
BASE = "/planning/promotions"
FILTERS = ("q", "state", "site", "sku")


def _today() -> date:
    return datetime.now(UTC).date()


def _sites(db: Database, actor: Actor) -> list[tuple[str, str]]:
    """The sites a user may pick: those where they plan (all of them when unscoped)."""
    scope = actor.sites("planning.view")
    query = select(Location.code, Location.name).where(
        Location.kind == LocationKind.SITE.value, Location.deleted_at.is_(None))
    if scope is not None:
        query = query.where(Location.id.in_(scope))
    with db.read() as session:
        return [(c, n) for c, n in session.execute(query.order_by(Location.code))]


EXPORT_COLUMNS = (("code", "Code"), ("name", "Name"), ("state", "State"), ("starts_on", "Starts on"),
                  ("ends_on", "Ends on"), ("uplift_pct", "Uplift %"), ("skus", "SKUs"),
                  ("sites", "Sites"))
STATE_LABELS = {"upcoming": "Starting soon", "running": "In progress", "past": "Ended",
                "cancelled": "cancelled"}


def _export(request: Request, actor: Actor, fmt: str, fetch: Any) -> Response:
    """Every promotion the filters match; no SKUs (sites) listed means all of them, as shown."""
    every = {"skus": translate(locale_of(request), "All SKUs"),
             "sites": translate(locale_of(request), "All sites")}

    def page(after: str | None) -> Any:
        items, nxt = fetch(after, 1000)
        return [{**p, **{k: v for k, v in every.items() if not p[k]}} for p in items], nxt
    return answer(request, actor, "planning", page, EXPORT_COLUMNS, fmt=fmt,
                  filename="promotions", labels={"state": STATE_LABELS})


@router.get(BASE, response_class=HTMLResponse, response_model=None)
def list_page(request: Request, db: DbDep, actor: Viewer, cursor: str | None = None
              ) -> Response:
    filters = {k: (request.query_params.get(k) or "").strip() for k in FILTERS}
    filters["state"] = filters["state"] or "all"
    errors: list[FieldError] = []
    items: list[dict[str, Any]] = []
    nxt, fmt = None, wants_export(request)
    try:
        with db.read() as session:
            def fetch(after: str | None, limit: int = 50) -> Any:
                return promotions.list_promotions(
                    session, today=_today(), q=filters["q"] or None, state=filters["state"],
                    site=filters["site"] or None, sku=filters["sku"] or None, after=after,
                    limit=limit, scope=actor.sites("planning.view"))
            if fmt:
                return _export(request, actor, fmt, fetch)
            items, nxt = fetch(cursor)
    except DomainError as exc:
        if fmt:
            raise
        errors = _errors(locale_of(request), exc)
    return render(request, "promotions.html", actor, status_code=422 if errors else 200,
                  items=items, next_cursor=nxt, filters=filters, errors=errors,
                  sites=_sites(db, actor), states=promotions.STATES)


def _codes(raw: Any) -> list[str]:
    return [c.strip().upper() for c in str(raw or "").replace("，", ",").split(",") if c.strip()]


def _date(raw: Any) -> date | None:
    try:
        return date.fromisoformat(str(raw or "").strip())
    except ValueError:
        return None  # the service names the field


def _values(form: Any) -> dict[str, Any]:
    """The form's strings as they were typed (shown again after an error)."""
    values = {k: str(form.get(k) or "").strip()
              for k in ("code", "name", "starts_on", "ends_on", "uplift_pct", "note", "skus")}
    # Sites come from a multi-select (or, from a script, as comma-separated codes).
    return {**values, "sites": ", ".join(str(v) for v in form.getlist("sites") if str(v).strip())}


def _fields(values: dict[str, Any]) -> dict[str, Any]:
    return {"name": values["name"], "starts_on": _date(values["starts_on"]),
            "ends_on": _date(values["ends_on"]), "uplift_pct": values["uplift_pct"],
            "note": values["note"], "skus": _codes(values["skus"]),
            "sites": _codes(values["sites"])}


def _form(request: Request, db: Database, actor: Actor, record: dict[str, Any] | None,
          values: dict[str, Any], errors: list[FieldError] | None = None, status_code: int = 200,
          **extra: Any) -> HTMLResponse:
    return render(request, "promotion_form.html", actor, status_code=status_code, record=record,
                  values=values, errors=errors or [], sites=_sites(db, actor), **extra)


def _as_values(record: dict[str, Any]) -> dict[str, Any]:
    return {**record, "uplift_pct": str(record["uplift_pct"]),
            "skus": ", ".join(record["skus"]), "sites": ", ".join(record["sites"])}


@router.get(f"{BASE}/new", response_class=HTMLResponse)
def new_page(request: Request, db: DbDep, actor: Editor) -> HTMLResponse:
    return _form(request, db, actor, None, {})


@router.post(f"{BASE}/new", response_model=None)
async def create(request: Request, db: DbDep, actor: Editor) -> HTMLResponse | RedirectResponse:
    form = await request.form()
    check_csrf(request, str(form.get("csrf_token", "")), actor)
    values = _values(form)
    try:
        made = promotions.create(db.uow(), actor, code=values["code"], **_fields(values))
    except DomainError as exc:
        return _form(request, db, actor, None, values, _errors(locale_of(request), exc), 422)
    return RedirectResponse(f"{BASE}/{made['code']}?saved=1", status_code=303)


def _record(db: Database, actor: Actor, code: str) -> dict[str, Any]:
    with db.read() as session:
        return promotions.get(session, code, today=_today(), scope=actor.sites("planning.view"))


@router.get(f"{BASE}/{{code}}", response_class=HTMLResponse)
def edit_page(code: str, request: Request, db: DbDep, actor: Viewer) -> HTMLResponse:
    record = _record(db, actor, code)
    return _form(request, db, actor, record, _as_values(record))


@router.post(f"{BASE}/{{code}}", response_model=None)
async def update(code: str, request: Request, db: DbDep, actor: Editor
                 ) -> HTMLResponse | RedirectResponse:
    form = await request.form()
    check_csrf(request, str(form.get("csrf_token", "")), actor)
    record = _record(db, actor, code)
    values = _values(form)
    version = int(str(form.get("version"))) if str(form.get("version", "")).isdigit() else 0
    try:
        promotions.update(db.uow(), actor, record["code"], version, _fields(values))
    except DomainError as exc:
        stale = isinstance(exc, StaleVersion)
        current = _record(db, actor, code) if stale else record
        return _form(request, db, actor, current, {**values, "code": record["code"]},
                     _errors(locale_of(request), exc), 409 if stale else exc.status,
                     conflict=conflict_of(exc))
    return RedirectResponse(f"{BASE}/{record['code']}?saved=1", status_code=303)


@router.get(f"{BASE}/{{code}}/cancel", response_class=HTMLResponse)
def cancel_page(code: str, request: Request, db: DbDep, actor: Editor) -> HTMLResponse:
    """The confirmation step: what will be cancelled, and the button that does it."""
    return render(request, "promotion_cancel.html", actor, record=_record(db, actor, code),
                  errors=[])


@router.post(f"{BASE}/{{code}}/cancel", response_model=None)
async def cancel(code: str, request: Request, db: DbDep, actor: Editor
                 ) -> HTMLResponse | RedirectResponse:
    form = await request.form()
    check_csrf(request, str(form.get("csrf_token", "")), actor)
    record = _record(db, actor, code)
    version = int(str(form.get("version"))) if str(form.get("version", "")).isdigit() else 0
    try:
        promotions.cancel(db.uow(), actor, record["code"], version)
    except DomainError as exc:
        return render(request, "promotion_cancel.html", actor, status_code=exc.status,
                      record=_record(db, actor, code), errors=_errors(locale_of(request), exc))
    return RedirectResponse(f"{BASE}/{record['code']}?cancelled=1", status_code=303)
