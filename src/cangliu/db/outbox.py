"""The outbox: every committed change leaves domain events in ``outbox_event``, written in the
same transaction as the change, so an event exists exactly when its change was committed.

Services name what happened with ``emit`` (a posting: ``stock.changed``); every audited row
change also becomes a ``record.changed`` event naming the record (a document's line names its
document). On PostgreSQL the commit also sends ``NOTIFY cangliu_outbox, '<last id>'`` so other
processes learn of it at once; in this process ``on_commit`` hooks are called after the commit.
"""

import json
from collections.abc import Callable, Iterable
from datetime import datetime
from functools import lru_cache
from typing import Any, Protocol

from sqlalchemy import Table, TextClause, insert, text
from sqlalchemy.orm import Session

from cangliu.db.models import Location, OutboxEvent, Sku

TABLE: Table = OutboxEvent.__table__  # type: ignore[assignment]
CHANNEL = "cangliu_outbox"
PENDING = "outbox_pending"
TOUCHED = "outbox_touched"  # {(sku_id, site_id)} whose balances the transaction changed
POSTINGS = "outbox_postings"  # what the transaction's postings were (operation, document …)
WROTE = "outbox_wrote"
NOTIFY = "outbox_notify"  # session.info flag: send NOTIFY on PostgreSQL (default on)

# Called with the last event id after a transaction that wrote events commits (in-process wake-up).
_hooks: list[Callable[[int], None]] = []
# Called with the number of postings a transaction committed (the metrics' postings counter).
posting_hooks: list[Callable[[int], None]] = []
COMMITTED_POSTINGS = "outbox_committed_postings"


class Change(Protocol):
    action: str
    entity: str
    key: str
    before: dict[str, Any] | None
    after: dict[str, Any] | None


def emit(session: Session, kind: str, payload: dict[str, Any]) -> None:
    """Record an event to be written when ``session`` commits (dropped if it rolls back)."""
    session.info.setdefault(PENDING, []).append((kind, payload))


def on_commit(hook: Callable[[int], None]) -> Callable[[], None]:
    """Call ``hook(last_id)`` after each commit that wrote events; answers the unsubscribe."""
    _hooks.append(hook)
    return lambda: _hooks.remove(hook) if hook in _hooks else None


def record_events(changes: Iterable[Change]) -> list[tuple[str, dict[str, Any]]]:
    """One ``record.changed`` per changed record (with its new state, if it has one); a line's
    change is its document's change."""
    seen: dict[tuple[str, str], dict[str, Any]] = {}
    for change in changes:
        entity, key = change.entity, change.key
        if "#" in key and entity.endswith("_line"):
            entity, key = entity.removesuffix("_line"), key.split("#", 1)[0]
            action = "update"
        else:
            action = change.action
        after = change.after or {}
        state = after.get("state", after.get("status"))
        found = seen.setdefault((entity, key), {"entity": entity, "key": key, "action": action})
        if state is not None and entity == change.entity:
            found["state"] = state
    return [("record.changed", payload) for payload in seen.values()]


def note_posting(session: Session, posting: dict[str, Any]) -> None:
    """Describe a posting in the transaction's ``stock.changed`` event."""
    session.info.setdefault(POSTINGS, []).append(posting)


def stock_event(session: Session) -> list[tuple[str, dict[str, Any]]]:
    """One ``stock.changed`` naming every (SKU, site) whose balances changed, with the postings.
    The codes come from the session's identity map: the posting has just loaded those rows."""
    pairs: set[tuple[int, int]] = session.info.pop(TOUCHED, set())
    postings = session.info.pop(POSTINGS, [])
    if not pairs:
        return []
    session.info[COMMITTED_POSTINGS] = len(postings)
    skus = {i: session.get(Sku, i) for i in {p[0] for p in pairs}}
    sites = {i: session.get(Location, i) for i in {p[1] for p in pairs}}
    lines = {(s.code, t.code, v) for k, v in pairs
             if (s := skus[k]) is not None and (t := sites[v]) is not None}
    return [stock_changed(lines, postings)]


def stock_changed(lines: Iterable[tuple[str, str, int]], postings: list[dict[str, Any]]
                  ) -> tuple[str, dict[str, Any]]:
    """The ``stock.changed`` event for (SKU code, site code, site id) triples and postings."""
    return ("stock.changed", {"lines": [{"sku": a, "site": b, "site_id": c}
                                        for a, b, c in sorted(lines)], "postings": postings})


def dumps(payload: dict[str, Any]) -> str:
    """An event's payload as stored."""
    return json.dumps(payload, ensure_ascii=False, separators=(",", ":"), default=str)


def write(session: Session, at: datetime, changes: Iterable[Change]) -> None:
    """Write the transaction's events; called just before it commits."""
    events = session.info.pop(PENDING, []) + stock_event(session) + record_events(changes)
    if not events:
        return
    conn = session.connection()
    rows = [(kind, dumps(payload)) for kind, payload in events]
    if conn.dialect.name == "postgresql" and session.info.get(NOTIFY, True):
        params: dict[str, Any] = {"at": at}
        for i, (kind, payload) in enumerate(rows):
            params[f"k{i}"], params[f"p{i}"] = kind, payload
        last = conn.execute(_insert_and_notify(len(rows)), params).scalar_one()
    else:
        last = max(conn.execute(insert(TABLE).returning(TABLE.c.id), [
            {"at": at, "kind": kind, "payload": payload, "dispatched_at": None, "attempts": 0,
             "error": ""} for kind, payload in rows]).scalars().all())
    session.info[WROTE] = last


@lru_cache(maxsize=32)
def _insert_and_notify(count: int) -> TextClause:
    """Insert ``count`` events (:k0, :p0 …) and NOTIFY the last id: one round trip, not two."""
    values = ", ".join(f"(:at, :k{i}, :p{i}, NULL, 0, '')" for i in range(count))
    return text(
        f"WITH e AS (INSERT INTO outbox_event (at, kind, payload, dispatched_at, attempts, error)"
        f" VALUES {values} RETURNING id)"
        f" SELECT m, pg_notify('{CHANNEL}', m::text) FROM (SELECT max(id) AS m FROM e) AS last")


def after_commit(session: Session) -> None:
    committed(session.info.pop(COMMITTED_POSTINGS, 0), session.info.pop(WROTE, None))


def committed(postings: int, last: int | None) -> None:
    """Tell this process's hooks of a commit: how many postings, and the last event id written."""
    for count_hook in posting_hooks if postings else ():
        count_hook(postings)
    if last is None:
        return
    for hook in list(_hooks):
        hook(last)


def forget(session: Session) -> None:
    """A rollback drops the events it would have written."""
    for key in (PENDING, TOUCHED, POSTINGS, COMMITTED_POSTINGS):
        session.info.pop(key, None)
    session.info.pop(WROTE, None)
