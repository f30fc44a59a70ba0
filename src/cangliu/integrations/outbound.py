"""Sending what the fan-out queued: ``send_due`` takes the due deliveries (leased in one short
transaction), sends them through their channels' kinds outside any transaction, a few at a time
so one slow endpoint does not hold up the others (nor the dispatcher that calls it), and records
each result in a transaction of its own. ``send_test`` sends a test message to one channel at
once."""

import json
import logging
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import httpx

from cangliu.config import Settings
from cangliu.db.models import Channel, Delivery
from cangliu.db.uow import Database, utcnow
from cangliu.i18n import DEFAULT
from cangliu.integrations import email, guard, robots, webhooks
from cangliu.integrations.webhooks import Outcome
from cangliu.services import deliveries
from cangliu.services.deliveries.channels import URL_KINDS

log = logging.getLogger(__name__)
PARALLEL = 8  # sends in flight at once; results are recorded one by one by the caller


@dataclass(frozen=True)
class Due:
    """A claimed delivery with what sending it needs, read before its transaction ends."""

    id: int
    kind: str
    event_id: int | None
    payload: dict[str, Any]
    channel_kind: str
    url: str
    secret: str
    recipients: list[str]


def _due(row: Delivery, channel: Channel) -> Due:
    return Due(row.id, row.kind, row.event_id, json.loads(row.payload), channel.kind, channel.url,
               channel.secret, channel.recipients.split())


def deliver(client: httpx.Client, settings: Settings, due: Due, now: datetime) -> Outcome:
    """Send one delivery through its channel's kind."""
    data = due.payload.get("data") or {}
    at = str(due.payload.get("at") or now.isoformat())
    if due.channel_kind in URL_KINDS and (why := guard.refusal(
            due.url, settings.outbound_allowed_hosts, settings.public_url)):
        return Outcome(False, None, why)
    if due.channel_kind == "webhook":
        return webhooks.send(client, due.url, due.secret, delivery_id=due.id, kind=due.kind,
                             event_id=due.event_id, at=at, data=data, now=now)
    if due.channel_kind in ("wecom", "dingtalk", "feishu"):
        return robots.send(client, due.channel_kind, due.url, due.secret, kind=due.kind,
                           data=data, public_url=settings.public_url, now=now)
    to = list(due.payload.get("to") or due.recipients)
    if "subject" in due.payload:  # a prepared e-mail (enqueue_email)
        subject, text = str(due.payload["subject"]), str(due.payload.get("text") or "")
        link = str(due.payload.get("link") or "")
        link = settings.public_url.rstrip("/") + link if link.startswith("/") else link
    else:
        subject, text, link = email.compose(due.kind, data, settings.public_url,
                                            str(due.payload.get("locale") or DEFAULT))
    return email.send(settings, to, subject, text, link)


def _claim(db: Database, now: datetime, limit: int) -> list[Due]:
    with db.uow(clock=lambda: now) as uow:
        rows = deliveries.claim_due(uow.session, now, limit)
        channels = {c: uow.session.get(Channel, c) for c in {r.channel_id for r in rows}}
        claimed = [_due(r, ch) for r in rows if (ch := channels[r.channel_id]) is not None]
        uow.commit()
    return claimed


def _record(db: Database, due: Due, outcome: Outcome, now: datetime) -> None:
    with db.uow(clock=lambda: now) as uow:
        row = uow.session.get(Delivery, due.id, with_for_update=True)
        if row is not None and row.state == "pending":
            deliveries.record_result(uow.session, row, now, ok=outcome.ok, status=outcome.status,
                                     error=outcome.error)
            uow.commit()


def _attempt(client: httpx.Client, settings: Settings, due: Due, now: datetime) -> Outcome:
    try:
        return deliver(client, settings, due, now)
    except Exception as exc:  # a bug in one message must not stop the others
        log.exception("delivery %s failed", due.id)
        return webhooks.failure(exc)


def send_due(db: Database, settings: Settings, *, now: datetime | None = None, limit: int = 50,
             client: httpx.Client | None = None) -> int:
    """Send up to ``limit`` due deliveries; answers how many were attempted."""
    at = now or utcnow()
    claimed = _claim(db, at, limit)
    if not claimed:
        return 0
    with client or guard.client(settings) as http, ThreadPoolExecutor(PARALLEL) as pool:
        sending = {pool.submit(_attempt, http, settings, due, at): due for due in claimed}
        for done in as_completed(sending):
            _record(db, sending[done], done.result(), now or utcnow())
    return len(claimed)


def send_test(db: Database, settings: Settings, channel_code: str, *, by: str = "cli",
              now: datetime | None = None, client: httpx.Client | None = None) -> dict[str, Any]:
    """Queue a test message to the channel and send it at once; answers its log entry."""
    at = now or utcnow()
    delivery_id = deliveries.queue_test(db.uow(clock=lambda: at), channel_code, by=by)
    with db.uow(clock=lambda: at) as uow:
        row = uow.session.get(Delivery, delivery_id)
        channel = uow.session.get(Channel, row.channel_id) if row is not None else None
        assert row is not None and channel is not None
        due = _due(row, channel)
    with client or guard.client(settings) as http:
        _record(db, due, _attempt(http, settings, due, at), at)
    with db.read() as session:
        return deliveries.get_delivery(session, delivery_id)
