"""Pages for purchase orders, sales orders and stock counts: list, new, detail with actions and entry.

One generic page per kind; what differs (the list query, the actions, the per-line entry form)
is described in ``PAGES``.
"""

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Annotated, Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from cangliu.core.errors import DomainError, ValidationFailed
from cangliu.core.permissions import Actor
from cangliu.db import queries
from cangliu.i18n import translate
from cangliu.services import counts, masterdata, purchasing, sales
from cangliu.services.counts import CountIn
from cangliu.services.postings import Meta
from cangliu.services.purchasing import PurchaseLineIn, ReceiptIn, ReturnIn
from cangliu.services.sales import LineQty, SalesLineIn, ShipLine
from cangliu.web import export
from cangliu.web.deps import DOC_ACTIONS, DbDep, check_csrf, doable, in_scope, page_permit
from cangliu.web.pages.custom_fields import form_custom
from cangliu.web.pages.locks import conflict_of, document_lock
from cangliu.web.pages.render import render
from cangliu.web.pages.transfers import date_filters, errors_of, line_errors, serial_codes
from cangliu.web.pdf import document_pdf
from cangliu.web.problems import locale_of

router = APIRouter(include_in_schema=False)
# The page path of each document kind → its permission resource.
DOC_RESOURCES = {"purchase-orders": "purchase", "sales-orders": "sales", "counts": "count"}
CanActDocs = Annotated[Actor, page_permit("{path}.{action}", resources=DOC_RESOURCES,
                                          actions=DOC_ACTIONS)]
CanCreateDocs = Annotated[Actor, page_permit("{path}.create", resources=DOC_RESOURCES)]
CanViewDocs = Annotated[Actor, page_permit("{path}.view", resources=DOC_RESOURCES)]
CanViewSales = Annotated[Actor, page_permit("sales.view")]


@dataclass(frozen=True)
class Capture:
    """A serial field on each line of a serial-tracked SKU in a per-line form: the units
    the line still has to move, and what the scan feedback checks (the states the service
    accepts; whether the serial must be at the document's site)."""

    expected: Callable[[dict[str, Any]], Decimal]
    statuses: tuple[str, ...]
    at_site: bool = False


@dataclass(frozen=True)
class Entry:
    """A per-line quantity form on the detail page (receive, ship, return)."""

    action: str
    label: str
    fields: tuple[str, ...]
    when: str  # the state-table action that must be allowed for the form to show
    build: Callable[[int, dict[str, str], list[str] | None], Any]  # line no, fields, serials
    run: Callable[..., Any]
    capture: Capture | None = None


@dataclass(frozen=True)
class Page:
    title: str
    get: Callable[..., Any]
    list: Callable[..., Any]
    actions: dict[str, Callable[..., Any]]
    entries: tuple[Entry, ...]
    new_fields: tuple[str, ...]
    create: Callable[..., Any]


def _split(text: str, minimum: int) -> list[list[str]]:
    rows = []
    for i, raw in enumerate(ln for ln in text.splitlines() if ln.strip()):
        parts = raw.replace(",", " ").replace("\t", " ").split()
        if len(parts) < minimum:
            raise ValidationFailed.single(f"lines[{i}]", "write the SKU code and the quantity")
        rows.append(parts)
    return rows


def _create_purchase(uow: Any, meta: Meta, form: dict[str, str]) -> Any:
    lines = [PurchaseLineIn(p[0], p[1], p[2] if len(p) > 2 else None) for p in _split(form["lines"], 2)]
    return purchasing.create_purchase(uow, meta, supplier=form["supplier"], site=form["site"],
                                      lines=lines, custom=form_custom(form))


def _edit_purchase(uow: Any, meta: Meta, number: str, form: dict[str, str]) -> Any:
    """A draft purchase order's edit form: every field is sent, the lines replace the order's."""
    version, expected = form.get("version", ""), form.get("expected_date", "").strip()
    if not version.isdigit():
        raise ValidationFailed.single("version", "must be a whole number")
    try:
        expected_date = date.fromisoformat(expected) if expected else None
    except ValueError:
        raise ValidationFailed.single("expected_date", "must be a date (YYYY-MM-DD)") from None
    lines = [PurchaseLineIn(p[0], p[1], p[2] if len(p) > 2 else None)
             for p in _split(form.get("lines", ""), 2)]
    return purchasing.update_purchase(
        uow, meta, number=number, version=int(version), supplier=form.get("supplier") or None,
        site=form.get("site") or None, currency=form.get("currency") or None,
        rate=form.get("rate") or None, expected_date=expected_date, lines=lines,
        custom=form_custom(form))


def _putaway(db: Any, path: str, d: dict[str, Any]) -> dict[int, Any]:
    """Suggested bins per purchase order line still to be received, by line number."""
    if path != "purchase-orders" or "receive_part" not in d["allowed_actions"]:
        return {}
    return {ln["line_no"]: ln for ln in purchasing.putaway_purchase(db.uow(), d["number"])["lines"]}


def _create_sale(uow: Any, meta: Meta, form: dict[str, str]) -> Any:
    lines = [SalesLineIn(p[0], p[1], p[2] if len(p) > 2 else None) for p in _split(form["lines"], 2)]
    return sales.create_sale(uow, meta, customer=form["customer"], site=form["site"],
                             channel=form.get("channel") or "store", lines=lines,
                             custom=form_custom(form))


def _edit_sale(uow: Any, meta: Meta, number: str, form: dict[str, str]) -> Any:
    """The draft's edit form: every field is sent, the lines replace the order's lines."""
    version = form.get("version", "")
    if not version.isdigit():
        raise ValidationFailed.single("version", "must be a whole number")
    lines = [SalesLineIn(p[0], p[1], p[2] if len(p) > 2 else None)
             for p in _split(form.get("lines", ""), 2)]
    return sales.update_sale(uow, meta, number=number, version=int(version),
                             customer=form.get("customer") or None, site=form.get("site") or None,
                             channel=form.get("channel") or None,
                             currency=form.get("currency") or None, rate=form.get("rate") or None,
                             lines=lines, custom=form_custom(form))


def _pick_list(db: Any, path: str, d: dict[str, Any]) -> Any:
    """The pick list shown on a confirmed sales order's page (None elsewhere)."""
    if path != "sales-orders" or d["state"] not in sales.PICKING_STATES:
        return None
    return sales.get_pick_list(db.uow(), d["number"])


def _start_count(uow: Any, meta: Meta, form: dict[str, str]) -> Any:
    return counts.start_count(uow, meta, site=form["site"], zone=form.get("zone") or None,
                              blind=form.get("blind") == "on")


def _record_counts(uow: Any, meta: Meta, *, number: str, lines: list[CountIn]) -> Any:
    return counts.record_counts(uow, meta, number=number, entries=lines)


PAGES: dict[str, Page] = {
    "purchase-orders": Page(
        "Purchase orders", purchasing.get_purchase, queries.purchases,
        {"submit": purchasing.submit_purchase, "close": purchasing.close_purchase,
         "cancel": purchasing.cancel_purchase},
        (Entry("receive", "Receive", ("qty", "bin", "lot"), "receive_part",
               lambda n, v, codes: ReceiptIn(n, v["qty"], v["bin"] or None, v["lot"] or None,
                                             serials=codes),
               purchasing.receive_purchase,
               Capture(lambda ln: Decimal(ln["open_qty"]), ("generated",))),
         Entry("return", "Return to supplier", ("qty", "bin", "reason"), "return",
               lambda n, v, _codes: ReturnIn(n, v["qty"], v["reason"], bin=v["bin"] or None),
               purchasing.return_purchase)),
        ("supplier", "site", "lines"), _create_purchase),
    "sales-orders": Page(
        "Sales orders", sales.get_sale, queries.sales_orders,
        {"confirm": sales.confirm_sale, "close": sales.close_sale, "cancel": sales.cancel_sale},
        (Entry("ship", "Ship", ("qty", "bin", "lot"), "ship_part",
               lambda n, v, codes: ShipLine(n, v["qty"], v["bin"] or None, v["lot"] or None,
                                            serials=codes),
               sales.ship_sale,
               Capture(lambda ln: Decimal(ln["qty"]) - Decimal(ln["shipped_qty"]), ("in_stock",),
                       at_site=True)),
         Entry("return", "Return", ("qty",), "return",
               lambda n, v, codes: LineQty(n, v["qty"], serials=codes), sales.return_sale,
               Capture(lambda ln: Decimal(ln["shipped_qty"]) - Decimal(ln["returned_qty"]),
                       ("sold",)))),
        ("customer", "site", "channel", "lines"), _create_sale),
    "counts": Page(
        "Stock counts", counts.get_count, queries.stock_counts,
        {"submit": counts.submit_count, "post": counts.post_count, "reopen": counts.reopen_count,
         "cancel": counts.cancel_count},
        (), ("site", "zone", "blind"), _start_count),
}


def _choices(db: Any, actor: Actor) -> dict[str, list[dict[str, Any]]]:
    """The pickers of the forms and filters: sites within the user's sight, every partner."""
    with db.read() as session:
        return {kind: masterdata.list_records(session, kind, limit=500,
                                              scope=actor.sites("site.view"))[0]
                for kind in ("site", "supplier", "customer")}


def _partner(page: Page) -> str | None:
    """The partner a list filters on: the supplier of a purchase, the customer of a sale."""
    return next((f for f in page.new_fields if f in ("supplier", "customer")), None)


# The columns of each list (the keys of its query's rows, without the version).
LIST_KEYS = {
    "purchase-orders": ("number", "state", "supplier", "site", "currency", "expected_date",
                        "created_at"),
    "sales-orders": ("number", "state", "customer", "site", "channel", "currency", "created_at"),
    "counts": ("number", "state", "site", "blind", "snapshot_at", "posted_at"),
}


def _export(request: Request, actor: Actor, path: str, fmt: str,
            fetch: Callable[[Any], Any]) -> Response:
    """Every document the filters match, with the columns the list shows."""
    export.check_export(request, actor, DOC_RESOURCES[path])
    # The list heads its columns with the field names (translated): so does the file.
    return export.export(export.collect(fetch), [(c, c) for c in LIST_KEYS[path]], fmt=fmt,
                         filename=path, actor=actor, locale=locale_of(request))


@router.get("/docs/{path}", response_class=HTMLResponse)
def list_page(path: str, request: Request, db: DbDep, actor: CanViewDocs, state: str | None = None,
              q: str | None = None, cursor: str | None = None, site: str | None = None,
              partner: str | None = None, created_from: str | None = None,
              created_to: str | None = None) -> Response:
    page = PAGES.get(path)
    if page is None:
        return Response(status_code=404)
    filters = {"state": state or "", "q": q or "", "site": site or "", "partner": partner or "",
               "created_from": created_from or "", "created_to": created_to or ""}
    partner_field = _partner(page)
    by_partner = {partner_field: partner or None} if partner_field else {}
    fmt = export.wants_export(request)
    resource = DOC_RESOURCES[path]
    scope = export.sites(actor, resource) if fmt else actor.sites(f"{resource}.view")
    items: list[dict[str, Any]] = []
    nxt, errors, status = None, [], 200
    try:
        start, end = date_filters(created_from, created_to)
        with db.read() as session:
            def fetch(after: Any, limit: int = 50) -> Any:
                return page.list(session, state=state or None, q=q or None, after=after,
                                 site=site or None, created_from=start, created_to=end,
                                 limit=limit, scope=scope,
                                 **by_partner)
            if fmt:
                return _export(request, actor, path, fmt, lambda after: fetch(after, 1000))
            items, nxt = fetch(cursor)
    except DomainError as exc:
        if fmt:
            raise
        errors, status = errors_of(request, exc), exc.status
    return render(request, "doc_list.html", actor, status_code=status, path=path, page=page,
                  items=items, next_cursor=nxt, filters=filters, errors=errors,
                  choices=_choices(db, actor), partner_field=partner_field,
                  export_permission=export.permission(DOC_RESOURCES[path]))


@router.get("/docs/{path}/new", response_class=HTMLResponse)
def new_page(path: str, request: Request, db: DbDep, actor: CanCreateDocs) -> Response:
    if path not in PAGES:
        return Response(status_code=404)
    # A next step of another document may prefill the form (?site=WH&lines=...).
    values = {k: v for k, v in request.query_params.items() if k in PAGES[path].new_fields}
    return render(request, "doc_new.html", actor, path=path, page=PAGES[path], values=values,
                  errors=[], choices=_choices(db, actor))


@router.post("/docs/{path}/new", response_model=None)
async def create(path: str, request: Request, db: DbDep, actor: CanCreateDocs) -> Response:
    page = PAGES[path]
    form = {k: str(v) for k, v in (await request.form()).items()}
    check_csrf(request, form.get("csrf_token", ""))
    try:
        in_scope(db, request, actor, f"{DOC_RESOURCES[path]}.create", form.get("site") or None)
        result = page.create(db.uow(), Meta(actor, idempotency_key=form.get("key") or None), form)
    except DomainError as exc:
        return render(request, "doc_new.html", actor, status_code=exc.status, path=path, page=page,
                      values=form, errors=errors_of(request, exc), choices=_choices(db, actor))
    return RedirectResponse(f"/docs/{path}/{result['number']}", status_code=303)


@router.get("/docs/{path}/{number}", response_class=HTMLResponse)
def detail(path: str, number: str, request: Request, db: DbDep, actor: CanViewDocs,
           edit: bool = False) -> Response:
    return _detail(request, db, actor, path, number, take=edit)


def _detail(request: Request, db: Any, actor: Actor, path: str, number: str, *,
            take: bool = False, status_code: int = 200, errors: Any = (), **extra: Any
            ) -> Response:
    page = PAGES[path]
    d = actor.redact(page.get(db.uow(), number))
    d["allowed_actions"] = doable(db, actor, DOC_RESOURCES[path], number, d["allowed_actions"])
    return render(request, "doc.html", actor, status_code=status_code, path=path, page=page, d=d,
                  picks=_pick_list(db, path, d), putaway=_putaway(db, path, d),
                  errors=list(errors), **extra, **document_lock(db, actor, path, d, take=take))


def _header_value(locale: str, key: str, value: Any) -> str:
    """A header field as the document page shows it: states and channels are vocabulary,
    yes/no in words, times to the minute."""
    if isinstance(value, bool):
        return translate(locale, "Yes") if value else translate(locale, "No")
    if key in ("state", "channel"):
        return translate(locale, str(value))
    if key.endswith("_at"):
        return str(value)[:16].replace("T", " ") + " UTC"
    return str(value)


def _printable(page: Page, d: dict[str, Any], locale: str) -> dict[str, Any]:
    """What the print view and the PDF show: title, number, header fields, lines."""
    header = [(translate(locale, k), _header_value(locale, k, v)) for k, v in d.items()
              if k not in ("number", "lines", "allowed_actions") and v not in (None, "")]
    columns = list(d["lines"][0]) if d["lines"] else []
    rows = [[ln[c] if ln[c] is not None else "" for c in columns] for ln in d["lines"]]
    return {"title": translate(locale, page.title), "number": d["number"], "header": header,
            "columns": [translate(locale, c) for c in columns], "rows": rows}


@router.get("/docs/{path}/{number}/print", response_class=HTMLResponse)
def print_view(path: str, number: str, request: Request, db: DbDep, actor: CanViewDocs
               ) -> Response:
    page = PAGES.get(path)
    if page is None:
        return Response(status_code=404)
    return render(request, "doc_print.html", actor,
                  **_printable(page, actor.redact(page.get(db.uow(), number)), locale_of(request)))


@router.get("/docs/{path}/{number}/pdf")
def pdf(path: str, number: str, request: Request, db: DbDep, actor: CanViewDocs) -> Response:
    page = PAGES.get(path)
    if page is None:
        return Response(status_code=404)
    body = document_pdf(**_printable(page, actor.redact(page.get(db.uow(), number)), locale_of(request)))
    return Response(body, media_type="application/pdf",
                    headers={"Content-Disposition": f'inline; filename="{number}.pdf"'})


@router.get("/docs/sales-orders/{number}/pick-list", response_class=HTMLResponse)
def pick_list_print(number: str, request: Request, db: DbDep, actor: CanViewSales) -> Response:
    return render(request, "pick_list.html", actor, p=sales.get_pick_list(db.uow(), number))


@router.get("/docs/sales-orders/{number}/pick-list/pdf")
def pick_list_pdf(number: str, request: Request, db: DbDep, actor: CanViewSales) -> Response:
    p = sales.get_pick_list(db.uow(), number)
    locale = locale_of(request)

    def _(msg: str) -> str:
        return translate(locale, msg)

    header = [(_("State"), _(p["state"])), (_("customer"), p["customer"]), (_("site"), p["site"])]
    columns = [_("Line"), _("SKU"), _("Name"), _("bin"), _("Lot"), _("Expires"), _("Quantity")]
    rows = [[ln["line_no"], ln["sku"], ln["name"], pk["bin"], pk["lot"], pk["expires_on"] or "",
             f'{pk["qty"]} {ln["uom"]}'] for ln in p["lines"] for pk in ln["picks"]]
    body = document_pdf(title=_("Pick list"), number=number, header=header, columns=columns,
                        rows=rows)
    return Response(body, media_type="application/pdf",
                    headers={"Content-Disposition": f'inline; filename="{number}-pick.pdf"'})


@router.post("/docs/{path}/{number}/{action}", response_model=None)
async def act(path: str, number: str, action: str, request: Request, db: DbDep,
              actor: CanActDocs) -> Response:
    page = PAGES[path]
    form = {k: str(v) for k, v in (await request.form()).items()}
    check_csrf(request, form.get("csrf_token", ""))
    meta = Meta(actor, reason=form.get("reason", ""), idempotency_key=form.get("key") or None)
    entry = next((e for e in page.entries if e.action == action), None)
    numbers: list[int] = []
    try:
        if entry is not None:
            lines, numbers = _entry_lines(entry, form)
            made = entry.run(db.uow(), meta, number=number, lines=lines).get("generated_lots")
            if made:  # the lots the lot rules named are shown on the page the receipt answers
                return _detail(request, db, actor, path, number, made_lots=made)
        elif action == "edit" and path == "sales-orders":
            _edit_sale(db.uow(), meta, number, form)
        elif action == "edit" and path == "purchase-orders":
            _edit_purchase(db.uow(), meta, number, form)
        elif action == "entries" and path == "counts":
            rows = _split(form.get("lines", ""), 2)
            _record_counts(db.uow(), meta, number=number, lines=[
                CountIn(p[0], p[1], p[2] if len(p) > 2 else None) for p in rows])
        elif action in page.actions:
            page.actions[action](db.uow(), meta, number=number)
        else:
            return Response(status_code=404)
    except DomainError as exc:
        errors = errors_of(request, exc)
        return _detail(request, db, actor, path, number, take=action == "edit",
                       status_code=exc.status, errors=errors, entry_action=action,
                       line_errors=line_errors(errors, numbers), values=form,
                       conflict=conflict_of(exc))
    return RedirectResponse(f"/docs/{path}/{number}", status_code=303)


def _entry_lines(entry: Entry, form: dict[str, str]) -> tuple[list[Any], list[int]]:
    """Lines whose first field (or serial field) was filled in, e.g. qty_2=5 → line 2, with
    their numbers in that order. Scanned serials alone count as that many units."""
    first = entry.fields[0]
    named = (first, "serials") if entry.capture else (first,)
    numbers: dict[int, None] = {}
    for key, value in form.items():
        head, _sep, tail = key.rpartition("_")
        if head in named and tail.isdigit() and value.strip():
            numbers[int(tail)] = None
    lines = []
    for n in numbers:
        values = {f: form.get(f"{f}_{n}", "").strip() for f in entry.fields}
        codes = serial_codes(form.get(f"serials_{n}")) if entry.capture else []
        if codes and not values[first]:
            values[first] = str(len(codes))
        lines.append(entry.build(n, values, codes or None))
    if not lines:
        raise ValidationFailed.single("lines", "must have at least one line")
    return lines, list(numbers)
