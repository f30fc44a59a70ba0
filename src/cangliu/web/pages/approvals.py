"""我的审批 / My approvals: the pending, done and CC tabs, the decision page (phone-sized), the
approvals panel on every document page, and the signed one-time links that open a decision.

Document pages show the panel with ``{% include "_approval.html" %}``; its data comes from
``approval_panel``, and the nav badge from ``pending_approvals``, both template globals.
"""

from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from cangliu.core.errors import DomainError, NotFound, ValidationFailed
from cangliu.core.permissions import Actor
from cangliu.db.uow import Database
from cangliu.i18n import translate
from cangliu.services import approvals, timeline
from cangliu.services.approvals import inbox, links
from cangliu.web.deps import AnyPageUser, DbDep, check_csrf
from cangliu.web.pages.render import render, templates
from cangliu.web.pages.transfers import errors_of
from cangliu.web.problems import locale_of

router = APIRouter(include_in_schema=False)
BOXES = ("pending", "done", "cc")
DECISIONS = ("approve", "reject", "return", "delegate", "add")
PAGE_SIZE = 20
# Summary fields of the decision page (the policy's condition fields), in this order.
SUMMARY = ("amount", "currency", "lines", "source_site", "dest_site", "site", "supplier",
           "category")


def _db(request: Request) -> Database:
    db: Database = request.app.state.db
    return db


def _aware(at: datetime) -> datetime:
    return at if at.tzinfo else at.replace(tzinfo=UTC)


def waited(locale: str, since: datetime, now: datetime) -> str:
    """How long an approval has waited at its step, to the minute."""
    minutes = max(0, int((_aware(now) - _aware(since)).total_seconds() // 60))
    days, hours = minutes // 1440, minutes % 1440 // 60
    if days:
        return translate(locale, "{days} d {hours} h", days=days, hours=hours)
    if hours:
        return translate(locale, "{hours} h {minutes} min", hours=hours, minutes=minutes % 60)
    return translate(locale, "{minutes} min", minutes=minutes)


def document_link(document_type: str, number: str) -> str:
    """The document's page; "" for a kind that has no page yet."""
    return timeline.link(document_type, number) if document_type in timeline.KINDS else ""


def _dress(locale: str, roles: dict[str, tuple[str, str]], now: datetime,
           item: dict[str, Any]) -> dict[str, Any]:
    """An approval as pages show it: step labels in the user's language, its current step and
    how long it has waited there."""
    def label(name: str) -> str:
        zh, en = roles.get(name, ("", ""))
        return (zh if locale == "zh_CN" else en) or zh or translate(locale, name)

    steps = [{**s, "label": label(s["name"])} for s in item["steps"]]
    pending = item["state"] == "pending" and item["step_index"] < len(steps)
    return {**item, "steps": steps, "link": document_link(item["document_type"],
                                                          item["document_number"]),
            "current": steps[item["step_index"]]["label"] if pending else "",
            "waiting": waited(locale, item["step_started_at"], now) if pending else ""}


def _dressed(request: Request, items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    locale, now = locale_of(request), datetime.now(UTC)
    roles = inbox.role_names(_db(request).uow()) if items else {}
    return [_dress(locale, roles, now, i) for i in items]


# ---- template globals: the nav badge and the document panel -----------------------------------


def pending_approvals(request: Request, actor: Actor | None) -> int:
    return inbox.pending_count(_db(request).uow(), actor) if actor else 0


def approval_panel(request: Request, actor: Actor, document_type: str, number: str
                   ) -> list[dict[str, Any]]:
    """Every approval of the document the user may see, newest first."""
    return _dressed(request, inbox.document_approvals(_db(request).uow(), actor, document_type,
                                                      number))


templates.env.globals["pending_approvals"] = pending_approvals
templates.env.globals["approval_panel"] = approval_panel


# ---- my approvals -----------------------------------------------------------------------------


@router.get("/approvals", response_class=HTMLResponse)
def my_approvals(request: Request, db: DbDep, actor: AnyPageUser, box: str = "pending",
                 page: Annotated[int, Query(ge=1, le=10_000)] = 1, decided: str = "") -> HTMLResponse:
    box = box if box in BOXES else "pending"
    items, more = inbox.my_approvals(db.uow(), actor, box,  # type: ignore[arg-type]
                                     offset=(page - 1) * PAGE_SIZE, limit=PAGE_SIZE)
    return render(request, "approvals.html", actor, box=box, page=page, more=more,
                  items=_dressed(request, items), decided=decided[:40],
                  pending=inbox.pending_count(db.uow(), actor))


# ---- one approval -----------------------------------------------------------------------------


def _summary(db: Database, actor: Actor, item: dict[str, Any]) -> dict[str, Any]:
    """The document's condition fields worth a glance; none for a kind without them. Only a
    purchase's amount is at its prices: the others are at cost, hidden from who may not see costs."""
    uow = db.uow()
    try:
        with uow:
            fields = approvals.fields_of(uow, item["document_type"], item["document_number"])
    except DomainError:
        return {}
    if item["document_type"] != "purchase" and not actor.shows("cost"):
        fields.pop("amount", None)
    shown = actor.redact({k: fields[k] for k in SUMMARY if k in fields and fields[k] != ""})
    if isinstance(shown.get("amount"), float):
        shown["amount"] = f"{shown['amount']:,.2f}"
    return dict(shown)


def _decision_page(request: Request, db: Database, actor: Actor, instance_id: int, *,
                   status: int = 200, errors: list[Any] | None = None,
                   values: dict[str, str] | None = None) -> HTMLResponse:
    item = _dressed(request, [inbox.approval_for(db.uow(), actor, instance_id)])[0]
    return render(request, "approval.html", actor, status_code=status, a=item,
                  summary=_summary(db, actor, item), errors=errors or [], values=values or {},
                  decided=request.query_params.get("decided", "")[:20])


@router.get("/approvals/{instance_id}", response_class=HTMLResponse)
def decision_page(instance_id: int, request: Request, db: DbDep, actor: AnyPageUser
                  ) -> HTMLResponse:
    return _decision_page(request, db, actor, instance_id)


def _back(target: str, instance_id: int) -> str:
    """Where to go after deciding: the page the form was on, within this site."""
    if target.startswith("/") and not target.startswith("//"):
        return target
    return f"/approvals/{instance_id}"


@router.post("/approvals/{instance_id}/decision", response_model=None)
async def decide(instance_id: int, request: Request, db: DbDep, actor: AnyPageUser) -> Response:
    """Approve, reject, return, delegate or add an approver from a page; a refusal is shown on
    the decision page, in the user's language, and nothing changes."""
    form = await request.form()
    check_csrf(request, str(form.get("csrf_token", "")), actor)
    values = {k: str(form.get(k, "")).strip() for k in ("decision", "comment", "to_user", "back")}
    try:
        if values["decision"] not in DECISIONS:
            raise ValidationFailed.single("decision", "must be one of: {expected}",
                                          expected=", ".join(DECISIONS))
        done = approvals.decide(db.uow(), actor, instance_id, values["decision"],  # type: ignore[arg-type]
                                values["comment"][:2000], values["to_user"][:64] or None)
    except NotFound:
        raise
    except DomainError as exc:
        return _decision_page(request, db, actor, instance_id, status=exc.status,
                              errors=errors_of(request, exc), values=values)
    target, _hash, fragment = _back(values["back"], instance_id).partition("#")
    mark = "&" if "?" in target else "?"
    return RedirectResponse(f"{target}{mark}decided={done['document_number']}"
                            + (f"#{fragment}" if fragment else ""), status_code=303)


# ---- signed one-time links --------------------------------------------------------------------


@router.get("/approvals/open/{token}", response_class=HTMLResponse)
def open_link(token: str, request: Request, db: DbDep, actor: AnyPageUser) -> Response:
    """A link from a message: after login, the decision page for the user it was issued to, once.
    Someone not logged in comes back here from the login page."""
    try:
        instance_id = links.open_link(db.uow(), token, actor.user_id,
                                      secret=links.app_secret(db.uow()))
    except DomainError as exc:
        detail = translate(locale_of(request), exc.message, **exc.params)
        return render(request, "error.html", actor, status_code=exc.status, status=exc.status,
                      title=exc.title, detail=detail)
    return RedirectResponse(f"/approvals/{instance_id}", status_code=303)
