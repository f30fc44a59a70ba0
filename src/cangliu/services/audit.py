"""The audit log: read it with filters, and walk its hash chain to show whether it was tampered with."""

import json
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from cangliu.db.audit import NOT_AUDITED, row_hash
from cangliu.db.base import Base
from cangliu.db.models import AuditEvent, AuditHead
from cangliu.db.uow import UnitOfWork


@dataclass(frozen=True)
class ChainReport:
    events: int
    broken_id: int | None = None
    problem: str = ""

    @property
    def intact(self) -> bool:
        return self.broken_id is None and not self.problem


def verify_chain(uow: UnitOfWork, *, batch: int = 10_000) -> ChainReport:
    """Recompute every event's hash in order; the first row that does not follow names the break."""
    with uow:
        session = uow.session
        count, last_id, prev = 0, 0, ""
        query = select(AuditEvent.__table__).order_by(AuditEvent.id).execution_options(yield_per=batch)
        for row in session.execute(query).mappings():
            values = dict(row)
            problem = _problem(values, last_id, prev)
            if problem:
                return ChainReport(count, values["id"], problem)
            count, last_id, prev = count + 1, values["id"], values["hash"]
        head = session.get(AuditHead, 1)
        if head is not None and (head.last_id, head.hash) != (last_id, prev):
            return ChainReport(count, head.last_id,
                               f"the chain head names event {head.last_id}, the log ends at {last_id}")
        return ChainReport(count)


def _problem(row: dict[str, Any], last_id: int, prev: str) -> str:
    if row["id"] != last_id + 1:
        return f"events {last_id + 1}..{row['id'] - 1} are missing"
    if row["prev_hash"] != prev:
        return "does not follow the event before it (prev_hash differs)"
    if row_hash(row) != row["hash"]:
        return "its content does not match its hash (changed after it was written)"
    return ""


@dataclass(frozen=True)
class Filters:
    entity: str | None = None
    user: str | None = None
    since: date | None = None
    until: date | None = None
    key: str | None = None


def list_events(session: Session, filters: Filters, *, before: int | None = None,
                limit: int = 50) -> tuple[list[dict[str, Any]], int | None]:
    """One page of events, newest first; the cursor is the last id shown."""
    query = select(AuditEvent)
    if filters.entity:
        query = query.where(AuditEvent.entity == filters.entity)
    if filters.user:
        query = query.where(AuditEvent.username == filters.user)
    if filters.since:
        query = query.where(AuditEvent.at >= datetime.combine(filters.since, time(), UTC))
    if filters.until:
        query = query.where(AuditEvent.at < datetime.combine(filters.until + timedelta(days=1),
                                                             time(), UTC))
    if filters.key:
        query = query.where(AuditEvent.entity_key.ilike(f"%{filters.key.strip()}%"))
    if before:
        query = query.where(AuditEvent.id < before)
    rows = list(session.scalars(query.order_by(AuditEvent.id.desc()).limit(limit + 1)))
    page = rows[:limit]
    return [_public(r) for r in page], (page[-1].id if len(rows) > limit else None)


def _public(row: AuditEvent) -> dict[str, Any]:
    before = json.loads(row.before) if row.before else None
    after = json.loads(row.after) if row.after else None
    fields = sorted(set(before or {}) | set(after or {}))
    return {"id": row.id, "at": row.at, "user_id": row.user_id, "username": row.username,
            "address": row.address, "device": row.device, "request_id": row.request_id,
            "action": row.action, "entity": row.entity, "entity_key": row.entity_key,
            "before": before, "after": after,
            "diff": [{"field": f, "before": (before or {}).get(f), "after": (after or {}).get(f)}
                     for f in fields]}


def entities() -> list[str]:
    """The audited tables, for the page's filter."""
    return sorted(name for name in Base.metadata.tables if name not in NOT_AUDITED)
