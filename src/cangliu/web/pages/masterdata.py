"""Master-data pages: searchable, paginated lists and create/edit forms for every kind."""

from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import ValidationError

from cangliu.core.custom_fields import Definition
from cangliu.core.errors import DomainError, FieldError, Locked, StaleVersion, ValidationFailed
from cangliu.core.permissions import Actor
from cangliu.i18n import translate
from cangliu.services import custom_fields, masterdata
from cangliu.web import export
from cangliu.web.api.masterdata import PATH_RESOURCES as MD_RESOURCES
from cangliu.web.api.masterdata import RESOURCES, custom_filters, visible, with_code
from cangliu.web.deps import DbDep, check_csrf, page_permit
from cangliu.web.pages.custom_fields import form_custom, initial
from cangliu.web.pages.locks import conflict_of, edit_lock
from cangliu.web.pages.render import render
from cangliu.web.problems import _field, _pydantic_message, locale_of

router = APIRouter(include_in_schema=False)
CanCreateRecords = Annotated[Actor, page_permit("{path}.create", resources=MD_RESOURCES)]
CanEditRecords = Annotated[Actor, page_permit("{path}.edit", resources=MD_RESOURCES)]
CanViewRecords = Annotated[Actor, page_permit("{path}.view", resources=MD_RESOURCES)]


@dataclass(frozen=True)
class Field:
    name: str
    label: str
    type: str = "text"  # text | number | bool | select
    options: tuple[str, ...] = ()
    required: bool = False


NAMES = [Field("name", "Name", required=True), Field("name_en", "English name")]
FORMS: dict[str, tuple[str, list[Field], list[str]]] = {
    # path: (title, form fields, list columns)
    "skus": ("SKUs", [*NAMES, Field("category", "Category"), Field("uom", "Unit"),
                      Field("decimals", "Decimals", "number"),
                      Field("tracking", "Tracking", "select", ("none", "lot", "serial")),
                      Field("shelf_life_days", "Shelf life (days)", "number"),
                      Field("warranty_days", "Warranty (days)", "number"),
                      Field("weight_kg", "Weight (kg)", "number"),
                      Field("volume_l", "Volume (L)", "number"),
                      Field("pack_size", "Pack size", "number"), Field("barcodes", "Barcodes"),
                      Field("fragile", "Fragile", "bool"), Field("high_value", "High value", "bool"),
                      Field("bonded", "Bonded", "bool"), Field("perishable", "Perishable", "bool"),
                      Field("active", "Active", "bool")],
             ["code", "name", "category", "uom", "tracking", "barcodes"]),
    "categories": ("Categories", [*NAMES, Field("parent", "Parent category"),
                                  Field("valuation", "Valuation method", "select",
                                        ("moving_average", "fifo"))],
                   ["code", "name", "name_en", "parent", "valuation"]),
    "sites": ("Sites", [*NAMES, Field("site_kind", "Site type", "select",
                                      ("central", "regional", "store", "online"), True),
                        Field("region", "Region"),
                        Field("channel", "Channel", "select",
                              ("warehouse", "store", "online", "wholesale")),
                        Field("address", "Address"), Field("latitude", "Latitude", "number"),
                        Field("longitude", "Longitude", "number"),
                        Field("allow_negative", "Allow negative stock", "bool"),
                        Field("active", "Active", "bool")],
              ["code", "name", "site_kind", "region", "channel", "allow_negative"]),
    "locations": ("Zones and bins", [*NAMES, Field("kind", "Type", "select", ("zone", "bin"), True),
                                     Field("parent", "Parent (site or zone)", required=True),
                                     Field("capacity_volume_l", "Capacity (L)", "number"),
                                     Field("capacity_weight_kg", "Capacity (kg)", "number"),
                                     Field("active", "Active", "bool")],
                  ["code", "name", "kind", "site", "parent", "capacity_volume_l",
                   "capacity_weight_kg"]),
    "suppliers": ("Suppliers", [Field("name", "Name", required=True), Field("contact", "Contact"),
                                Field("phone", "Phone"), Field("email", "E-mail"),
                                Field("address", "Address"),
                                Field("lead_time_days", "Lead time (days)", "number"),
                                Field("active", "Active", "bool")],
                  ["code", "name", "contact", "phone", "lead_time_days"]),
    "customers": ("Customers", [Field("name", "Name", required=True),
                                Field("channel", "Channel", "select",
                                      ("store", "online", "wholesale")),
                                Field("contact", "Contact"), Field("phone", "Phone"),
                                Field("email", "E-mail"), Field("address", "Address"),
                                Field("active", "Active", "bool")],
                  ["code", "name", "channel", "contact", "phone"]),
}


def _values(form: Any, fields: list[Field], creating: bool) -> dict[str, Any]:
    """Form strings to API-shaped values; empty optional inputs mean 'not set'. An edit leaves
    alone a field the form did not post at all (an unticked checkbox posts nothing: false)."""
    values: dict[str, Any] = {}
    if creating:
        values["code"] = (form.get("code") or "").strip()
    for f in fields:
        raw = form.get(f.name)
        if not creating and f.type != "bool" and f.name not in form:
            continue
        if f.type == "bool":
            values[f.name] = raw == "on"
        elif f.name == "barcodes":
            values[f.name] = [b.strip() for b in (raw or "").split(",") if b.strip()]
        elif raw not in (None, ""):
            values[f.name] = raw.strip()
        elif not creating and f.type != "select":
            values[f.name] = None if f.type == "number" or f.name in ("category", "parent") else ""
    return values


def _custom_defs(db: Any, kind: str) -> list[Definition]:
    """The kind's custom fields (none for categories, zones and bins)."""
    if kind not in custom_fields.MODELS:
        return []
    with db.read() as session:
        return custom_fields.definitions(session, kind)


def _with_custom(values: dict[str, Any], form: Any, defs: list[Definition]) -> dict[str, Any]:
    custom = form_custom(form) if defs else None
    if custom is not None:
        values["custom"] = custom
    return values


def _errors(locale: str, exc: Exception) -> list[FieldError]:
    if isinstance(exc, ValidationError):
        return [FieldError(_field(tuple(e["loc"])), _pydantic_message(locale, dict(e)))
                for e in exc.errors()]
    if isinstance(exc, ValidationFailed):
        return [FieldError(e.field, translate(locale, e.message, **e.params)) for e in exc.errors]
    assert isinstance(exc, DomainError)
    return [FieldError("", translate(locale, exc.message, **exc.params))]


@router.get("/md/{path}", response_class=HTMLResponse, response_model=None)
def list_page(path: str, request: Request, db: DbDep, actor: CanViewRecords, q: str | None = None,
              cursor: str | None = None, cf: str = "", cv: str = "") -> Response:
    """The list, searched by code and name and filtered by a custom field (``cf``=key,
    ``cv``=value, or ``custom.<key>=value`` as in the API)."""
    kind, _model = RESOURCES[path]
    title, _fields, columns = FORMS[path]
    fmt = export.wants_export(request)
    defs = _custom_defs(db, kind)
    wanted = {**custom_filters(request), **({cf: cv} if cf and cv else {})}
    locale = locale_of(request)
    with db.read() as session:
        def fetch(after: str | None, limit: int = 50) -> Any:
            items, nxt = masterdata.list_records(session, kind, q=q, after=after, limit=limit,
                                                 scope=actor.sites("site.view"), custom=wanted)
            return export.with_custom(items, defs, locale), nxt
        if fmt:
            # The page heads its columns with the field names (translated): so does the file.
            return export.answer(request, actor, MD_RESOURCES[path],
                                 lambda after: fetch(after, 1000),
                                 [(c, c) for c in columns]
                                 + export.custom_columns(defs, locale), fmt=fmt, filename=path)
        items, nxt = fetch(cursor)
    return render(request, "md_list.html", actor, path=path, title=title, columns=columns,
                  items=items, q=q or "", next_cursor=nxt, custom_defs=defs, cf=cf, cv=cv,
                  export_permission=export.permission(MD_RESOURCES[path]))


def _form(request: Request, actor: Any, path: str, record: dict[str, Any] | None,
          errors: list[FieldError], values: dict[str, Any], status_code: int = 200,
          current: dict[str, Any] | None = None, custom_defs: list[Definition] | None = None,
          **lock: Any) -> HTMLResponse:
    """The form; after a stale edit, ``current`` holds the newer record to show beside the input.
    ``lock`` is the record's edit lock (see ``pages.locks.edit_lock``) and the conflict, if any."""
    title, fields, _columns = FORMS[path]
    may_save = actor.can(f"{MD_RESOURCES[path]}.{'edit' if record else 'create'}")
    return render(request, "md_form.html", actor, status_code=status_code, path=path, title=title,
                  fields=fields, record=record, errors=errors, values=values, current=current,
                  custom_defs=custom_defs or [], may_save=may_save, **lock)


@router.get("/md/{path}/new", response_class=HTMLResponse)
def new_page(path: str, request: Request, db: DbDep, actor: CanCreateRecords) -> HTMLResponse:
    defs = _custom_defs(db, RESOURCES[path][0])
    return _form(request, actor, path, None, [], {"active": True, "custom": initial(defs)},
                 custom_defs=defs)


@router.get("/md/{path}/{code}", response_class=HTMLResponse)
def edit_page(path: str, code: str, request: Request, db: DbDep, actor: CanViewRecords
              ) -> HTMLResponse:
    visible(request, db, actor, RESOURCES[path][0], code)
    record = masterdata.get(db.uow(), RESOURCES[path][0], code)
    return _form(request, actor, path, record, [], record,
                 custom_defs=_custom_defs(db, RESOURCES[path][0]),
                 **edit_lock(db, actor, RESOURCES[path][0], code, take=True))


@router.post("/md/{path}/new", response_model=None)
async def create(path: str, request: Request, db: DbDep, actor: CanCreateRecords
                 ) -> HTMLResponse | RedirectResponse:
    kind, model = RESOURCES[path]
    form = await request.form()
    check_csrf(request, str(form.get("csrf_token", "")))
    defs = _custom_defs(db, kind)
    values = _with_custom(_values(form, FORMS[path][1], creating=True), form, defs)
    try:
        body = with_code(model).model_validate(values)
        masterdata.create(db.uow(), actor, kind, body.model_dump())
    except (ValidationError, DomainError) as exc:
        return _form(request, actor, path, None, _errors(locale_of(request), exc), values, 422,
                     custom_defs=defs)
    return RedirectResponse(f"/md/{path}/{values['code']}?saved=1", status_code=303)


@router.post("/md/{path}/{code}", response_model=None)
async def update(path: str, code: str, request: Request, db: DbDep, actor: CanEditRecords
                 ) -> HTMLResponse | RedirectResponse:
    kind, model = RESOURCES[path]
    form = await request.form()
    check_csrf(request, str(form.get("csrf_token", "")))
    defs = _custom_defs(db, kind)
    values = _with_custom(_values(form, FORMS[path][1], creating=False), form, defs)
    visible(request, db, actor, kind, code)
    record = masterdata.get(db.uow(), kind, code)
    version = int(str(form.get("version") or 0)) if str(form.get("version", "")).isdigit() else 0
    try:
        clean = model.model_validate({**{k: v for k, v in record.items()
                                         if k in model.model_fields}, **values})
        fields = {k: v for k, v in clean.model_dump().items() if k in values}
        masterdata.update_record(db.uow(), actor, kind, code, version, fields)
    except (ValidationError, DomainError) as exc:
        stale = isinstance(exc, StaleVersion)
        if stale:  # keep what the user typed, show what changed, let them save over it knowingly
            record = masterdata.get(db.uow(), kind, code)
        status = 409 if stale else 423 if isinstance(exc, Locked) else 422
        return _form(request, actor, path, record, _errors(locale_of(request), exc), values,
                     status, current=record if stale else None, conflict=conflict_of(exc),
                     custom_defs=defs, **edit_lock(db, actor, kind, code, take=True))
    return RedirectResponse(f"/md/{path}/{code}?saved=1", status_code=303)
