"""FastAPI dependencies as Annotated aliases: the database, the acting user, the locale."""

import secrets
from dataclasses import replace
from typing import Annotated

from fastapi import Depends, Header, Request

from cangliu.core.errors import AuthenticationFailed, DomainError
from cangliu.core.permissions import Actor
from cangliu.db import audit
from cangliu.db.uow import Database
from cangliu.services import auth
from cangliu.web.problems import locale_of

SAFE_METHODS = {"GET", "HEAD", "OPTIONS"}


class LoginRequired(Exception):
    """A page was opened without a session: the browser is sent to the login page."""


class CsrfFailed(DomainError):
    status = 403
    title = "Forbidden"


def get_db(request: Request) -> Database:
    db: Database = request.app.state.db
    return db


DbDep = Annotated[Database, Depends(get_db)]


def csrf_token(request: Request) -> str:
    token = request.session.get("csrf")
    if not token:
        token = request.session["csrf"] = secrets.token_urlsafe(24)
    return str(token)


class Forbidden(DomainError):
    status = 403
    title = "Forbidden"


SESSION_KEY = "sid"  # the signed cookie carries the session id (and the CSRF token), nothing else


def client_of(request: Request) -> auth.Client:
    return auth.Client(address=request.client.host if request.client else "",
                       user_agent=request.headers.get("user-agent", ""))


def deny(request: Request, exc: DomainError, actor: Actor | None = None) -> DomainError:
    """Log a refused request as an ``access_denied`` security event; returns the error to raise."""
    db: Database = request.app.state.db
    auth.record_event(db.uow(), "access_denied", client_of(request),
                      username=actor.username if actor else "",
                      user_id=actor.user_id if actor else None,
                      detail=f"{request.method} {request.url.path}: {exc}")
    return exc


def check_csrf(request: Request, submitted: str | None, actor: Actor | None = None) -> None:
    expected = request.session.get("csrf")
    if not expected or not submitted or not secrets.compare_digest(expected, submitted):
        raise deny(request, CsrfFailed(
            "The form expired or did not come from this site: reload and try again"), actor)


def _device(request: Request) -> str:
    return (request.headers.get("x-device") or "")[:64]


def current_actor(request: Request, db: DbDep) -> Actor:
    """The user behind an API call: a bearer token, or the browser session plus its CSRF header."""
    header = request.headers.get("authorization", "")
    bearer = header.lower().startswith("bearer ")
    try:
        if bearer:
            actor = auth.actor_for_token(db.uow(), header[7:].strip())
        else:
            session_id = request.session.get(SESSION_KEY)
            if not session_id:
                raise AuthenticationFailed("Please log in")
            actor = auth.actor_for_session(db.uow(), str(session_id))
    except AuthenticationFailed as exc:
        raise deny(request, exc) from None
    if not bearer and request.method not in SAFE_METHODS:
        check_csrf(request, request.headers.get("x-csrf-token"), actor)
    return audit.bind_actor(replace(actor, device=_device(request)))


ActorDep = Annotated[Actor, Depends(current_actor)]


def page_actor(request: Request, db: DbDep) -> Actor:
    session_id = request.session.get(SESSION_KEY)
    try:
        if not session_id:
            raise AuthenticationFailed("Please log in")
        actor = auth.actor_for_session(db.uow(), str(session_id))
    except AuthenticationFailed as exc:
        request.session.pop(SESSION_KEY, None)
        deny(request, exc)
        raise LoginRequired() from None
    return audit.bind_actor(replace(actor, device=_device(request)))


def admin_page_actor(request: Request, actor: Annotated[Actor, Depends(page_actor)]) -> Actor:
    if not actor.is_admin:
        raise deny(request, Forbidden("Only an administrator may open this page"), actor)
    return actor


PageActorDep = Annotated[Actor, Depends(page_actor)]
AdminPageActorDep = Annotated[Actor, Depends(admin_page_actor)]
LocaleDep = Annotated[str, Depends(locale_of)]
IdempotencyKey = Annotated[str | None, Header(alias="Idempotency-Key", max_length=100)]
