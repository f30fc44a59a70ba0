"""Who receives reports: a user subscribes themself to a kind of report, in-app or by e-mail; an
administrator (settings.edit) subscribes a whole role. Subscribing twice changes nothing."""

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from cangliu.core.errors import DomainError, NotFound, ValidationFailed
from cangliu.core.permissions import Actor
from cangliu.db.models import AppUser, Role
from cangliu.db.models.reports import ReportSubscription
from cangliu.db.uow import UnitOfWork
from cangliu.services.approvals.people import holders
from cangliu.services.reports.periods import check_kind
from cangliu.services.roles import actor_of

CHANNELS = ("in_app", "email")


class RoleSubscriptionDenied(DomainError):
    status = 403
    title = "Forbidden"

    def __init__(self) -> None:
        super().__init__("Only an administrator may subscribe a role to reports")


def _out(row: ReportSubscription) -> dict[str, Any]:
    return {"id": row.id, "user_id": row.user_id, "role": row.role, "kind": row.kind,
            "channel": row.channel, "created_at": row.created_at}


def list_subscriptions(session: Session, actor: Actor) -> list[dict[str, Any]]:
    """The actor's own subscriptions, and the roles' for those who may see settings."""
    mine = ReportSubscription.user_id == actor.user_id
    query = select(ReportSubscription).where(
        mine | ReportSubscription.role.is_not(None) if actor.can("settings.view") else mine)
    return [_out(r) for r in session.scalars(query.order_by(ReportSubscription.id))]


def subscribe(uow: UnitOfWork, actor: Actor, *, kind: str, channel: str = "in_app",
              role: str | None = None) -> dict[str, Any]:
    """Subscribe the actor (or ``role``: settings.edit only); an existing one is answered as is."""
    check_kind(kind)
    if channel not in CHANNELS:
        raise ValidationFailed.single("channel", "must be one of: {expected}",
                                      expected=", ".join(CHANNELS))
    if role is not None and not actor.can("settings.edit"):
        raise RoleSubscriptionDenied()
    with uow:
        session = uow.session
        if role is not None and session.scalar(select(Role.id).where(Role.code == role)) is None:
            raise ValidationFailed.single("role", "no role with code {code}", code=role)
        who = (ReportSubscription.role == role if role is not None
               else ReportSubscription.user_id == actor.user_id)
        row = session.scalar(select(ReportSubscription).where(
            who, ReportSubscription.kind == kind, ReportSubscription.channel == channel))
        if row is None:
            row = ReportSubscription(user_id=None if role else actor.user_id, role=role,
                                     kind=kind, channel=channel, created_at=uow.now())
            session.add(row)
            session.flush()
            uow.commit()
        return _out(row)


def unsubscribe(uow: UnitOfWork, actor: Actor, subscription_id: int) -> None:
    """Remove one of the actor's subscriptions, or a role's (settings.edit); anything else
    answers 404, as if it did not exist."""
    with uow:
        row = uow.session.get(ReportSubscription, subscription_id)
        if row is None or (row.user_id != actor.user_id and not (
                row.role is not None and actor.can("settings.edit"))):
            raise NotFound("Subscription {id} not found", id=subscription_id)
        uow.session.delete(row)
        uow.commit()


def recipients(session: Session, kind: str) -> tuple[list[int], list[tuple[AppUser, Actor]]]:
    """Who gets a report of ``kind``: the users to notify in-app, and the users (with what their
    roles let them see) to write to. Only active users whose roles still let them view reports;
    subscribers by e-mail without an address are skipped."""
    by_channel: dict[str, set[int]] = {c: set() for c in CHANNELS}
    for user_id, role, channel in session.execute(
            select(ReportSubscription.user_id, ReportSubscription.role, ReportSubscription.channel)
            .where(ReportSubscription.kind == kind)):
        by_channel[channel] |= {user_id} if user_id is not None else set(holders(session, role, None))
    readers = {}
    for user in session.scalars(select(AppUser).where(
            AppUser.id.in_(by_channel["in_app"] | by_channel["email"]), AppUser.active.is_(True))
            .order_by(AppUser.id)):
        actor = actor_of(session, user)
        if actor.can("report.view"):
            readers[user.id] = user, actor
    return (sorted(by_channel["in_app"] & readers.keys()),
            [readers[i] for i in sorted(by_channel["email"] & readers.keys()) if readers[i][0].email])
