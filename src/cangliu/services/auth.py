"""Accounts: argon2 passwords, throttled logins, server-side sessions, API tokens, the security log.

Secrets (session ids, tokens) are random and only their SHA-256 is stored; each row has a random
``ref`` that names it in lists and URLs. Every attempt to log in is a ``security_event`` row, and
throttling counts those rows, so it holds across processes.
"""

import hashlib
import math
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerifyMismatchError
from sqlalchemy import ColumnElement, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, aliased
from zxcvbn import zxcvbn

from cangliu.core.errors import AuthenticationFailed, Conflict, DomainError, NotFound, ValidationFailed
from cangliu.core.permissions import Actor
from cangliu.db.models import ApiToken, AppUser, SecurityEvent, Setting, UserSession
from cangliu.db.uow import UnitOfWork
from cangliu.i18n import DEFAULT as DEFAULT_LOCALE
from cangliu.i18n import translate
from cangliu.services import roles, two_step
from cangliu.services.deliveries import enqueue_email
from cangliu.services.notifications import notify

MIN_PASSWORD = 12
SECURITY_SUBJECT = "Cangliu: a change to how you log in"
MIN_STRENGTH = 3  # zxcvbn's score (0–4): 3 is "safely unguessable", 10^8 guesses or more
MAX_TOKEN_DAYS = 365
# Throttling: this many failures in the window, per username or per address, blocks further tries.
WINDOW = timedelta(minutes=15)
USER_LIMIT = 5
ADDRESS_LIMIT = 20
# A browser session lasts this long from its login, however busy (ASVS 3.3.2); an idle limit
# of the same length would never be the one to end it, so there is none.
SESSION_MAX = timedelta(hours=12)
SEEN_EVERY = timedelta(minutes=1)  # last_seen_at / last_used_at are refreshed at most this often
# Security events: kind → what the log page calls it (an English msgid).
KINDS = {"login_ok": "Logged in", "login_failed": "Failed login",
         "login_throttled": "Login throttled", "logout": "Logged out",
         "session_revoked": "Session ended", "password_changed": "Password changed",
         "password_reset": "Password reset", "two_step_on": "Two-step login turned on",
         "two_step_off": "Two-step login turned off",
         "two_step_codes": "New recovery codes", "token_created": "Token created",
         "token_revoked": "Token revoked", "access_denied": "Access denied"}
_hasher = PasswordHasher()
# Verifying against a dummy hash for unknown users keeps the timing of a failed login the same.
_DUMMY_HASH = _hasher.hash("not-a-real-password")


@dataclass(frozen=True)
class Client:
    """Where a request came from, as recorded on sessions and security events."""

    address: str = ""
    user_agent: str = ""


class LoginThrottled(DomainError):
    status = 429
    title = "Too many login attempts"

    def __init__(self, retry_after: int) -> None:
        super().__init__("Too many failed logins: try again in {minutes} minutes",
                         minutes=max(1, math.ceil(retry_after / 60)))
        self.retry_after = retry_after


def _actor(session: Session, user: AppUser, limit_to: frozenset[str] | None = None) -> Actor:
    return roles.actor_of(session, user, limit_to=limit_to)


def _hash(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def _check_policy(field: str, password: str, *, names: tuple[str, ...] = ()) -> None:
    """At least MIN_PASSWORD characters, and not easy to guess (ASVS 2.1.7): zxcvbn's estimate
    refuses the common and breached passwords of its lists, keyboard patterns, repetitions and
    the user's own ``names``. No rules about which kinds of characters (ASVS 2.1.9)."""
    if len(password) < MIN_PASSWORD:
        raise ValidationFailed.single(field, "must be at least {n} characters", n=MIN_PASSWORD)
    # Its estimate takes longer the longer the password: it reads 72 characters at most.
    if zxcvbn(password[:72], user_inputs=[*names, "cangliu"])["score"] < MIN_STRENGTH:
        raise ValidationFailed.single(field, "is too easy to guess (a common password, a pattern "
                                      "or your name): choose another")


def _log(session: Session, at: datetime, kind: str, client: Client, *, username: str = "",
         user_id: int | None = None, detail: str = "") -> None:
    session.execute(insert(SecurityEvent).values(
        at=at, kind=kind, username=username[:64], user_id=user_id, address=client.address[:64],
        user_agent=client.user_agent[:200], detail=detail[:200]))


def note(uow: UnitOfWork, kind: str, client: Client, user: AppUser, detail: str = "") -> None:
    """Log an event of ``user`` inside the caller's transaction."""
    _log(uow.session, uow.now(), kind, client, username=user.username, user_id=user.id,
         detail=detail)


def record_event(uow: UnitOfWork, kind: str, client: Client, *, username: str = "",
                 user_id: int | None = None, detail: str = "") -> None:
    """Log one event on its own (a denied request): a single INSERT."""
    with uow:
        _log(uow.session, uow.now(), kind, client, username=username, user_id=user_id,
             detail=detail)
        uow.commit()


def create_user(uow: UnitOfWork, *, username: str, password: str, display_name: str = "",
                is_admin: bool = False) -> Actor:
    _check_policy("password", password, names=(username, display_name))
    with uow:
        if uow.session.scalar(select(AppUser.id).where(AppUser.username == username)):
            raise Conflict("User {username} already exists", username=username)
        user = AppUser(username=username, display_name=display_name or username,
                       password_hash=_hasher.hash(password), is_admin=is_admin, active=True,
                       created_at=uow.now())
        uow.session.add(user)
        uow.session.flush()
        actor = _actor(uow.session, user)
        uow.commit()
    return actor


def _retry_at(session: Session, match: list[ColumnElement[bool]], limit: int) -> datetime | None:
    """When the newest ``limit`` failures matching ``match`` stop filling the window, if they do."""
    times = session.scalars(select(SecurityEvent.at).where(
        *match, SecurityEvent.kind == "login_failed").order_by(SecurityEvent.at.desc())
        .limit(limit)).all()
    return times[-1] + WINDOW if len(times) == limit else None


def _throttled_until(session: Session, now: datetime, username: str,
                     client: Client) -> datetime | None:
    since = now - WINDOW
    # Failures followed by a success from the same address were the owner's typos and are
    # forgiven; a success never forgives failures from other addresses (someone may be guessing).
    ok = aliased(SecurityEvent)
    forgiven = select(ok.id).where(
        ok.kind == "login_ok", ok.username == SecurityEvent.username,
        ok.address == SecurityEvent.address, ok.at > SecurityEvent.at, ok.at > since).exists()
    by_user = [SecurityEvent.username == username[:64], SecurityEvent.at > since, ~forgiven]
    by_address = [SecurityEvent.address == client.address, SecurityEvent.at > since]
    until = [t for t in (_retry_at(session, by_user, USER_LIMIT),
                         _retry_at(session, by_address, ADDRESS_LIMIT)) if t is not None]
    return max(until) if until else None


def password_ok(user: AppUser | None, password: str) -> bool:
    """Whether ``password`` is ``user``'s (an unknown user takes as long to refuse)."""
    try:
        _hasher.verify(user.password_hash if user else _DUMMY_HASH, password)
    except (VerifyMismatchError, InvalidHashError):
        return False
    return user is not None


def _throttle(uow: UnitOfWork, now: datetime, username: str, client: Client) -> None:
    until = _throttled_until(uow.session, now, username, client)
    if until is not None:
        _log(uow.session, now, "login_throttled", client, username=username)
        uow.commit()
        raise LoginThrottled(max(1, math.ceil((until - now).total_seconds())))


def _refuse(uow: UnitOfWork, now: datetime, client: Client, username: str,
            user: AppUser | None, message: str) -> AuthenticationFailed:
    _log(uow.session, now, "login_failed", client, username=username,
         user_id=user.id if user else None)
    uow.commit()
    return AuthenticationFailed(message)


def authenticate(uow: UnitOfWork, *, username: str, password: str, code: str | None = None,
                 client: Client = Client()) -> Actor:
    """Check a password, and the one-time code of a user with two-step login on (without one:
    SecondStepNeeded); every attempt is logged, and too many failures answer LoginThrottled."""
    with uow:
        now = uow.now()
        _throttle(uow, now, username, client)
        user = uow.session.scalar(select(AppUser).where(AppUser.username == username))
        if not password_ok(user, password) or user is None or not user.active:
            raise _refuse(uow, now, client, username, user, "Wrong username or password")
        if user.totp_secret is not None:
            if not code:
                raise two_step.SecondStepNeeded(user.id)
            return _second_step(uow, now, client, user, code)
        _log(uow.session, now, "login_ok", client, username=username, user_id=user.id)
        uow.commit()
        return _actor(uow.session, user)


def _second_step(uow: UnitOfWork, now: datetime, client: Client, user: AppUser,
                 code: str) -> Actor:
    # Locked and read again: of two logins with the same code at once, only one gets in.
    uow.session.refresh(user, with_for_update=True)
    if not two_step.accept(user, code, now):
        raise _refuse(uow, now, client, user.username, user, "Wrong code: enter the current "
                      "code of your authenticator app, or a recovery code")
    _log(uow.session, now, "login_ok", client, username=user.username, user_id=user.id,
         detail="with a one-time code")
    uow.commit()
    return _actor(uow.session, user)


def confirm_identity(uow: UnitOfWork, user: AppUser, *, password: str, code: str,
                     client: Client) -> None:
    """The password and a one-time code, for a change to the two-step login itself (turning it
    off, new recovery codes): throttled and logged like a login, so that a stolen session cannot
    guess codes faster than a login could. Wrong answers are committed as failures first."""
    now = uow.now()
    _throttle(uow, now, user.username, client)
    field = ("password" if not password_ok(user, password)
             else "code" if not two_step.accept(user, code, now) else None)
    if field is None:
        return
    _log(uow.session, now, "login_failed", client, username=user.username, user_id=user.id,
         detail="two-step login settings")
    uow.commit()
    raise ValidationFailed.single(field, "is not your current password" if field == "password"
                                  else "is not a current code of your app or an unused "
                                  "recovery code")


def finish_login(uow: UnitOfWork, *, user_id: int, code: str,
                 client: Client = Client()) -> Actor:
    """The second step of a browser login whose password was right (``user_id``, from
    SecondStepNeeded): the one-time code."""
    with uow:
        now = uow.now()
        user = uow.session.get(AppUser, user_id)
        if user is None or not user.active or user.totp_secret is None:
            raise AuthenticationFailed("Please log in")
        _throttle(uow, now, user.username, client)
        return _second_step(uow, now, client, user, code)


def actor_for_user(uow: UnitOfWork, user_id: int) -> Actor:
    with uow:
        user = uow.session.get(AppUser, user_id)
        if user is None or not user.active:
            raise AuthenticationFailed("Please log in")
        return _actor(uow.session, user)


# --- browser sessions ---------------------------------------------------------------------------

def start_session(uow: UnitOfWork, actor: Actor, *, client: Client,
                  replaces: str | None = None, locale: str | None = None) -> str:
    """A new session id for a fresh login; the browser's previous session, if any, ends.
    ``locale``: the language the user logged in with, remembered as theirs."""
    session_id = secrets.token_urlsafe(32)
    with uow:
        now = uow.now()
        if locale is not None:
            _remember_locale(uow.session, actor.user_id, locale)
        if replaces:
            uow.session.execute(update(UserSession).where(
                UserSession.session_hash == _hash(replaces), UserSession.revoked_at.is_(None))
                .values(revoked_at=now))
        uow.session.add(UserSession(
            session_hash=_hash(session_id), ref=uow.new_ref(), user_id=actor.user_id,
            created_at=now, last_seen_at=now, address=client.address[:64],
            user_agent=client.user_agent[:200]))
        uow.commit()
    return session_id


def set_locale(uow: UnitOfWork, user_id: int, locale: str) -> None:
    """Remember the language a user chose: what is sent to them (report e-mails) uses it."""
    with uow:
        if _remember_locale(uow.session, user_id, locale):
            uow.commit()


def _remember_locale(session: Session, user_id: int, locale: str) -> bool:
    user = session.get(AppUser, user_id)
    if user is None or user.locale == locale:
        return False
    user.locale = locale
    return True


def actor_for_session(uow: UnitOfWork, session_id: str) -> Actor:
    """The user of a live session (not revoked, not older than SESSION_MAX, user active)."""
    with uow:
        now = uow.now()
        row = uow.session.execute(
            select(AppUser, UserSession.id, UserSession.last_seen_at, UserSession.revoked_at,
                   UserSession.created_at)
            .join(UserSession, UserSession.user_id == AppUser.id)
            .where(UserSession.session_hash == _hash(session_id))).first()
        if row is None or not row[0].active:
            raise AuthenticationFailed("Please log in")
        user, row_id, last_seen, revoked_at, started = row
        if revoked_at is not None or started + SESSION_MAX <= now:
            raise AuthenticationFailed("Your session has ended: please log in again")
        if now - last_seen >= SEEN_EVERY:
            uow.session.execute(update(UserSession).where(UserSession.id == row_id)
                                .values(last_seen_at=now))
            uow.commit()
        return _actor(uow.session, user)


def end_session(uow: UnitOfWork, session_id: str, *, client: Client) -> None:
    """Logout: the session can no longer be used, even with a copy of the cookie."""
    with uow:
        row = uow.session.scalar(select(UserSession).where(
            UserSession.session_hash == _hash(session_id), UserSession.revoked_at.is_(None)))
        if row is None:
            return
        row.revoked_at = uow.now()
        user = uow.session.get(AppUser, row.user_id)
        _log(uow.session, row.revoked_at, "logout", client,
             username=user.username if user else "", user_id=row.user_id)
        uow.commit()


def list_sessions(uow: UnitOfWork, actor: Actor, *, current: str | None) -> list[dict[str, Any]]:
    """The user's live sessions, most recently seen first; ``current`` marks this browser's."""
    mine = _hash(current) if current else ""
    with uow:
        rows = uow.session.scalars(select(UserSession).where(
            UserSession.user_id == actor.user_id, UserSession.revoked_at.is_(None),
            UserSession.created_at > uow.now() - SESSION_MAX)
            .order_by(UserSession.last_seen_at.desc(), UserSession.id.desc())).all()
        return [{"id": r.ref, "created_at": r.created_at, "last_seen_at": r.last_seen_at,
                 "address": r.address, "user_agent": r.user_agent,
                 "current": r.session_hash == mine} for r in rows]


def _revoke_sessions(uow: UnitOfWork, actor: Actor, *, keep: str | None,
                     ref: str | None = None) -> int:
    match = [UserSession.user_id == actor.user_id, UserSession.revoked_at.is_(None)]
    if keep:
        match.append(UserSession.session_hash != _hash(keep))
    if ref is not None:
        match.append(UserSession.ref == ref)
    result = uow.session.execute(update(UserSession).where(*match).values(revoked_at=uow.now()))
    return int(result.rowcount)  # type: ignore[attr-defined]


def revoke_session(uow: UnitOfWork, actor: Actor, *, ref: str, client: Client) -> None:
    with uow:
        if not _revoke_sessions(uow, actor, keep=None, ref=ref):
            raise NotFound("Session {ref} not found", ref=ref)
        _log(uow.session, uow.now(), "session_revoked", client, username=actor.username,
             user_id=actor.user_id, detail=ref)
        uow.commit()


def revoke_other_sessions(uow: UnitOfWork, actor: Actor, *, current: str | None,
                          client: Client) -> int:
    """Log out everywhere but this browser; returns how many sessions ended."""
    with uow:
        count = _revoke_sessions(uow, actor, keep=current)
        _log(uow.session, uow.now(), "session_revoked", client, username=actor.username,
             user_id=actor.user_id, detail=f"all others ({count})")
        uow.commit()
    return count


def change_password(uow: UnitOfWork, actor: Actor, *, current_password: str, new_password: str,
                    keep_session: str | None, client: Client) -> None:
    """A new password ends every other session and revokes every API token of the user. A wrong
    current password is a failed login (logged and throttled), so that a stolen session cannot
    guess the password faster than the login page could."""
    _check_policy("new_password", new_password, names=(actor.username,))
    with uow:
        user = uow.session.get(AppUser, actor.user_id)
        if user is None:
            raise AuthenticationFailed("Please log in")
        now = uow.now()
        _throttle(uow, now, user.username, client)
        if not password_ok(user, current_password):
            _log(uow.session, now, "login_failed", client, username=user.username,
                 user_id=user.id, detail="password change")
            uow.commit()
            raise ValidationFailed.single("current_password", "is not your current password")
        user.password_hash = _hasher.hash(new_password)
        sessions = _revoke_sessions(uow, actor, keep=keep_session)
        tokens = uow.session.execute(update(ApiToken).where(
            ApiToken.user_id == actor.user_id, ApiToken.revoked_at.is_(None))
            .values(revoked_at=now)).rowcount  # type: ignore[attr-defined]
        _log(uow.session, now, "password_changed", client, username=actor.username,
             user_id=actor.user_id, detail=f"{sessions} sessions and {tokens} tokens revoked")
        tell(uow.session, now, user.id, "Your password was changed from {address}. If this was "
             "not you, tell your administrator at once.", client)
        uow.commit()


def reset_password(uow: UnitOfWork, actor: Actor, *, user: AppUser, new_password: str,
                   client: Client) -> None:
    """Inside the caller's transaction: an administrator sets ``user``'s password (forgotten,
    or a new starter's first one). Every session and API token of the user ends."""
    _check_policy("new_password", new_password, names=(user.username, user.display_name))
    now = uow.now()
    user.password_hash = _hasher.hash(new_password)
    two_step.remove(user)  # for someone who lost the phone too: they can turn it on again
    sessions = uow.session.execute(update(UserSession).where(
        UserSession.user_id == user.id, UserSession.revoked_at.is_(None))
        .values(revoked_at=now)).rowcount  # type: ignore[attr-defined]
    tokens = uow.session.execute(update(ApiToken).where(
        ApiToken.user_id == user.id, ApiToken.revoked_at.is_(None))
        .values(revoked_at=now)).rowcount  # type: ignore[attr-defined]
    _log(uow.session, now, "password_reset", client, username=user.username, user_id=user.id,
         detail=f"by {actor.username}; {sessions} sessions and {tokens} tokens revoked")
    tell(uow.session, now, user.id, "Your password was reset by {user}. If you did not ask for "
         "it, tell your administrator at once.", client, user=actor.username)


def turn_off_two_step(uow: UnitOfWork, actor: Actor, *, user: AppUser, client: Client) -> None:
    """Inside the caller's transaction: an administrator turns ``user``'s two-step login off."""
    now = uow.now()
    two_step.remove(user)
    note(uow, "two_step_off", client, user, detail=f"by {actor.username}")
    tell(uow.session, now, user.id, "Your two-step login was turned off by {user}. If you did "
         "not ask for it, tell your administrator at once.", client, user=actor.username)


def tell(session: Session, now: datetime, user_id: int, title: str, client: Client,
         **params: str) -> None:
    """A message about a change to how the user logs in (ASVS 2.2.3), so that a change they did
    not make does not go unnoticed: in their inbox, and by e-mail (in their language) when
    they gave an address."""
    values = {"address": client.address or "?", **params}
    notify(session, now, [user_id], kind="security", title=title, params=values, link="/account")
    user = session.get(AppUser, user_id)
    if user is not None and user.email:
        tell_by_email(session, now, user.email, user.locale, title, values)


def tell_by_email(session: Session, now: datetime, to: str, locale: str | None, title: str,
                  values: dict[str, str]) -> None:
    """Queue a security notice to one address (through the delivery queue, retried)."""
    locale = locale or DEFAULT_LOCALE
    enqueue_email(session, now, to=[to], subject=translate(locale, SECURITY_SUBJECT),
                  text=translate(locale, title, **values), link="/account",
                  dedupe=f"security:{secrets.token_hex(8)}")


# --- API tokens ---------------------------------------------------------------------------------

def _add_token(uow: UnitOfWork, actor: Actor, *, name: str,
               lifetime: timedelta) -> tuple[ApiToken, str]:
    """A new token row and the token itself, which is shown once and never stored."""
    token = secrets.token_urlsafe(32)
    now = uow.now()
    row = ApiToken(token_hash=_hash(token), ref=uow.new_ref(), user_id=actor.user_id, name=name,
                   created_at=now, expires_at=now + lifetime)
    uow.session.add(row)
    return row, token


def issue_token(uow: UnitOfWork, actor: Actor, *, hours: int, name: str = "login") -> str:
    """A bearer token for an API login; only its hash is stored."""
    with uow:
        _, token = _add_token(uow, actor, name=name, lifetime=timedelta(hours=hours))
        uow.commit()
    return token


def _token_out(row: ApiToken) -> dict[str, Any]:
    return {"id": row.ref, "name": row.name, "created_at": row.created_at,
            "expires_at": row.expires_at, "last_used_at": row.last_used_at,
            "permissions": row.permissions.split() if row.permissions is not None else None}


def create_token(uow: UnitOfWork, actor: Actor, *, name: str, days: int, client: Client,
                 permissions: list[str] | None = None) -> dict[str, Any]:
    """A named token for an integration, valid ``days``; the answer holds the token, once.

    ``permissions`` limits the token to those of the user's permissions (None: all of them);
    naming one the user does not hold is refused.
    """
    if permissions is not None:
        lacking = sorted(p for p in set(permissions) if not actor.can(p))
        if lacking:
            raise ValidationFailed.single("permissions", "you do not hold {name}", name=lacking[0])
    name = name.strip()
    if not name or len(name) > 100:
        raise ValidationFailed.single("name", "must be 1 to {n} characters", n=100)
    if not 1 <= days <= MAX_TOKEN_DAYS:
        raise ValidationFailed.single("days", "must be between 1 and {n}", n=MAX_TOKEN_DAYS)
    with uow:
        row, token = _add_token(uow, actor, name=name, lifetime=timedelta(days=days))
        row.permissions = " ".join(sorted(set(permissions))) if permissions is not None else None
        _log(uow.session, row.created_at, "token_created", client, username=actor.username,
             user_id=actor.user_id, detail=f"{name} ({row.ref})")
        uow.commit()
    return {**_token_out(row), "token": token}


def list_tokens(uow: UnitOfWork, actor: Actor) -> list[dict[str, Any]]:
    """The user's tokens that still work, newest first."""
    with uow:
        rows = uow.session.scalars(select(ApiToken).where(
            ApiToken.user_id == actor.user_id, ApiToken.revoked_at.is_(None),
            ApiToken.expires_at > uow.now()).order_by(ApiToken.id.desc())).all()
        return [_token_out(r) for r in rows]


def revoke_token(uow: UnitOfWork, actor: Actor, *, ref: str, client: Client) -> None:
    with uow:
        row = uow.session.scalar(select(ApiToken).where(
            ApiToken.ref == ref, ApiToken.user_id == actor.user_id, ApiToken.revoked_at.is_(None)))
        if row is None:
            raise NotFound("Token {ref} not found", ref=ref)
        row.revoked_at = uow.now()
        _log(uow.session, row.revoked_at, "token_revoked", client, username=actor.username,
             user_id=actor.user_id, detail=f"{row.name} ({ref})")
        uow.commit()


def actor_for_token(uow: UnitOfWork, token: str) -> Actor:
    with uow:
        now = uow.now()
        row = uow.session.execute(
            select(AppUser, ApiToken).join(ApiToken, ApiToken.user_id == AppUser.id)
            .where(ApiToken.token_hash == _hash(token))).first()
        if row is None or not row[0].active:
            raise AuthenticationFailed("Invalid token")
        user, tok = row
        if tok.revoked_at is not None:
            raise AuthenticationFailed("This token was revoked")
        if tok.expires_at <= now:
            raise AuthenticationFailed("This token has expired")
        if tok.last_used_at is None or now - tok.last_used_at >= SEEN_EVERY:
            tok.last_used_at = now
            uow.commit()
        limit = frozenset(tok.permissions.split()) if tok.permissions is not None else None
        return _actor(uow.session, user, limit)


# --- the security log and the signing key -------------------------------------------------------

def security_events(session: Session, *, kind: str | None = None, username: str | None = None,
                    before: int | None = None, limit: int = 50) -> tuple[list[dict[str, Any]], int | None]:
    """Events newest first, filtered; returns a page and the cursor of the next one."""
    query = select(SecurityEvent).order_by(SecurityEvent.id.desc()).limit(limit + 1)
    if kind:
        query = query.where(SecurityEvent.kind == kind)
    if username:
        query = query.where(SecurityEvent.username == username)
    if before is not None:
        query = query.where(SecurityEvent.id < before)
    rows = session.scalars(query).all()
    items = [{"id": r.id, "at": r.at, "kind": r.kind, "username": r.username,
              "address": r.address, "user_agent": r.user_agent, "detail": r.detail}
             for r in rows[:limit]]
    return items, (rows[limit - 1].id if len(rows) > limit else None)


def secret_key(uow: UnitOfWork) -> str:
    """The session signing key: generated on first use and kept in the database, never in the repo."""
    try:
        with uow:
            row = uow.session.get(Setting, "secret_key")
            if row is None:
                row = Setting(key="secret_key", value=secrets.token_urlsafe(48))
                uow.session.add(row)
                uow.commit()
            return row.value
    except IntegrityError:  # processes starting together on a new database: the first one wins
        with uow:
            first = uow.session.get(Setting, "secret_key")
            assert first is not None
            return first.value


def has_users(uow: UnitOfWork) -> bool:
    with uow:
        return uow.session.scalar(select(AppUser.id).limit(1)) is not None
