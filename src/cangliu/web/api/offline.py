"""Offline scanning devices over the API: the batch that replays a device's queued operations
exactly once and in order, a device's answers, and the review queue of refused operations.

Each operation is carried out as the REST call it stands for (``KINDS``), made inside this
process as the sending user, so it is checked and answered exactly as that call would be.
"""

import json
from datetime import datetime
from functools import partial
from typing import Annotated, Any, Literal

import anyio.from_thread
import anyio.to_thread
from fastapi import APIRouter, Query, Request
from pydantic import Field

from cangliu.core.errors import DomainError, ValidationFailed
from cangliu.core.permissions import Actor
from cangliu.db import queries
from cangliu.db.uow import Database
from cangliu.services import offline
from cangliu.web.api.schemas import MAX_ID, PathId, Strict
from cangliu.web.deps import ACTING_FOR, AnyUser, DbDep, permit
from cangliu.web.problems import on_domain_error

router = APIRouter(prefix="/api/v1/offline", tags=["offline"])
CanReview = Annotated[Actor, permit("stock.create")]

# Operation kind → (the document resource its "number" names, or None; the REST call).
KINDS: dict[str, tuple[str | None, str]] = {
    "purchase.receive": ("purchase", "/api/v1/purchase-orders/{number}/receive"),
    "transfer.ship": ("transfer", "/api/v1/transfers/{number}/ship"),
    "transfer.receive": ("transfer", "/api/v1/transfers/{number}/receive"),
    "sale.ship": ("sales", "/api/v1/sales-orders/{number}/ship"),
    "count.entries": ("count", "/api/v1/counts/{number}/entries"),
    "stock.move": (None, "/api/v1/stock/move"),
    "stock.receive": (None, "/api/v1/stock/receive"),
    "stock.issue": (None, "/api/v1/stock/issue"),
}
Kind = Literal["purchase.receive", "transfer.ship", "transfer.receive", "sale.ship",
               "count.entries", "stock.move", "stock.receive", "stock.issue"]
DeviceId = Annotated[str, Field(pattern=r"^[A-Za-z0-9._:-]{1,64}$")]
FORWARDED = (b"accept-language", b"user-agent")
# Replays run in threads of their own limiter. Each operation is a call to a sync route, which
# needs a thread of the app's shared pool: were the replays in that pool too, as many concurrent
# batches as it has threads would wait forever for their inner calls and the process would hang.
REPLAY_THREADS = 8


class OperationIn(Strict):
    id: DeviceId = Field(description="the device's own id for the operation, e.g. a UUID")
    seq: int = Field(ge=1, le=2**31 - 1, description="1, 2, 3 … per device, in the order done")
    kind: Kind
    at: datetime | None = Field(None, description="when it was done on the device")
    payload: dict[str, Any] = Field(description="the body of the REST call, plus `number` for "
                                                "document operations")


class BatchIn(Strict):
    device: DeviceId
    operations: list[OperationIn] = Field(min_length=1, max_length=500)


class DismissIn(Strict):
    note: str = Field(min_length=1, max_length=500)


@router.post("/batch", summary="Replay a device's offline operations, each exactly once")
async def batch(body: BatchIn, request: Request, db: DbDep, actor: AnyUser) -> dict[str, Any]:
    """Answers every operation: ``applied``, ``failed`` (refused; in the review queue),
    ``rejected`` (its id or number was used for other content) or ``waiting`` (kept; an earlier
    operation of the device has not arrived yet)."""
    return dict(await _in_replay_thread(request, partial(_batch, body, request, db, actor)))


def _batch(body: BatchIn, request: Request, db: Database, actor: Actor) -> dict[str, Any]:
    sites: dict[tuple[str, str], int | None] = {}
    ops = [_operation(db, op, sites) for op in body.operations]
    refused = offline.store(db.uow(), actor, body.device, ops)
    mine = [op.client_id for op in ops if op.client_id not in refused]

    offline.replay(db, body.device, applier(request, actor), mine=mine)
    with db.read() as session:
        final = offline.answers(session, body.device, mine)
        next_seq = offline.next_seq_of(session, body.device)
    return {"device": body.device, "next_seq": next_seq, "results": [
        _rejected(request, op, refused[op.client_id]) if op.client_id in refused
        else final[op.client_id] for op in ops]}


async def _in_replay_thread(request: Request, work: Any) -> Any:
    state = request.app.state
    if getattr(state, "replay_limiter", None) is None:  # made in the loop: anyio needs one
        state.replay_limiter = anyio.CapacityLimiter(REPLAY_THREADS)
    return await anyio.to_thread.run_sync(work, limiter=state.replay_limiter)


def _operation(db: Database, op: OperationIn, sites: dict[tuple[str, str], int | None]
               ) -> offline.Operation:
    """The operation, with the site it happens at (looked up once per batch) for the review
    queue's scope."""
    resource, _path = KINDS[op.kind]
    code = op.payload.get("number") if resource else (op.payload.get("site")
                                                      or op.payload.get("from_site"))
    key = (op.kind if op.kind == "transfer.receive" else resource or "", str(code))
    if key not in sites:
        sites[key] = _site_of(db, op.kind, resource, code)
    return offline.Operation(op.id, op.seq, op.kind, op.payload, op.at, sites[key])


def _site_of(db: Database, kind: str, resource: str | None, code: Any) -> int | None:
    if not isinstance(code, str):
        return None
    if resource is None:
        return queries.site_of(db.uow(), code)
    found = queries.document_sites(db.uow(), resource, code)
    if not found:
        return None
    return found[-1] if kind == "transfer.receive" else found[0]


def _rejected(request: Request, op: offline.Operation, exc: DomainError) -> dict[str, Any]:
    return {"id": op.client_id, "seq": op.seq, "kind": op.kind, "status": "rejected",
            "result": None, "error": _problem(request, exc), "review": None}


def _problem(request: Request, exc: DomainError) -> dict[str, Any]:
    response = anyio.from_thread.run(on_domain_error, request, exc)
    return dict(json.loads(bytes(response.body)))


def applier(request: Request, actor: Actor) -> offline.Apply:
    """Carries out a stored operation as the REST call it stands for, as ``actor`` (the sender,
    or the reviewer who retries it)."""
    headers = [(k, v) for k, v in request.scope["headers"] if k in FORWARDED]

    def apply(op: offline.Stored) -> offline.Outcome:
        try:
            path, body = _call_of(op)
        except ValidationFailed as exc:
            return offline.Outcome("failed", error=_problem(request, exc))
        try:
            status, answer = anyio.from_thread.run(_post, request, actor, path, body, [
                *headers, (b"x-device", op.device.encode()),
                (b"idempotency-key", f"offline:{op.device}:{op.client_id}".encode())])
        except Exception as exc:  # the operation's fate is unknown: it stays queued
            return offline.Outcome("retry", error={"title": type(exc).__name__, "detail": str(exc)})
        if 200 <= status < 300:
            return offline.Outcome("applied", result=answer)
        if status >= 500 or status in (401, 429):
            return offline.Outcome("retry", error=answer)
        return offline.Outcome("failed", error=answer)

    return apply


def _call_of(op: offline.Stored) -> tuple[str, dict[str, Any]]:
    resource, path = KINDS[op.kind]
    body = dict(op.payload)
    if resource is None:
        # A stock operation is booked at the time it was done on the device.
        if op.occurred_at is not None:
            body.setdefault("occurred_at", op.occurred_at.isoformat())
        return path, body
    number = body.pop("number", None)
    if not isinstance(number, str) or not number:
        raise ValidationFailed.single("payload.number", "is required")
    return path.format(number=number), body


async def _post(request: Request, actor: Actor, path: str, body: dict[str, Any],
                headers: list[tuple[bytes, bytes]]) -> tuple[int, dict[str, Any]]:
    """POST ``body`` to ``path`` through this app, in this process, as ``actor``."""
    raw = json.dumps(body).encode()
    scope = {**{k: request.scope.get(k) for k in ("client", "server")},
             "type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1",
             "scheme": request.scope.get("scheme", "http"), "root_path": "", "method": "POST",
             "path": path, "raw_path": path.encode(), "query_string": b"",
             "headers": [*headers, (b"content-type", b"application/json"),
                         (b"accept", b"application/json")],
             "state": {}, ACTING_FOR: actor}
    delivered = False
    status, chunks = 500, []

    async def receive() -> dict[str, Any]:
        nonlocal delivered
        if delivered:
            return {"type": "http.disconnect"}
        delivered = True
        return {"type": "http.request", "body": raw, "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        nonlocal status
        if message["type"] == "http.response.start":
            status = message["status"]
        elif message["type"] == "http.response.body":
            chunks.append(message.get("body", b""))

    await request.app(scope, receive, send)
    text = b"".join(chunks)
    return status, json.loads(text) if text else {}


@router.get("/devices/{device}/operations", summary="A device's operations and their answers")
def device_operations(device: str, db: DbDep, actor: AnyUser,
                      after_seq: Annotated[int, Query(ge=0, le=MAX_ID)] = 0) -> dict[str, Any]:
    with db.read() as session:
        return {"items": offline.history(session, actor, device, after_seq=after_seq),
                "next_seq": offline.next_seq_of(session, device)}


@router.get("/review", summary="Refused offline operations waiting for a supervisor")
def review_queue(db: DbDep, actor: CanReview, status: Literal["failed", "dismissed", "applied"]
                 = "failed", cursor: Annotated[int | None, Query(ge=1, le=MAX_ID)] = None,
                 limit: int = 50) -> dict[str, Any]:
    limit = min(max(limit, 1), 200)
    with db.read() as session:
        rows = offline.review_queue(session, sites=actor.sites("stock.create"), status=status,
                                    after=cursor, limit=limit)
    return {"items": [review_item(r) for r in rows],
            "next_cursor": rows[-1].id if len(rows) == limit else None}


def review_item(row: offline.Stored) -> dict[str, Any]:
    return {"id": row.id, "device": row.device, "client_id": row.client_id, "seq": row.seq,
            "kind": row.kind, "payload": row.payload, "user_id": row.user_id,
            "status": row.status, "error": row.error, "attempts": row.attempts,
            "occurred_at": row.occurred_at, "received_at": row.received_at,
            "reviewed_at": row.reviewed_at, "review_note": row.review_note}


@router.post("/review/{op_id}/retry", summary="Apply a refused operation again, as you")
async def retry(op_id: PathId, request: Request, db: DbDep, actor: CanReview) -> dict[str, Any]:
    def again() -> dict[str, Any]:
        row = reviewable(db, actor, op_id)
        return review_item(offline.retry(db, actor, row, applier(request, actor)))

    return dict(await _in_replay_thread(request, again))


@router.post("/review/{op_id}/dismiss", summary="Close a refused operation without applying it")
def dismiss(op_id: PathId, body: DismissIn, db: DbDep, actor: CanReview) -> dict[str, Any]:
    offline.dismiss(db.uow(), actor, reviewable(db, actor, op_id), note=body.note)
    return review_item(reviewable(db, actor, op_id))


def reviewable(db: Database, actor: Actor, op_id: int) -> offline.Stored:
    """An operation at a site where ``actor`` may post stock (404 otherwise)."""
    with db.read() as session:
        return offline.get(session, op_id, sites=actor.sites("stock.create"))
