"""Signed one-time links to an approval (审批直达链接), for the messaging channels: a link opens the
decision page for the one user it was issued to, once, until it expires."""

import hashlib
from datetime import datetime, timedelta

from itsdangerous import BadSignature, URLSafeSerializer
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from cangliu.config import get_settings
from cangliu.core.errors import DomainError
from cangliu.db.models import ApprovalLinkUse
from cangliu.db.uow import UnitOfWork
from cangliu.services import auth

PREFIX = "/approvals/open/"
SALT = "approval-link"  # a session cookie signed with the same secret is never a valid link


class LinkRefused(DomainError):
    """Not a link of ours, or not one issued to this user."""

    status = 403
    title = "Forbidden"


class LinkGone(DomainError):
    """A real link that no longer opens: expired or already used."""

    status = 410
    title = "Link no longer valid"


def app_secret(uow: UnitOfWork) -> str:
    """The application's secret, as the session cookies take it: configured, else kept in the
    database."""
    return get_settings().secret_key or auth.secret_key(uow)


def _signer(secret: str) -> URLSafeSerializer:
    return URLSafeSerializer(secret, salt=SALT)


def signed_link(instance_id: int, user_id: int, now: datetime, ttl_hours: float = 72, *,
                secret: str) -> str:
    """The path that opens approval ``instance_id`` for user ``user_id`` until ``ttl_hours``
    after ``now``."""
    expires = int((now + timedelta(hours=ttl_hours)).timestamp())
    return PREFIX + str(_signer(secret).dumps([instance_id, user_id, int(now.timestamp()), expires]))


def _claims(token: str, secret: str) -> tuple[int, int, int]:
    try:
        claims = _signer(secret).loads(token)
    except BadSignature:
        claims = None
    if not (isinstance(claims, list) and len(claims) == 4
            and all(isinstance(c, int) and not isinstance(c, bool) for c in claims)):
        raise LinkRefused("This link is not valid: it was changed or is incomplete")
    instance_id, user_id, _issued, expires = claims
    return instance_id, user_id, expires


def open_link(uow: UnitOfWork, token: str, user_id: int, *, secret: str) -> int:
    """Use the link for ``user_id``: answers its approval's id, and never again."""
    instance_id, owner, expires = _claims(token, secret)
    if owner != user_id:
        raise LinkRefused("This link was issued to another user")
    token_id = hashlib.sha256(token.encode()).hexdigest()
    used = LinkGone("This link was already used: open the approval from My approvals")
    with uow:
        s, now = uow.session, uow.now()
        if now.timestamp() >= expires:
            raise LinkGone("This link has expired: open the approval from My approvals")
        if s.scalar(select(ApprovalLinkUse.id).where(ApprovalLinkUse.token_id == token_id)):
            raise used
        s.add(ApprovalLinkUse(token_id=token_id, instance_id=instance_id, user_id=user_id,
                              used_at=now))
        try:
            uow.commit()
        except IntegrityError:  # the same link opened twice at once: one of them wins
            raise used from None
    return instance_id
