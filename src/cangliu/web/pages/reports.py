"""The reports page (报表): kept reports by kind with pagination and downloads, generating one
now (confirmed in the browser), and the reader's report subscriptions (and the roles', for
administrators). Permissions as in the API (web/api/reports.py)."""

from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Request, Response
from fastapi.responses import HTMLResponse, RedirectResponse

from cangliu.core.errors import DomainError, FieldError, ValidationFailed
from cangliu.core.permissions import Actor
from cangliu.services import reports, roles
from cangliu.web.api.reports import network_wide
from cangliu.web.deps import DbDep, check_csrf, page_permit
from cangliu.web.pages.masterdata import _errors
from cangliu.web.pages.render import render
from cangliu.web.problems import locale_of

router = APIRouter(include_in_schema=False)
Viewer = Annotated[Actor, page_permit("report.view")]
Exporter = Annotated[Actor, page_permit("report.export")]
PAGE = 30
KINDS = {"daily": "Daily", "weekly": "Weekly", "monthly": "Monthly"}
CHANNELS = {"in_app": "In-app", "email": "E-mail"}


@router.get("/reports", response_class=HTMLResponse)
def reports_page(request: Request, db: DbDep, actor: Viewer, kind: str = "",
                 cursor: str | None = None, done: str = "") -> HTMLResponse:
    return _page(request, db, actor, kind=kind, cursor=cursor, done=done)


def _page(request: Request, db: DbDep, actor: Actor, *, kind: str = "", cursor: str | None = None,
          done: str = "", errors: list[FieldError] | None = None, status_code: int = 200,
          values: dict[str, str] | None = None) -> HTMLResponse:
    errors = list(errors or [])
    items: list[dict[str, Any]] = []
    nxt = None
    with db.read() as session:
        try:
            items, nxt = reports.list_reports(session, kind=kind or None, after=cursor,
                                              limit=PAGE)
        except DomainError as exc:
            errors += _errors(locale_of(request), exc)
            status_code = 422
        subscriptions = reports.list_subscriptions(session, actor)
    locale = locale_of(request)
    role_names = ({r["code"]: r["name_en"] if locale != "zh_CN" and r["name_en"] else r["name"]
                   for r in roles.list_roles(db.uow())} if actor.can("settings.view") else {})
    return render(request, "reports.html", actor, status_code=status_code, items=items,
                  next_cursor=nxt, kind=kind, done=done, errors=errors, kinds=KINDS,
                  channels=CHANNELS, subscriptions=subscriptions, role_names=role_names,
                  can_generate=actor.sites("report.export") is None,
                  can_download=actor.can("report.export") and actor.shows("valuation"),
                  values=values or {"kind": "daily", "period_start": ""})


@router.post("/reports/generate", response_model=None)
async def generate(request: Request, db: DbDep, actor: Exporter) -> Response:
    """Generate (or regenerate) one period's report now."""
    form = await request.form()
    check_csrf(request, str(form.get("csrf_token", "")), actor)
    network_wide(request, actor, "report.export")
    values = {k: str(form.get(k) or "").strip() for k in ("kind", "period_start")}
    try:
        start = _date(values["period_start"])
        reports.generate(db.uow(), values["kind"], start, by=actor.username)
    except DomainError as exc:
        return _page(request, db, actor, errors=_errors(locale_of(request), exc),
                     status_code=exc.status if exc.status != 400 else 422, values=values)
    return RedirectResponse(f"/reports?kind={values['kind']}&done=generated", status_code=303)


def _date(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise ValidationFailed.single("period_start", "must be a date (YYYY-MM-DD)") from None


@router.post("/reports/subscriptions", response_model=None)
async def subscribe(request: Request, db: DbDep, actor: Viewer) -> Response:
    form = await request.form()
    check_csrf(request, str(form.get("csrf_token", "")), actor)
    try:
        reports.subscribe(db.uow(), actor, kind=str(form.get("kind") or ""),
                          channel=str(form.get("channel") or "in_app"),
                          role=str(form.get("role") or "").strip() or None)
    except DomainError as exc:
        return _page(request, db, actor, errors=_errors(locale_of(request), exc),
                     status_code=exc.status if exc.status != 400 else 422)
    return RedirectResponse("/reports?done=subscribed#subscriptions", status_code=303)


@router.post("/reports/subscriptions/{subscription_id}/delete", response_model=None)
async def unsubscribe(subscription_id: int, request: Request, db: DbDep, actor: Viewer
                      ) -> Response:
    form = await request.form()
    check_csrf(request, str(form.get("csrf_token", "")), actor)
    try:
        reports.unsubscribe(db.uow(), actor, subscription_id)
    except DomainError as exc:
        return _page(request, db, actor, errors=_errors(locale_of(request), exc),
                     status_code=exc.status)
    return RedirectResponse("/reports?done=unsubscribed#subscriptions", status_code=303)
