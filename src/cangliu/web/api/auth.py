"""Accounts over the API: login for a bearer token, one's sessions, password, API tokens."""

from datetime import datetime

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field

from cangliu.config import get_settings
from cangliu.i18n import translate
from cangliu.services import auth
from cangliu.web.deps import (
    SESSION_KEY,
    TWO_STEP_MISSING,
    AnyUser,
    DbDep,
    Forbidden,
    client_of,
    deny,
    two_step_missing,
)
from cangliu.web.problems import locale_of, problem

router = APIRouter(prefix="/api/v1/auth", tags=["auth"])


class LoginIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    username: str = Field(min_length=1, max_length=64)
    password: str = Field(min_length=1, max_length=200)
    # For users with two-step login: the current code of their authenticator app, or a
    # recovery code. Without it their login answers 401 asking for it.
    code: str | None = Field(default=None, min_length=1, max_length=20)


class TokenOut(BaseModel):
    access_token: str
    token_type: str = "bearer"
    expires_in: int


class PasswordIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    current_password: str = Field(min_length=1, max_length=200)
    new_password: str = Field(min_length=1, max_length=200)


class NewTokenIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str = Field(min_length=1, max_length=100)
    days: int = Field(ge=1, le=auth.MAX_TOKEN_DAYS)
    # Limit the token to these of your permissions ("transfer.view" …); omitted: all of yours.
    permissions: list[str] | None = Field(default=None, max_length=200)


class SessionOut(BaseModel):
    id: str
    created_at: datetime
    last_seen_at: datetime
    address: str
    user_agent: str
    current: bool


class ApiTokenOut(BaseModel):
    id: str
    name: str
    created_at: datetime
    expires_at: datetime
    last_used_at: datetime | None
    permissions: list[str] | None


class NewTokenOut(ApiTokenOut):
    token: str


def throttled(request: Request, exc: auth.LoginThrottled) -> JSONResponse:
    """429 problem details with Retry-After, so clients know when to try again."""
    detail = translate(locale_of(request), exc.message, **exc.params)
    response = problem(request, exc.status, exc.title, detail)
    response.headers["Retry-After"] = str(exc.retry_after)
    return response


@router.post("/login", response_model=TokenOut,
             responses={401: {"description": "Wrong username, password or one-time code, or "
                                             "the code is missing for a two-step user"},
                        403: {"description": "An administrator without two-step login while "
                                             "CANGLIU_TWO_STEP_FOR_ADMINS is on"},
                        429: {"description": "Too many failed logins; see Retry-After"}})
def login(body: LoginIn, request: Request, db: DbDep) -> TokenOut | JSONResponse:
    try:
        actor = auth.authenticate(db.uow(), username=body.username, password=body.password,
                                  code=body.code, client=client_of(request))
    except auth.LoginThrottled as exc:
        return throttled(request, exc)
    if two_step_missing(request, actor):  # no token that every call would refuse
        raise deny(request, Forbidden(TWO_STEP_MISSING), actor)
    hours = get_settings().token_hours
    return TokenOut(access_token=auth.issue_token(db.uow(), actor, hours=hours),
                    expires_in=hours * 3600)


@router.get("/me")
def me(actor: AnyUser) -> dict[str, object]:
    return {"username": actor.username, "is_admin": actor.is_admin}


def _current(request: Request) -> str | None:
    """This browser's session id, when the call comes with the session cookie."""
    if request.headers.get("authorization", "").lower().startswith("bearer "):
        return None
    sid = request.session.get(SESSION_KEY)
    return str(sid) if sid else None


@router.get("/sessions")
def sessions(request: Request, db: DbDep, actor: AnyUser) -> dict[str, list[SessionOut]]:
    items = auth.list_sessions(db.uow(), actor, current=_current(request))
    return {"items": [SessionOut(**s) for s in items]}


@router.delete("/sessions/{ref}", status_code=204)
def revoke_session(ref: str, request: Request, db: DbDep, actor: AnyUser) -> Response:
    auth.revoke_session(db.uow(), actor, ref=ref, client=client_of(request))
    return Response(status_code=204)


@router.delete("/sessions")
def revoke_other_sessions(request: Request, db: DbDep, actor: AnyUser) -> dict[str, int]:
    """Log out everywhere except the calling browser session."""
    count = auth.revoke_other_sessions(db.uow(), actor, current=_current(request),
                                       client=client_of(request))
    return {"revoked": count}


@router.post("/password", status_code=204,
             responses={429: {"description": "Too many wrong passwords; see Retry-After"}})
def change_password(body: PasswordIn, request: Request, db: DbDep, actor: AnyUser) -> Response:
    """Every other session ends and every API token (the calling one too) stops working. A
    wrong current password counts as a failed login."""
    try:
        auth.change_password(db.uow(), actor, current_password=body.current_password,
                             new_password=body.new_password, keep_session=_current(request),
                             client=client_of(request))
    except auth.LoginThrottled as exc:
        return throttled(request, exc)
    return Response(status_code=204)


@router.get("/tokens")
def tokens(db: DbDep, actor: AnyUser) -> dict[str, list[ApiTokenOut]]:
    return {"items": [ApiTokenOut(**t) for t in auth.list_tokens(db.uow(), actor)]}


@router.post("/tokens", status_code=201)
def create_token(body: NewTokenIn, request: Request, db: DbDep, actor: AnyUser) -> NewTokenOut:
    """A token for an integration; the answer is the only time the token is shown."""
    return NewTokenOut(**auth.create_token(db.uow(), actor, name=body.name, days=body.days,
                                           client=client_of(request),
                                           permissions=body.permissions))


@router.delete("/tokens/{ref}", status_code=204)
def revoke_token(ref: str, request: Request, db: DbDep, actor: AnyUser) -> Response:
    auth.revoke_token(db.uow(), actor, ref=ref, client=client_of(request))
    return Response(status_code=204)
