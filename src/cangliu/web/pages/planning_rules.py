"""Transfer rule settings (调拨规则): the rules by priority, one rule as a table and as YAML with
validate-and-preview (what it would propose now), save, enable or disable, the version history
with restore, and a help box with every column and function a rule may use. Viewing needs
planning.view; changing a rule settings.edit, as a rule applies to the whole network."""

from datetime import UTC, datetime
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse
from starlette.datastructures import FormData

from cangliu.core.errors import DomainError, FieldError, ValidationFailed
from cangliu.core.permissions import Actor
from cangliu.core.planning.rule_builtins import STORE_REPLENISHMENT
from cangliu.core.planning.rules import STATE_COLUMNS
from cangliu.services import planning_rules
from cangliu.web.deps import DbDep, check_csrf, page_permit
from cangliu.web.pages.masterdata import _errors as field_errors
from cangliu.web.pages.render import render
from cangliu.web.problems import locale_of

router = APIRouter(include_in_schema=False)
CanView = Annotated[Actor, page_permit("planning.view")]
CanEdit = Annotated[Actor, page_permit("settings.edit")]
BASE = "/admin/planning-rules"
NEW = "new"  # a reserved rule name: the page of a rule not yet saved
KIND_LABELS = {"replenish": "Replenishment", "balance": "Balancing", "prestock": "Pre-stocking",
               "clearance": "Clearance"}
# A starting point for a new rule: the store replenishment rule under another name.
TEMPLATE = STORE_REPLENISHMENT.replace("name: store_replenishment", "name: my_rule").replace(
    "priority: 10", "priority: 100")


def _link(name: str) -> str:
    return f"{BASE}/{quote(name, safe='')}"


@router.get(BASE, response_class=HTMLResponse)
def rules_page(request: Request, db: DbDep, actor: CanView) -> HTMLResponse:
    with db.read() as session:
        items = planning_rules.list_rules(session)
    return render(request, "admin_planning_rules.html", actor, items=items, kind_labels=KIND_LABELS,
                  link=_link)


def _rule_page(request: Request, db: DbDep, actor: Actor, name: str, *, version: int | None = None,
               text: str | None = None, errors: list[FieldError] | None = None,
               shown: dict[str, Any] | None = None, status_code: int = 200) -> HTMLResponse:
    """The rule (or the editor of a new one), the editor holding ``text`` (the stored YAML unless
    the user's input is kept), a preview or the errors, the history and the help box."""
    with db.read() as session:
        item = None if name == NEW else planning_rules.get_rule(session, name)
        earlier = (planning_rules.version_text(session, name, version)
                   if item is not None and version is not None and version != item["version"] else None)
    stored = TEMPLATE if item is None else item["yaml"]
    return render(request, "admin_planning_rule.html", actor, status_code=status_code,
                  rule_name=name, item=item, is_new=item is None, action=_link(name),
                  text=stored if text is None else text, earlier=earlier, earlier_version=version,
                  errors=errors or [], preview=shown, kind_labels=KIND_LABELS,
                  columns=STATE_COLUMNS, functions=planning_rules.FUNCTIONS)


@router.get(BASE + "/" + NEW, response_class=HTMLResponse)
def new_rule_page(request: Request, db: DbDep, actor: CanEdit) -> HTMLResponse:
    return _rule_page(request, db, actor, NEW)


@router.get(BASE + "/{name}", response_class=HTMLResponse)
def rule_page(name: str, request: Request, db: DbDep, actor: CanView,
              version: Annotated[int | None, Query(ge=1)] = None) -> HTMLResponse:
    return _rule_page(request, db, actor, name, version=version)


async def _posted(request: Request, actor: Actor) -> FormData:
    form = await request.form()
    check_csrf(request, str(form.get("csrf_token", "")), actor)
    return form


def _refused(request: Request, db: DbDep, actor: Actor, name: str, exc: DomainError,
             text: str | None = None) -> HTMLResponse:
    """The page again with the reasons, the user's text kept as entered."""
    return _rule_page(request, db, actor, name, text=text, errors=field_errors(locale_of(request), exc),
                      status_code=exc.status)


def _number(form: FormData, key: str) -> int:
    value = str(form.get(key) or "")
    if not value.isdigit() or int(value) < 1:
        raise ValidationFailed.single(key, "must be a whole number of at least {n}", n=1)
    return int(value)


@router.post(BASE + "/{name}/preview", response_class=HTMLResponse)
async def preview_rule(name: str, request: Request, db: DbDep, actor: CanView) -> HTMLResponse:
    """Validate the text in the editor and show what it would propose now; nothing is saved."""
    form = await _posted(request, actor)
    text = str(form.get("yaml") or "")
    try:
        rule = planning_rules.check_rule(text)
        with db.read() as session:
            shown = planning_rules.preview(session, rule, datetime.now(UTC).date())
    except ValidationFailed as exc:
        return _refused(request, db, actor, name, exc, text)
    return _rule_page(request, db, actor, name, text=text, shown=shown)


@router.post(BASE + "/{name}", response_model=None)
async def save_rule(name: str, request: Request, db: DbDep, actor: CanEdit
                    ) -> HTMLResponse | RedirectResponse:
    """Save the editor's text: a new rule on the page of a new one, else the next version."""
    form = await _posted(request, actor)
    text = str(form.get("yaml") or "")
    try:
        if name == NEW:
            saved = planning_rules.create_rule(db.uow(), actor, text)
        else:
            saved = planning_rules.update_rule(db.uow(), actor, name, text,
                                               version=_number(form, "version"))
    except DomainError as exc:
        if exc.status == 404:
            raise
        return _refused(request, db, actor, name, exc, text)
    return RedirectResponse(f"{_link(saved['name'])}?saved={saved['version']}", status_code=303)


async def _change(request: Request, db: DbDep, actor: Actor, name: str, action: str
                  ) -> HTMLResponse | RedirectResponse:
    form = await _posted(request, actor)
    try:
        base = _number(form, "version")
        if action in ("enable", "disable"):
            saved = planning_rules.set_enabled(db.uow(), actor, name, action == "enable", version=base)
        elif action == "restore":
            saved = planning_rules.restore_rule(db.uow(), actor, name, _number(form, "restore"),
                                                version=base)
        elif action == "reset":
            saved = planning_rules.reset_builtin(db.uow(), actor, name, version=base)
        else:
            planning_rules.delete_rule(db.uow(), actor, name, version=base)
            return RedirectResponse(f"{BASE}?deleted={quote(name)}", status_code=303)
    except DomainError as exc:
        if exc.status == 404:
            raise
        return _refused(request, db, actor, name, exc)
    return RedirectResponse(f"{_link(name)}?saved={saved['version']}", status_code=303)


@router.post(BASE + "/{name}/{action}", response_model=None)
async def change_rule(name: str, action: str, request: Request, db: DbDep, actor: CanEdit
                      ) -> HTMLResponse | RedirectResponse:
    """enable, disable, restore (an earlier version saved again), reset (a built-in rule back to
    its shipped text) or delete (not a built-in rule)."""
    if action not in ("enable", "disable", "restore", "reset", "delete"):
        raise ValidationFailed.single("action", "must be one of: {expected}",
                                      expected="enable, disable, restore, reset, delete")
    return await _change(request, db, actor, name, action)
