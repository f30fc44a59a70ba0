"""The fan-out: each dispatched event becomes one queued delivery per channel that must carry it
— webhooks subscribed to its kind, the channels an alert rule names, e-mail to the alert's
subscribers. Queueing is idempotent per channel and ``dedupe``: a re-dispatched event queues
nothing twice."""

import json
from datetime import datetime
from typing import Any

from sqlalchemy import Table, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from cangliu.core.errors import Conflict
from cangliu.db.models import Alert, AlertRule, AppUser, Channel, Delivery, Location
from cangliu.db.uow import UnitOfWork
from cangliu.i18n import DEFAULT
from cangliu.services.alerts import routing
from cangliu.services.deliveries.channels import EMAIL_CHANNEL, channel_row
from cangliu.services.events import Event

DELIVERY: Table = Delivery.__table__  # type: ignore[assignment]
CHANNEL: Table = Channel.__table__  # type: ignore[assignment]


def _insert(session: Session, table: Table) -> Any:
    dialect = postgresql if session.get_bind().dialect.name == "postgresql" else sqlite
    return dialect.insert(table)


def queue(session: Session, now: datetime, channel: Channel, *, dedupe: str, kind: str,
          payload: dict[str, Any], event_id: int | None = None,
          alert_id: int | None = None) -> int | None:
    """Queue one delivery, due now; answers its id, or None when (channel, dedupe) is queued."""
    values = {"channel_id": channel.id, "dedupe": dedupe[:80], "event_id": event_id,
              "alert_id": alert_id, "kind": kind, "state": "pending", "attempts": 0,
              "next_at": now, "last_error": "", "created_at": now,
              "payload": json.dumps(payload, ensure_ascii=False, separators=(",", ":"), default=str)}
    stmt = (_insert(session, DELIVERY).values(values)
            .on_conflict_do_nothing(index_elements=["channel_id", "dedupe"])
            .returning(DELIVERY.c.id))
    found = session.execute(stmt).scalar()
    return int(found) if found is not None else None


def _matches(patterns: list[str], kind: str) -> bool:
    return any(p == "*" or p == kind or (p.endswith(".*") and kind.startswith(p[:-1]))
               for p in patterns)


def email_channel(session: Session, now: datetime) -> Channel:
    """The built-in channel of e-mail to individuals, created on first use."""
    session.execute(_insert(session, CHANNEL).values(
        code=EMAIL_CHANNEL, name="E-mail to subscribers", kind="email", url="", secret="",
        recipients="", events="", active=True, created_at=now, updated_at=now, version=1)
        .on_conflict_do_nothing(index_elements=["code"]))
    return channel_row(session, EMAIL_CHANNEL)


def subscribers(session: Session, payload: dict[str, Any]) -> dict[str, list[str]]:
    """E-mail addresses of the alert's subscribers by e-mail who may see it, by the language
    they read: users subscribed by name whose roles cover the alert's site, and the holders of
    subscribed roles there."""
    rule = session.scalar(select(AlertRule).where(AlertRule.code == payload.get("rule")))
    site_id = payload.get("site_id")
    site = session.get(Location, site_id) if isinstance(site_id, int) else None
    users = routing.subscribers(session, rule, site, channel="email")
    by_locale: dict[str, set[str]] = {}
    for address, locale in session.execute(select(AppUser.email, AppUser.locale).where(
            AppUser.id.in_(users), AppUser.active.is_(True), AppUser.email != "")):
        by_locale.setdefault(locale or DEFAULT, set()).add(address)
    return {locale: sorted(to) for locale, to in by_locale.items()}


def on_event(session: Session, event: Event, now: datetime) -> None:
    """Dispatcher consumer: queue the event for every channel that must carry it (no commit)."""
    active = list(session.scalars(select(Channel).where(Channel.active.is_(True),
                                                        Channel.code != EMAIL_CHANNEL)))
    targets = {c.id: c for c in active if c.kind == "webhook" and _matches(c.events.split(), event.kind)}
    alert_id = None
    if event.kind.startswith("alert."):
        named = {str(c) for c in event.payload.get("channels") or []}
        targets.update({c.id: c for c in active if c.code in named})
        raw = event.payload.get("id")
        alert_id = raw if isinstance(raw, int) and session.get(Alert, raw) is not None else None
    body = {"at": event.at.isoformat(), "data": event.payload}
    for channel in targets.values():
        queue(session, now, channel, dedupe=f"event:{event.id}", kind=event.kind, payload=body,
              event_id=event.id, alert_id=alert_id)
    if event.kind.startswith("alert."):  # one e-mail per language its readers read
        for locale, to in sorted(subscribers(session, event.payload).items()):
            dedupe = f"event:{event.id}" + ("" if locale == DEFAULT else f":{locale}")
            queue(session, now, email_channel(session, now), dedupe=dedupe, kind=event.kind,
                  payload=body | {"to": to, "locale": locale}, event_id=event.id,
                  alert_id=alert_id)


def enqueue_email(session: Session, now: datetime, *, to: list[str], subject: str, text: str,
                  dedupe: str, link: str = "") -> int | None:
    """Queue an e-mail to ``to`` through the built-in e-mail channel (no commit); answers the
    delivery id, or None when ``dedupe`` was queued before."""
    payload = {"at": now.isoformat(), "to": sorted(set(to)), "subject": subject, "text": text,
               "link": link}
    return queue(session, now, email_channel(session, now), dedupe=dedupe, kind="email",
                 payload=payload)


def queue_test(uow: UnitOfWork, code: str, *, by: str) -> int:
    """Queue a test message to a channel, due now; answers the delivery id."""
    with uow:
        session, now = uow.session, uow.now()
        channel = channel_row(session, code)
        if not channel.active:
            raise Conflict("The channel {code} is not active", code=code)
        payload = {"at": now.isoformat(), "data": {"test": True, "by": by}}
        found = queue(session, now, channel, dedupe=f"test:{uow.new_ref()}", kind="test",
                      payload=payload)
        uow.commit()
    assert found is not None
    return found
