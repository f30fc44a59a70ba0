"""Audit capture: every change a unit of work makes to a business row becomes one audit event.

ORM changes are read from attribute history after each flush; ORM-enabled ``insert`` /
``update`` / ``delete`` statements are bracketed by a read of the rows they touch. The events
of a transaction are merged per row and appended to the hash chain just before it commits,
under a lock on the chain head, so concurrent writers append one after the other.
"""

import hashlib
import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import Table, and_, event, false, insert, select, true, tuple_, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Mapper, ORMExecuteState, Session, UOWTransaction, object_mapper
from sqlalchemy.orm.attributes import instance_state

from cangliu.core.permissions import Actor
from cangliu.db import outbox
from cangliu.db.base import Base
from cangliu.db.models import AuditEvent, AuditHead

# The ledger's own high-volume tables (immutable or projections of it), demand history (a
# projection of the ledger, or bulk-imported), the session and security logs, the audit tables
# themselves and notifications (messages about audited actions); every other table is audited.
NOT_AUDITED = frozenset({
    "stock_move", "stock_balance", "reservation", "idempotency_record", "sku_cost", "cost_layer",
    "demand_day", "number_counter", "user_session", "security_event", "audit_event", "audit_head",
    "notification", "outbox_event", "delivery", "alert",
    # Serials are written in bulk; their own history is serial_event. A recall's unit list is
    # frozen in bulk too (the recall itself is audited, each hold is a serial event).
    "serial", "serial_event", "serial_counter", "recall_unit",
    # Offline operations are the devices' own log; what they post is in the ledger.
    "offline_device", "offline_op",
})
# Bookkeeping nobody decided: an edit of only these columns is not audited.
BOOKKEEPING = {"api_token": frozenset({"last_used_at"}),
               "app_user": frozenset({"totp_step"}),  # a one-time code accepted at login
               "edit_lock": frozenset({"expires_at"})}  # renewing a held edit lock
SECRET_COLUMNS = frozenset({"password_hash", "token_hash", "session_hash", "secret",
                            "totp_secret", "totp_pending", "recovery_codes"})
# A robot's URL carries its access key.
SECRET_FIELDS = frozenset({("channel", "url")})
SECRET_SETTINGS = frozenset({"secret_key"})
REDACTED = "***"
# Lines are named after their document: "PO-20261123-0001#2".
LINE_PARENTS = {"transfer_line": "transfer_id", "purchase_line": "purchase_id",
                "sales_line": "sales_id", "stock_count_line": "count_id"}
KEY_COLUMNS = ("code", "number", "key", "username", "ref", "document_number")
# Tables whose rows are named by another column than those above.
TABLE_KEYS = {"transfer_rule": "name", "transfer_rule_version": "rule_name", "calendar_event": "name"}
PENDING = "audit_pending"
CLOCK = "audit_clock"
EVENT: Table = AuditEvent.__table__  # type: ignore[assignment]
HEAD: Table = AuditHead.__table__  # type: ignore[assignment]


@dataclass
class AuditContext:
    """Who acts and from where. Mutable: the web layer learns the user after the request began."""

    user_id: int | None = None
    username: str = "system"
    address: str = ""
    device: str = ""
    request_id: str = ""


_context: ContextVar[AuditContext | None] = ContextVar("audit_context", default=None)


def current() -> AuditContext:
    return _context.get() or AuditContext()


@contextmanager
def scope(context: AuditContext) -> Iterator[AuditContext]:
    """Attribute the writes made inside the block (one HTTP request, one CLI command) to ``context``."""
    token = _context.set(context)
    try:
        yield context
    finally:
        _context.reset(token)


@contextmanager
def acting(actor: Actor, *, address: str = "", request_id: str = "") -> Iterator[AuditContext]:
    """Writes outside HTTP (CLI, demo, tests) recorded as ``actor``'s."""
    with scope(AuditContext(actor.user_id, actor.username, address, actor.device, request_id)) as c:
        yield c


def bind_actor(actor: Actor) -> Actor:
    """The request's user is known: record it on the request's audit context (if any)."""
    context = _context.get()
    if context is not None:
        context.user_id, context.username = actor.user_id, actor.username
        context.device = actor.device or context.device
    return actor


@dataclass
class Change:
    action: str
    entity: str
    key: str
    before: dict[str, Any] | None
    after: dict[str, Any] | None = field(default=None)


def plain(value: Any) -> Any:
    """A JSON-safe value: Decimals, dates and times as strings."""
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, bytes):
        return value.hex()
    return value


def _redact(table: str, values: dict[str, Any], setting_key: Any) -> dict[str, Any]:
    secret = table == "setting" and setting_key in SECRET_SETTINGS
    return {k: (REDACTED if v is not None and ((secret and k == "value") or k in SECRET_COLUMNS
                                               or (table, k) in SECRET_FIELDS)
                else plain(v)) for k, v in values.items()}


def _merge(session: Session, table: str, pk: tuple[Any, ...], change: Change) -> None:
    """Fold a row's changes within one transaction into one event per row."""
    if change.action == "update" and set(change.after or {}) <= BOOKKEEPING.get(table, frozenset()):
        return
    pending: dict[tuple[str, tuple[Any, ...]], Change] = session.info.setdefault(PENDING, {})
    old = pending.pop((table, pk), None)
    if old is not None:
        folded = _fold(old, change)
        if folded is None:
            return
        change = folded
    pending[(table, pk)] = change


def _fold(old: Change, new: Change) -> Change | None:
    if old.action == "create":
        if new.action == "delete":
            return None  # created and removed in the same transaction: nothing happened
        return Change("create", new.entity, new.key, None, {**(old.after or {}), **(new.after or {})})
    before = {**(new.before or {}), **(old.before or {})}
    if new.action == "delete":
        return Change("delete", new.entity, new.key, before, None)
    after = {**(old.after or {}), **(new.after or {})}
    if old.action == "delete":  # removed and put back
        after = {**(new.after or {})}
    changed = {k for k in set(before) | set(after) if before.get(k) != after.get(k)}
    if not changed:
        return None
    return Change("update", new.entity, new.key, {k: before.get(k) for k in changed},
                  {k: after.get(k) for k in changed})


def _entity_key(session: Session, table: str, values: dict[str, Any]) -> str:
    for column in (TABLE_KEYS[table],) if table in TABLE_KEYS else KEY_COLUMNS:
        if values.get(column) is not None:
            return str(values[column])[:120]
    parent_fk = LINE_PARENTS.get(table)
    if parent_fk and values.get(parent_fk) is not None:
        number = _document_number(session, table, parent_fk, values[parent_fk])
        return f"{number}#{values.get('line_no') or values.get('id')}"[:120]
    return ",".join(str(values.get(c.name)) for c in Base.metadata.tables[table].primary_key)[:120]


def _document_number(session: Session, table: str, parent_fk: str, parent_id: int) -> str:
    """The number of a line's document, read once per transaction."""
    numbers: dict[tuple[str, int], str] = session.info.setdefault("audit_numbers", {})
    if (table, parent_id) not in numbers:
        target = next(iter(Base.metadata.tables[table].c[parent_fk].foreign_keys)).column.table
        numbers[(table, parent_id)] = str(session.connection().scalar(
            select(target.c.number).where(target.c.id == parent_id)))
    return numbers[(table, parent_id)]


# ---- ORM objects: attribute history after each flush ----------------------------------------


def _values(obj: Any, mapper: Mapper[Any], which: str) -> dict[str, Any]:
    """Column values of ``obj``: as committed ("before") or as flushed ("after")."""
    state = instance_state(obj)
    values: dict[str, Any] = {}
    for attr in mapper.column_attrs:
        key = attr.key
        history = state.attrs[key].history
        if which == "before" and history.deleted:
            values[attr.columns[0].name] = history.deleted[0]
        elif key in state.dict:
            values[attr.columns[0].name] = state.dict[key]
    return values


def _capture(session: Session, obj: Any, action: str) -> None:
    mapper = object_mapper(obj)
    table = mapper.local_table.name  # type: ignore[attr-defined]
    if table in NOT_AUDITED:
        return
    pk = tuple(mapper.primary_key_from_instance(obj))
    if action == "update":
        state = instance_state(obj)
        before, after = {}, {}
        for attr in mapper.column_attrs:
            history = state.attrs[attr.key].history
            if history.added and (not history.deleted or history.deleted[0] != history.added[0]):
                name = attr.columns[0].name
                before[name] = history.deleted[0] if history.deleted else None
                after[name] = history.added[0]
        if not after:
            return
        full = _values(obj, mapper, "after")
    elif action == "create":
        before, after = None, _values(obj, mapper, "after")
        full = after
    else:
        before, after = _values(obj, mapper, "before"), None
        full = before
    setting = full.get("key") if table == "setting" else None
    _merge(session, table, pk, Change(
        action, table, _entity_key(session, table, full),
        None if before is None else _redact(table, before, setting),
        None if after is None else _redact(table, after, setting)))


def _after_flush(session: Session, _context: UOWTransaction) -> None:
    for obj in session.new:
        _capture(session, obj, "create")
    for obj in session.dirty:
        if session.is_modified(obj, include_collections=False):
            _capture(session, obj, "update")
    for obj in session.deleted:
        _capture(session, obj, "delete")


# ---- ORM-enabled statements: read the rows before and after --------------------------------


def _row_filter(table: Table, state: ORMExecuteState) -> Any:
    """A WHERE clause naming the rows a DML statement may touch, or None if it cannot be known."""
    stmt: Any = state.statement
    params = state.parameters
    if state.is_insert:
        rows: list[Any] = params if isinstance(params, list) else [params or _insert_values(stmt)]
        keys = [tuple(c.name for c in cons.columns) for cons in table.constraints
                if hasattr(cons, "columns") and cons.__class__.__name__ in
                ("PrimaryKeyConstraint", "UniqueConstraint")]
        for names in keys:
            if names and all(all(r.get(n) is not None for n in names) for r in rows):
                return tuple_(*(table.c[n] for n in names)).in_(
                    [tuple(r[n] for n in names) for r in rows])
        return None
    if isinstance(params, list):  # bulk UPDATE / DELETE by primary key
        pks = [c.name for c in table.primary_key]
        return tuple_(*(table.c[n] for n in pks)).in_([tuple(r[n] for n in pks) for r in params])
    return stmt.whereclause if stmt.whereclause is not None else and_(true())


def _insert_values(stmt: Any) -> dict[str, Any]:
    """The values of a one-row ``insert(...).values(...)``."""
    values = {}
    for column, value in (getattr(stmt, "_values", None) or {}).items():
        values[getattr(column, "name", column)] = getattr(value, "value", value)
    return values


def _rows(conn: Connection, table: Table, where: Any) -> dict[tuple[Any, ...], dict[str, Any]]:
    pks = [c.name for c in table.primary_key]
    found = conn.execute(select(table).where(where)).mappings()
    return {tuple(r[n] for n in pks): dict(r) for r in found}


def _on_execute(state: ORMExecuteState) -> Any:
    if state.is_select or not (state.is_insert or state.is_update or state.is_delete):
        return None
    table = getattr(state.statement, "table", None)
    if not isinstance(table, Table) or table.name in NOT_AUDITED:
        return None
    session = state.session
    where = _row_filter(table, state)
    conn = session.connection()
    before = _rows(conn, table, where) if where is not None else {}
    result = state.invoke_statement()
    after = _rows(conn, table, where if state.is_insert else _pk_filter(table, before)) \
        if where is not None else {}
    for pk in dict.fromkeys([*before, *after]):
        old, new = before.get(pk), after.get(pk)
        full = new or old or {}
        setting = full.get("key") if table.name == "setting" else None
        key = _entity_key(session, table.name, full)
        if old is None and new is not None:
            change = Change("create", table.name, key, None, _redact(table.name, new, setting))
        elif new is None and old is not None:
            change = Change("delete", table.name, key, _redact(table.name, old, setting), None)
        else:
            assert old is not None and new is not None
            changed = [k for k in new if new[k] != old.get(k)]
            if not changed:
                continue
            change = Change("update", table.name, key,
                            _redact(table.name, {k: old.get(k) for k in changed}, setting),
                            _redact(table.name, {k: new[k] for k in changed}, setting))
        _merge(session, table.name, pk, change)
    return result


def _pk_filter(table: Table, rows: dict[tuple[Any, ...], Any]) -> Any:
    pks = [table.c[c.name] for c in table.primary_key]
    return tuple_(*pks).in_(list(rows)) if rows else and_(false())


# ---- the chain ------------------------------------------------------------------------------


def canonical(row: dict[str, Any]) -> str:
    return json.dumps({k: plain(v) for k, v in row.items() if k != "hash"}, sort_keys=True,
                      separators=(",", ":"), ensure_ascii=False)


def row_hash(row: dict[str, Any]) -> str:
    """sha256(previous hash + the row's content): changing, removing or reordering a row shows."""
    return hashlib.sha256((row["prev_hash"] + canonical(row)).encode()).hexdigest()


def _lock_head(conn: Connection) -> tuple[int, str]:
    """The chain head, locked until commit (SQLite writers already hold the database lock)."""
    query = select(HEAD.c.last_id, HEAD.c.hash).where(HEAD.c.id == 1).with_for_update()
    head = conn.execute(query).first()
    if head is None:  # an emptied database: the chain starts again
        dialect_insert = postgresql.insert if conn.dialect.name == "postgresql" else sqlite.insert
        conn.execute(dialect_insert(HEAD).values(id=1, last_id=0, hash="").on_conflict_do_nothing())
        head = conn.execute(query).first()
    assert head is not None
    return int(head[0]), str(head[1])


def _before_commit(session: Session) -> None:
    """Append the transaction's changes to the audit chain and its events to the outbox."""
    session.flush()  # the changes not flushed yet are captured now
    pending: dict[Any, Change] = session.info.pop(PENDING, {})
    clock: Callable[[], datetime] = session.info[CLOCK]
    at = clock()
    outbox.write(session, at, pending.values())
    if not pending:
        return
    who = current()
    conn = session.connection()
    last_id, prev = _lock_head(conn)
    rows = []
    for change in pending.values():
        last_id += 1
        row = {"id": last_id, "at": at, "user_id": who.user_id, "username": who.username[:64],
               "address": who.address[:64], "device": who.device[:64],
               "request_id": who.request_id[:64], "action": change.action,
               "entity": change.entity, "entity_key": change.key,
               "before": _json(change.before), "after": _json(change.after), "prev_hash": prev}
        prev = row["hash"] = row_hash(row)
        rows.append(row)
    conn.execute(insert(EVENT), rows)
    conn.execute(update(HEAD).where(HEAD.c.id == 1).values(last_id=last_id, hash=prev))


def _json(values: dict[str, Any] | None) -> str | None:
    return None if values is None else json.dumps(values, sort_keys=True, ensure_ascii=False,
                                                  default=plain)


def _after_rollback(session: Session) -> None:
    session.info.pop(PENDING, None)
    outbox.forget(session)


class AuditedSession(Session):
    """The session of a unit of work: its writes are audited."""


event.listen(AuditedSession, "after_flush", _after_flush)
event.listen(AuditedSession, "do_orm_execute", _on_execute)
event.listen(AuditedSession, "before_commit", _before_commit)
event.listen(AuditedSession, "after_rollback", _after_rollback)
event.listen(AuditedSession, "after_commit", outbox.after_commit)
