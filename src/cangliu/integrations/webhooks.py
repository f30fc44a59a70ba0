"""Outbound webhooks: each delivery is one POST of JSON, signed with the channel's secret.

The body is ``{"id": <delivery id>, "event": <kind>, "event_id": <outbox id>, "at": <ISO time>,
"data": <event payload>}``, with the headers ``X-Cangliu-Event`` (the kind),
``X-Cangliu-Delivery`` (the delivery id: a redelivery carries the same id, so receivers can
drop duplicates), ``X-Cangliu-Timestamp`` (Unix seconds) and
``X-Cangliu-Signature: sha256=<hex>``. Any 2xx answer counts as delivered; anything else,
a timeout (5 s) or a refused connection is retried later.

Checking the signature on the receiving side (Python)::

    expected = hmac.new(secret.encode(), f"{timestamp}.".encode() + raw_body, hashlib.sha256)
    ok = hmac.compare_digest("sha256=" + expected.hexdigest(), signature_header)
    fresh = abs(time.time() - int(timestamp)) < 300   # refuse replays of old messages

Sign the raw bytes received, not a re-serialised copy of the JSON.
"""

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import httpx

from cangliu.core.signatures import webhook_signature

TIMEOUT = 5.0


@dataclass(frozen=True)
class Outcome:
    """What one attempt came to: ``status`` is the HTTP status when there was an answer."""

    ok: bool
    status: int | None = None
    error: str = ""


def body(delivery_id: int, kind: str, event_id: int | None, at: str, data: Any) -> bytes:
    return json.dumps({"id": delivery_id, "event": kind, "event_id": event_id, "at": at,
                       "data": data}, ensure_ascii=False, separators=(",", ":")).encode()


def failure(exc: Exception) -> Outcome:
    return Outcome(False, None, f"{type(exc).__name__}: {exc}"[:500] or type(exc).__name__)


def post(client: httpx.Client, url: str, content: bytes, headers: dict[str, str]) -> httpx.Response:
    return client.post(url, content=content, headers={"Content-Type": "application/json",
                                                      "User-Agent": "Cangliu", **headers},
                       timeout=TIMEOUT)


def send(client: httpx.Client, url: str, secret: str, *, delivery_id: int, kind: str,
         event_id: int | None, at: str, data: Any, now: datetime) -> Outcome:
    """POST one delivery; 2xx is delivered, anything else a failure with the reason."""
    content = body(delivery_id, kind, event_id, at, data)
    timestamp = str(int(now.timestamp()))
    headers = {"X-Cangliu-Event": kind, "X-Cangliu-Delivery": str(delivery_id),
               "X-Cangliu-Timestamp": timestamp,
               "X-Cangliu-Signature": webhook_signature(secret, timestamp, content)}
    try:
        response = post(client, url, content, headers)
    except httpx.HTTPError as exc:
        return failure(exc)
    if 200 <= response.status_code < 300:
        return Outcome(True, response.status_code)
    return Outcome(False, response.status_code, f"HTTP {response.status_code}: {response.text[:300]}")
