"""Accounts: argon2 password hashes, API bearer tokens stored hashed, the first administrator."""

import hashlib
import secrets
from datetime import timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerifyMismatchError
from sqlalchemy import select

from cangliu.core.errors import AuthenticationFailed, Conflict, ValidationFailed
from cangliu.core.permissions import Actor
from cangliu.db.models import ApiToken, AppUser, Setting
from cangliu.db.uow import UnitOfWork

MIN_PASSWORD = 12
_hasher = PasswordHasher()
# Verifying against a dummy hash for unknown users keeps the timing of a failed login the same.
_DUMMY_HASH = _hasher.hash("not-a-real-password")


def _actor(user: AppUser) -> Actor:
    return Actor(user.id, user.username, user.is_admin)


def create_user(uow: UnitOfWork, *, username: str, password: str, display_name: str = "",
                is_admin: bool = False) -> Actor:
    if len(password) < MIN_PASSWORD:
        raise ValidationFailed.single("password", "must be at least {n} characters", n=MIN_PASSWORD)
    with uow:
        if uow.session.scalar(select(AppUser.id).where(AppUser.username == username)):
            raise Conflict("User {username} already exists", username=username)
        user = AppUser(username=username, display_name=display_name or username,
                       password_hash=_hasher.hash(password), is_admin=is_admin, active=True,
                       created_at=uow.now())
        uow.session.add(user)
        uow.session.flush()
        actor = _actor(user)
        uow.commit()
    return actor


def authenticate(uow: UnitOfWork, *, username: str, password: str) -> Actor:
    with uow:
        user = uow.session.scalar(select(AppUser).where(AppUser.username == username))
        try:
            _hasher.verify(user.password_hash if user else _DUMMY_HASH, password)
        except (VerifyMismatchError, InvalidHashError):
            raise AuthenticationFailed("Wrong username or password") from None
        if user is None or not user.active:
            raise AuthenticationFailed("Wrong username or password")
        return _actor(user)


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def issue_token(uow: UnitOfWork, actor: Actor, *, hours: int, name: str = "login") -> str:
    """A new bearer token; only its hash is stored."""
    token = secrets.token_urlsafe(32)
    with uow:
        now = uow.now()
        uow.session.add(ApiToken(token_hash=_token_hash(token), user_id=actor.user_id, name=name,
                                 created_at=now, expires_at=now + timedelta(hours=hours)))
        uow.commit()
    return token


def actor_for_token(uow: UnitOfWork, token: str) -> Actor:
    with uow:
        row = uow.session.execute(
            select(AppUser, ApiToken.expires_at).join(ApiToken, ApiToken.user_id == AppUser.id)
            .where(ApiToken.token_hash == _token_hash(token))).first()
        if row is None or row[1] <= uow.now() or not row[0].active:
            raise AuthenticationFailed("Invalid or expired token")
        return _actor(row[0])


def actor_for_user(uow: UnitOfWork, user_id: int) -> Actor:
    with uow:
        user = uow.session.get(AppUser, user_id)
        if user is None or not user.active:
            raise AuthenticationFailed("Please log in")
        return _actor(user)


def secret_key(uow: UnitOfWork) -> str:
    """The session signing key: generated on first use and kept in the database, never in the repo."""
    with uow:
        row = uow.session.get(Setting, "secret_key")
        if row is None:
            row = Setting(key="secret_key", value=secrets.token_urlsafe(48))
            uow.session.add(row)
            uow.commit()
        return row.value


def has_users(uow: UnitOfWork) -> bool:
    with uow:
        return uow.session.scalar(select(AppUser.id).limit(1)) is not None
