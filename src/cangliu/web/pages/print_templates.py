"""Print template settings (打印模板) and the print view of any document.

/admin/print-templates lists each document type's template in force; its editor shows the
body, a live preview (against the sample or a real document the editor may view), the variables
and save / reset to default. /print/{type}/{number} is the document's A4 print page."""

from typing import Annotated

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from cangliu.core.errors import DomainError, FieldError
from cangliu.core.permissions import Actor
from cangliu.services import print_templates
from cangliu.web.api.print_templates import authorize_print, print_page
from cangliu.web.deps import DbDep, LocaleDep, check_csrf, page_permit
from cangliu.web.pages.masterdata import _errors as field_errors
from cangliu.web.pages.render import render

router = APIRouter(include_in_schema=False)
CanView = Annotated[Actor, page_permit("settings.view")]
CanEdit = Annotated[Actor, page_permit("settings.edit")]
AnyReader = Annotated[Actor, page_permit(None)]
BASE = "/admin/print-templates"


@router.get(BASE, response_class=HTMLResponse)
def list_page(request: Request, db: DbDep, actor: CanView, saved: str | None = None) -> HTMLResponse:
    return render(request, "print_templates.html", actor,
                  items=print_templates.list_templates(db.uow()),
                  company=print_templates.company_name(db.uow()), saved=saved,
                  can_edit=actor.can("settings.edit"), errors=[])


@router.post(f"{BASE}/company", response_model=None)
async def save_company(request: Request, db: DbDep, actor: CanEdit, locale: LocaleDep) -> Response:
    form = await request.form()
    check_csrf(request, str(form.get("csrf_token", "")), actor)
    try:
        print_templates.set_company_name(db.uow(), actor, str(form.get("company") or ""))
    except DomainError as exc:
        return render(request, "print_templates.html", actor, status_code=exc.status,
                      items=print_templates.list_templates(db.uow()),
                      company=str(form.get("company") or ""), saved=None, can_edit=True,
                      errors=field_errors(locale, exc))
    return RedirectResponse(f"{BASE}?saved=company", status_code=303)


def _editor(request: Request, db: DbDep, actor: Actor, document_type: str, *,
            body: str | None = None, version: int | None = None, number: str = "",
            errors: list[FieldError] | None = None, status_code: int = 200,
            saved: str | None = None) -> HTMLResponse:
    """The editor holding ``body`` (the template in force unless the user's input is kept)."""
    current = print_templates.get_template(db.uow(), document_type)
    kind = print_templates.doc_type(document_type)
    return render(request, "print_templates_edit.html", actor, status_code=status_code,
                  kind=kind, current=current,
                  body=current["body"] if body is None else body,
                  version=current["version"] if version is None else version, number=number,
                  variables=print_templates.variables_of(document_type),
                  builtin=print_templates.BUILTINS[document_type], errors=errors or [],
                  saved=saved, can_edit=actor.can("settings.edit"), base=BASE)


@router.get(BASE + "/{document_type}", response_class=HTMLResponse)
def edit_page(document_type: str, request: Request, db: DbDep, actor: CanView,
              saved: str | None = None, number: str = "") -> HTMLResponse:
    return _editor(request, db, actor, document_type, saved=saved, number=number[:40])


async def _form(request: Request, actor: Actor) -> dict[str, str]:
    form = await request.form()
    check_csrf(request, str(form.get("csrf_token", "")), actor)
    return {k: str(form.get(k) or "") for k in ("body", "version", "number")}


def _version(raw: str) -> int:
    return int(raw) if raw.isdigit() else -1


@router.post(BASE + "/{document_type}", response_model=None)
async def save(document_type: str, request: Request, db: DbDep, actor: CanEdit,
               locale: LocaleDep) -> Response:
    """Save the body: refused (422 naming the line, or 409 when someone saved meanwhile) with
    the editor keeping what was typed."""
    values = await _form(request, actor)
    try:
        print_templates.save_template(db.uow(), actor, document_type, body=values["body"],
                                      version=_version(values["version"]))
    except DomainError as exc:
        return _editor(request, db, actor, document_type, body=values["body"],
                       version=_version(values["version"]), number=values["number"],
                       errors=field_errors(locale, exc), status_code=exc.status)
    return RedirectResponse(f"{BASE}/{document_type}?saved=1", status_code=303)


@router.post(BASE + "/{document_type}/reset", response_model=None)
async def reset(document_type: str, request: Request, db: DbDep, actor: CanEdit) -> Response:
    """Back to the built-in template: the stored one is deleted."""
    await _form(request, actor)
    print_templates.reset_template(db.uow(), actor, document_type)
    return RedirectResponse(f"{BASE}/{document_type}?saved=reset", status_code=303)


@router.post(BASE + "/{document_type}/preview", response_class=HTMLResponse)
async def preview(document_type: str, request: Request, db: DbDep, actor: CanView,
                  locale: LocaleDep) -> HTMLResponse:
    """The typed body rendered into the preview frame; an error shows there, naming the line."""
    values = await _form(request, actor)
    number = values["number"].strip()[:40] or None
    try:
        if number:
            authorize_print(db, request, actor, document_type, number)
        html = print_templates.preview(db.uow(), actor, document_type, values["body"],
                                       number=number, lang=locale)
    except DomainError as exc:
        return render(request, "print/preview_error.html", actor, status_code=exc.status,
                      errors=field_errors(locale, exc))
    return HTMLResponse(html)


@router.get("/print/{document_type}/{number}", response_class=HTMLResponse)
def print_view(document_type: str, number: str, request: Request, db: DbDep, actor: AnyReader,
               locale: LocaleDep, template: str | None = None) -> HTMLResponse:
    """The document's A4 print page with its type's template (or the stored one named)."""
    return print_page(db, request, actor, locale, document_type, number, template)

