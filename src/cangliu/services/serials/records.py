"""A serial's record and timeline (一物一码追溯), the serial list, and the one call documents
make to move serials through their lifecycle."""

import json
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Table, insert, or_, select, update
from sqlalchemy.orm import Session, aliased

from cangliu.core.errors import Conflict, NotFound, ValidationFailed
from cangliu.core.serials import lifecycle
from cangliu.db.models import Customer, Location, Serial, SerialBatch, SerialEvent, SerialRule, Sku
from cangliu.db.uow import UnitOfWork, retrying
from cangliu.services import custom_fields

SERIAL: Table = Serial.__table__  # type: ignore[assignment]
EVENT: Table = SerialEvent.__table__  # type: ignore[assignment]
CHUNK = 1_000
Parent = aliased(Serial)


def _code_of(model: Any, column: Any, ref: Any, label: str) -> Any:
    """The code a foreign key points at, as a scalar subquery: a lookup stays an index probe
    per reference, with no join order for the planner to search."""
    return select(column).where(model.id == ref).scalar_subquery().label(label)


_COLUMNS = (Serial.id, Serial.code, Sku.code.label("sku"), Sku.name.label("sku_name"),
            Serial.status, _code_of(Location, Location.code, Serial.site_id, "site"),
            _code_of(Location, Location.code, Serial.location_id, "location"), Serial.lot,
            _code_of(SerialBatch, SerialBatch.number, Serial.batch_id, "batch"),
            _code_of(SerialRule, SerialRule.code, Serial.rule_id, "rule"),
            _code_of(Parent, Parent.code, Serial.parent_id, "parent"),
            _code_of(Customer, Customer.code, Serial.customer_id, "customer"), Serial.sales_order,
            Serial.purchase_order, Serial.created_at, Serial.site_id, Serial.custom)


def _query() -> Any:
    return select(*_COLUMNS).join(Sku, Sku.id == Serial.sku_id)


def _visible(scope: frozenset[int] | None) -> Any:
    """Serials at a site of ``scope`` (None: all), or at no site yet (generated, sold)."""
    if scope is None:
        return Serial.id.is_not(None)
    return or_(Serial.site_id.is_(None), Serial.site_id.in_(scope))


def _out(row: Any) -> dict[str, Any]:
    data = dict(row._mapping)
    data.pop("id")
    data.pop("site_id")
    data["custom"] = data["custom"] or {}
    return data


def _one(session: Session, code: str, sku: str | None, scope: frozenset[int] | None) -> Any:
    query = _query().where(Serial.code == code.strip(), _visible(scope))
    if sku:
        query = query.where(Sku.code == sku)
    rows = session.execute(query.limit(20)).all()
    if not rows:
        raise NotFound("No serial {code}", code=code)
    if len(rows) > 1:
        raise ValidationFailed.single("sku", "serial {code} exists for several SKUs: {skus}",
                                      code=code, skus=", ".join(sorted(r.sku for r in rows)))
    return rows[0]


def get_serial(session: Session, code: str, *, sku: str | None = None,
               scope: frozenset[int] | None = None) -> dict[str, Any]:
    """One serial with its events, oldest first. When serials are unique per SKU only and the
    code exists under several SKUs, ``sku`` says which."""
    row = _one(session, code, sku, scope)
    return {**_out(row), "events": timeline(session, row.id)}


@retrying
def set_custom(uow: UnitOfWork, code: str, values: dict[str, Any], *, sku: str | None = None,
               scope: frozenset[int] | None = None) -> dict[str, Any]:
    """Change a serial's custom field values (the keys given; null clears one)."""
    with uow:
        session = uow.session
        row = _one(session, code, sku, scope)
        custom = custom_fields.stored(session, "serial", values, current=row.custom or {},
                                      partial=True)
        session.execute(update(Serial).where(Serial.id == row.id).values(custom=custom)
                        .execution_options(synchronize_session=False))
        result = {**_out(row), "custom": custom or {}}
        uow.commit()
    return result


def timeline(session: Session, serial_id: int) -> list[dict[str, Any]]:
    rows = session.execute(
        select(SerialEvent.at, SerialEvent.kind, SerialEvent.status, SerialEvent.operator,
               SerialEvent.device, SerialEvent.document_type, SerialEvent.document_number,
               Location.code.label("site"), SerialEvent.detail)
        .outerjoin(Location, Location.id == SerialEvent.site_id)
        .where(SerialEvent.serial_id == serial_id).order_by(SerialEvent.at, SerialEvent.id))
    return [{**dict(r._mapping), "detail": json.loads(r.detail or "{}")} for r in rows]


def list_serials(session: Session, *, sku: str | None = None, status: str | None = None,
                 batch: str | None = None, q: str | None = None, after: str | None = None,
                 limit: int = 50, scope: frozenset[int] | None = None,
                 custom: dict[str, str] | None = None) -> tuple[list[dict[str, Any]], str | None]:
    """One page in generation order; ``q`` matches the start of the code; ``after`` is the
    ``next_cursor`` of the page before; ``custom`` filters by custom field values."""
    query = _query().where(_visible(scope))
    if custom:
        query = query.where(*custom_fields.where(session, "serial", Serial.custom, custom))
    if sku:
        query = query.where(Sku.code == sku)
    if status:
        if status not in lifecycle.STATES:
            raise ValidationFailed.single("status", "must be one of: {expected}",
                                          expected=", ".join(lifecycle.STATES))
        query = query.where(Serial.status == status)
    if batch:
        query = query.where(Serial.batch_id == select(SerialBatch.id).where(
            SerialBatch.number == batch).scalar_subquery())
    if q and q.strip():
        query = query.where(Serial.code.like(q.strip().replace("%", "").replace("_", r"\_") + "%",
                                             escape="\\"))
    if after:
        if not after.isdigit():
            raise ValidationFailed.single("cursor", "is not a cursor this server issued")
        query = query.where(Serial.id > int(after))
    rows = session.execute(query.order_by(Serial.id).limit(limit + 1)).all()
    more = len(rows) > limit
    rows = rows[:limit]
    return [_out(r) for r in rows], (str(rows[-1].id) if more else None)


def record_event(session: Session, serial_ids: Sequence[int], kind: str, *, at: datetime,
                 operator: str, device: str = "", document_type: str | None = None,
                 document_number: str | None = None, site_id: int | None = None,
                 detail: dict[str, Any] | None = None, status: str | None = None) -> int:
    """Record ``kind`` for every serial of ``serial_ids`` and move each to the event's state
    (``status`` overrides it); a move the lifecycle does not allow is refused naming the serial
    and both states, and nothing is written. A serial changed meanwhile by another transaction
    is refused as a conflict. ``site_id``, when given, becomes the serials' site. Returns the
    number of events written. The caller's transaction commits."""
    if kind not in lifecycle.EVENTS:
        raise ValidationFailed.single("kind", "must be one of: {expected}",
                                      expected=", ".join(lifecycle.EVENTS))
    if status is not None and status not in lifecycle.STATES:
        raise ValidationFailed.single("status", "must be one of: {expected}",
                                      expected=", ".join(lifecycle.STATES))
    ids = list(dict.fromkeys(serial_ids))
    current = _states(session, ids)
    target = lifecycle.target_of(kind, status)
    for serial_id in ids:
        code, state = current[serial_id]
        if target is not None:
            lifecycle.check(code, state, target)
    _move(session, ids, current, target, site_id)
    text = json.dumps(detail or {}, ensure_ascii=False, sort_keys=True, default=str)
    rows = [{"serial_id": i, "at": at, "kind": kind, "status": target or current[i][1],
             "operator": operator, "device": device, "document_type": document_type,
             "document_number": document_number, "site_id": site_id, "detail": text} for i in ids]
    for start in range(0, len(rows), CHUNK * 10):
        session.connection().execute(insert(EVENT), rows[start:start + CHUNK * 10])
    return len(rows)


def _states(session: Session, ids: list[int]) -> dict[int, tuple[str, str]]:
    found: dict[int, tuple[str, str]] = {}
    for start in range(0, len(ids), CHUNK):
        chunk = ids[start:start + CHUNK]
        found.update({i: (c, s) for i, c, s in session.connection().execute(
            select(SERIAL.c.id, SERIAL.c.code, SERIAL.c.status).where(SERIAL.c.id.in_(chunk)))})
    missing = [i for i in ids if i not in found]
    if missing:
        raise NotFound("No serial with id {id}", id=missing[0])
    return found


def _move(session: Session, ids: list[int], current: dict[int, tuple[str, str]],
          target: str | None, site_id: int | None) -> None:
    """Conditional updates per current state: a serial another transaction moved since it was
    read is not overwritten."""
    values: dict[str, Any] = {}
    if target is not None:
        values["status"] = target
    if site_id is not None:
        values["site_id"] = site_id
    if not values:
        return
    by_state: dict[str, list[int]] = {}
    for i in ids:
        by_state.setdefault(current[i][1], []).append(i)
    conn = session.connection()
    for state, members in by_state.items():
        for start in range(0, len(members), CHUNK):
            chunk = members[start:start + CHUNK]
            done = conn.execute(update(SERIAL).where(SERIAL.c.id.in_(chunk),
                                                     SERIAL.c.status == state).values(**values))
            if done.rowcount != len(chunk):
                raise Conflict("Serial {code} was changed by someone else; try again",
                               code=current[chunk[0]][0])
