"""The delivery log: what was queued for which channel, its attempts and last answer. A failed
delivery is retried with exponential backoff (30 s doubling, at most an hour apart) and is dead
after the last attempt — the dead letter, kept until someone redelivers it by hand."""

import json
from datetime import datetime, timedelta
from typing import Any, Final

from sqlalchemy import select
from sqlalchemy.orm import Session

from cangliu.core.errors import Conflict, NotFound, ValidationFailed
from cangliu.core.permissions import Actor
from cangliu.db.models import Channel, Delivery
from cangliu.db.models.events import DELIVERY_STATES
from cangliu.db.uow import UnitOfWork

MAX_ATTEMPTS: Final = 8
FIRST_RETRY: Final = timedelta(seconds=30)
LONGEST_WAIT: Final = timedelta(hours=1)
# A claimed delivery is put this far ahead while it is being sent: a sender that dies mid-send
# leaves it to be taken again after the lease, never lost.
LEASE: Final = timedelta(minutes=2)
PAGE: Final = 50


def backoff(attempts: int) -> timedelta:
    """How long to wait after the ``attempts``-th failed attempt."""
    wait: timedelta = FIRST_RETRY * 2 ** max(attempts - 1, 0)
    return min(wait, LONGEST_WAIT)


def _out(row: Delivery, channel: Channel) -> dict[str, Any]:
    return {"id": row.id, "channel": channel.code, "channel_kind": channel.kind, "kind": row.kind,
            "event_id": row.event_id, "alert_id": row.alert_id, "state": row.state,
            "attempts": row.attempts, "next_at": row.next_at, "last_status": row.last_status,
            "last_error": row.last_error, "created_at": row.created_at, "sent_at": row.sent_at,
            "payload": json.loads(row.payload)}


def list_deliveries(session: Session, *, channel: str | None = None, state: str | None = None,
                    kind: str | None = None, cursor: int | None = None,
                    limit: int = PAGE) -> dict[str, Any]:
    """Newest first, ``limit`` at a time; ``next_cursor`` is the id to continue below."""
    if state and state not in DELIVERY_STATES:
        raise ValidationFailed.single("state", "must be one of: {expected}",
                                      expected=", ".join(DELIVERY_STATES))
    query = select(Delivery, Channel).join(Channel, Channel.id == Delivery.channel_id)
    if channel:
        query = query.where(Channel.code == channel)
    if state:
        query = query.where(Delivery.state == state)
    if kind:
        query = query.where(Delivery.kind == kind)
    if cursor is not None:
        query = query.where(Delivery.id < cursor)
    rows = session.execute(query.order_by(Delivery.id.desc()).limit(limit + 1)).all()
    items = [_out(d, c) for d, c in rows[:limit]]
    return {"items": items, "next_cursor": items[-1]["id"] if len(rows) > limit else None}


def get_delivery(session: Session, delivery_id: int) -> dict[str, Any]:
    found = session.execute(select(Delivery, Channel).join(Channel, Channel.id == Delivery.channel_id)
                            .where(Delivery.id == delivery_id)).first()
    if found is None:
        raise NotFound("No delivery {id}", id=delivery_id)
    return _out(*found)


def redeliver(uow: UnitOfWork, actor: Actor, delivery_id: int) -> dict[str, Any]:
    """A dead (or sent) delivery goes out again: pending now, its attempts counted afresh."""
    with uow:
        session, now = uow.session, uow.now()
        row = session.get(Delivery, delivery_id, with_for_update=True)
        if row is None:
            raise NotFound("No delivery {id}", id=delivery_id)
        if row.state == "pending":
            raise Conflict("Delivery {id} is already waiting to be sent", id=delivery_id)
        row.state, row.attempts, row.next_at, row.sent_at = "pending", 0, now, None
        row.last_error = f"redelivered by {actor.username} at {now:%Y-%m-%d %H:%M:%S}"
        channel = session.get(Channel, row.channel_id)
        assert channel is not None
        uow.commit()
        return _out(row, channel)


def claim_due(session: Session, now: datetime, limit: int) -> list[Delivery]:
    """Take up to ``limit`` deliveries due by ``now``, oldest first, and lease them (another
    sender skips them until the lease ends); rows locked by another sender are skipped."""
    query = (select(Delivery).where(Delivery.state == "pending", Delivery.next_at <= now)
             .order_by(Delivery.next_at, Delivery.id).limit(limit))
    if session.get_bind().dialect.name == "postgresql":
        query = query.with_for_update(skip_locked=True)
    rows = list(session.scalars(query))
    for row in rows:
        row.next_at = now + LEASE
    session.flush()
    return rows


def record_result(session: Session, delivery: Delivery, now: datetime, *, ok: bool,
                  status: int | None, error: str) -> None:
    """Count an attempt: sent, or due again after the backoff, or dead after the last one."""
    delivery.attempts += 1
    delivery.last_status = status
    if ok:
        delivery.state, delivery.sent_at, delivery.last_error = "sent", now, error[:2000]
        return
    delivery.last_error = error[:2000]
    if delivery.attempts >= MAX_ATTEMPTS:
        delivery.state = "dead"
    else:
        delivery.next_at = now + backoff(delivery.attempts)
