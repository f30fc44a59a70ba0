"""Collaboration pages: the inbox (and the bell's unread count), tasks, and on every document
page a panel with its next steps in the chain, its timeline, its tasks and its comments.

Document pages show the panel with ``{% include "_collab.html" %}``; the panel's data comes from
``collab_panel``, registered as a template global so those pages need no extra context.
"""

from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from cangliu.core.documents import BASE_CURRENCY
from cangliu.core.errors import DomainError, NotFound, ValidationFailed
from cangliu.core.permissions import Actor
from cangliu.db.uow import Database
from cangliu.i18n import translate
from cangliu.services import (
    accounts,
    comments,
    counts,
    notifications,
    purchasing,
    sales,
    scrap,
    tasks,
    timeline,
    transfers,
)
from cangliu.services.postings import Meta
from cangliu.web.deps import DbDep, check_csrf, deny, page_permit
from cangliu.web.pages.render import render, templates
from cangliu.web.pages.transfers import errors_of, parse_day
from cangliu.web.problems import locale_of

router = APIRouter(include_in_schema=False)
Me = Annotated[Actor, page_permit(None)]
DocViewer = Annotated[Actor, page_permit("{kind}.view", resources={
    k: v.resource for k, v in timeline.KINDS.items()})]
Payer = Annotated[Actor, page_permit("finance.create")]
LOADERS = {"purchase": purchasing.get_purchase, "sales": sales.get_sale,
           "transfer": transfers.get_transfer, "count": counts.get_count, "scrap": scrap.get_scrap}
# The page path of a document kind on doc.html → the kind.
DOC_PATHS = {"purchase-orders": "purchase", "sales-orders": "sales", "counts": "count"}
SCOPES = ("mine", "user", "role", "created")


def _today() -> date:
    return datetime.now(UTC).date()


def _db(request: Request) -> Database:
    db: Database = request.app.state.db
    return db


# ---- template globals: the bell and the document panel ----------------------------------------


def unread_count(request: Request, actor: Actor | None) -> int:
    """The bell's number on every page."""
    return notifications.unread_count(_db(request).uow(), actor) if actor else 0


def _steps(actor: Actor, kind: str, doc: dict[str, Any], open_money: Decimal) -> list[dict[str, Any]]:
    """The chain's next steps the actor may take: links, or the payment form (``pay``)."""
    page, number = timeline.KINDS[kind].page, doc["number"]
    # What was received is what there is to sell.
    lines = "\n".join(f"{ln['sku']} {ln['received_qty']}" for ln in doc.get("lines", [])
                      if Decimal(str(ln.get("received_qty") or 0)) > 0)
    sell = urlencode({"site": doc.get("site", ""), "lines": lines})
    offer = {
        "receive": ("purchase.post", "Receive goods", f"{page}/{number}#entry-receive"),
        "sell": ("sales.create", "Create sales order",
                 f"/docs/sales-orders/new?{sell}"),
        "pay": ("finance.create", "Record payment to supplier", ""),
        "pick": ("sales.view", "Pick list", f"{page}/{number}/pick-list"),
        "ship": ("sales.post", "Ship", f"{page}/{number}#entry-ship"),
        "collect": ("finance.create", "Record customer payment", ""),
    }
    out = []
    for step in timeline.next_steps(kind, doc.get("state"), open_money):
        permission, label, url = offer[step]
        if actor.can(permission):
            out.append({"step": step, "label": label, "url": url, "form": not url})
    return out


def collab_panel(request: Request, actor: Actor, kind: str, doc: dict[str, Any]) -> dict[str, Any]:
    """Everything the panel shows about one document."""
    db, number = _db(request), doc["number"]
    open_money = timeline.open_amount(db.uow(), kind, number) if kind in ("purchase", "sales") \
        else Decimal(0)
    items, _nxt = comments.list_comments(db.uow(), kind, number, limit=500)
    return {"kind": kind, "number": number, "comments": items,
            "events": timeline.timeline(db.uow(), kind, number),
            "tasks": tasks.document_tasks(db.uow(), kind, number),
            "steps": _steps(actor, kind, doc, open_money), "open_money": open_money,
            "today": _today().isoformat(), "url": f"/collab/{kind}/{number}",
            "link": timeline.link(kind, number)}


templates.env.globals["collab_panel"] = collab_panel
templates.env.globals["unread_count"] = unread_count
templates.env.globals["collab_doc_paths"] = DOC_PATHS


def _panel(request: Request, db: Database, actor: Actor, kind: str, number: str, *,
           status: int = 200, errors: list[Any] | None = None, values: dict[str, str] | None = None
           ) -> HTMLResponse:
    """The panel alone (for htmx) or as a page of its own (without JavaScript)."""
    doc = LOADERS[kind](db.uow(), number)
    name = "_collab_panel.html" if request.headers.get("hx-request") else "collab.html"
    # htmx swaps only 2xx answers: a refused comment comes back as 200 with its errors shown.
    code = 200 if request.headers.get("hx-request") and status < 500 else status
    return render(request, name, actor, status_code=code, c=collab_panel(request, actor, kind, doc),
                  doc=doc, errors=errors or [], values=values or {})


@router.get("/collab/{kind}/{number}", response_class=HTMLResponse)
def panel(kind: str, number: str, request: Request, db: DbDep, actor: DocViewer) -> HTMLResponse:
    return _panel(request, db, actor, kind, number)


@router.post("/collab/{kind}/{number}/comments", response_model=None)
async def comment(kind: str, number: str, request: Request, db: DbDep, actor: DocViewer
                  ) -> Response:
    form = await request.form()
    check_csrf(request, str(form.get("csrf_token", "")), actor)
    body = str(form.get("body", ""))
    try:
        comments.add_comment(db.uow(), actor, kind=kind, number=number, body=body)
    except DomainError as exc:
        return _panel(request, db, actor, kind, number, status=exc.status,
                      errors=errors_of(request, exc), values={"body": body})
    if request.headers.get("hx-request"):
        return _panel(request, db, actor, kind, number)
    return RedirectResponse(f"{timeline.link(kind, number)}#collab", status_code=303)


@router.post("/collab/{kind}/{number}/payment", response_model=None)
async def payment(kind: str, number: str, request: Request, db: DbDep, actor: Payer) -> Response:
    """Settle the document: money from the customer of a sale, or to the supplier of a purchase,
    allocated to this document's open item."""
    form = await request.form()
    check_csrf(request, str(form.get("csrf_token", "")), actor)
    if kind not in ("purchase", "sales"):
        raise NotFound("Page not found")
    resource = timeline.KINDS[kind].resource
    sites = _sites(db, kind, number)
    if sites is None or not actor.sees(f"{resource}.view", sites):
        raise deny(request, NotFound("Document {number} not found", number=number), actor)
    values = {k: str(form.get(k, "")).strip() for k in ("amount", "paid_on", "reference", "key")}
    try:
        _pay(db, actor, kind, number, values)
    except DomainError as exc:
        return _panel(request, db, actor, kind, number, status=exc.status,
                      errors=errors_of(request, exc), values=values)
    return RedirectResponse(f"{timeline.link(kind, number)}#collab", status_code=303)


def _sites(db: Database, kind: str, number: str) -> list[int] | None:
    with db.read() as session:
        return timeline.document_sites(session, kind, number)


def _pay(db: Database, actor: Actor, kind: str, number: str, values: dict[str, str]) -> None:
    doc = LOADERS[kind](db.uow(), number)
    paid_on = parse_day(values["paid_on"], "paid_on") or _today()
    if not values["amount"]:
        raise ValidationFailed.single("amount", "is required")
    accounts.record_payment(
        db.uow(), Meta(actor, idempotency_key=values["key"] or None),
        kind="payable" if kind == "purchase" else "receivable",
        partner=doc["supplier"] if kind == "purchase" else doc["customer"],
        amount=values["amount"], paid_on=paid_on, currency=BASE_CURRENCY,
        reference=values["reference"][:100],
        allocations=[accounts.AllocationIn(number, values["amount"])])


# ---- the inbox --------------------------------------------------------------------------------


def _message(locale: str, item: dict[str, Any]) -> dict[str, Any]:
    return {**item, "title": translate(locale, item["title"], **item["params"])}


@router.get("/inbox", response_class=HTMLResponse)
def inbox(request: Request, db: DbDep, actor: Me, unread: bool = False,
          cursor: Annotated[int | None, Query(ge=1)] = None) -> HTMLResponse:
    items, nxt = notifications.list_notifications(db.uow(), actor, unread_only=unread,
                                                  before=cursor)
    locale = locale_of(request)
    return render(request, "inbox.html", actor, items=[_message(locale, i) for i in items],
                  next_cursor=nxt, unread=unread)


@router.get("/inbox/badge", response_class=HTMLResponse)
def badge(request: Request, actor: Me) -> HTMLResponse:
    """The bell alone, refreshed by the page every minute."""
    return render(request, "_bell.html", actor)


@router.post("/inbox/read-all", response_model=None)
async def read_all(request: Request, db: DbDep, actor: Me) -> Response:
    form = await request.form()
    check_csrf(request, str(form.get("csrf_token", "")), actor)
    notifications.mark_all_read(db.uow(), actor)
    return RedirectResponse("/inbox", status_code=303)


@router.post("/inbox/{notification_id}/read", response_model=None)
async def read(notification_id: int, request: Request, db: DbDep, actor: Me) -> Response:
    """Mark a message read; with ``open`` go on to what it is about."""
    form = await request.form()
    check_csrf(request, str(form.get("csrf_token", "")), actor)
    item = notifications.mark_read(db.uow(), actor, notification_id)
    target = item["link"] if form.get("open") and item["link"].startswith("/") else "/inbox"
    return RedirectResponse(target, status_code=303)


# ---- tasks ------------------------------------------------------------------------------------


def _tasks_page(request: Request, db: Database, actor: Actor, *, scope: str, status: str,
                page: int = 1, code: int = 200, errors: list[Any] | None = None,
                values: dict[str, str] | None = None) -> HTMLResponse:
    if scope not in SCOPES:
        scope = "mine"
    items, nxt = tasks.list_tasks(db.uow(), actor, scope=scope,  # type: ignore[arg-type]
                                  status=status if status in tasks.STATUSES else None, page=page)
    return render(request, "tasks.html", actor, status_code=code, items=items, next_page=nxt,
                  page=page, scope=scope, status=status, today=_today().isoformat(),
                  errors=errors or [], values=values or {}, kinds=list(timeline.KINDS),
                  scopes=SCOPES, statuses=tasks.STATUSES)


@router.get("/tasks", response_class=HTMLResponse)
def tasks_page(request: Request, db: DbDep, actor: Me, scope: str = "mine", status: str = "open",
               page: Annotated[int, Query(ge=1)] = 1, document_kind: str = "",
               document_number: str = "") -> HTMLResponse:
    return _tasks_page(request, db, actor, scope=scope, status=status, page=page,
                       values={"document_kind": document_kind, "document_number": document_number})


FIELDS = ("title", "note", "assignee", "role", "due_date", "document_kind", "document_number")


@router.post("/tasks/new", response_model=None)
async def new_task(request: Request, db: DbDep, actor: Me) -> Response:
    form = await request.form()
    check_csrf(request, str(form.get("csrf_token", "")), actor)
    values = {k: str(form.get(k, "")).strip() for k in FIELDS}
    try:
        tasks.create_task(db.uow(), actor, tasks.TaskIn(
            title=values["title"][:200], note=values["note"], assignee=values["assignee"] or None,
            role=values["role"] or None, due_date=parse_day(values["due_date"], "due_date"),
            document_kind=values["document_kind"] or None,
            document_number=values["document_number"] or None))
    except DomainError as exc:
        return _tasks_page(request, db, actor, scope="created", status="open", code=exc.status,
                           errors=errors_of(request, exc), values=values)
    return RedirectResponse("/tasks?scope=created", status_code=303)


@router.post("/tasks/{task_id}/status", response_model=None)
async def set_status(task_id: int, request: Request, db: DbDep, actor: Me) -> Response:
    """Done, cancelled or reopened, based on the version the page showed."""
    form = await request.form()
    check_csrf(request, str(form.get("csrf_token", "")), actor)
    version, status = str(form.get("version", "")), str(form.get("status", ""))
    back = str(form.get("scope", "mine"))
    try:
        if not version.isdigit():
            raise ValidationFailed.single("version", "must be a whole number")
        tasks.update_task(db.uow(), actor, task_id, version=int(version), status=status)
    except DomainError as exc:
        return _tasks_page(request, db, actor, scope=back, status="", code=exc.status,
                           errors=errors_of(request, exc))
    return RedirectResponse(f"/tasks?scope={back if back in SCOPES else 'mine'}", status_code=303)
