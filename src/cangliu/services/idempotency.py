"""Exactly-once writes: a request carrying an Idempotency-Key is performed once; retries get its answer."""

import hashlib
import json
from collections.abc import Callable
from typing import Any

from sqlalchemy.exc import IntegrityError

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
    record = _claim(uow, full_key, digest)
    if record is not None:
        if record.request_hash != digest:
            raise IdempotencyMismatch()
        return dict(json.loads(record.response))
    result = work()
    stored = uow.session.get(IdempotencyRecord, full_key)
    assert stored is not None
    stored.response = json.dumps(result, default=str)
    uow.session.flush()
    return result


def _claim(uow: UnitOfWork, full_key: str, digest: str) -> IdempotencyRecord | None:
    """Insert the key; return the earlier record instead when someone already holds it."""
    existing = uow.session.get(IdempotencyRecord, full_key)
    if existing is not None:
        return existing
    try:
        with uow.session.begin_nested():
            uow.session.add(IdempotencyRecord(key=full_key, request_hash=digest, status_code=201,
                                              response="{}", created_at=uow.now()))
    except IntegrityError:
        uow.session.expire_all()
        return uow.session.get(IdempotencyRecord, full_key, populate_existing=True)
    return None
