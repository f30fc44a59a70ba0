"""Alert pages (预警): the list with its filters, refreshed live as alerts open and change; one
alert with who did what and when, acknowledge and resolve (each confirmed); the user's own
subscriptions and e-mail address. The rule settings pages are in ``alert_rules``. Permissions as
in the API (web/api/alerts.py); ``open_alerts`` is a template global for a navigation badge."""

from typing import Annotated, Any

from fastapi import APIRouter, Request, Response
from fastapi.responses import HTMLResponse, RedirectResponse

from cangliu.core.errors import DomainError, FieldError, NotFound
from cangliu.core.permissions import Actor
from cangliu.db.models.events import ALERT_STATES, SEVERITIES
from cangliu.db.uow import Database
from cangliu.i18n import translate
from cangliu.services.alerts import lifecycle, queries, rules, subscriptions
from cangliu.web.deps import AnyPageUser, DbDep, check_csrf, client_of, page_permit
from cangliu.web.export import answer, wants_export
from cangliu.web.pages.alert_rules import KIND_LABELS, SEVERITY_LABELS
from cangliu.web.pages.alert_rules import router as rules_router
from cangliu.web.pages.masterdata import _errors
from cangliu.web.pages.render import render, templates
from cangliu.web.problems import locale_of

router = APIRouter(include_in_schema=False)
router.include_router(rules_router)
Viewer = Annotated[Actor, page_permit("alert.view")]
Editor = Annotated[Actor, page_permit("alert.edit")]
PAGE = 50
STATE_LABELS = {"open": "Open", "acknowledged": "Acknowledged", "resolved": "Resolved",
                "active": "Open or acknowledged"}
# Badge colours, from the stock level legend's classes.
STATE_CLASSES = {"open": "out", "acknowledged": "low", "resolved": "ok"}
SEVERITY_CLASSES = {"info": "high", "warning": "low", "critical": "out"}
FILTERS = ("state", "severity", "rule", "kind", "site", "q")


def _page(request: Request, name: str, actor: Actor, **context: Any) -> HTMLResponse:
    return render(request, name, actor, state_labels=STATE_LABELS,
                  severity_labels=SEVERITY_LABELS, state_classes=STATE_CLASSES,
                  severity_classes=SEVERITY_CLASSES, kind_labels=KIND_LABELS, **context)


def open_alerts(request: Request, actor: Actor | None) -> int:
    """Open alerts the user may see: for a badge beside the Alerts link."""
    if actor is None or not actor.can("alert.view"):
        return 0
    db: Database = request.app.state.db
    with db.read() as session:
        return queries.open_count(session, actor)


templates.env.globals["open_alerts"] = open_alerts


# The list's columns when exported: the alert in the reader's language, who and when.
EXPORT_COLUMNS = (("severity", "Severity"), ("message", "Alert"), ("site", "Site"),
                  ("sku", "SKU"), ("rule_name", "Rule"), ("state", "State"), ("opened_at", "Opened"),
                  ("last_seen_at", "Last seen"), ("acknowledged_by", "Acknowledged by"),
                  ("acknowledged_at", "Acknowledged"), ("resolved_by", "Resolved by"),
                  ("resolved_at", "Resolved"))


@router.get("/alerts", response_class=HTMLResponse, response_model=None)
def list_page(request: Request, db: DbDep, actor: Viewer, state: str = "active",
              severity: str = "", rule: str = "", kind: str = "", site: str = "", q: str = "",
              cursor: int | None = None) -> Response:
    filters = {"state": state, "severity": severity, "rule": rule.strip(), "kind": kind,
               "site": site.strip(), "q": q.strip()[:64]}
    if fmt := wants_export(request):
        return _export(request, db, actor, filters, fmt)
    items: list[dict[str, Any]] = []
    nxt, errors = None, []
    try:
        with db.read() as session:
            items, nxt = queries.list_alerts(
                session, actor, after=cursor, limit=PAGE,
                **{k: v or None for k, v in filters.items()})
            rule_codes = [r["code"] for r in rules.list_rules(session)]
    except DomainError as exc:
        errors, rule_codes = _errors(locale_of(request), exc), []
    return _page(request, "alerts.html", actor, items=items, next_cursor=nxt, filters=filters,
                 errors=errors, rule_codes=rule_codes, states=(*ALERT_STATES, "active"),
                 severities=SEVERITIES, next_query={**filters, "cursor": nxt})


def _export(request: Request, db: Database, actor: Actor, filters: dict[str, str], fmt: str
            ) -> Response:
    locale = locale_of(request)

    def fetch(cursor: Any) -> tuple[list[dict[str, Any]], Any]:
        with db.read() as session:
            page, nxt = queries.list_alerts(session, actor, after=cursor, limit=500,
                                            **{k: v or None for k, v in filters.items()})
        return [{**a, "message": translate(locale, a["title"], **a["params"]),
                 "severity": translate(locale, SEVERITY_LABELS.get(a["severity"], a["severity"]))}
                for a in page], nxt

    return answer(request, actor, "alert", fetch, EXPORT_COLUMNS, fmt=fmt, filename="alerts")


@router.get("/alerts/subscriptions", response_class=HTMLResponse)
def subscriptions_page(request: Request, db: DbDep, actor: AnyPageUser) -> HTMLResponse:
    return _subscriptions(request, db, actor)


def _subscriptions(request: Request, db: Database, actor: Actor,
                   errors: list[FieldError] | None = None, status_code: int = 200,
                   email: str | None = None) -> HTMLResponse:
    with db.read() as session:
        items = subscriptions.list_subscriptions(session, actor)
        rule_codes = [(r["code"], r["name"]) for r in rules.list_rules(session)]
        saved_email = subscriptions.email_of(session, actor)
    return _page(request, "alert_subscriptions.html", actor, status_code=status_code,
                 items=items, rule_codes=rule_codes, errors=errors or [],
                 email=saved_email if email is None else email,
                 done=request.query_params.get("done", ""))


@router.post("/alerts/subscriptions/{action}", response_model=None)
async def subscriptions_act(action: str, request: Request, db: DbDep, actor: AnyPageUser
                            ) -> Response:
    """Subscribe, unsubscribe or save the e-mail address."""
    form = await request.form()
    check_csrf(request, str(form.get("csrf_token", "")), actor)
    value = {k: str(form.get(k) or "").strip() for k in ("channel", "rule", "role", "id", "email")}
    try:
        if action == "add":
            subscriptions.subscribe(db.uow(), actor, channel=value["channel"],
                                    rule=value["rule"] or None, role=value["role"] or None)
        elif action == "remove" and value["id"].isdigit():
            subscriptions.unsubscribe(db.uow(), actor, int(value["id"]))
        elif action == "email":
            subscriptions.set_email(db.uow(), actor, value["email"], client=client_of(request))
        else:
            raise NotFound("Page not found")
    except DomainError as exc:
        return _subscriptions(request, db, actor, _errors(locale_of(request), exc),
                              exc.status if exc.status != 400 else 422,
                              email=value["email"] if action == "email" else None)
    return RedirectResponse(f"/alerts/subscriptions?done={action}", status_code=303)


@router.get("/alerts/{alert_id}", response_class=HTMLResponse)
def alert_page(alert_id: int, request: Request, db: DbDep, actor: Viewer) -> HTMLResponse:
    return _alert(request, db, actor, alert_id)


def _alert(request: Request, db: Database, actor: Actor, alert_id: int,
           errors: list[FieldError] | None = None, status_code: int = 200) -> HTMLResponse:
    with db.read() as session:
        alert = queries.get_alert(session, actor, alert_id)
    return _page(request, "alert.html", actor, status_code=status_code, alert=alert,
                 errors=errors or [], done=request.query_params.get("done", ""))


@router.post("/alerts/{alert_id}/{action}", response_model=None)
async def act(alert_id: int, action: str, request: Request, db: DbDep, actor: Editor
              ) -> Response:
    """Acknowledge or resolve (each confirmed in the browser first), at the version shown."""
    form = await request.form()
    check_csrf(request, str(form.get("csrf_token", "")), actor)
    run = {"acknowledge": lifecycle.acknowledge, "resolve": lifecycle.resolve}.get(action)
    if run is None:
        raise NotFound("Page not found")
    version = str(form.get("version") or "")
    back = str(form.get("back") or "")
    try:
        run(db.uow(), actor, alert_id, str(form.get("note") or ""),
            version=int(version) if version.isdigit() else None)
    except DomainError as exc:
        if isinstance(exc, NotFound):
            raise
        return _alert(request, db, actor, alert_id, _errors(locale_of(request), exc),
                      exc.status if exc.status != 400 else 422)
    target = back if back.startswith("/alerts") and not back.startswith("//") else f"/alerts/{alert_id}"
    return RedirectResponse(f"{target}{'&' if '?' in target else '?'}done={action}",
                            status_code=303)
