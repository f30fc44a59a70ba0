"""The FastAPI application: JSON API under /api/v1, server-rendered pages, static files."""

import re
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from functools import partial
from pathlib import Path
from typing import Protocol

from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from starlette.middleware.sessions import SessionMiddleware
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from cangliu import __version__
from cangliu.config import Settings, get_settings
from cangliu.core.errors import DomainError
from cangliu.db import audit
from cangliu.db.uow import Database
from cangliu.i18n import translate
from cangliu.services import auth, roles
from cangliu.web import dbdown, ops, problems, ratelimit, sse
from cangliu.web import openapi as openapi_doc
from cangliu.web.api import alerts as alerts_api
from cangliu.web.api import approvals as approvals_api
from cangliu.web.api import audit as audit_api
from cangliu.web.api import auth as auth_api
from cangliu.web.api import channels as channels_api
from cangliu.web.api import collab as collab_api
from cangliu.web.api import counts as counts_api
from cangliu.web.api import custom_fields as custom_fields_api
from cangliu.web.api import dashboard as dashboard_api
from cangliu.web.api import finance as finance_api
from cangliu.web.api import history as history_api
from cangliu.web.api import imports as imports_api
from cangliu.web.api import labels as labels_api
from cangliu.web.api import locks as locks_api
from cangliu.web.api import lots as lots_api
from cangliu.web.api import masterdata as masterdata_api
from cangliu.web.api import offline as offline_api
from cangliu.web.api import planning as planning_api
from cangliu.web.api import planning_rules as planning_rules_api
from cangliu.web.api import planning_settings as planning_settings_api
from cangliu.web.api import print_templates as print_templates_api
from cangliu.web.api import promotions as promotions_api
from cangliu.web.api import purchasing as purchasing_api
from cangliu.web.api import recalls as recalls_api
from cangliu.web.api import repairs as repairs_api
from cangliu.web.api import reports as reports_api
from cangliu.web.api import sales as sales_api
from cangliu.web.api import serial_analytics as serial_analytics_api
from cangliu.web.api import serials as serials_api
from cangliu.web.api import stock as stock_api
from cangliu.web.api import suggestions as suggestions_api
from cangliu.web.api import transfers as transfers_api
from cangliu.web.api import users as users_api
from cangliu.web.api import webhooks as webhooks_api
from cangliu.web.api import work_orders as work_orders_api
from cangliu.web.deps import AnyPageUser, AnyUser, LoginRequired, TwoStepRequired
from cangliu.web.fieldrules import FieldRulesMiddleware
from cangliu.web.pages import account as account_pages
from cangliu.web.pages import alerts as alert_pages
from cangliu.web.pages import approval_policies as approval_policy_pages
from cangliu.web.pages import approvals as approval_pages
from cangliu.web.pages import audit as audit_pages
from cangliu.web.pages import calendar_events as calendar_event_pages
from cangliu.web.pages import channels as channel_pages
from cangliu.web.pages import collab as collab_pages
from cangliu.web.pages import custom_fields as custom_field_pages
from cangliu.web.pages import dashboard as dashboard_pages
from cangliu.web.pages import documents as document_pages
from cangliu.web.pages import finance as finance_pages
from cangliu.web.pages import history as history_pages
from cangliu.web.pages import imports as import_pages
from cangliu.web.pages import labels as label_pages
from cangliu.web.pages import locks as lock_pages
from cangliu.web.pages import lots as lot_pages
from cangliu.web.pages import masterdata as masterdata_pages
from cangliu.web.pages import offline_review as offline_review_pages
from cangliu.web.pages import planning as planning_pages
from cangliu.web.pages import planning_rules as planning_rule_pages
from cangliu.web.pages import planning_settings as planning_settings_pages
from cangliu.web.pages import print_templates as print_template_pages
from cangliu.web.pages import promotions as promotion_pages
from cangliu.web.pages import recalls as recall_pages
from cangliu.web.pages import repairs as repair_pages
from cangliu.web.pages import reports as report_pages
from cangliu.web.pages import returns as return_pages
from cangliu.web.pages import scan as scan_pages
from cangliu.web.pages import scrap as scrap_pages
from cangliu.web.pages import serial_analytics as serial_analytics_pages
from cangliu.web.pages import serials as serial_pages
from cangliu.web.pages import session as session_pages
from cangliu.web.pages import stock as stock_pages
from cangliu.web.pages import transfers as transfer_pages
from cangliu.web.pages import users as user_pages
from cangliu.web.pages import work_orders as work_order_pages
from cangliu.web.pages.render import render
from cangliu.web.problems import locale_of
from cangliu.web.security import SecurityHeadersMiddleware, swagger_ui_page

STATIC = Path(__file__).parent / "static"
REQUEST_ID = re.compile(r"[A-Za-z0-9._:-]{1,64}")


def _wants_page(request: Request) -> bool:
    """A browser opening a page (not the API) gets an error as a page, everyone else JSON."""
    return not request.url.path.startswith("/api/") and "text/html" in request.headers.get("accept", "")


class AuditContextMiddleware:
    """Every request's writes carry its address, device and request id (``X-Request-ID``, taken
    from the caller or made up, and echoed back); the user is added once it is known."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = dict(scope["headers"])
        given = headers.get(b"x-request-id", b"").decode("latin-1")
        request_id = given if REQUEST_ID.fullmatch(given) else uuid.uuid4().hex
        client = scope.get("client")
        context = audit.AuditContext(address=client[0] if client else "", request_id=request_id,
                                     device=headers.get(b"x-device", b"").decode("latin-1")[:64])

        async def send_with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                message.setdefault("headers", []).append((b"x-request-id", request_id.encode()))
            await send(message)

        scope.setdefault("state", {})["request_id"] = request_id  # for the 500 answer, see below
        with audit.scope(context):
            await self.app(scope, receive, send_with_id)


class Background(Protocol):
    """Work that lives as long as the app, such as the in-process job scheduler."""

    def start(self) -> None: ...

    def stop(self) -> None: ...


@asynccontextmanager
async def _lifespan(background: Background | None, app: FastAPI) -> AsyncIterator[None]:
    if background is not None:
        background.start()
    try:
        yield
    finally:
        if getattr(app.state, "broadcaster", None) is not None:
            app.state.broadcaster.close()
        if background is not None:
            background.stop()


def create_app(settings: Settings | None = None, db: Database | None = None, *,
               background: Background | None = None) -> FastAPI:
    settings = settings or get_settings()
    db = db or Database(settings.database_url, echo=settings.sql_echo)
    # The schema and its UI are served by our own routes so that they require a login too.
    app = FastAPI(title="Cangliu 仓流", version=__version__, openapi_url=None, docs_url=None,
                  redoc_url=None, lifespan=partial(_lifespan, background))
    app.state.db = db
    app.state.events = (settings.events_listen, settings.events_poll_seconds)
    app.state.default_locale = settings.default_locale
    app.state.two_step_for_admins = settings.two_step_for_admins
    app.state.import_max_bytes = settings.import_max_mb * 1024 * 1024
    secret = settings.secret_key or auth.secret_key(db.uow())
    roles.ensure_builtin(db.uow())
    tls = settings.public_url.startswith("https://")
    # Under TLS the __Host- prefix makes browsers refuse the cookie unless it is Secure, for this
    # host only (no Domain) and for every path: a sibling subdomain cannot plant or shadow it.
    app.state.session_cookie = ("__Host-" if tls else "") + "cangliu_session"
    app.add_middleware(SessionMiddleware, secret_key=secret, session_cookie=app.state.session_cookie,
                       same_site="lax", https_only=tls, max_age=12 * 3600)
    app.add_middleware(ops.MetricsMiddleware)  # inside the audit context: it logs the request id
    app.add_middleware(AuditContextMiddleware)
    app.add_middleware(FieldRulesMiddleware)
    app.add_middleware(SecurityHeadersMiddleware, tls=tls)
    ops.install(app, db, settings.metrics_token)
    problems.install(app)
    dbdown.install(app)

    @app.exception_handler(DomainError)
    async def domain_error(request: Request, exc: DomainError) -> Response:
        """A browser opening a page gets the error as a page; everyone else problem details."""
        if not _wants_page(request):
            return await problems.on_domain_error(request, exc)
        detail = translate(locale_of(request), exc.message, **exc.params)
        return render(request, "error.html", None, status_code=exc.status, status=exc.status,
                      title=exc.title, detail=detail)

    @app.exception_handler(Exception)
    async def unexpected(request: Request, exc: Exception) -> Response:
        """A generic 500 that names the request id, so a report can be matched with the log (the
        server logs the traceback; the answer shows no detail of it)."""
        request_id = str(getattr(request.state, "request_id", ""))
        locale = locale_of(request)
        detail = translate(locale, "Something went wrong on the server. When you report it, "
                                   "quote request {id}.", id=request_id)
        if not _wants_page(request):
            response: Response = problems.problem(request, 500, "Internal error", detail,
                                                  request_id=request_id)
        else:
            response = render(request, "error.html", None, status_code=500, status=500,
                              title="Internal error", detail=detail)
        response.headers["X-Request-ID"] = request_id
        return response

    @app.exception_handler(LoginRequired)
    async def to_login(request: Request, exc: LoginRequired) -> RedirectResponse:
        return RedirectResponse(f"/login?next={request.url.path}", status_code=303)

    @app.exception_handler(TwoStepRequired)
    async def to_two_step_setup(request: Request, exc: TwoStepRequired) -> RedirectResponse:
        return RedirectResponse("/account?done=two_step_required#two-step", status_code=303)

    @app.get("/health", tags=["system"])
    def health() -> dict[str, str]:
        """Liveness: the process answers (``/ready`` also checks the database)."""
        return {"status": "ok", "version": __version__}

    app.include_router(ops.router)

    @app.get("/openapi.json", include_in_schema=False)
    def openapi(actor: AnyUser) -> JSONResponse:
        return JSONResponse(app.openapi())

    @app.get("/api/docs", include_in_schema=False)
    def docs(actor: AnyPageUser) -> HTMLResponse:
        return swagger_ui_page("Cangliu API")

    # The scrap pages come before the generic /docs/{path} pages, which would claim /docs/scrap.
    for module in (audit_api, audit_pages, history_api, history_pages,
                   auth_api, stock_api, transfers_api, purchasing_api, sales_api, counts_api, finance_api,
                   masterdata_api, locks_api, lock_pages, session_pages, account_pages, stock_pages,
                   masterdata_pages, transfer_pages, scrap_pages, return_pages, document_pages):
        app.include_router(module.router)
    app.include_router(stock_api.scrap_router)
    app.include_router(collab_api.router)
    app.include_router(collab_pages.router)
    app.include_router(users_api.router)
    app.include_router(approvals_api.router)
    app.include_router(planning_api.router)
    # Serial after-sales: production, repairs, recalls, analytics (before the serial pages'
    # /serials/{code} route catches /serials/analytics).
    for module in (work_orders_api, work_order_pages, repairs_api, repair_pages, recalls_api,
                   recall_pages, serial_analytics_api, serial_analytics_pages):
        app.include_router(module.router)
    app.include_router(serials_api.router)
    for module in (suggestions_api, planning_rules_api, planning_settings_api, promotions_api,
                   planning_pages, planning_rule_pages, planning_settings_pages, promotion_pages,
                   calendar_event_pages):
        app.include_router(module.router)
    app.include_router(approval_pages.router)
    app.include_router(approval_policy_pages.router)
    app.include_router(user_pages.router)
    app.include_router(labels_api.router)
    app.include_router(label_pages.router)
    app.include_router(serial_pages.router)
    app.include_router(lots_api.router)
    app.include_router(lot_pages.router)
    app.include_router(sse.router)
    for module in (alerts_api, alert_pages, channels_api, channel_pages, dashboard_api,
                   dashboard_pages, reports_api, report_pages, finance_pages):
        app.include_router(module.router)
    # The review queue's /scan/review comes before the scanning pages' /scan/{task}.
    for module in (offline_api, offline_review_pages, scan_pages, imports_api, import_pages,
                   custom_fields_api, custom_field_pages, print_templates_api, print_template_pages,
                   webhooks_api):
        app.include_router(module.router)
    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    ratelimit.install(app, settings)
    openapi_doc.install(app)
    return app
