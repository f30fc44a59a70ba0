"""Edit locks: opening a record for editing takes a lock with an expiry, renewed while the page
stays open; others see who is editing and cannot save over them. An administrator may break a lock.

Race-safe on every backend: the lock is one row under a primary key, taken by a single
insert-or-take-over-if-expired statement, never by reading first and writing after.
"""

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Table, case, delete, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from cangliu.core.errors import Conflict, DomainError, Locked, NotFound
from cangliu.core.permissions import Actor
from cangliu.db.models import EditLock
from cangliu.db.uow import UnitOfWork, retrying

TTL = timedelta(minutes=5)
LOCK: Table = EditLock.__table__  # type: ignore[assignment]
log = logging.getLogger(__name__)

# What can be locked → the permission resource whose ``edit`` it needs.
ENTITIES: dict[str, str] = {
    "purchase_order": "purchase", "sales_order": "sales", "transfer": "transfer",
    "stock_count": "count", "sku": "sku", "category": "sku", "site": "site", "location": "site",
    "supplier": "supplier", "customer": "customer",
}


class NotAdministrator(DomainError):
    status = 403
    title = "Forbidden"

    def __init__(self) -> None:
        super().__init__("Only an administrator may break an edit lock")


class LockLost(Conflict):
    def __init__(self) -> None:
        super().__init__("Your edit lock was removed: someone else may be editing this now")


@dataclass(frozen=True)
class Lock:
    entity: str
    key: str
    holder: str
    holder_id: int
    acquired_at: datetime
    expires_at: datetime

    def as_dict(self) -> dict[str, Any]:
        return {"entity": self.entity, "key": self.key, "holder": self.holder,
                "acquired_at": self.acquired_at.isoformat(),
                "expires_at": self.expires_at.isoformat()}


def _known(entity: str) -> None:
    if entity not in ENTITIES:
        raise NotFound("Nothing called {entity} can be locked", entity=entity)


def _row(session: Session, entity: str, key: str) -> Lock | None:
    row = session.execute(select(LOCK).where(LOCK.c.entity == entity,
                                             LOCK.c.entity_key == key)).mappings().first()
    if row is None:
        return None
    return Lock(entity, key, row["holder"], row["holder_id"], row["acquired_at"], row["expires_at"])


def live_lock(session: Session, entity: str, key: str, now: datetime) -> Lock | None:
    """The lock on a record if it has not expired."""
    lock = _row(session, entity, key)
    return lock if lock is not None and lock.expires_at > now else None


def holder(uow: UnitOfWork, entity: str, key: str) -> Lock | None:
    """Who is editing the record now (None: nobody)."""
    _known(entity)
    with uow:
        return live_lock(uow.session, entity, key, uow.now())


def check_not_locked(session: Session, actor: Actor, entity: str, key: str, now: datetime) -> None:
    """A save is refused while someone else holds a live lock on the record."""
    lock = live_lock(session, entity, key, now)
    if lock is not None and lock.holder_id != actor.user_id:
        raise Locked(lock.holder, lock.expires_at)


@retrying
def acquire(uow: UnitOfWork, actor: Actor, entity: str, key: str, *, ttl: timedelta = TTL) -> Lock:
    """Take the lock, or renew it when this user holds it already; a live lock held by someone
    else raises ``Locked`` naming them. Of two users asking at once exactly one gets it."""
    _known(entity)
    with uow:
        now = uow.now()
        dialect = postgresql if uow.dialect == "postgresql" else sqlite
        mine = LOCK.c.holder_id == actor.user_id
        stmt = dialect.insert(LOCK).values(
            entity=entity, entity_key=key, holder_id=actor.user_id, holder=actor.username,
            acquired_at=now, expires_at=now + ttl)
        # One statement: insert, or take over a lock that is ours or dead; a live lock of
        # someone else is left alone (and, on PostgreSQL, waited for while its taker commits).
        uow.session.execute(stmt.on_conflict_do_update(
            index_elements=[LOCK.c.entity, LOCK.c.entity_key],
            set_={"holder_id": stmt.excluded.holder_id, "holder": stmt.excluded.holder,
                  "acquired_at": case((mine, LOCK.c.acquired_at), else_=stmt.excluded.acquired_at),
                  "expires_at": stmt.excluded.expires_at},
            where=or_(mine, LOCK.c.expires_at <= now)))
        lock = _row(uow.session, entity, key)
        assert lock is not None
        if lock.holder_id != actor.user_id:
            raise Locked(lock.holder, lock.expires_at)
        uow.commit()
    return lock


@retrying
def renew(uow: UnitOfWork, actor: Actor, entity: str, key: str, *, ttl: timedelta = TTL) -> Lock:
    """Extend a lock this user holds. A lock that was broken (or taken over after expiring) is
    not taken back silently: ``LockLost`` tells the page its user no longer holds it."""
    _known(entity)
    with uow:
        now = uow.now()
        kept = uow.session.execute(
            update(LOCK).where(LOCK.c.entity == entity, LOCK.c.entity_key == key,
                               LOCK.c.holder_id == actor.user_id).values(expires_at=now + ttl))
        if not kept.rowcount:  # type: ignore[attr-defined]
            raise LockLost()
        lock = _row(uow.session, entity, key)
        assert lock is not None
        uow.commit()
    return lock


@retrying
def release(uow: UnitOfWork, actor: Actor, entity: str, key: str) -> bool:
    """Give the lock back (leaving the edit page); False when this user did not hold it."""
    _known(entity)
    with uow:
        gone = uow.session.execute(delete(LOCK).where(
            LOCK.c.entity == entity, LOCK.c.entity_key == key, LOCK.c.holder_id == actor.user_id))
        uow.commit()
    return bool(gone.rowcount)  # type: ignore[attr-defined]


@retrying
def break_lock(uow: UnitOfWork, actor: Actor, entity: str, key: str) -> Lock | None:
    """An administrator removes someone's lock (they left for lunch); the removal is audited
    and logged. Returns the lock that was broken (None: there was none)."""
    _known(entity)
    if not actor.can("settings.edit"):
        raise NotAdministrator()
    with uow:
        lock = _row(uow.session, entity, key)
        if lock is not None:
            uow.session.execute(delete(LOCK).where(LOCK.c.entity == entity,
                                                   LOCK.c.entity_key == key))
        uow.commit()
    if lock is not None:
        log.warning("edit lock on %s %s held by %s broken by %s", entity, key, lock.holder,
                    actor.username)
    return lock
