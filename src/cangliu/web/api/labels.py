"""Labels (/api/v1/labels, /api/v1/label-templates): print labels as PDF — listed items, ``count``
labels of a SKU (by lot) or one per listed serial — and manage the templates. Printing needs
sku.view (and serial.view for serials, at the serials' sites); templates settings.edit."""

from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Request, Response
from pydantic import Field

from cangliu.core.errors import ValidationFailed
from cangliu.core.labels import FIELDS, MAX_LABELS, LabelItem, gtin_of
from cangliu.core.permissions import ALL_PERMISSIONS, Actor
from cangliu.db.uow import Database
from cangliu.services import labels
from cangliu.web.api.schemas import MAX_ID, Strict, jsonable
from cangliu.web.deps import DbDep, Forbidden, deny, permit
from cangliu.web.labels import render_labels

router = APIRouter(prefix="/api/v1", tags=["labels"])
Printer = Annotated[Actor, permit("sku.view")]
Editor = Annotated[Actor, permit("settings.edit")]
Text = Annotated[str, Field(max_length=200)]
Short = Annotated[str, Field(max_length=64)]


class TemplateIn(Strict):
    code: Annotated[str, Field(max_length=40)]
    name: Text
    width_mm: float
    height_mm: float
    sheet: Annotated[str, Field(description="single or a4")] = "single"
    columns: int = 1
    rows: int = 1
    margin_mm: float = 0
    gap_mm: float = 0
    fields: list[str] = Field(default_factory=lambda: list(FIELDS))
    font_size: float = 8


class TemplatePatch(Strict):
    version: Annotated[int, Field(ge=1, le=MAX_ID, description="the version the change is based on")]
    name: Text | None = None
    width_mm: float | None = None
    height_mm: float | None = None
    sheet: str | None = None
    columns: int | None = None
    rows: int | None = None
    margin_mm: float | None = None
    gap_mm: float | None = None
    fields: list[str] | None = None
    font_size: float | None = None


class ItemIn(Strict):
    title: Text
    sku: Short
    gtin: Annotated[str | None, Field(max_length=14)] = None
    serial: Short | None = None
    lot: Short | None = None
    expiry: date | None = None
    site: Short | None = None


class PrintIn(Strict):
    """The template and one source of labels: ``items``, ``sku`` (with count, lot, expiry) or
    ``serials``."""

    template: Annotated[str, Field(max_length=40)]
    items: Annotated[list[ItemIn] | None, Field(max_length=MAX_LABELS)] = None
    sku: Short | None = None
    count: int = 1
    lot: Short | None = None
    expiry: date | None = None
    serials: Annotated[list[Short] | None, Field(max_length=MAX_LABELS)] = None


def _items(given: list[ItemIn]) -> list[LabelItem]:
    out = []
    for i, item in enumerate(given):
        gtin = gtin_of([item.gtin]) if item.gtin else None
        if item.gtin and gtin is None:
            raise ValidationFailed.single(f"items[{i}].gtin", "is not a valid GTIN-8, -12, -13 "
                                          "or -14")
        out.append(LabelItem(title=item.title, sku=item.sku, gtin=gtin, serial=item.serial,
                             lot=item.lot, expiry=item.expiry, site=item.site))
    return out


def serial_scope(request: Request, actor: Actor) -> frozenset[int] | None:
    """The sites whose serials ``actor`` may print (None: all); serial.view once it exists."""
    if "serial.view" not in ALL_PERMISSIONS:
        return None
    if not actor.can("serial.view"):
        raise deny(request, Forbidden("Your role may not do this"), actor)
    return actor.sites("serial.view")


def labels_pdf(db: Database, request: Request, actor: Actor, body: PrintIn) -> bytes:
    """The PDF for one print request (shared by the API and the print page)."""
    sources = [name for name in ("items", "sku", "serials") if getattr(body, name) is not None]
    if len(sources) != 1:
        raise ValidationFailed.single("items", "give exactly one of items, sku or serials")
    with db.read() as session:
        spec = labels.spec_of(session, body.template)
        if body.items is not None:
            items = _items(body.items)
        elif body.sku is not None:
            items = labels.items_for_sku(session, body.sku, count=body.count, lot=body.lot,
                                         expiry=body.expiry)
        else:
            items = labels.items_for_serials(session, body.serials or [],
                                             sites=serial_scope(request, actor))
    return render_labels(spec, items)


@router.post("/labels", response_class=Response,
             responses={200: {"content": {"application/pdf": {}}}})
def print_labels(body: PrintIn, request: Request, db: DbDep, actor: Printer) -> Response:
    """The labels as a PDF (single labels a page each, sheets columns × rows per A4 page)."""
    pdf = labels_pdf(db, request, actor, body)
    return Response(pdf, media_type="application/pdf",
                    headers={"Content-Disposition": f'inline; filename="labels-{body.template}.pdf"'})


@router.get("/label-templates")
def list_templates(db: DbDep, actor: Printer) -> Any:
    with db.read() as session:
        return jsonable({"items": labels.list_templates(session)})


@router.get("/label-templates/{code}")
def get_template(code: str, db: DbDep, actor: Printer) -> Any:
    with db.read() as session:
        return jsonable(labels.get_template(session, code))


@router.post("/label-templates", status_code=201)
def create_template(body: TemplateIn, db: DbDep, actor: Editor) -> Any:
    """A new template; refused by field when a size is out of range or a sheet does not fit A4."""
    return jsonable(labels.create_template(db.uow(), actor, body.model_dump()))


@router.patch("/label-templates/{code}")
def update_template(code: str, body: TemplatePatch, db: DbDep, actor: Editor) -> Any:
    """Change a template based on ``version`` (409 if someone saved since)."""
    changes = body.model_dump(exclude_none=True, exclude={"version"})
    return jsonable(labels.update_template(db.uow(), actor, code, changes, version=body.version))
