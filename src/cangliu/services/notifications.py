"""In-app notifications: each user's inbox, its unread count, and marking messages read.

``notify`` runs inside the transaction of the action that caused it (a comment, a task), so a
message exists exactly when its cause was committed.
"""

import json
from collections.abc import Iterable
from datetime import datetime
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from cangliu.core.errors import NotFound
from cangliu.core.permissions import Actor
from cangliu.db import outbox
from cangliu.db.models import Notification
from cangliu.db.uow import UnitOfWork

Result = dict[str, Any]


def notify(session: Session, at: datetime, recipients: Iterable[int], *, kind: str, title: str,
           params: dict[str, str] | None = None, body: str = "", link: str = "") -> int:
    """Add one message per recipient (duplicates sent once); ``title`` is an English msgid."""
    users = sorted(set(recipients))
    encoded = json.dumps(params or {}, ensure_ascii=False, sort_keys=True)
    session.add_all(Notification(user_id=u, kind=kind, title=title, params=encoded,
                                 body=body[:2000], link=link[:200], created_at=at, read_at=None)
                    for u in users)
    if users:
        outbox.emit(session, "notification.created", {"users": users, "kind": kind})
    return len(users)


def send(uow: UnitOfWork, recipients: Iterable[int], *, kind: str, title: str,
         params: dict[str, str] | None = None, body: str = "", link: str = "") -> int:
    """``notify`` as an action of its own (alerts and jobs with nothing else to commit)."""
    with uow:
        count = notify(uow.session, uow.now(), recipients, kind=kind, title=title, params=params,
                       body=body, link=link)
        uow.commit()
    return count


def _out(row: Notification) -> Result:
    return {"id": row.id, "kind": row.kind, "title": row.title, "params": json.loads(row.params),
            "body": row.body, "link": row.link, "created_at": row.created_at,
            "read_at": row.read_at, "read": row.read_at is not None}


def list_notifications(uow: UnitOfWork, actor: Actor, *, unread_only: bool = False,
                       before: int | None = None, limit: int = 50) -> tuple[list[Result], int | None]:
    """One page of the actor's inbox, newest first; the cursor is the last id shown."""
    with uow:
        query = select(Notification).where(Notification.user_id == actor.user_id)
        if unread_only:
            query = query.where(Notification.read_at.is_(None))
        if before:
            query = query.where(Notification.id < before)
        rows = list(uow.session.scalars(query.order_by(Notification.id.desc()).limit(limit + 1)))
        page = [_out(r) for r in rows[:limit]]
    return page, (page[-1]["id"] if len(rows) > limit else None)


def unread_count(uow: UnitOfWork, actor: Actor) -> int:
    with uow:
        return int(uow.session.scalar(select(func.count()).select_from(Notification).where(
            Notification.user_id == actor.user_id, Notification.read_at.is_(None))) or 0)


def mark_read(uow: UnitOfWork, actor: Actor, notification_id: int) -> Result:
    """Mark one of the actor's messages read; someone else's answers 404, as if it did not exist."""
    with uow:
        row = uow.session.scalar(select(Notification).where(
            Notification.id == notification_id, Notification.user_id == actor.user_id))
        if row is None:
            raise NotFound("Notification {id} not found", id=notification_id)
        if row.read_at is None:
            row.read_at = uow.now()
            uow.commit()
        return _out(row)


def mark_all_read(uow: UnitOfWork, actor: Actor) -> int:
    """Mark every unread message of the actor read; answers how many were."""
    with uow:
        result = uow.session.execute(
            update(Notification)
            .where(Notification.user_id == actor.user_id, Notification.read_at.is_(None))
            .values(read_at=uow.now()).execution_options(synchronize_session=False))
        uow.commit()
    return int(getattr(result, "rowcount", 0) or 0)
