"""Label pages (标签打印): choose a template and a SKU (count, lot, expiry) or paste serial codes,
get the PDF; the templates listed for everyone who prints, created and edited by those holding
settings.edit."""

import re
from typing import Annotated, Any

from fastapi import APIRouter, Request, Response
from fastapi.responses import HTMLResponse, RedirectResponse
from pydantic import ValidationError

from cangliu.core.errors import DomainError, FieldError
from cangliu.core.labels import FIELDS, SHEETS
from cangliu.core.permissions import Actor
from cangliu.services import labels
from cangliu.web.api.labels import PrintIn, labels_pdf
from cangliu.web.deps import DbDep, check_csrf, page_permit
from cangliu.web.pages.masterdata import _errors
from cangliu.web.pages.render import render
from cangliu.web.problems import locale_of

router = APIRouter(include_in_schema=False)
Printer = Annotated[Actor, page_permit("sku.view")]
Editor = Annotated[Actor, page_permit("settings.edit")]
PRINT_FIELDS = ("template", "sku", "count", "lot", "expiry", "serials")
SPEC_FIELDS = ("code", "name", "width_mm", "height_mm", "sheet", "columns", "rows", "margin_mm",
               "gap_mm", "font_size")


def _print_page(request: Request, db: DbDep, actor: Actor, values: dict[str, str],
                errors: list[FieldError] | None = None, status_code: int = 200) -> HTMLResponse:
    with db.read() as session:
        templates = labels.list_templates(session)
        sku = labels.sku_label_info(session, values["sku"]) if values.get("sku") else None
    errors = errors or []
    return render(request, "labels.html", actor, status_code=status_code, templates=templates,
                  values=values, sku=sku, by_field={e.field: e.message for e in errors
                                                    if e.field in PRINT_FIELDS},
                  others=[e for e in errors if e.field not in PRINT_FIELDS],
                  can_edit=actor.can("settings.edit"))


@router.get("/labels", response_class=HTMLResponse)
def print_page(request: Request, db: DbDep, actor: Printer) -> HTMLResponse:
    values = {k: request.query_params.get(k, "") for k in PRINT_FIELDS}
    values["count"] = values["count"] or "1"
    values["template"] = values["template"] or "50x30"
    return _print_page(request, db, actor, values)


def _print_body(values: dict[str, str]) -> PrintIn:
    serials = [c for c in re.split(r"[\s,;]+", values["serials"]) if c]
    if serials:
        return PrintIn(template=values["template"], serials=serials)
    return PrintIn.model_validate({"template": values["template"], "sku": values["sku"],
                                   "count": values["count"] or "1", "lot": values["lot"] or None,
                                   "expiry": values["expiry"] or None})


@router.post("/labels", response_model=None)
async def print_labels(request: Request, db: DbDep, actor: Printer) -> Response:
    """The PDF, or the form again naming what is wrong."""
    form = await request.form()
    check_csrf(request, str(form.get("csrf_token", "")), actor)
    values = {k: str(form.get(k) or "").strip() for k in PRINT_FIELDS}
    try:
        pdf = labels_pdf(db, request, actor, _print_body(values))
    except (DomainError, ValidationError) as exc:
        status = exc.status if isinstance(exc, DomainError) and exc.status != 400 else 422
        return _print_page(request, db, actor, values, _errors(locale_of(request), exc), status)
    return Response(pdf, media_type="application/pdf", headers={
        "Content-Disposition": f'inline; filename="labels-{values["template"]}.pdf"'})


def _template_page(request: Request, actor: Actor, values: dict[str, Any], *, code: str | None,
                   errors: list[FieldError] | None = None, status_code: int = 200) -> HTMLResponse:
    errors = errors or []
    return render(request, "label_template.html", actor, status_code=status_code, code=code,
                  values=values, all_fields=FIELDS, sheets=SHEETS,
                  by_field={e.field: e.message for e in errors},
                  others=[e for e in errors if e.field not in (*SPEC_FIELDS, "fields")])


@router.get("/labels/templates/new", response_class=HTMLResponse)
def new_template(request: Request, actor: Editor) -> HTMLResponse:
    values = {"sheet": "single", "columns": 1, "rows": 1, "margin_mm": 0, "gap_mm": 0,
              "font_size": 8, "fields": list(FIELDS)}
    return _template_page(request, actor, values, code=None)


@router.get("/labels/templates/{code}", response_class=HTMLResponse)
def edit_template(code: str, request: Request, db: DbDep, actor: Editor) -> HTMLResponse:
    with db.read() as session:
        values = labels.get_template(session, code)
    return _template_page(request, actor, values, code=code)


async def _template_form(request: Request, actor: Actor) -> dict[str, Any]:
    form = await request.form()
    check_csrf(request, str(form.get("csrf_token", "")), actor)
    values: dict[str, Any] = {k: str(form.get(k) or "").strip() for k in SPEC_FIELDS}
    values["fields"] = [str(f) for f in form.getlist("fields")]
    values["version"] = str(form.get("version") or "")
    return values


@router.post("/labels/templates", response_model=None)
async def create_template(request: Request, db: DbDep, actor: Editor
                          ) -> HTMLResponse | RedirectResponse:
    values = await _template_form(request, actor)
    try:
        labels.create_template(db.uow(), actor, values)
    except DomainError as exc:
        return _template_page(request, actor, values, code=None,
                              errors=_errors(locale_of(request), exc), status_code=422)
    return RedirectResponse(f"/labels?template={values['code']}&saved=1", status_code=303)


@router.post("/labels/templates/{code}", response_model=None)
async def update_template(code: str, request: Request, db: DbDep, actor: Editor
                          ) -> HTMLResponse | RedirectResponse:
    values = await _template_form(request, actor)
    version = int(values["version"]) if values["version"].isdigit() else 0
    try:
        labels.update_template(db.uow(), actor, code, values | {"code": code}, version=version)
    except DomainError as exc:
        return _template_page(request, actor, values | {"code": code}, code=code,
                              errors=_errors(locale_of(request), exc),
                              status_code=exc.status if exc.status != 400 else 422)
    return RedirectResponse(f"/labels?template={code}&saved=1", status_code=303)

