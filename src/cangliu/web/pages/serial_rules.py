"""Serial rule pages (编码规则): the rules, a form to create or edit one with a live preview of
the codes its template gives (an HTML fragment fetched while typing) and a help box with every
token. Viewing needs serial.view; creating and changing a rule serial.edit."""

from datetime import UTC, datetime
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Request, Response
from fastapi.responses import HTMLResponse, RedirectResponse
from starlette.datastructures import FormData

from cangliu.core.errors import DomainError, FieldError
from cangliu.core.permissions import Actor
from cangliu.services import serials
from cangliu.web.deps import DbDep, check_csrf, page_permit
from cangliu.web.pages.masterdata import _errors
from cangliu.web.pages.render import render
from cangliu.web.problems import locale_of

router = APIRouter(include_in_schema=False)
Viewer = Annotated[Actor, page_permit("serial.view")]
Editor = Annotated[Actor, page_permit("serial.edit")]
BASE = "/admin/serial-rules"
FIELDS = ("code", "name", "kind", "template", "sku", "category", "line")
PREVIEW_COUNT = 5
# The help box: each token with what it gives and an example (msgids, translated in the page).
TOKENS = (
    ("{cat}", "the SKU's category code", "{cat}-{seq:5}"),
    ("{sku}", "the SKU code", "{sku}-{seq:6}"),
    ("{site}", "the site code given when generating", "{site}{seq:6}"),
    ("{line}", "the production line (given when generating, else the rule's)", "{line}-{seq:4}"),
    ("{date:FORMAT}", "the date: YYYY year, YY two-digit year, MM month, DD day, WW ISO week, "
     "DDD day of the year", "{date:YYMMDD}"),
    ("{seq:N[:reset]}", "a counter of N digits; reset never, daily, monthly or yearly",
     "{seq:6:daily}"),
    ("{rand:N}", "N random characters (Crockford base32)", "{rand:8}"),
    ("{check:ALG}", "a check character over what comes before it: gs1, luhn, mod11_10, mod37_36 "
     "or damm", "8{seq:7}{check:luhn}"),
)


def _link(code: str) -> str:
    return f"{BASE}/{quote(code, safe='')}"


@router.get(BASE, response_class=HTMLResponse)
def rules_page(request: Request, db: DbDep, actor: Viewer) -> HTMLResponse:
    with db.read() as session:
        items = serials.list_rules(session)
    return render(request, "serial_rules.html", actor, items=items, link=_link,
                  can_edit=actor.can("serial.edit"))


def _form(request: Request, actor: Actor, values: dict[str, Any], *, code: str | None,
          errors: list[FieldError] | None = None, status_code: int = 200) -> HTMLResponse:
    errors = errors or []
    return render(request, "serial_rule.html", actor, status_code=status_code, code=code,
                  values=values, tokens=TOKENS, can_edit=actor.can("serial.edit"),
                  action=_link(code) if code else BASE,
                  by_field={e.field: e.message for e in errors if e.field in FIELDS},
                  others=[e for e in errors if e.field not in FIELDS])


@router.get(BASE + "/new", response_class=HTMLResponse)
def new_rule(request: Request, actor: Editor) -> HTMLResponse:
    values = {"kind": "serial", "template": serials.DEFAULT_TEMPLATES["serial"], "active": True}
    return _form(request, actor, values, code=None)


@router.get(BASE + "/{code}", response_class=HTMLResponse)
def rule_page(code: str, request: Request, db: DbDep, actor: Viewer) -> HTMLResponse:
    with db.read() as session:
        values = serials.get_rule(session, code)
    return _form(request, actor, values, code=code)


async def _posted(request: Request, actor: Actor) -> FormData:
    form = await request.form()
    check_csrf(request, str(form.get("csrf_token", "")), actor)
    return form


def _values(form: FormData) -> dict[str, Any]:
    values: dict[str, Any] = {k: str(form.get(k) or "").strip() for k in FIELDS}
    values["template"] = str(form.get("template") or "")  # spaces may be meant
    values["active"] = bool(form.get("active"))
    values["version"] = str(form.get("version") or "")
    return values


@router.post(BASE + "/preview", response_class=HTMLResponse)
async def preview(request: Request, db: DbDep, actor: Viewer) -> HTMLResponse:
    """The fragment under the template field: the first codes, or why the template is refused
    (the token and its position)."""
    form = await _posted(request, actor)
    values = _values(form)
    codes: list[str] = []
    errors: list[FieldError] = []
    try:
        with db.read() as session:
            codes = serials.preview(session, values["template"], sku=values["sku"] or None,
                                    site=str(form.get("site") or "").strip() or None,
                                    line=values["line"] or None, count=PREVIEW_COUNT,
                                    today=datetime.now(UTC).date())
    except DomainError as exc:
        errors = _errors(locale_of(request), exc)
    # htmx swaps only successful answers: a refused template is a 200 fragment for it
    status = 422 if errors and not request.headers.get("hx-request") else 200
    return render(request, "serial_preview.html", actor, status_code=status, codes=codes,
                  errors=errors)


def _changes(values: dict[str, Any]) -> dict[str, Any]:
    return {"name": values["name"], "template": values["template"], "sku": values["sku"] or None,
            "category": values["category"] or None, "line": values["line"],
            "active": values["active"]}


@router.post(BASE, response_model=None)
async def create_rule(request: Request, db: DbDep, actor: Editor) -> Response:
    values = _values(await _posted(request, actor))
    try:
        serials.create(db.uow(), actor, code=values["code"], kind=values["kind"] or "serial",
                       **_changes(values))
    except DomainError as exc:
        status = exc.status if exc.status != 400 else 422
        return _form(request, actor, values, code=None, errors=_errors(locale_of(request), exc),
                     status_code=status)
    return RedirectResponse(_link(values["code"]) + "?saved=1", status_code=303)


@router.post(BASE + "/{code}", response_model=None)
async def update_rule(code: str, request: Request, db: DbDep, actor: Editor) -> Response:
    """Save the form based on the version it was read at (a stale one is refused with 409)."""
    values = _values(await _posted(request, actor)) | {"code": code}
    version = int(values["version"]) if values["version"].isdigit() else 0
    try:
        serials.update(db.uow(), actor, code, version, _changes(values))
    except DomainError as exc:
        status = exc.status if exc.status != 400 else 422
        with db.read() as session:
            kind = serials.get_rule(session, code)["kind"]
        return _form(request, actor, values | {"kind": kind}, code=code,
                     errors=_errors(locale_of(request), exc), status_code=status)
    return RedirectResponse(_link(code) + "?saved=1", status_code=303)
