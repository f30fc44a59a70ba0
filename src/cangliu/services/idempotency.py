"""Exactly-once writes: a request with an Idempotency-Key runs once; retries get its answer."""

import hashlib
import json
from collections.abc import Callable
from typing import Any, cast

from sqlalchemy import DateTime, Row, Table, bindparam, select, text, update

from cangliu.core.errors import IdempotencyMismatch
from cangliu.db.models import IdempotencyRecord
from cangliu.db.uow import UnitOfWork

Result = dict[str, Any]


def fingerprint(action: str, request: dict[str, Any]) -> str:
    body = json.dumps({"action": action, "request": request}, sort_keys=True, default=str)
    return hashlib.sha256(body.encode()).hexdigest()


def once(uow: UnitOfWork, *, key: str | None, scope: str, action: str,
         request: dict[str, Any], work: Callable[[], Result]) -> Result:
    """Run ``work`` unless this key already ran; call inside the caller's transaction.

    The key is claimed first, so a concurrent twin blocks on the unique key until this
    transaction ends and then reads the stored answer instead of posting again.
    """
    if key is None:
        return work()
    full_key = f"{scope}:{key}"
    digest = fingerprint(action, request)
    earlier = _claim(uow, full_key, digest)
    if earlier is not None:
        if earlier.request_hash != digest:
            raise IdempotencyMismatch()
        return dict(json.loads(earlier.response))
    result = work()
    uow.session.execute(_ANSWER, {"claimed": full_key, "response": json.dumps(result, default=str)})
    return result


_RECORD = cast(Table, IdempotencyRecord.__table__)
# Claiming is one statement: when the key is taken (or being taken by a transaction still open,
# which this one then waits for), nothing is inserted and the earlier record is read instead.
# Plain text because SQLAlchemy does not cache its ON CONFLICT constructs; PostgreSQL and
# SQLite accept the same statement.
_CLAIM = text(
    "INSERT INTO idempotency_record (key, request_hash, status_code, response, created_at)"
    " VALUES (:key, :request_hash, 201, '{}', :created_at) ON CONFLICT (key) DO NOTHING"
    " RETURNING key"
).bindparams(bindparam("created_at", type_=DateTime(timezone=True)))
_EARLIER = select(_RECORD.c.request_hash, _RECORD.c.response).where(
    _RECORD.c.key == bindparam("key"))
_ANSWER = update(_RECORD).where(_RECORD.c.key == bindparam("claimed")).values(
    response=bindparam("response"))


def _claim(uow: UnitOfWork, full_key: str, digest: str) -> Row[Any] | None:
    """Insert the key; return the earlier record instead when someone already holds it."""
    params = {"key": full_key, "request_hash": digest, "created_at": uow.now()}
    if uow.session.execute(_CLAIM, params).first() is not None:
        return None
    earlier = uow.session.execute(_EARLIER, {"key": full_key}).first()
    assert earlier is not None, "a conflicting idempotency key must be readable once it commits"
    return earlier
