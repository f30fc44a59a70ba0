"""计划参数 / Planning settings (service levels, review period, default lead times), and one SKU ×
site's thresholds: the levels in force with their explanation and inputs, their history, the
overrides and a form to set them by hand."""

from datetime import UTC, date, datetime
from decimal import Decimal, InvalidOperation
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse

from cangliu.core.errors import DomainError, FieldError, StaleVersion, ValidationFailed
from cangliu.core.permissions import Actor
from cangliu.core.planning import z_for
from cangliu.db import queries
from cangliu.i18n import translate
from cangliu.services import planning_settings, thresholds
from cangliu.web.deps import DbDep, Forbidden, check_csrf, deny, in_scope, page_permit
from cangliu.web.pages.locks import conflict_of
from cangliu.web.pages.render import render
from cangliu.web.problems import locale_of

router = APIRouter(include_in_schema=False)
CanViewPlanning = Annotated[Actor, page_permit("planning.view")]
CanEditPlanning = Annotated[Actor, page_permit("planning.edit")]
CanEditSettings = Annotated[Actor, page_permit("settings.edit")]
HISTORY_PAGE = 20
OVERRIDE_FIELDS = ("safety_stock", "reorder_point", "max_stock", "reason", "expires_on")
# Inputs a computed row may carry beyond the formula's (newer rows: backtest, lifecycle, route).
EXTRA_INPUTS = ("mase", "bias", "lifecycle", "route")


def _errors(locale: str, exc: DomainError) -> list[FieldError]:
    if isinstance(exc, ValidationFailed):
        return [FieldError(e.field, translate(locale, e.message, **e.params)) for e in exc.errors]
    return [FieldError("", translate(locale, exc.message, **exc.params))]


def _z(percent: str) -> str:
    """The z a typed service level gives ("" while it is not a valid level)."""
    try:
        level = Decimal(percent.strip()) / 100
    except (InvalidOperation, AttributeError):
        return ""
    return f"{z_for(float(level)):.3f}" if level.is_finite() and 0.5 < level < 1 else ""


def _settings_page(request: Request, actor: Actor, stored: planning_settings.Stored,
                   values: dict[str, str], status_code: int = 200,
                   errors: list[FieldError] | None = None, conflict: Any = None) -> HTMLResponse:
    z = {c: _z(values.get(f"service_level_{c}", "")) for c in planning_settings.CLASSES}
    return render(request, "admin_planning_settings.html", actor, status_code=status_code,
                  stored=stored, values=values, z=z, errors=errors or [], conflict=conflict,
                  can_edit=actor.can("settings.edit"))


@router.get("/admin/planning-settings", response_class=HTMLResponse)
def settings_page(request: Request, db: DbDep, actor: CanViewPlanning) -> HTMLResponse:
    with db.read() as session:
        stored = planning_settings.state(session)
    return _settings_page(request, actor, stored, planning_settings.as_fields(stored.settings))


@router.get("/admin/planning-settings/z", response_class=HTMLResponse)
def z_of(request: Request, actor: CanViewPlanning) -> HTMLResponse:
    """The z beside a service level input, recomputed as the user types (htmx)."""
    for cls in planning_settings.CLASSES:
        typed = request.query_params.get(f"service_level_{cls}")
        if typed is not None:
            return HTMLResponse(f'<small class="muted" data-z="{cls}">z = {_z(typed) or "—"}'
                                "</small>")
    return HTMLResponse("", status_code=422)


@router.post("/admin/planning-settings", response_model=None)
async def save_settings(request: Request, db: DbDep, actor: CanEditSettings
                        ) -> HTMLResponse | RedirectResponse:
    form = await request.form()
    check_csrf(request, str(form.get("csrf_token", "")), actor)
    values = {name: str(form.get(name) or "").strip() for name in planning_settings.FIELDS}
    raw_version = str(form.get("version") or "")
    version = int(raw_version) if raw_version.isdigit() else -1  # a tampered form is stale
    try:
        planning_settings.save(db.uow(), actor, values, version=version)
    except (ValidationFailed, StaleVersion) as exc:
        with db.read() as session:
            stored = planning_settings.state(session)
        status = 409 if isinstance(exc, StaleVersion) else 422
        return _settings_page(request, actor, stored, values, status,
                              _errors(locale_of(request), exc), conflict_of(exc))
    return RedirectResponse("/admin/planning-settings?saved=1", status_code=303)


# ---- one SKU × site's thresholds ------------------------------------------------------------


def _inputs(row: dict[str, Any] | None) -> dict[str, Any]:
    """A computed row's inputs, the optional ones included when the row has them."""
    if row is None:
        return {}
    inputs = dict(row.get("inputs") or {})
    for name in EXTRA_INPUTS:
        if inputs.get(name) is None and row.get(name) is not None:
            inputs[name] = row[name]
    return inputs


def _threshold_page(request: Request, db: Any, actor: Actor, sku: str, site: str, page: int,
                    status_code: int = 200, values: dict[str, str] | None = None,
                    errors: list[FieldError] | None = None) -> HTMLResponse:
    today = datetime.now(UTC).date()
    with db.read() as session:
        story = thresholds.history(session, sku, site)
        levels = thresholds.by_code(session, today, [(sku, site)]).get((sku, site))
    site_id = queries.site_of(db.uow(), site)
    computed = story["computed"]
    start = (page - 1) * HISTORY_PAGE
    return render(request, "threshold.html", actor, status_code=status_code, sku=sku, site=site,
                  levels=levels, latest=computed[0] if computed else None,
                  inputs=_inputs(computed[0] if computed else None), extra_inputs=EXTRA_INPUTS,
                  computed=computed[start:start + HISTORY_PAGE], page=page,
                  has_next=len(computed) > start + HISTORY_PAGE, overrides=story["overrides"],
                  can_override=actor.can("planning.edit", site_id), today=today.isoformat(),
                  values=values or {}, errors=errors or [])


@router.get("/planning/thresholds/{sku}/{site}", response_class=HTMLResponse)
def threshold_page(sku: str, site: str, request: Request, db: DbDep, actor: CanViewPlanning,
                   page: Annotated[int, Query(ge=1, le=1000)] = 1) -> HTMLResponse:
    in_scope(db, request, actor, "planning.view", site)
    return _threshold_page(request, db, actor, sku, site, page)


def _expiry(raw: str) -> date:
    try:
        return date.fromisoformat(raw)
    except ValueError:
        raise ValidationFailed.single("expires_on", "must be a date (YYYY-MM-DD)") from None


@router.post("/planning/thresholds/{sku}/{site}/override", response_model=None)
async def override(sku: str, site: str, request: Request, db: DbDep, actor: CanEditPlanning
                   ) -> HTMLResponse | RedirectResponse:
    form = await request.form()
    check_csrf(request, str(form.get("csrf_token", "")), actor)
    in_scope(db, request, actor, "planning.view", site)
    if not actor.can("planning.edit", queries.site_of(db.uow(), site)):
        raise deny(request, Forbidden("Your role may not do this here"), actor)
    values = {name: str(form.get(name) or "").strip() for name in OVERRIDE_FIELDS}
    try:
        thresholds.override(db.uow(), actor, sku=sku, site=site,
                            safety_stock=values["safety_stock"],
                            reorder_point=values["reorder_point"], max_stock=values["max_stock"],
                            reason=values["reason"], expires_on=_expiry(values["expires_on"]))
    except ValidationFailed as exc:
        return _threshold_page(request, db, actor, sku, site, 1, 422, values,
                               _errors(locale_of(request), exc))
    return RedirectResponse(f"/planning/thresholds/{sku}/{site}?saved=1", status_code=303)
