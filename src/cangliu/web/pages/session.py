"""Login (with its second step for two-step users), logout and language switch for the browser."""

import time
from contextlib import suppress
from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse

from cangliu.core.errors import AuthenticationFailed
from cangliu.core.permissions import Actor
from cangliu.i18n import LOCALES
from cangliu.services import auth, two_step
from cangliu.web.deps import SESSION_KEY, DbDep, check_csrf, client_of
from cangliu.web.pages.render import render
from cangliu.web.problems import locale_of

router = APIRouter(include_in_schema=False)
PENDING = "login_pending"  # a login whose password was right and whose code is awaited
CODE_WITHIN = 300  # seconds to enter the code


def _safe_next(target: str | None) -> str:
    """Only redirect within this site after login."""
    return target if target and target.startswith("/") and not target.startswith("//") else "/stock"


@router.get("/login", response_class=HTMLResponse)
def login_form(request: Request, next: str | None = None) -> HTMLResponse:
    return render(request, "login.html", None, next=_safe_next(next), error=None)


@router.post("/login", response_model=None)
def login(request: Request, db: DbDep, username: Annotated[str, Form()],
          password: Annotated[str, Form()], csrf_token: Annotated[str, Form()] = "",
          next: Annotated[str, Form()] = "/stock") -> HTMLResponse | RedirectResponse:
    check_csrf(request, csrf_token)
    client = client_of(request)
    try:
        actor = auth.authenticate(db.uow(), username=username, password=password, client=client)
    except two_step.SecondStepNeeded as exc:
        # The password was right: the signed cookie remembers that for a few minutes.
        request.session[PENDING] = {"user": exc.user_id, "until": time.time() + CODE_WITHIN,
                                    "next": _safe_next(next)}
        return render(request, "login.html", None, step="code", next=_safe_next(next),
                      error=None)
    except AuthenticationFailed as exc:
        return render(request, "login.html", None, status_code=401, next=_safe_next(next),
                      error=exc.message, username=username)
    except auth.LoginThrottled as exc:
        return _throttled(request, exc, username=username, next=_safe_next(next))
    return _logged_in(request, db, actor, client, next)


@router.post("/login/code", response_model=None)
def login_code(request: Request, db: DbDep, code: Annotated[str, Form()] = "",
               csrf_token: Annotated[str, Form()] = "") -> HTMLResponse | RedirectResponse:
    """The second step: the one-time code (or a recovery code) after the right password."""
    check_csrf(request, csrf_token)
    pending = request.session.get(PENDING)
    if not isinstance(pending, dict) or pending.get("until", 0) < time.time():
        request.session.pop(PENDING, None)
        return render(request, "login.html", None, status_code=401, next="/stock",
                      error="The code was not entered in time: please log in again")
    client = client_of(request)
    try:
        actor = auth.finish_login(db.uow(), user_id=int(pending["user"]), code=code,
                                  client=client)
    except auth.LoginThrottled as exc:
        request.session.pop(PENDING, None)
        return _throttled(request, exc, username="", next=pending["next"])
    except AuthenticationFailed as exc:
        return render(request, "login.html", None, status_code=401, step="code",
                      next=pending["next"], error=exc.message)
    return _logged_in(request, db, actor, client, pending["next"])


def _throttled(request: Request, exc: auth.LoginThrottled, *, username: str,
               next: str) -> HTMLResponse:
    response = render(request, "login.html", None, status_code=429, next=next,
                      error=exc.message, error_params=exc.params, username=username)
    response.headers["Retry-After"] = str(exc.retry_after)
    return response


def _logged_in(request: Request, db: DbDep, actor: Actor, client: auth.Client,
               next: str) -> RedirectResponse:
    # Never keep a session id the browser brought along (session fixation): always a new one.
    previous = request.session.get(SESSION_KEY)
    session_id = auth.start_session(db.uow(), actor, client=client,
                                    replaces=str(previous) if previous else None,
                                    locale=locale_of(request))
    request.session.clear()
    request.session[SESSION_KEY] = session_id
    return RedirectResponse(_safe_next(next), status_code=303)


@router.post("/logout")
def logout(request: Request, db: DbDep, csrf_token: Annotated[str,
           Form()] = "") -> RedirectResponse:
    check_csrf(request, csrf_token)
    session_id = request.session.get(SESSION_KEY)
    if session_id:
        auth.end_session(db.uow(), str(session_id), client=client_of(request))
    request.session.clear()
    return RedirectResponse("/login", status_code=303)


@router.get("/lang/{locale}")
def switch_language(locale: str, request: Request, db: DbDep) -> RedirectResponse:
    back = request.headers.get("referer") or "/stock"
    response = RedirectResponse(back if back.startswith(str(request.base_url)) else "/stock",
                                status_code=303)
    if locale in LOCALES:
        response.set_cookie("lang", locale, max_age=365 * 24 * 3600, samesite="lax", httponly=True)
        session_id = request.session.get(SESSION_KEY)
        if session_id:  # logged in: the user's language, for what is sent to them
            with suppress(AuthenticationFailed):
                actor = auth.actor_for_session(db.uow(), str(session_id))
                auth.set_locale(db.uow(), actor.user_id, locale)
    return response


@router.get("/")
def home() -> RedirectResponse:
    return RedirectResponse("/stock", status_code=303)
