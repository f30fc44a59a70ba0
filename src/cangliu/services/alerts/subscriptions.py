"""Alert subscriptions (预警订阅): a user asks for the alerts of one rule, or of every rule, in the
app or by e-mail (to the address on their account); an administrator (settings.edit) subscribes
a whole role. A subscriber is only ever told of alerts at sites they may see."""

import re
from typing import Any, Final

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from cangliu.core.errors import Conflict, NotFound, ValidationFailed
from cangliu.core.permissions import Actor
from cangliu.db.models import AlertRule, AlertSubscription, AppUser, Role
from cangliu.db.uow import UnitOfWork
from cangliu.services import auth
from cangliu.services.alerts.lifecycle import NotPermitted
from cangliu.services.auth import Client
from cangliu.services.notifications import notify

CHANNELS: Final = ("in_app", "email")
EMAIL: Final = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


def _out(row: AlertSubscription, rule: str | None, username: str | None) -> dict[str, Any]:
    return {"id": row.id, "user": username, "role": row.role, "rule": rule,
            "channel": row.channel, "created_at": row.created_at}


def list_subscriptions(session: Session, actor: Actor) -> list[dict[str, Any]]:
    """The actor's own subscriptions, and the roles' ones for an administrator."""
    query = (select(AlertSubscription, AlertRule.code, AppUser.username)
             .outerjoin(AlertRule, AlertRule.id == AlertSubscription.rule_id)
             .outerjoin(AppUser, AppUser.id == AlertSubscription.user_id))
    mine = AlertSubscription.user_id == actor.user_id
    query = query.where(or_(mine, AlertSubscription.role.is_not(None))
                        if actor.can("settings.edit") else mine)
    return [_out(*r) for r in session.execute(query.order_by(AlertSubscription.id)).tuples()]


def _rule_id(session: Session, code: str | None) -> int | None:
    if not code:
        return None
    found = session.scalar(select(AlertRule.id).where(AlertRule.code == code))
    if found is None:
        raise ValidationFailed.single("rule", "unknown alert rule {code}", code=code)
    return found


def _subscriber(session: Session, actor: Actor, role: str | None) -> tuple[int | None, str | None]:
    if not role:
        return actor.user_id, None
    if not actor.can("settings.edit"):
        raise NotPermitted("Only an administrator subscribes a role")
    if session.scalar(select(Role.id).where(Role.code == role)) is None:
        raise ValidationFailed.single("role", "unknown role {code}", code=role)
    return None, role


def subscribe(uow: UnitOfWork, actor: Actor, *, channel: str, rule: str | None = None,
              role: str | None = None) -> dict[str, Any]:
    """Subscribe the actor (or, for an administrator, ``role``) to ``rule`` (None: every rule)."""
    if channel not in CHANNELS:
        raise ValidationFailed.single("channel", "must be one of: {names}", names=", ".join(CHANNELS))
    with uow:
        session = uow.session
        user_id, role_code = _subscriber(session, actor, role)
        rule_id = _rule_id(session, rule)
        if channel == "email" and user_id is not None and not session.get_one(AppUser, user_id).email:
            raise ValidationFailed.single("channel", "set your e-mail address first")
        same = select(AlertSubscription.id).where(
            AlertSubscription.channel == channel,
            AlertSubscription.rule_id.is_(None) if rule_id is None
            else AlertSubscription.rule_id == rule_id,
            AlertSubscription.user_id == user_id if user_id is not None
            else AlertSubscription.role == role_code)
        if session.scalar(same) is not None:
            raise Conflict("This subscription exists already")
        row = AlertSubscription(user_id=user_id, role=role_code, rule_id=rule_id, channel=channel,
                                created_at=uow.now())
        session.add(row)
        session.flush()
        uow.commit()
        return _out(row, rule or None, actor.username if user_id else None)


def unsubscribe(uow: UnitOfWork, actor: Actor, subscription_id: int) -> None:
    """Remove one of the actor's subscriptions (a role's: an administrator)."""
    with uow:
        row = uow.session.get(AlertSubscription, subscription_id)
        mine = row is not None and row.user_id == actor.user_id
        if row is None or not (mine or (row.role is not None and actor.can("settings.edit"))):
            raise NotFound("Subscription {id} not found", id=subscription_id)
        uow.session.delete(row)
        uow.commit()


def set_email(uow: UnitOfWork, actor: Actor, email: str, *, client: Client) -> str:
    """The address the actor's e-mails go to (subscriptions, security notices; empty: none).
    The address it replaces is told, so that a changed address does not go unnoticed."""
    email = email.strip()
    if email and (len(email) > 200 or not EMAIL.match(email)):
        raise ValidationFailed.single("email", "is not an e-mail address")
    with uow:
        user = uow.session.get(AppUser, actor.user_id)
        if user is None:
            raise NotFound("User {username} not found", username=actor.username)
        before, user.email = user.email, email
        if before and before != email:
            now = uow.now()
            notice = ("The e-mail address of your Cangliu account was changed from {address}. "
                      "If this was not you, tell your administrator at once.")
            notify(uow.session, now, [user.id], kind="security", title=notice,
                   params={"address": client.address or "?"}, link="/alerts/subscriptions")
            auth.tell_by_email(uow.session, now, before, user.locale, notice,
                               {"address": client.address or "?"})
        uow.commit()
    return email


def email_of(session: Session, actor: Actor) -> str:
    user = session.get(AppUser, actor.user_id)
    return user.email if user is not None else ""
