"""自定义字段 / Custom fields: the administrators' pages (list per entity, add and edit with a
live preview of the input, reorder, deactivate with confirmation) and the pieces the record
pages share: reading the posted ``custom.<key>`` inputs, showing a value."""

from collections.abc import Mapping
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from cangliu.core import custom_fields as core
from cangliu.core.custom_fields import Definition
from cangliu.core.errors import DomainError, FieldError, ValidationFailed
from cangliu.core.permissions import Actor
from cangliu.i18n import translate
from cangliu.services import custom_fields, serials
from cangliu.web.deps import DbDep, check_csrf, page_permit
from cangliu.web.pages.locks import conflict_of
from cangliu.web.pages.render import render, templates
from cangliu.web.problems import locale_of

router = APIRouter(include_in_schema=False)
CanViewSettings = Annotated[Actor, page_permit("settings.view")]
CanEditSettings = Annotated[Actor, page_permit("settings.edit")]
CanEditSerials = Annotated[Actor, page_permit("serial.edit")]
RULES = ("min", "max", "decimals", "max_length", "pattern")
TYPE_LABELS = {"text": "Text", "number": "Number", "date": "Date", "choice": "Choice",
               "multi_choice": "Multiple choice", "bool": "Yes/no"}
PRESENT = "custom__present"
MULTI = "custom__multi"



def definitions_for(request: Request, entity: str) -> list[Definition]:
    """An entity's custom fields for the pages of this request (read once per request)."""
    cache: dict[str, list[Definition]] = getattr(request.state, "custom_definitions", None) or {}
    if entity not in cache:
        with request.app.state.db.read() as session:
            cache[entity] = custom_fields.definitions(session, entity)
        request.state.custom_definitions = cache
    return cache[entity]


def form_custom(form: Mapping[str, Any]) -> dict[str, Any] | None:
    """The custom values a record form posted (None when it carried no custom inputs), from
    the inputs ``_custom_fields.html`` draws: ``custom.<key>`` (a yes/no posts "false" from a
    hidden input, then "true" when ticked: the last one wins), ``custom.<key>.<option>`` per
    ticked option of a multi-choice, listed in ``custom__multi``. An empty input clears the
    value. Works on a form's multi-dict and on a plain dict of its last values alike."""
    if PRESENT not in form:
        return None
    values: dict[str, Any] = {key: [] for key in str(form.get(MULTI) or "").split(",") if key}
    for name, raw in form.items():
        if not name.startswith("custom.") or not isinstance(raw, str):
            continue
        key, _dot, option = name[7:].partition(".")
        if key in values and isinstance(values[key], list):
            if option and raw:
                values[key].append(option)
        elif key:
            values[key] = raw.strip() or None
    return values


# What document and serial templates use to draw and show custom fields (their page modules
# need not know about them): the definitions, a posted form's values, a value as shown.
def initial(definitions: list[Definition]) -> dict[str, Any]:
    """A new record's custom inputs: the defaults."""
    return {d.key: d.default for d in definitions if d.active and d.default is not None}


templates.env.globals.update(custom_display=core.display, custom_definitions=definitions_for,
                             custom_posted=form_custom, custom_initial=initial)


def _options(text: str) -> list[dict[str, str]]:
    """Options typed one per line as ``value | 中文 | English`` (labels optional)."""
    options = []
    for line in text.splitlines():
        parts = [p.strip() for p in line.split("|")]
        if parts[0]:
            options.append({"value": parts[0], "label_zh": parts[1] if len(parts) > 1 else "",
                            "label_en": parts[2] if len(parts) > 2 else ""})
    return options


def options_text(rules: dict[str, Any]) -> str:
    return "\n".join(" | ".join(filter(None, (o["value"], o.get("label_zh") or "",
                                              o.get("label_en") or "")))
                     for o in rules.get("options") or [])


def _fields(form: Any) -> dict[str, Any]:
    """A definition's parts as the form posted them."""
    kind = str(form.get("type") or "text")
    rules: dict[str, Any] = {k: str(form.get(k)).strip() for k in RULES
                             if str(form.get(k) or "").strip()}
    if kind in ("choice", "multi_choice"):
        rules["options"] = _options(str(form.get("options") or ""))
    default: Any = str(form.get("default") or "").strip() or None
    if default is not None and kind == "multi_choice":
        default = [v.strip() for v in default.split(",") if v.strip()]
    return {"key": str(form.get("key") or "").strip(), "type": kind,
            "label_zh": str(form.get("label_zh") or "").strip(),
            "label_en": str(form.get("label_en") or "").strip(),
            "required": form.get("required") == "on", "default": default, "rules": rules,
            "active": form.get("active") == "on"}


def _errors(locale: str, exc: DomainError) -> list[FieldError]:
    if isinstance(exc, ValidationFailed):
        return [FieldError(e.field, translate(locale, e.message, **e.params)) for e in exc.errors]
    return [FieldError("", translate(locale, exc.message, **exc.params))]


def _entity(entity: str) -> str:
    if entity not in custom_fields.ENTITIES:
        raise ValidationFailed.single("entity", "must be one of: {expected}",
                                      expected=", ".join(custom_fields.ENTITIES))
    return entity


@router.get("/admin/custom-fields", response_class=HTMLResponse)
def list_page(request: Request, db: DbDep, actor: CanViewSettings, entity: str = "sku"
              ) -> HTMLResponse:
    with db.read() as session:
        fields = custom_fields.list_fields(session, _entity(entity))
        used = {f["key"]: custom_fields.in_use(session, entity, f["key"]) for f in fields}
    return render(request, "custom_fields.html", actor, entity=entity, fields=fields, used=used,
                  entities=custom_fields.ENTITY_LABELS, types=TYPE_LABELS,
                  can_edit=actor.can("settings.edit"))


def _form(request: Request, actor: Actor, entity: str, record: dict[str, Any] | None,
          values: dict[str, Any], errors: list[FieldError] | None = None,
          status_code: int = 200, conflict: Any = None) -> HTMLResponse:
    return render(request, "custom_fields_form.html", actor, status_code=status_code,
                  entity=entity, record=record, values=values, errors=errors or [],
                  entities=custom_fields.ENTITY_LABELS, types=TYPE_LABELS, conflict=conflict,
                  options=options_text(values.get("rules") or {}), preview=_preview(values))


def _preview(values: dict[str, Any]) -> Definition | str:
    """The definition the form describes so far, or why it is not one yet."""
    try:
        return core.definition(key=values.get("key") or "preview",
                               label_zh=values.get("label_zh") or "…",
                               label_en=values.get("label_en") or "",
                               type=values.get("type") or "text",
                               required=bool(values.get("required")),
                               default=values.get("default"), rules=values.get("rules") or {})
    except ValidationFailed as exc:
        return exc.errors[0].field


@router.get("/admin/custom-fields/preview", response_class=HTMLResponse)
def preview(request: Request, actor: CanViewSettings) -> HTMLResponse:
    """The input a user of the record form will see, redrawn as the administrator types."""
    values = _fields(request.query_params)
    return render(request, "custom_fields_preview.html", actor, preview=_preview(values))


@router.get("/admin/custom-fields/{entity}/new", response_class=HTMLResponse)
def new_page(entity: str, request: Request, actor: CanEditSettings) -> HTMLResponse:
    return _form(request, actor, _entity(entity), None, {"type": "text", "active": True})


@router.post("/admin/custom-fields/{entity}/new", response_model=None)
async def create(entity: str, request: Request, db: DbDep, actor: CanEditSettings
                 ) -> Response:
    form = await request.form()
    check_csrf(request, str(form.get("csrf_token", "")))
    values = {**_fields(form), "entity": _entity(entity)}
    values.pop("active")
    try:
        custom_fields.create_field(db.uow(), actor, values)
    except DomainError as exc:
        return _form(request, actor, entity, None, values, _errors(locale_of(request), exc), 422)
    return RedirectResponse(f"/admin/custom-fields?entity={entity}&saved=1", status_code=303)


@router.get("/admin/custom-fields/{entity}/{key}", response_class=HTMLResponse)
def edit_page(entity: str, key: str, request: Request, db: DbDep, actor: CanViewSettings
              ) -> HTMLResponse:
    with db.read() as session:
        record = custom_fields.get_field(session, _entity(entity), key)
    return _form(request, actor, entity, record, record)


@router.post("/admin/custom-fields/{entity}/{key}", response_model=None)
async def update(entity: str, key: str, request: Request, db: DbDep, actor: CanEditSettings
                 ) -> Response:
    form = await request.form()
    check_csrf(request, str(form.get("csrf_token", "")))
    with db.read() as session:
        record = custom_fields.get_field(session, _entity(entity), key)
    values = {**_fields(form), "key": key, "type": record["type"]}
    version = int(str(form.get("version") or 0)) if str(form.get("version", "")).isdigit() else 0
    try:
        custom_fields.update_field(db.uow(), actor, entity, key, version, {
            k: v for k, v in values.items() if k in custom_fields.EDITABLE and k != "position"})
    except DomainError as exc:
        return _form(request, actor, entity, record, values, _errors(locale_of(request), exc),
                     409 if conflict_of(exc) else 422, conflict=conflict_of(exc))
    return RedirectResponse(f"/admin/custom-fields?entity={entity}&saved=1", status_code=303)


@router.post("/admin/custom-fields/{entity}/{key}/remove", response_model=None)
async def remove(entity: str, key: str, request: Request, db: DbDep, actor: CanEditSettings
                 ) -> Response:
    """Remove the field, or deactivate it when records hold values (the page asked first)."""
    form = await request.form()
    check_csrf(request, str(form.get("csrf_token", "")))
    version = int(str(form.get("version") or 0)) if str(form.get("version", "")).isdigit() else 0
    done = custom_fields.remove_field(db.uow(), actor, _entity(entity), key, version)
    outcome = "removed" if done["removed"] else "deactivated"
    return RedirectResponse(f"/admin/custom-fields?entity={entity}&{outcome}={key}",
                            status_code=303)


@router.post("/admin/custom-fields/{entity}/{key}/move", response_model=None)
async def move(entity: str, key: str, request: Request, db: DbDep, actor: CanEditSettings
               ) -> Response:
    """Move a field one place up or down in its entity's forms and lists."""
    form = await request.form()
    check_csrf(request, str(form.get("csrf_token", "")))
    with db.read() as session:
        keys = [f["key"] for f in custom_fields.list_fields(session, _entity(entity))]
    if key in keys:
        i = keys.index(key)
        j = i - 1 if form.get("direction") == "up" else i + 1
        if 0 <= j < len(keys):
            keys[i], keys[j] = keys[j], keys[i]
            custom_fields.reorder(db.uow(), actor, entity, keys)
    return RedirectResponse(f"/admin/custom-fields?entity={entity}", status_code=303)


@router.post("/serials/{code}/custom", response_model=None)
async def serial_custom(code: str, request: Request, db: DbDep, actor: CanEditSerials
                        ) -> Response:
    """Save a serial's custom field values from its page."""
    form = await request.form()
    check_csrf(request, str(form.get("csrf_token", "")))
    serials.set_custom(db.uow(), code, form_custom(form) or {}, sku=str(form.get("sku") or "") or None,
                       scope=actor.sites("serial.edit"))
    sku = quote(str(form.get("sku") or ""))
    return RedirectResponse(f"/serials/{quote(code)}?sku={sku}&saved=1", status_code=303)
