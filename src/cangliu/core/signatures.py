"""Webhook signatures: HMAC-SHA256 of ``"<timestamp>." + body`` with the channel's secret, sent
as ``X-Cangliu-Signature: sha256=<hex>`` and checked by receivers (our own echo included)."""

import hashlib
import hmac

MAX_AGE_S = 300  # a signed message older than this is refused as a possible replay


def webhook_signature(secret: str, timestamp: str, body: bytes) -> str:
    digest = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256)
    return "sha256=" + digest.hexdigest()


def signature_ok(secret: str, timestamp: str, body: bytes, given: str, now: float) -> bool:
    """The signature matches and the timestamp is recent."""
    try:
        fresh = abs(now - int(timestamp)) <= MAX_AGE_S
    except ValueError:
        return False
    return fresh and hmac.compare_digest(webhook_signature(secret, timestamp, body), given)
