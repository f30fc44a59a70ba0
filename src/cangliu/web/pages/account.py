"""The account page (one's sessions, password, API tokens) and the administrator's security log."""

from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse

from cangliu.core.errors import ValidationFailed
from cangliu.core.permissions import Actor
from cangliu.i18n import translate
from cangliu.services import auth, two_step
from cangliu.services.print_templates.sandbox import qr_svg
from cangliu.web.deps import (
    SESSION_KEY,
    AnyPageUser,
    DbDep,
    check_csrf,
    client_of,
    page_permit,
)
from cangliu.web.pages.render import render
from cangliu.web.problems import locale_of

CanViewSecurity = Annotated[Actor, page_permit("audit.view")]
router = APIRouter(include_in_schema=False)

# Messages shown after a redirect back to the account page, by the ``done`` query parameter.
DONE = {"revoked": "The session was ended.",
        "others": "You were logged out everywhere else.",
        "password": "Password changed: every other session was ended and your API tokens were revoked.",
        "token_revoked": "The token was revoked.",
        "two_step_off": "Two-step login is off: your password alone logs you in.",
        "two_step_required": "Administrators must use two-step login: set it up below to "
                             "open the other pages."}
CsrfForm = Annotated[str, Form()]
TWO_STEP_ON = "Two-step login is on: from now on you log in with your password and a code from the app."
NEW_CODES = "New recovery codes: the old ones no longer work."


def _sid(request: Request) -> str | None:
    sid = request.session.get(SESSION_KEY)
    return str(sid) if sid else None


def _page(request: Request, db: DbDep, actor: Actor, status_code: int = 200,
          **context: Any) -> HTMLResponse:
    context.setdefault("errors", {})
    return render(request, "account.html", actor, status_code=status_code,
                  two_step=two_step.status(db.uow(), actor),
                  sessions=auth.list_sessions(db.uow(), actor, current=_sid(request)),
                  tokens=auth.list_tokens(db.uow(), actor), max_days=auth.MAX_TOKEN_DAYS,
                  **context)


def _errors(request: Request, exc: ValidationFailed) -> dict[str, str]:
    locale = locale_of(request)
    return {e.field: translate(locale, e.message, **e.params) for e in exc.errors}


def _refused(request: Request, db: DbDep, actor: Actor, exc: ValidationFailed | auth.LoginThrottled,
             *, field: str, **context: Any) -> HTMLResponse:
    """The page again with the reason next to the form: a wrong answer (422), or too many of
    them (429, the reason next to ``field``)."""
    if isinstance(exc, ValidationFailed):
        return _page(request, db, actor, status_code=422, errors=_errors(request, exc), **context)
    response = _page(request, db, actor, status_code=429, **context, errors={
        field: translate(locale_of(request), exc.message, **exc.params)})
    response.headers["Retry-After"] = str(exc.retry_after)
    return response


@router.get("/account", response_class=HTMLResponse)
def account(request: Request, db: DbDep, actor: AnyPageUser,
            done: str | None = None) -> HTMLResponse:
    return _page(request, db, actor, message=DONE.get(done or ""))


@router.post("/account/sessions/{ref}/revoke")
def revoke_session(ref: str, request: Request, db: DbDep, actor: AnyPageUser,
                   csrf_token: CsrfForm = "") -> RedirectResponse:
    check_csrf(request, csrf_token, actor)
    own = auth.list_sessions(db.uow(), actor, current=_sid(request))
    auth.revoke_session(db.uow(), actor, ref=ref, client=client_of(request))
    if any(s["id"] == ref and s["current"] for s in own):
        request.session.clear()  # ending this browser's own session is logging out
        return RedirectResponse("/login", status_code=303)
    return RedirectResponse("/account?done=revoked", status_code=303)


@router.post("/account/sessions/revoke-others")
def revoke_other_sessions(request: Request, db: DbDep, actor: AnyPageUser,
                          csrf_token: CsrfForm = "") -> RedirectResponse:
    check_csrf(request, csrf_token, actor)
    auth.revoke_other_sessions(db.uow(), actor, current=_sid(request), client=client_of(request))
    return RedirectResponse("/account?done=others", status_code=303)


@router.post("/account/password", response_model=None)
def change_password(request: Request, db: DbDep, actor: AnyPageUser,
                    current_password: Annotated[str, Form()] = "",
                    new_password: Annotated[str, Form()] = "",
                    new_password_repeat: Annotated[str, Form()] = "",
                    csrf_token: CsrfForm = "") -> HTMLResponse | RedirectResponse:
    check_csrf(request, csrf_token, actor)
    try:
        if new_password != new_password_repeat:
            raise ValidationFailed.single("new_password_repeat", "does not match the new password")
        auth.change_password(db.uow(), actor, current_password=current_password,
                             new_password=new_password, keep_session=_sid(request),
                             client=client_of(request))
    except (ValidationFailed, auth.LoginThrottled) as exc:
        return _refused(request, db, actor, exc, field="current_password")
    return RedirectResponse("/account?done=password", status_code=303)


def _setup(offered: dict[str, str]) -> dict[str, str]:
    """What the page shows to add Cangliu to an authenticator app: a QR code and the key."""
    # Not through qr_svg's cache: the picture carries the secret.
    return {**offered, "qr": qr_svg.__wrapped__(offered["uri"], 200)}


@router.post("/account/two-step/begin", response_class=HTMLResponse)
def begin_two_step(request: Request, db: DbDep, actor: AnyPageUser,
                   csrf_token: CsrfForm = "") -> HTMLResponse:
    check_csrf(request, csrf_token, actor)
    return _page(request, db, actor, setup=_setup(two_step.begin(db.uow(), actor)))


@router.post("/account/two-step/confirm", response_class=HTMLResponse)
def confirm_two_step(request: Request, db: DbDep, actor: AnyPageUser,
                     code: Annotated[str, Form()] = "",
                     csrf_token: CsrfForm = "") -> HTMLResponse:
    """On: the recovery codes are rendered once, on this response only."""
    check_csrf(request, csrf_token, actor)
    try:
        codes = two_step.confirm(db.uow(), actor, code=code, client=client_of(request))
    except ValidationFailed as exc:
        return _page(request, db, actor, status_code=422, errors=_errors(request, exc),
                     setup=_setup(two_step.pending(db.uow(), actor)))
    return _page(request, db, actor, recovery_codes=codes, message=TWO_STEP_ON)


@router.post("/account/two-step/recovery-codes", response_class=HTMLResponse)
def renew_recovery_codes(request: Request, db: DbDep, actor: AnyPageUser,
                         password: Annotated[str, Form()] = "", code: Annotated[str, Form()] = "",
                         csrf_token: CsrfForm = "") -> HTMLResponse:
    check_csrf(request, csrf_token, actor)
    try:
        codes = two_step.renew_recovery_codes(db.uow(), actor, password=password, code=code,
                                              client=client_of(request))
    except (ValidationFailed, auth.LoginThrottled) as exc:
        return _refused(request, db, actor, exc, field="password")
    return _page(request, db, actor, recovery_codes=codes, message=NEW_CODES)


@router.post("/account/two-step/off", response_model=None)
def two_step_off(request: Request, db: DbDep, actor: AnyPageUser,
                 password: Annotated[str, Form()] = "", code: Annotated[str, Form()] = "",
                 csrf_token: CsrfForm = "") -> HTMLResponse | RedirectResponse:
    check_csrf(request, csrf_token, actor)
    try:
        two_step.disable(db.uow(), actor, password=password, code=code,
                         client=client_of(request))
    except (ValidationFailed, auth.LoginThrottled) as exc:
        return _refused(request, db, actor, exc, field="password")
    return RedirectResponse("/account?done=two_step_off", status_code=303)


@router.post("/account/tokens", response_class=HTMLResponse)
def create_token(request: Request, db: DbDep, actor: AnyPageUser,
                 name: Annotated[str, Form()] = "", days: Annotated[str, Form()] = "30",
                 csrf_token: CsrfForm = "") -> HTMLResponse:
    """The new token is rendered once, on this response only."""
    check_csrf(request, csrf_token, actor)
    try:
        if not days.strip().isdigit():
            raise ValidationFailed.single("days", "must be a whole number")
        token = auth.create_token(db.uow(), actor, name=name, days=int(days),
                                  client=client_of(request))
    except ValidationFailed as exc:
        return _page(request, db, actor, status_code=422, errors=_errors(request, exc),
                     token_name=name, token_days=days)
    return _page(request, db, actor, new_token=token)


@router.post("/account/tokens/{ref}/revoke")
def revoke_token(ref: str, request: Request, db: DbDep, actor: AnyPageUser,
                 csrf_token: CsrfForm = "") -> RedirectResponse:
    check_csrf(request, csrf_token, actor)
    auth.revoke_token(db.uow(), actor, ref=ref, client=client_of(request))
    return RedirectResponse("/account?done=token_revoked", status_code=303)


@router.get("/security", response_class=HTMLResponse)
def security_log(request: Request, db: DbDep, actor: CanViewSecurity, kind: str | None = None,
                 username: str | None = None, before: int | None = None) -> HTMLResponse:
    """Every login attempt, logout, credential change and refused request, newest first."""
    kind = kind if kind in auth.KINDS else None
    with db.read() as session:
        events, next_cursor = auth.security_events(session, kind=kind, username=username or None,
                                                   before=before)
    return render(request, "security.html", actor, events=events, next_cursor=next_cursor,
                  kinds=auth.KINDS, kind=kind or "", username=username or "")
