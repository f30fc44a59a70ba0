"""Print templates (/api/v1/print-templates) and document print pages
(/api/v1/documents/{type}/{number}/print). Reading templates needs settings.view, changing them
settings.edit; printing a document needs its view permission at one of its sites (outside the
reader's scope it answers 404, as if the document did not exist)."""

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse
from pydantic import Field

from cangliu.core.errors import NotFound
from cangliu.core.permissions import Actor
from cangliu.db.uow import Database
from cangliu.services import print_templates, timeline
from cangliu.web.api.schemas import Strict, jsonable
from cangliu.web.deps import AnyUser, DbDep, Forbidden, LocaleDep, deny, permit

router = APIRouter(prefix="/api/v1", tags=["print templates"])
Viewer = Annotated[Actor, permit("settings.view")]
Editor = Annotated[Actor, permit("settings.edit")]
Body = Annotated[str, Field(max_length=100_000, description="the Jinja2 template source")]
Name = Annotated[str, Field(min_length=1, max_length=60, pattern=r"^[A-Za-z0-9][A-Za-z0-9_\-]*$")]
Number = Annotated[str | None, Field(max_length=40)]


class TemplateIn(Strict):
    body: Body
    version: Annotated[int, Field(ge=0, description="the version the change is based on; 0 for "
                                                    "the built-in template")]
    name: Name = print_templates.DEFAULT_NAME
    is_default: bool = True


class PreviewIn(Strict):
    body: Body
    number: Annotated[Number, Field(description="a document to preview with; none: the sample")] = None


def authorize_print(db: Database, request: Request, actor: Actor, document_type: str,
                    number: str) -> None:
    """The reader may view this document: its view permission somewhere (else 403) and at one
    of the document's sites (else 404, as for a document that does not exist)."""
    kind = print_templates.doc_type(document_type)
    needed = f"{kind.resource}.view"
    if not actor.can(needed):
        raise deny(request, Forbidden("Your role may not do this"), actor)
    with db.read() as session:
        sites = timeline.document_sites(session, kind.kind, number)
    if sites is None or not actor.sees(needed, sites):
        raise deny(request, NotFound("Document {number} not found", number=number), actor)


def print_page(db: Database, request: Request, actor: Actor, locale: str, document_type: str,
               number: str, template: str | None = None) -> HTMLResponse:
    authorize_print(db, request, actor, document_type, number)
    html = print_templates.render(db.uow(), actor, document_type, number, template=template,
                                  lang=locale)
    return HTMLResponse(html, headers={"Cache-Control": "no-store"})


@router.get("/print-templates")
def list_templates(db: DbDep, actor: Viewer) -> dict[str, Any]:
    """Every document type with the template in force and the stored ones."""
    return {"items": jsonable(print_templates.list_templates(db.uow())), "next_cursor": None}


@router.get("/print-templates/{document_type}")
def get_template(document_type: str, db: DbDep, actor: Viewer,
                 name: Annotated[str | None, Query(max_length=60)] = None) -> dict[str, Any]:
    """A template (the one in force without ``name``) and the variables it may use."""
    found: dict[str, Any] = jsonable(print_templates.get_template(db.uow(), document_type, name))
    return found | {"variables": print_templates.variables_of(document_type)}


@router.put("/print-templates/{document_type}")
def save_template(document_type: str, body: TemplateIn, db: DbDep, actor: Editor) -> dict[str, Any]:
    """Store a template after checking it renders the sample; 409 on a stale version."""
    saved: dict[str, Any] = jsonable(print_templates.save_template(
        db.uow(), actor, document_type, body=body.body, version=body.version, name=body.name,
        is_default=body.is_default))
    return saved


@router.delete("/print-templates/{document_type}")
def reset_template(document_type: str, db: DbDep, actor: Editor,
                   name: Annotated[str, Query(max_length=60)] = print_templates.DEFAULT_NAME
                   ) -> dict[str, Any]:
    """Delete a stored template; for the default, the built-in applies again."""
    current: dict[str, Any] = jsonable(print_templates.reset_template(db.uow(), actor,
                                                                     document_type, name=name))
    return current


@router.post("/print-templates/{document_type}/preview", response_class=HTMLResponse)
def preview(document_type: str, body: PreviewIn, request: Request, db: DbDep, actor: Viewer,
            locale: LocaleDep) -> HTMLResponse:
    """An unsaved template rendered with a document the caller may view, or the sample."""
    if body.number:
        authorize_print(db, request, actor, document_type, body.number)
    return HTMLResponse(print_templates.preview(db.uow(), actor, document_type, body.body,
                                                number=body.number, lang=locale))


@router.get("/documents/{document_type}/{number}/print", response_class=HTMLResponse)
def print_document(document_type: str, number: str, request: Request, db: DbDep,
                   actor: AnyUser, locale: LocaleDep,
                   template: Annotated[str | None, Query(max_length=60)] = None) -> HTMLResponse:
    """The document's print page (HTML), with its type's template or the one named."""
    return print_page(db, request, actor, locale, document_type, number, template)
