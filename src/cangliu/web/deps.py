"""FastAPI dependencies as Annotated aliases: the database, the acting user, the locale."""

import secrets
from dataclasses import replace
from typing import Annotated

from fastapi import Depends, Header, Request

from cangliu.core.errors import AuthenticationFailed, DomainError
from cangliu.core.permissions import Actor
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


def check_csrf(request: Request, submitted: str | None) -> None:
    expected = request.session.get("csrf")
    if not expected or not submitted or not secrets.compare_digest(expected, submitted):
        raise CsrfFailed("The form expired or did not come from this site: reload and try again")


def _device(request: Request) -> str:
    return (request.headers.get("x-device") or "")[:64]


def current_actor(request: Request, db: DbDep) -> Actor:
    """The user behind an API call: a bearer token, or the browser session plus its CSRF header."""
    header = request.headers.get("authorization", "")
    if header.lower().startswith("bearer "):
        actor = auth.actor_for_token(db.uow(), header[7:].strip())
    else:
        user_id = request.session.get("user_id")
        if not user_id:
            raise AuthenticationFailed("Please log in")
        actor = auth.actor_for_user(db.uow(), int(user_id))
        if request.method not in SAFE_METHODS:
            check_csrf(request, request.headers.get("x-csrf-token"))
    return replace(actor, device=_device(request))


ActorDep = Annotated[Actor, Depends(current_actor)]


def page_actor(request: Request, db: DbDep) -> Actor:
    user_id = request.session.get("user_id")
    if not user_id:
        raise LoginRequired()
    try:
        actor = auth.actor_for_user(db.uow(), int(user_id))
    except AuthenticationFailed:
        request.session.clear()
        raise LoginRequired() from None
    return replace(actor, device=_device(request))


PageActorDep = Annotated[Actor, Depends(page_actor)]
LocaleDep = Annotated[str, Depends(locale_of)]
IdempotencyKey = Annotated[str | None, Header(alias="Idempotency-Key", max_length=100)]
