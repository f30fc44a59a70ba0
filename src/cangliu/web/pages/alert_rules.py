"""Alert rule settings pages (预警规则): the list, and one rule's form — kind, parameters as JSON,
the condition beside the columns the kind offers, roles, sites, channels, cooldown,
auto-resolve, responses and escalation — refused per field keeping what was typed. Reading
needs settings.view, saving settings.edit."""

import json
from typing import Annotated, Any, Final

from fastapi import APIRouter, Request, Response
from fastapi.responses import HTMLResponse, RedirectResponse
from starlette.datastructures import FormData

from cangliu.core.alerts import KINDS, RESPONSES
from cangliu.core.errors import DomainError, FieldError, StaleVersion, ValidationFailed
from cangliu.core.permissions import Actor
from cangliu.db.models.events import SEVERITIES
from cangliu.db.uow import Database
from cangliu.services.alerts import rules
from cangliu.web.deps import DbDep, check_csrf, page_permit
from cangliu.web.pages.masterdata import _errors
from cangliu.web.pages.render import render
from cangliu.web.problems import locale_of

router = APIRouter(include_in_schema=False)
Viewer = Annotated[Actor, page_permit("settings.view")]
Editor = Annotated[Actor, page_permit("settings.edit")]
BASE: Final = "/admin/alert-rules"
KIND_LABELS: Final = {
    "low_stock": "Low stock", "stock_out": "Stock-out", "over_stock": "Over-stock",
    "near_expiry": "Near expiry", "expired": "Expired", "transfer_overdue": "Transfer overdue",
    "approval_overdue": "Approval overdue", "bin_over_capacity": "Bin over capacity",
    "large_adjustment": "Large adjustment", "frequent_adjustments": "Frequent adjustments",
    "off_hours": "Posting outside working hours", "ledger_inconsistency": "Ledger inconsistency"}
SEVERITY_LABELS: Final = {"info": "Info", "warning": "Warning", "critical": "Critical"}
RESPONSE_LABELS: Final = {"suggest": "Replenishment suggestion",
                          "draft_transfer": "Draft transfer", "clearance": "Tag for clearance",
                          "escalate": "Escalate when not acknowledged"}
TEXT_FIELDS: Final = ("code", "name", "name_en", "kind", "params", "condition", "severity",
                      "roles", "sites", "channels", "cooldown_minutes", "escalate_after_minutes",
                      "escalate_to")


def _page(request: Request, name: str, actor: Actor, **context: Any) -> HTMLResponse:
    return render(request, name, actor, kind_labels=KIND_LABELS, kinds=KINDS,
                  response_labels=RESPONSE_LABELS, responses=RESPONSES, severities=SEVERITIES,
                  severity_labels=SEVERITY_LABELS,
                  base=BASE, **context)


@router.get(BASE, response_class=HTMLResponse)
def list_page(request: Request, db: DbDep, actor: Viewer) -> HTMLResponse:
    with db.read() as session:
        items = rules.list_rules(session)
    return _page(request, "admin_alert_rules.html", actor, items=items,
                 done=request.query_params.get("done", ""))


@router.post(f"{BASE}/defaults", response_model=None)
async def add_defaults(request: Request, db: DbDep, actor: Editor) -> Response:
    form = await request.form()
    check_csrf(request, str(form.get("csrf_token", "")), actor)
    rules.ensure_defaults(db.uow())
    return RedirectResponse(f"{BASE}?done=defaults", status_code=303)


def _shown(rule: dict[str, Any]) -> dict[str, Any]:
    """A stored rule as the form's fields."""
    return {**rule, "params": json.dumps(rule["params"], ensure_ascii=False, indent=1),
            **{k: " ".join(rule[k]) for k in ("roles", "sites", "channels")},
            "escalate_after_minutes": "" if rule["escalate_after_minutes"] is None
            else str(rule["escalate_after_minutes"])}


BLANK: Final = {"code": "", "name": "", "name_en": "", "kind": "low_stock", "params": "{}",
                "condition": "", "severity": "warning", "roles": "", "sites": "", "channels": "",
                "cooldown_minutes": "60", "auto_resolve": True, "responses": [],
                "escalate_after_minutes": "", "escalate_to": "", "enabled": True}


def _form(request: Request, actor: Actor, values: dict[str, Any], *, rule: dict[str, Any] | None,
          errors: list[FieldError] | None = None, status_code: int = 200) -> HTMLResponse:
    errors = errors or []
    fields = {e.field.split(".")[0] for e in errors}
    return _page(request, "admin_alert_rule.html", actor, status_code=status_code,
                 values=values, rule=rule, is_new=rule is None,
                 action=f"{BASE}/{rule['code']}" if rule else f"{BASE}/new",
                 by_field={f: [e.message for e in errors if e.field.split(".")[0] == f]
                           for f in fields},
                 others=[e for e in errors if e.field.split(".")[0] not in {*TEXT_FIELDS, "responses"}],
                 done=request.query_params.get("done", ""))


@router.get(f"{BASE}/new", response_class=HTMLResponse)
def new_page(request: Request, actor: Editor, kind: str = "low_stock") -> HTMLResponse:
    return _form(request, actor, {**BLANK, "kind": kind if kind in KINDS else "low_stock"},
                 rule=None)


@router.get(BASE + "/{code}", response_class=HTMLResponse)
def rule_page(code: str, request: Request, db: DbDep, actor: Viewer) -> HTMLResponse:
    with db.read() as session:
        rule = rules.get_rule(session, code)
    return _form(request, actor, _shown(rule), rule=rule)


def _values(form: FormData) -> dict[str, Any]:
    values: dict[str, Any] = {k: str(form.get(k) or "").strip() for k in TEXT_FIELDS}
    values["auto_resolve"] = form.get("auto_resolve") == "on"
    values["enabled"] = form.get("enabled") == "on"
    values["responses"] = [str(v) for v in form.getlist("responses")]
    return values


def _fields(values: dict[str, Any]) -> dict[str, Any]:
    """The form's text as the service's fields: JSON parameters, empty escalation as none."""
    try:
        params = json.loads(values["params"] or "{}")
    except ValueError:
        raise ValidationFailed.single("params", "is not valid JSON") from None
    after = values["escalate_after_minutes"]
    return {**values, "params": params, "escalate_after_minutes": after or None}


def _save(db: Database, actor: Actor, code: str | None, values: dict[str, Any],
          version: str) -> dict[str, Any]:
    fields = _fields(values)
    if code is None:
        return rules.create_rule(db.uow(), actor, fields)
    fields.pop("code", None)
    return rules.update_rule(db.uow(), actor, code, fields,
                             version=int(version) if version.isdigit() else None)


@router.post(f"{BASE}/new", response_model=None)
async def create(request: Request, db: DbDep, actor: Editor) -> Response:
    return await _submit(request, db, actor, None)


@router.post(BASE + "/{code}", response_model=None)
async def update(code: str, request: Request, db: DbDep, actor: Editor) -> Response:
    return await _submit(request, db, actor, code)


async def _submit(request: Request, db: Database, actor: Actor, code: str | None) -> Response:
    form = await request.form()
    check_csrf(request, str(form.get("csrf_token", "")), actor)
    values = _values(form)
    rule = None
    try:
        if code is not None:
            with db.read() as session:
                rule = rules.get_rule(session, code)
            values["code"] = code
        saved = _save(db, actor, code, values, str(form.get("version") or ""))
    except DomainError as exc:
        status = exc.status if exc.status != 400 else 422
        if isinstance(exc, StaleVersion) and code is not None:
            with db.read() as session:
                rule = rules.get_rule(session, code)
        return _form(request, actor, values, rule=rule, errors=_errors(locale_of(request), exc),
                     status_code=status)
    return RedirectResponse(f"{BASE}/{saved['code']}?done=saved", status_code=303)


@router.post(BASE + "/{code}/{action}", response_model=None)
async def act(code: str, action: str, request: Request, db: DbDep, actor: Editor) -> Response:
    """Enable, disable or delete (confirmed in the browser first)."""
    form = await request.form()
    check_csrf(request, str(form.get("csrf_token", "")), actor)
    raw = str(form.get("version") or "")
    version = int(raw) if raw.isdigit() else None
    try:
        if action in ("enable", "disable"):
            rules.set_enabled(db.uow(), actor, code, action == "enable", version=version)
        elif action == "delete":
            rules.delete_rule(db.uow(), actor, code, version=version)
            return RedirectResponse(f"{BASE}?done=deleted", status_code=303)
        else:
            return RedirectResponse(f"{BASE}/{code}", status_code=303)
    except DomainError as exc:
        with db.read() as session:
            rule = rules.get_rule(session, code)
        return _form(request, actor, _shown(rule), rule=rule,
                     errors=_errors(locale_of(request), exc),
                     status_code=exc.status if exc.status != 400 else 422)
    return RedirectResponse(f"{BASE}/{code}?done={action}", status_code=303)
