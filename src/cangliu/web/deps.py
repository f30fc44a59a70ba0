"""FastAPI dependencies as Annotated aliases: the database, the acting user, the locale."""

import secrets
from collections.abc import Mapping
from dataclasses import replace
from typing import Annotated, Any

from fastapi import Depends, Header, Request

from cangliu.core.errors import AuthenticationFailed, DomainError, NotFound, ValidationFailed
from cangliu.core.permissions import Actor
from cangliu.db import audit, queries
from cangliu.db.uow import Database
from cangliu.services import auth
from cangliu.web import fieldrules
from cangliu.web.problems import locale_of

SAFE_METHODS = {"GET", "HEAD", "OPTIONS"}


class LoginRequired(Exception):
    """A page was opened without a session: the browser is sent to the login page."""


class TwoStepRequired(Exception):
    """An administrator without two-step login opened a page while it is required: the browser
    is sent to the account page to set it up."""


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


def two_step_missing(request: Request, actor: Actor) -> bool:
    """Whether ``actor`` is an administrator without two-step login while it is required
    (CANGLIU_TWO_STEP_FOR_ADMINS)."""
    return (actor.is_admin and not actor.two_step
            and bool(getattr(request.app.state, "two_step_for_admins", False)))


TWO_STEP_MISSING = ("Administrators must use two-step login: set it up on your account page "
                    "first")
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


# Set in the scope of a call this process makes on a user's behalf (an offline operation being
# replayed), so the user already authenticated for the outer request is not looked up again.
ACTING_FOR = "cangliu.acting_for"


def current_actor(request: Request, db: DbDep) -> Actor:
    """The user behind an API call: a bearer token, or the browser session plus its CSRF header."""
    acting_for = request.scope.get(ACTING_FOR)
    if isinstance(acting_for, Actor):
        return audit.bind_actor(replace(acting_for, device=_device(request)))
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
    if two_step_missing(request, actor):
        raise deny(request, Forbidden(TWO_STEP_MISSING), actor)
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
    if two_step_missing(request, actor) and not request.url.path.startswith("/account"):
        raise TwoStepRequired()
    return audit.bind_actor(replace(actor, device=_device(request)))


# Document actions (API and page) → the permission action they need.
DOC_ACTIONS = {"submit": "edit", "confirm": "edit", "close": "edit", "reopen": "edit",
               "edit": "edit", "entries": "edit", "cancel": "cancel", "post": "post",
               "receive": "post", "return": "post", "ship": "post",
               # the state tables' names of the same steps
               "count": "edit", "receive_part": "post", "receive_all": "post",
               "ship_part": "post", "ship_all": "post", "approve": "approve", "reject": "approve"}


def doable(db: Database, actor: Actor, resource: str, number: str,
           allowed: list[str]) -> list[str]:
    """Of the steps a document's state allows, those ``actor`` may take: the step's permission
    held at one of the document's sites, as ``Permit`` requires of the request. A page shows a
    form only for these, never a button that answers "your role may not do this"."""
    sites: list[int | None] = [*(queries.document_sites(db.uow(), resource, number) or [])]
    return [a for a in allowed
            if any(actor.can(f"{resource}.{DOC_ACTIONS.get(a, 'edit')}", s) for s in sites or [None])]


class FieldForbidden(DomainError):
    status = 403
    title = "Forbidden"


def check_fields(request: Request, actor: Actor) -> None:
    """Field rules: refuse a body that sets a field the user's roles hide or fix; leave the
    hidden keys for ``FieldRulesMiddleware`` to take out of the answer."""
    state = request.scope.setdefault("state", {})
    fixed = sorted(actor.fixed_keys & state.get(fieldrules.BODY_KEYS, frozenset()))
    if fixed:
        raise deny(request, FieldForbidden("Your role may not set the field {field}",
                                           field=fixed[0]), actor)
    if actor.hidden:
        state[fieldrules.HIDDEN_KEYS] = actor.hidden_keys


class Permit:
    """Dependency: the acting user, who must hold ``permission`` somewhere (None: any user).

    ``permission`` may name its resource or action by a path parameter, ``"{path}.view"`` or
    ``"purchase.{action}"``, translated through ``resources`` / ``actions``; an unknown resource
    answers 422 naming the parameter. A user without the permission anywhere gets 403. On a route
    with a ``number`` (or ``key``) path parameter of a document resource, the document must also
    lie in the user's scope:
    otherwise it answers 404, exactly as if it did not exist, and a visible document whose sites
    lack the permission answers 403.
    """

    def __init__(self, permission: str | None, *, resources: Mapping[str, str] | None = None,
                 actions: Mapping[str, str] | None = None, page: bool = False) -> None:
        self.permission, self.page = permission, page
        self.resources, self.actions = resources or {}, actions or {}

    def required(self, params: Mapping[str, str]) -> str | None:
        """The permission a request with these path parameters needs ("" when none fits)."""
        if self.permission is None:
            return None
        resource, action = self.permission.split(".")
        if resource.startswith("{"):
            resource = self.resources.get(params.get(resource[1:-1], ""), "")
        if action.startswith("{"):
            # An unknown action needs only sight of the resource: the route itself refuses it.
            action = self.actions.get(params.get(action[1:-1], ""), "view")
        return f"{resource}.{action}" if resource and action else ""

    def __call__(self, request: Request, db: DbDep) -> Actor:
        actor = page_actor(request, db) if self.page else current_actor(request, db)
        check_fields(request, actor)
        needed = self.required(request.path_params)
        if needed is None:
            return actor
        if not needed:
            name = self.permission.split(".")[0].strip("{}") if self.permission else ""
            raise ValidationFailed.single(name, "must be one of: {expected}",
                                          expected=", ".join(sorted(self.resources)))
        if not actor.can(needed):
            raise deny(request, Forbidden("Your role may not do this"), actor)
        resource = needed.split(".")[0]
        number = request.path_params.get("number") or request.path_params.get("key")
        if number is not None and resource in queries.DOCUMENT_SITES:
            sites = queries.document_sites(db.uow(), resource, number)
            if sites is None or not actor.sees(f"{resource}.view", sites):
                raise deny(request, NotFound("Document {number} not found", number=number), actor)
            if not any(actor.can(needed, s) for s in sites):
                raise deny(request, Forbidden("Your role may not do this here"), actor)
        return actor


def permit(permission: str | None, **options: Any) -> Any:
    """``actor: Annotated[Actor, permit("transfer.post")]``: see ``Permit``."""
    return Depends(Permit(permission, **options))


def page_permit(permission: str | None, **options: Any) -> Any:
    """``permit`` for pages: without a session the browser goes to the login page."""
    return Depends(Permit(permission, page=True, **options))


def in_scope(db: Database, request: Request, actor: Actor, permission: str,
             *location_codes: str | None, either: bool = False) -> None:
    """Every named location (with ``either``: one of them) lies at a site where ``actor`` holds
    ``permission``; otherwise the first one outside answers 404, as if it did not exist."""
    scope = actor.sites(permission)
    if scope is None:
        return
    named = [code for code in location_codes if code is not None]
    outside = [code for code in named if queries.site_of(db.uow(), code) not in scope]
    if outside and not (either and len(outside) < len(named)):
        raise deny(request, NotFound("Location {code} not found", code=outside[0]), actor)


def sites_in_scope(request: Request, actor: Actor, permission: str, sites: list[int],
                   missing: DomainError) -> None:
    """All of ``sites`` lie in the scope of ``permission``; otherwise ``missing`` (a 404)."""
    scope = actor.sites(permission)
    if scope is not None and not scope.issuperset(sites):
        raise deny(request, missing, actor)


# Any logged-in user: for what concerns only themselves (their sessions, tokens, inbox).
AnyUser = Annotated[Actor, permit(None)]
AnyPageUser = Annotated[Actor, page_permit(None)]
PageActorDep = Annotated[Actor, Depends(page_actor)]
LocaleDep = Annotated[str, Depends(locale_of)]
IdempotencyKey = Annotated[str | None, Header(alias="Idempotency-Key", max_length=100)]
