"""调拨单 / Transfer order pages: list, new (lines typed or scanned), detail with actions, print, PDF."""

from collections.abc import Callable
from dataclasses import replace
from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Request, Response
from fastapi.responses import HTMLResponse, RedirectResponse

from cangliu.core.errors import DomainError, FieldError, ValidationFailed
from cangliu.core.permissions import Actor
from cangliu.db import queries
from cangliu.i18n import translate
from cangliu.services import masterdata, transfers
from cangliu.services.postings import Meta
from cangliu.services.transfers import DestinationIn, ReceiptLineIn, ShipSerialsIn, TransferLineIn
from cangliu.web.deps import DOC_ACTIONS, DbDep, check_csrf, doable, in_scope, page_permit
from cangliu.web.export import answer, wants_export
from cangliu.web.export import sites as export_sites
from cangliu.web.pages.custom_fields import form_custom
from cangliu.web.pages.locks import conflict_of, document_lock
from cangliu.web.pages.render import render
from cangliu.web.pdf import document_pdf
from cangliu.web.problems import locale_of

router = APIRouter(include_in_schema=False)
CanActTransfer = Annotated[Actor, page_permit("transfer.{action}", actions=DOC_ACTIONS)]
CanCreateTransfer = Annotated[Actor, page_permit("transfer.create")]
CanViewTransfer = Annotated[Actor, page_permit("transfer.view")]
ACTIONS: dict[str, Callable[..., Any]] = {
    "submit": transfers.submit_transfer, "ship": transfers.ship_transfer,
    "cancel": transfers.cancel_transfer, "close": transfers.close_transfer}


def parse_lines(text: str) -> list[TransferLineIn]:
    """One line per SKU: ``CODE QTY [LOT]``; a scanner's Enter starts the next line."""
    lines = []
    for i, raw in enumerate(ln for ln in text.splitlines() if ln.strip()):
        parts = raw.replace(",", " ").replace("\t", " ").split()
        if len(parts) < 2:
            raise ValidationFailed.single(f"lines[{i}]", "write the SKU code and the quantity")
        lines.append(TransferLineIn(parts[0], parts[1], parts[2] if len(parts) > 2 else None))
    return lines


def errors_of(request: Request, exc: DomainError) -> list[FieldError]:
    locale = locale_of(request)
    if isinstance(exc, ValidationFailed):
        return [FieldError(e.field, translate(locale, e.message, **e.params)) for e in exc.errors]
    return [FieldError("", translate(locale, exc.message, **exc.params))]


def serial_codes(text: str | None) -> list[str]:
    """The codes of a serial field, one per line as a scanner types them. Only line feeds
    split: GS1 content keeps its group separators (which ``str.splitlines`` would split on)."""
    return [c.strip(" \t\r") for c in (text or "").split("\n") if c.strip(" \t\r")]


def line_errors(errors: list[FieldError], numbers: list[int]) -> dict[int, list[str]]:
    """The messages of the fields ``lines[i]…`` by the number of the line submitted i-th, to
    show each next to its line."""
    found: dict[int, list[str]] = {}
    for e in errors:
        head = e.field.split("]")[0]
        if head.startswith("lines[") and head[6:].isdigit() and int(head[6:]) < len(numbers):
            found.setdefault(numbers[int(head[6:])], []).append(e.message)
    return found


def parse_day(value: str | None, field: str) -> date | None:
    """A date typed in a filter bar (YYYY-MM-DD); empty means no bound."""
    if not value or not value.strip():
        return None
    try:
        return date.fromisoformat(value.strip())
    except ValueError:
        raise ValidationFailed.single(field, "must be a date (YYYY-MM-DD)") from None


def date_filters(created_from: str | None, created_to: str | None
                 ) -> tuple[date | None, date | None]:
    """The filter bar's two creation dates, each checked on its own."""
    return parse_day(created_from, "created_from"), parse_day(created_to, "created_to")


EXPORT_COLUMNS = (("number", "Number"), ("state", "State"), ("source", "From"), ("dest", "To"),
                  ("expected_arrival", "Expected arrival"), ("created_at", "Created"),
                  ("shipped_at", "Shipped"), ("received_at", "Received"))


@router.get("/transfers", response_class=HTMLResponse, response_model=None)
def list_page(request: Request, db: DbDep, actor: CanViewTransfer, state: str | None = None,
              site: str | None = None, q: str | None = None, cursor: str | None = None,
              created_from: str | None = None, created_to: str | None = None) -> Response:
    filters = {"state": state or "", "site": site or "", "q": q or "",
               "created_from": created_from or "", "created_to": created_to or ""}
    items: list[dict[str, Any]] = []
    nxt, errors, status = None, [], 200
    fmt = wants_export(request)
    with db.read() as session:
        try:
            start, end = date_filters(created_from, created_to)

            def fetch(after: str | None, limit: int = 50) -> Any:
                return queries.transfers(session, state=state or None, site=site or None,
                                         q=q or None, after=after, limit=limit,
                                         created_from=start, created_to=end,
                                         scope=export_sites(actor, "transfer") if fmt
                                         else actor.sites("transfer.view"))
            if fmt:
                return answer(request, actor, "transfer", lambda after: fetch(after, 1000),
                              EXPORT_COLUMNS, fmt=fmt, filename="transfers")
            items, nxt = fetch(cursor)
        except DomainError as exc:
            if fmt:
                raise
            errors, status = errors_of(request, exc), exc.status
        sites, _ = masterdata.list_records(session, "site", limit=500,
                                           scope=actor.sites("site.view"))
    return render(request, "transfers.html", actor, status_code=status, items=items,
                  next_cursor=nxt, sites=sites, filters=filters, errors=errors)


@router.get("/transfers/new", response_class=HTMLResponse)
def new_page(request: Request, db: DbDep, actor: CanCreateTransfer) -> HTMLResponse:
    with db.read() as session:
        sites, _ = masterdata.list_records(session, "site", limit=500,
                                           scope=actor.sites("site.view"))
    return render(request, "transfer_new.html", actor, sites=sites, values={}, errors=[])


SEVERAL = "*"  # the destination choice meaning "each line names its destination"


def parse_destination_lines(text: str) -> list[DestinationIn]:
    """``DEST SKU QTY [LOT]`` per line, grouped into one destination each in order of appearance."""
    grouped: dict[str, list[TransferLineIn]] = {}
    for i, raw in enumerate(ln for ln in text.splitlines() if ln.strip()):
        parts = raw.replace(",", " ").replace("\t", " ").split()
        if len(parts) < 3:
            raise ValidationFailed.single(f"lines[{i}]",
                                          "write the destination site, the SKU code and the quantity")
        grouped.setdefault(parts[0], []).append(
            TransferLineIn(parts[1], parts[2], parts[3] if len(parts) > 3 else None))
    if not grouped:
        raise ValidationFailed.single("lines", "must have at least one line")
    return [DestinationIn(dest, lines) for dest, lines in grouped.items()]


def _create(db: Any, request: Request, meta: Meta, values: dict[str, str],
            custom: dict[str, Any] | None) -> list[dict[str, Any]]:
    """Create the transfer(s) the form describes (``custom``: its custom field values)."""
    arrival = parse_day(values["expected_arrival"], "expected_arrival")
    if values["dest"] == SEVERAL:
        destinations = [replace(d, expected_arrival=arrival)
                        for d in parse_destination_lines(values["lines"])]
        for d in destinations:
            in_scope(db, request, meta.actor, "transfer.create", values["source"], d.dest,
                     either=True)
        return list(transfers.create_transfers(db.uow(), meta, source=values["source"],
                                               destinations=destinations,
                                               custom=custom)["transfers"])
    in_scope(db, request, meta.actor, "transfer.create", values["source"], values["dest"],
             either=True)
    return [transfers.create_transfer(db.uow(), meta, source=values["source"], dest=values["dest"],
                                      lines=parse_lines(values["lines"]), expected_arrival=arrival,
                                      custom=custom)]


@router.post("/transfers/new", response_model=None)
async def create(request: Request, db: DbDep, actor: CanCreateTransfer) -> Any:
    """One transfer opens its page; several are listed on a fresh form. Posting the same form
    again (its key) answers the same transfers and creates nothing more."""
    form = await request.form()
    check_csrf(request, str(form.get("csrf_token", "")))
    values = {k: str(form.get(k, "")) for k in ("source", "dest", "lines", "reason", "key",
                                                 "expected_arrival")}
    meta = Meta(actor, reason=values["reason"], idempotency_key=values["key"] or None)
    try:
        created = _create(db, request, meta, values, form_custom(form))
    except DomainError as exc:
        with db.read() as session:
            sites, _ = masterdata.list_records(session, "site", limit=500,
                                           scope=actor.sites("site.view"))
        return render(request, "transfer_new.html", actor, status_code=exc.status, sites=sites,
                      values=values, errors=errors_of(request, exc))
    if len(created) == 1:
        return RedirectResponse(f"/transfers/{created[0]['number']}", status_code=303)
    with db.read() as session:
        sites, _ = masterdata.list_records(session, "site", limit=500,
                                           scope=actor.sites("site.view"))
    return render(request, "transfer_new.html", actor, status_code=201, sites=sites, values={},
                  errors=[], created=created)


def _page(request: Request, db: Any, actor: Actor, t: dict[str, Any], *, take: bool,
          status_code: int = 200, **context: Any) -> HTMLResponse:
    """A transfer's page, with the steps the user may take on it."""
    t = {**t, "allowed_actions": doable(db, actor, "transfer", t["number"], t["allowed_actions"])}
    return render(request, "transfer.html", actor, status_code=status_code, t=t, **context,
                  **document_lock(db, actor, "transfers", t, take=take))


@router.get("/transfers/{number}", response_class=HTMLResponse)
def detail(number: str, request: Request, db: DbDep, actor: CanViewTransfer, edit: bool = False
           ) -> HTMLResponse:
    return _page(request, db, actor, transfers.get_transfer(db.uow(), number), take=edit,
                 errors=[])


@router.post("/transfers/{number}/{action}", response_model=None)
async def act(number: str, action: str, request: Request, db: DbDep, actor: CanActTransfer) -> Any:
    form = await request.form()
    check_csrf(request, str(form.get("csrf_token", "")))
    meta = Meta(actor, reason=str(form.get("reason", "")),
                idempotency_key=str(form.get("key") or "") or None)
    numbers: list[int] = []
    try:
        if action == "receive":
            lines = _receipt_lines(form)
            numbers = [ln.line_no for ln in lines]
            done = transfers.receive_transfer(db.uow(), meta, number=number, lines=lines)
            if done["serials_missing"] or done["serials_extra"]:
                return _page(request, db, actor, done, take=False, errors=[], report=done)
        elif action == "ship" and any(k.startswith("serials_") for k in form):
            order = transfers.get_transfer(db.uow(), number)["lines"]
            numbers = [ln["line_no"] for ln in order]
            transfers.ship_transfer(db.uow(), meta, number=number, lines=[
                ShipSerialsIn(n, serial_codes(str(form.get(f"serials_{n}", "")))) for n in numbers])
        elif action == "edit":
            _edit(db, meta, number, form)
        elif action in ACTIONS:
            ACTIONS[action](db.uow(), meta, number=number)
        else:
            return Response(status_code=404)
    except DomainError as exc:
        errors = errors_of(request, exc)
        return _page(request, db, actor, transfers.get_transfer(db.uow(), number),
                     take=action == "edit", status_code=exc.status, errors=errors,
                     conflict=conflict_of(exc), entry_action=action,
                     values={k: str(v) for k, v in form.items()},
                     line_errors=line_errors(errors, numbers))
    return RedirectResponse(f"/transfers/{number}", status_code=303)


def _edit(db: Any, meta: Meta, number: str, form: Any) -> None:
    """A draft's edit form: the lines replace the transfer's, based on the version it showed."""
    version = str(form.get("version", ""))
    if not version.isdigit():
        raise ValidationFailed.single("version", "must be a whole number")
    transfers.update_transfer(
        db.uow(), meta, number=number, version=int(version),
        lines=parse_lines(str(form.get("lines", ""))),
        expected_arrival=parse_day(str(form.get("expected_arrival", "")), "expected_arrival"),
        custom=form_custom(form))


def _receipt_lines(form: Any) -> list[ReceiptLineIn]:
    """The lines the clerk filled in (received / damaged / shortage per line number, and the
    serials scanned); scanned serials alone count as that many units received."""
    lines = []
    for key in form:
        if key.startswith("received_"):
            n = key.removeprefix("received_")
            values = [str(form.get(f"{kind}_{n}") or "").strip() or "0"
                      for kind in ("received", "damaged", "shortage")]
            codes = serial_codes(str(form.get(f"serials_{n}", "")))
            if codes and all(v == "0" for v in values):
                values[0] = str(len(codes))
            if any(v != "0" for v in values) and n.isdigit():
                received, damaged, shortage = values
                lines.append(ReceiptLineIn(int(n), received, damaged, shortage, codes or None))
    if not lines:
        raise ValidationFailed.single("lines", "give a received, damaged or shortage quantity")
    return lines


@router.get("/transfers/{number}/print", response_class=HTMLResponse)
def print_view(number: str, request: Request, db: DbDep, actor: CanViewTransfer) -> HTMLResponse:
    return render(request, "transfer_print.html", actor, t=transfers.get_transfer(db.uow(), number))


@router.get("/transfers/{number}/pdf")
def pdf(number: str, request: Request, db: DbDep, actor: CanViewTransfer) -> Response:
    t = transfers.get_transfer(db.uow(), number)
    locale = locale_of(request)

    def _(msg: str) -> str:
        return translate(locale, msg)

    header = [(_("State"), _(t["state"])), (_("From"), t["source"]), (_("To"), t["dest"]),
              (_("Expected arrival"), t["expected_arrival"] or "—"),
              (_("Created by"), f"{t['created_by']} · {t['created_at'][:16]}"),
              (_("Reason"), t["reason"] or "—")]
    columns = [_("Line"), _("SKU"), _("Lot"), _("Quantity"), _("Shipped"), _("Received"),
               _("Damaged"), _("Shortage")]
    rows = [[ln["line_no"], ln["sku"], ln["lot"], ln["qty"], ln["shipped_qty"], ln["received_qty"],
             ln["damaged_qty"], ln["shortage_qty"]] for ln in t["lines"]]
    body = document_pdf(title=_("Transfer order"), number=number, header=header, columns=columns,
                        rows=rows)
    return Response(body, media_type="application/pdf",
                    headers={"Content-Disposition": f'inline; filename="{number}.pdf"'})
