"""报废单 / Scrap pages: list, post a write-off, release held stock, detail, print and PDF.

A customer return lands on quality hold; from here it is either released to available stock or
written off under an SP number.
"""

from typing import Annotated, Any

from fastapi import APIRouter, Request, Response
from fastapi.responses import HTMLResponse, RedirectResponse

from cangliu.core.errors import DomainError, ValidationFailed
from cangliu.core.ledger import ScrapReason, StockStatus
from cangliu.core.permissions import Actor
from cangliu.i18n import translate
from cangliu.services import masterdata, stock
from cangliu.services.postings import Meta
from cangliu.services.scrap import get_scrap, list_scraps, scrap
from cangliu.services.stock import Line
from cangliu.web.deps import DbDep, check_csrf, in_scope, page_permit
from cangliu.web.export import answer, wants_export
from cangliu.web.export import sites as export_sites
from cangliu.web.pages.render import render
from cangliu.web.pages.transfers import date_filters, errors_of
from cangliu.web.pdf import document_pdf
from cangliu.web.problems import locale_of

router = APIRouter(include_in_schema=False)
CanCreateScrap = Annotated[Actor, page_permit("scrap.create")]
CanCreateStock = Annotated[Actor, page_permit("stock.create")]
CanViewScrap = Annotated[Actor, page_permit("scrap.view")]
FROM_STATUSES = (StockStatus.DAMAGED, StockStatus.QUALITY_HOLD, StockStatus.AVAILABLE)


def parse_lines(text: str) -> list[Line]:
    """``SKU QTY [LOT]`` per line, as typed or scanned."""
    lines = []
    for i, raw in enumerate(ln for ln in text.splitlines() if ln.strip()):
        parts = raw.replace(",", " ").replace("\t", " ").split()
        if len(parts) < 2:
            raise ValidationFailed.single(f"lines[{i}]", "write the SKU code and the quantity")
        lines.append(Line(parts[0], parts[1], lot=parts[2] if len(parts) > 2 else None))
    if not lines:
        raise ValidationFailed.single("lines", "must have at least one line")
    return lines


def _sites(db: Any, actor: Actor) -> list[dict[str, Any]]:
    with db.read() as session:
        return list(masterdata.list_records(session, "site", limit=500,
                                            scope=actor.sites("site.view"))[0])


EXPORT_COLUMNS = (("number", "Number"), ("state", "State"), ("site", "Site"),
                  ("reason_code", "Reason code"), ("note", "Note"), ("from_status", "From status"),
                  ("occurred_at", "Date"), ("operator", "Operator"))


@router.get("/docs/scrap", response_class=HTMLResponse, response_model=None)
def list_page(request: Request, db: DbDep, actor: CanViewScrap, site: str | None = None,
              q: str | None = None, created_from: str | None = None, created_to: str | None = None,
              cursor: str | None = None) -> Response:
    filters = {"site": site or "", "q": q or "", "created_from": created_from or "",
               "created_to": created_to or ""}
    items: list[dict[str, Any]] = []
    nxt, errors, status = None, [], 200
    fmt = wants_export(request)
    try:
        start, end = date_filters(created_from, created_to)

        def fetch(after: str | None, limit: int = 50) -> Any:
            return list_scraps(db.uow(), site=site or None, q=q or None, after=after, limit=limit,
                               created_from=start, created_to=end, scope=export_sites(
                                   actor, "scrap") if fmt else actor.sites("scrap.view"))
        if fmt:
            return answer(request, actor, "scrap", lambda after: fetch(after, 1000),
                          EXPORT_COLUMNS, fmt=fmt, filename="scrap")
        items, nxt = fetch(cursor)
    except DomainError as exc:
        if fmt:
            raise
        errors, status = errors_of(request, exc), exc.status
    return render(request, "scrap_list.html", actor, status_code=status, items=items,
                  next_cursor=nxt, filters=filters, sites=_sites(db, actor), errors=errors)


def _form(request: Request, db: Any, actor: Any, status: int = 200, **context: Any) -> HTMLResponse:
    context = {"values": {}, "errors": [], "released": None, **context}
    return render(request, "scrap_new.html", actor, status_code=status, sites=_sites(db, actor),
                  reasons=list(ScrapReason), statuses=FROM_STATUSES, **context)


@router.get("/docs/scrap/new", response_class=HTMLResponse)
def new_page(request: Request, db: DbDep, actor: CanCreateScrap) -> HTMLResponse:
    return _form(request, db, actor)


async def _values(request: Request, names: tuple[str, ...]) -> dict[str, str]:
    form = await request.form()
    check_csrf(request, str(form.get("csrf_token", "")))
    return {k: str(form.get(k, "")) for k in names}


@router.post("/docs/scrap/new", response_model=None)
async def create(request: Request, db: DbDep, actor: CanCreateScrap) -> Response:
    values = await _values(request, ("site", "from_status", "reason_code", "reason", "lines", "key"))
    meta = Meta(actor, reason=values["reason"], idempotency_key=values["key"] or None)
    try:
        if values["from_status"] not in {s.value for s in FROM_STATUSES}:
            raise ValidationFailed.single("from_status", "must be one of: {expected}",
                                          expected=", ".join(s.value for s in FROM_STATUSES))
        in_scope(db, request, actor, "scrap.create", values["site"] or None)
        result = scrap(db.uow(), meta, site=values["site"], reason_code=values["reason_code"],
                       lines=parse_lines(values["lines"]),
                       from_status=StockStatus(values["from_status"]))
    except DomainError as exc:
        return _form(request, db, actor, exc.status, values=values, errors=errors_of(request, exc))
    return RedirectResponse(f"/docs/scrap/{result['number']}", status_code=303)


@router.post("/docs/scrap/release", response_model=None)
async def release(request: Request, db: DbDep, actor: CanCreateStock) -> Response:
    """Held stock that passed inspection goes back to available (restock of a customer return)."""
    values = await _values(request, ("site", "reason", "release_lines", "key"))
    meta = Meta(actor, reason=values["reason"], idempotency_key=values["key"] or None)
    try:
        in_scope(db, request, actor, "stock.create", values["site"] or None)
        result = stock.change_status(db.uow(), meta, site=values["site"],
                                     from_status=StockStatus.QUALITY_HOLD,
                                     to_status=StockStatus.AVAILABLE,
                                     lines=parse_lines(values["release_lines"]))
    except DomainError as exc:
        return _form(request, db, actor, exc.status, values=values, errors=errors_of(request, exc))
    return _form(request, db, actor, 201, released=result)


@router.get("/docs/scrap/{number}", response_class=HTMLResponse)
def detail(number: str, request: Request, db: DbDep, actor: CanViewScrap) -> HTMLResponse:
    return render(request, "scrap.html", actor, s=get_scrap(db.uow(), number))


def _printable(s: dict[str, Any], locale: str) -> dict[str, Any]:
    """What the print view and the PDF show: title, number, header fields, lines."""
    def _(msg: str) -> str:
        return translate(locale, msg)

    header = [(_("Site"), f"{s['site']} {s['site_name']}"),
              (_("Reason code"), _(s["reason_code"])), (_("Note"), s["note"] or "—"),
              (_("From status"), _(s["from_status"])),
              (_("Operator"), f"{s['operator']} · {s['occurred_at'][:16].replace('T', ' ')} UTC")]
    if s["reversed"]:
        header.append((_("State"), _("Reversed")))
    columns = [_("Line"), _("SKU"), _("Name"), _("Location"), _("Lot"), _("Quantity")]
    rows = [[ln["line_no"], ln["sku"], ln["name"], ln["location"], ln["lot"],
             f"{ln['qty']} {ln['uom']}"] for ln in s["lines"]]
    return {"title": _("Scrap"), "number": s["number"], "header": header, "columns": columns,
            "rows": rows}


@router.get("/docs/scrap/{number}/print", response_class=HTMLResponse)
def print_view(number: str, request: Request, db: DbDep, actor: CanViewScrap) -> HTMLResponse:
    return render(request, "doc_print.html", actor,
                  **_printable(get_scrap(db.uow(), number), locale_of(request)))


@router.get("/docs/scrap/{number}/pdf")
def pdf(number: str, request: Request, db: DbDep, actor: CanViewScrap) -> Response:
    body = document_pdf(**_printable(get_scrap(db.uow(), number), locale_of(request)))
    return Response(body, media_type="application/pdf",
                    headers={"Content-Disposition": f'inline; filename="{number}.pdf"'})
