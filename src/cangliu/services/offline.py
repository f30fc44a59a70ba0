"""Offline operations (离线作业): what a scanning device did while its network was down, replayed
in the order the device did it and applied exactly once; what the business rules refuse on
replay waits in a review queue for a supervisor, and every answer goes back to the device.

A device numbers its operations 1, 2, 3 … An operation is applied only after every earlier one
of its device has been answered, so one that arrives ahead of a lost batch waits for it. One
replay per device runs at a time (a lease row, so it holds across processes); whoever holds the
lease works through everything queued, including what other requests stored meanwhile.
"""

import json
import time
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, func, or_, select, text, update
from sqlalchemy.orm import Session

from cangliu.core.errors import Conflict, NotFound, ValidationFailed
from cangliu.core.permissions import Actor
from cangliu.db.models import OfflineDevice, OfflineOperation
from cangliu.db.uow import Database, UnitOfWork, utcnow
from cangliu.services.idempotency import fingerprint

LEASE = timedelta(seconds=60)
WAIT_SECONDS = 10.0  # how long a request waits for another replay of its device to finish
MAX_ATTEMPTS = 5  # an operation whose fate stays unknown this often goes to review instead


@dataclass(frozen=True)
class Operation:
    """One operation as the device sent it."""

    client_id: str
    seq: int
    kind: str
    payload: dict[str, Any]
    occurred_at: datetime | None = None
    site_id: int | None = None


@dataclass(frozen=True)
class Outcome:
    """What applying an operation gave: ``applied`` (with the answer), ``failed`` (refused by
    the business rules, with the problem) or ``retry`` (the server could not tell: try later)."""

    status: str
    result: dict[str, Any] | None = None
    error: dict[str, Any] | None = None


@dataclass(frozen=True)
class Stored:
    """A stored operation, read out of its session."""

    id: int
    device: str
    client_id: str
    seq: int
    kind: str
    payload: dict[str, Any]
    user_id: int
    site_id: int | None
    occurred_at: datetime | None
    received_at: datetime
    status: str
    result: dict[str, Any] | None
    error: dict[str, Any] | None
    attempts: int
    reviewed_by: int | None
    reviewed_at: datetime | None
    review_note: str


def _stored(row: OfflineOperation) -> Stored:
    return Stored(row.id, row.device, row.client_id, row.seq, row.kind, json.loads(row.payload),
                  row.user_id, row.site_id, row.occurred_at, row.received_at, row.status,
                  json.loads(row.result) if row.result else None,
                  json.loads(row.error) if row.error else None, row.attempts, row.reviewed_by,
                  row.reviewed_at, row.review_note)


# Applies one stored operation (as its sender) and says how it went.
Apply = Callable[[Stored], Outcome]


class OperationReused(Conflict):
    title = "Operation id reused"


def _hash(op: Operation) -> str:
    return fingerprint(op.kind, {"seq": op.seq, "payload": op.payload})


def store(uow: UnitOfWork, actor: Actor, device: str, ops: list[Operation]) -> dict[str, Conflict]:
    """Keep the operations not seen before; an id or number reused with other content is
    refused (returned by client id) and the first one stays."""
    with uow:
        now = uow.now()
        _touch_device(uow, actor, device, now)
        known = {r.client_id: r for r in uow.session.scalars(select(OfflineOperation).where(
            OfflineOperation.device == device,
            or_(OfflineOperation.client_id.in_([o.client_id for o in ops]),
                OfflineOperation.seq.in_([o.seq for o in ops]))))}
        by_seq = {r.seq: r for r in known.values()}
        refused: dict[str, Conflict] = {}
        for op in ops:
            refusal = _refusal(op, known.get(op.client_id), by_seq.get(op.seq))
            if refusal is not None:
                refused[op.client_id] = refusal
            elif op.client_id not in known:
                row = _row(actor, device, op, now)
                uow.session.add(row)
                known[op.client_id] = by_seq[op.seq] = row
        uow.commit()
    return refused


def _touch_device(uow: UnitOfWork, actor: Actor, device: str, now: datetime) -> None:
    uow.session.execute(text(
        "INSERT INTO offline_device (device, next_seq, last_user_id, last_seen_at)"
        " VALUES (:device, 1, :user, :now) ON CONFLICT (device) DO NOTHING"),
        {"device": device, "user": actor.user_id, "now": now})
    uow.session.execute(update(OfflineDevice).where(OfflineDevice.device == device)
                        .values(last_user_id=actor.user_id, last_seen_at=now))


def _refusal(op: Operation, same_id: OfflineOperation | None,
             same_seq: OfflineOperation | None) -> Conflict | None:
    if same_id is not None and same_id.request_hash != _hash(op):
        return OperationReused("Operation {id} was already sent with different content",
                               id=op.client_id)
    if same_seq is not None and same_seq.client_id != op.client_id:
        return OperationReused("Number {seq} of this device is already operation {id}",
                               seq=op.seq, id=same_seq.client_id)
    return None


def _row(actor: Actor, device: str, op: Operation, now: datetime) -> OfflineOperation:
    return OfflineOperation(
        device=device, client_id=op.client_id, seq=op.seq, kind=op.kind,
        payload=json.dumps(op.payload, sort_keys=True, default=str), request_hash=_hash(op),
        user_id=actor.user_id, site_id=op.site_id, occurred_at=op.occurred_at, received_at=now,
        status="queued", attempts=0, review_note="")


def replay(db: Database, device: str, apply: Apply, *, mine: list[str],
           wait_seconds: float = WAIT_SECONDS) -> None:
    """Apply this device's queued operations in order. When another request holds the device,
    wait (up to ``wait_seconds``) for it to answer ``mine`` (client ids), unless they wait for
    an earlier operation that has not arrived: then there is nothing to wait for."""
    deadline = time.monotonic() + wait_seconds
    while True:
        token = uuid.uuid4().hex
        if _lease_free(db, device) and _acquire(db.uow(), device, token):
            try:
                stuck = _work_through(db, device, token, apply)
            finally:
                _release(db.uow(), device, token)
            # Operations stored while the lease was being given up would wait for nobody.
            if stuck or _next(db, device) is None:
                return
        elif _settled(db, device, mine) or time.monotonic() > deadline:
            return
        else:
            time.sleep(0.05)


def _settled(db: Database, device: str, mine: list[str]) -> bool:
    """Whether nothing more will happen to ``mine`` in this replay: each is answered, or the
    first one still queued sits behind an operation of the device that has not arrived."""
    with db.read() as session:
        first = session.scalar(select(func.min(OfflineOperation.seq)).where(
            OfflineOperation.device == device, OfflineOperation.client_id.in_(mine),
            OfflineOperation.status == "queued"))
        if first is None:
            return True
        next_seq = next_seq_of(session, device)
        arrived = session.scalar(select(func.count()).select_from(OfflineOperation).where(
            OfflineOperation.device == device, OfflineOperation.seq >= next_seq,
            OfflineOperation.seq < first))
        return int(arrived or 0) < first - next_seq


def _lease_free(db: Database, device: str) -> bool:
    """Whether the device's lease looks free (read first: taking it is a write)."""
    with db.read() as session:
        lease = session.execute(select(OfflineDevice.lease_token, OfflineDevice.lease_until)
                                .where(OfflineDevice.device == device)).first()
    return lease is None or lease[0] is None or lease[1] < utcnow()


def _acquire(uow: UnitOfWork, device: str, token: str) -> bool:
    with uow:
        now = uow.now()
        taken = uow.session.execute(
            update(OfflineDevice).where(
                OfflineDevice.device == device,
                or_(OfflineDevice.lease_token.is_(None), OfflineDevice.lease_until < now))
            .values(lease_token=token, lease_until=now + LEASE)
        ).rowcount  # type: ignore[attr-defined]
        uow.commit()
    return bool(taken)


def _release(uow: UnitOfWork, device: str, token: str) -> None:
    with uow:
        uow.session.execute(update(OfflineDevice).where(
            OfflineDevice.device == device, OfflineDevice.lease_token == token)
            .values(lease_token=None, lease_until=None))
        uow.commit()


_NEXT = select(OfflineOperation).join(OfflineDevice, and_(
    OfflineDevice.device == OfflineOperation.device, OfflineDevice.next_seq == OfflineOperation.seq))


def _next(db: Database, device: str) -> Stored | None:
    """The device's next operation, if it has arrived."""
    with db.read() as session:
        row = session.scalar(_NEXT.where(OfflineOperation.device == device))
        return None if row is None else _stored(row)


def _work_through(db: Database, device: str, token: str, apply: Apply) -> bool:
    """Apply queued operations in order until none is next; True when one whose fate is unknown
    stopped the run (it is tried again on the device's next batch)."""
    op = _next(db, device)
    while op is not None:
        outcome = apply(op)
        if outcome.status == "retry":
            if op.attempts + 1 < MAX_ATTEMPTS:
                _note_attempt(db.uow(), op, outcome)
                return True
            outcome = Outcome("failed", error=outcome.error)
        op = _answer(db.uow(), device, token, op, outcome)
    return False


def _note_attempt(uow: UnitOfWork, op: Stored, outcome: Outcome) -> None:
    with uow:
        uow.session.execute(update(OfflineOperation).where(OfflineOperation.id == op.id).values(
            attempts=OfflineOperation.attempts + 1, error=json.dumps(outcome.error)))
        uow.commit()


def _answer(uow: UnitOfWork, device: str, token: str, op: Stored, outcome: Outcome
            ) -> Stored | None:
    """Record the outcome and move the device on, in one transaction, only while this replay
    still holds the lease; returns the device's next operation when it has arrived (None too
    when the lease ran out and someone else took over)."""
    with uow:
        now = uow.now()
        moved = uow.session.execute(
            update(OfflineDevice).where(OfflineDevice.device == device,
                                        OfflineDevice.lease_token == token,
                                        OfflineDevice.next_seq == op.seq)
            .values(next_seq=op.seq + 1, lease_until=now + LEASE)
        ).rowcount  # type: ignore[attr-defined]
        if not moved:
            return None
        uow.session.execute(update(OfflineOperation).where(OfflineOperation.id == op.id).values(
            status=outcome.status, result=_dump(outcome.result), error=_dump(outcome.error),
            attempts=OfflineOperation.attempts + 1, applied_at=now))
        row = uow.session.scalar(_NEXT.where(OfflineOperation.device == device))
        following = None if row is None else _stored(row)
        uow.commit()
    return following


def _dump(value: dict[str, Any] | None) -> str | None:
    return None if value is None else json.dumps(value, default=str)


def answers(session: Session, device: str, client_ids: Iterable[str]) -> dict[str, dict[str, Any]]:
    """The device's view of these operations, by client id."""
    rows = session.scalars(select(OfflineOperation).where(
        OfflineOperation.device == device, OfflineOperation.client_id.in_(list(client_ids))))
    return {r.client_id: answer(_stored(r)) for r in rows}


STATUS_FOR_DEVICE = {"queued": "waiting", "applied": "applied", "failed": "failed",
                     "dismissed": "failed"}


def answer(row: Stored) -> dict[str, Any]:
    return {"id": row.client_id, "seq": row.seq, "kind": row.kind,
            "status": STATUS_FOR_DEVICE[row.status], "result": row.result, "error": row.error,
            "review": _review(row)}


def _review(row: Stored) -> dict[str, Any] | None:
    if row.reviewed_at is None:
        return None
    return {"at": row.reviewed_at.isoformat(), "note": row.review_note}


def next_seq_of(session: Session, device: str) -> int:
    value = session.scalar(select(OfflineDevice.next_seq).where(OfflineDevice.device == device))
    return int(value or 1)


def history(session: Session, actor: Actor, device: str, *, after_seq: int = 0, limit: int = 100
            ) -> list[dict[str, Any]]:
    """The operations this user sent from the device, from ``after_seq`` on."""
    rows = session.scalars(select(OfflineOperation).where(
        OfflineOperation.device == device, OfflineOperation.user_id == actor.user_id,
        OfflineOperation.seq > after_seq).order_by(OfflineOperation.seq).limit(limit))
    return [answer(_stored(r)) for r in rows]


# --- the review queue -------------------------------------------------------------------------

def review_queue(session: Session, *, sites: frozenset[int] | None, status: str = "failed",
                 after: int | None = None, limit: int = 50) -> list[Stored]:
    """Operations in this state at these sites (None: all), oldest first."""
    query = select(OfflineOperation).where(OfflineOperation.status == status)
    if sites is not None:
        query = query.where(OfflineOperation.site_id.in_(sites))
    if after is not None:
        query = query.where(OfflineOperation.id > after)
    return [_stored(r) for r in session.scalars(query.order_by(OfflineOperation.id).limit(limit))]


def get(session: Session, op_id: int, *, sites: frozenset[int] | None) -> Stored:
    row = session.get(OfflineOperation, op_id)
    if row is None or (sites is not None and row.site_id not in sites):
        raise NotFound("Offline operation {id} not found", id=op_id)
    return _stored(row)


def retry(db: Database, actor: Actor, row: Stored, apply: Apply) -> Stored:
    """Apply a refused operation again now (as the reviewer); it stays in the queue if it is
    refused again."""
    _check_open(row)
    outcome = apply(row)
    with db.uow() as uow:
        values: dict[str, Any] = {"attempts": OfflineOperation.attempts + 1,
                                  "error": _dump(outcome.error)}
        if outcome.status == "applied":
            values |= {"status": "applied", "result": _dump(outcome.result), "error": None,
                       "applied_at": uow.now(), "reviewed_by": actor.user_id,
                       "reviewed_at": uow.now(), "review_note": "retried"}
        uow.session.execute(update(OfflineOperation).where(
            OfflineOperation.id == row.id, OfflineOperation.status == "failed").values(**values))
        uow.commit()
    with db.read() as session:
        return get(session, row.id, sites=None)


def dismiss(uow: UnitOfWork, actor: Actor, row: Stored, *, note: str) -> None:
    """Close a refused operation without applying it; the reason is kept for the device."""
    _check_open(row)
    if not note.strip():
        raise ValidationFailed.single("note", "is required")
    with uow:
        done = uow.session.execute(update(OfflineOperation).where(
            OfflineOperation.id == row.id, OfflineOperation.status == "failed").values(
            status="dismissed", reviewed_by=actor.user_id, reviewed_at=uow.now(),
            review_note=note.strip())
        ).rowcount  # type: ignore[attr-defined]
        if not done:
            raise Conflict("Offline operation {id} was already reviewed", id=row.id)
        uow.commit()


def _check_open(row: Stored) -> None:
    if row.status != "failed":
        raise Conflict("Offline operation {id} was already reviewed", id=row.id)
