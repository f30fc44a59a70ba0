"""Stale edits: who saved the version an edit collides with, and what changed since the edit's
version — read from the audit log, which keeps every row's changed columns before and after."""

import json
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from cangliu.core.errors import FieldChange, StaleVersion
from cangliu.db.audit import LINE_PARENTS
from cangliu.db.base import Base
from cangliu.db.models import AuditEvent

SCAN = 200  # newest events of one record read: far more than a record changes while a form is open
HIDDEN = frozenset({"id", "version"})


def stale_version(session: Session, *, table: str, key: str, version: int,
                  current_version: int, current: dict[str, Any]) -> StaleVersion:
    """The conflict for an edit based on ``version`` of the row ``key`` of ``table`` (now at
    ``current_version``, shown as ``current``). A document's lines count as its field "lines"."""
    events = session.execute(
        select(AuditEvent.id, AuditEvent.at, AuditEvent.username, AuditEvent.before,
               AuditEvent.after)
        .where(AuditEvent.entity == table, AuditEvent.entity_key == key)
        .order_by(AuditEvent.id.desc()).limit(SCAN)).all()
    saved_by, saved_at, base_id = "", None, 0
    newer: list[tuple[dict[str, Any], dict[str, Any]]] = []
    for event in events:
        after = json.loads(event.after) if event.after else {}
        if not saved_by and after.get("version") == current_version:
            saved_by, saved_at = event.username, event.at
        if after.get("version") is not None and after["version"] <= version:
            base_id = event.id  # the save that made the edit's version: older is common ground
            break
        newer.append((json.loads(event.before) if event.before else {}, after))
    changes = _changes(session, table, reversed(newer), current)
    lines_table = _lines_table(table)
    if lines_table and _lines_changed(session, lines_table, key, base_id):
        changes["lines"] = FieldChange("lines", None, current.get("lines"))
    return StaleVersion(current_version, current, saved_by=saved_by, saved_at=saved_at,
                        changes=tuple(changes.values()))


def _changes(session: Session, table: str, oldest_first: Any,
             current: dict[str, Any]) -> dict[str, FieldChange]:
    """Per public field: its value at the edit's version (the first change's ``before``) and now."""
    out: dict[str, FieldChange] = {}
    for before, after in oldest_first:
        for column in after:
            name = column.removesuffix("_id")
            if column in HIDDEN or name in out or name not in current:
                continue
            was = before.get(column)
            if name != column and was is not None:
                was = _code_of(session, table, column, was)
            out[name] = FieldChange(name, was, current[name])
    return {name: c for name, c in out.items() if c.before != _plain(c.after)}


def _plain(value: Any) -> Any:
    return value if value is None or isinstance(value, bool | int | list | dict) else str(value)


def _code_of(session: Session, table: str, column: str, ref_id: Any) -> Any:
    """A reference column's old id as the code (or number) the user knows it by."""
    keys = Base.metadata.tables[table].c[column].foreign_keys
    if not keys:
        return ref_id
    target = next(iter(keys)).column.table
    label = target.c.get("code") if "code" in target.c else target.c.get("number")
    if label is None:
        return ref_id
    return session.scalar(select(label).where(target.c.id == ref_id))


def _lines_table(table: str) -> str | None:
    for lines, parent in LINE_PARENTS.items():
        if next(iter(Base.metadata.tables[lines].c[parent].foreign_keys)).column.table.name == table:
            return lines
    return None


def _lines_changed(session: Session, lines_table: str, key: str, base_id: int) -> bool:
    """Whether any line of the document was added, changed or removed after ``base_id``."""
    return session.scalar(
        select(AuditEvent.id).where(AuditEvent.entity == lines_table, AuditEvent.id > base_id,
                                    AuditEvent.entity_key.startswith(f"{key}#", autoescape=True))
        .limit(1)) is not None
