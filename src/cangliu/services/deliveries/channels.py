"""Channels: where messages go out of Cangliu, checked at save — a code, a kind, an http(s) URL
with a host for webhooks and robots, valid addresses for e-mail, the event kinds a webhook hears.
Secrets are never read back in full: answers carry them masked."""

import re
import secrets
from datetime import datetime
from typing import Any, Final
from urllib.parse import urlsplit

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from cangliu.core.errors import Conflict, FieldError, NotFound, StaleVersion, ValidationFailed
from cangliu.core.permissions import Actor
from cangliu.db.models import AlertRule, Channel, Delivery
from cangliu.db.models.events import CHANNEL_KINDS
from cangliu.db.uow import UnitOfWork

EVENT_KINDS: Final = ("stock.changed", "record.changed", "alert.opened", "alert.acknowledged",
                      "alert.resolved", "alert.escalated", "notification.created")
PREFIXES: Final = frozenset(k.split(".")[0] for k in EVENT_KINDS)
EMAIL_CHANNEL: Final = "_email"  # the built-in channel of e-mail to individual subscribers
CODE: Final = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._\-]{0,39}$")
ADDRESS: Final = re.compile(r"^[^@\s<>,;]+@[A-Za-z0-9\-]+(\.[A-Za-z0-9\-]+)+$")
URL_KINDS: Final = ("webhook", "wecom", "dingtalk", "feishu")


def mask(secret: str) -> str:
    """Enough of a secret to recognise it, not to use it."""
    if not secret:
        return ""
    return "****" + secret[-4:] if len(secret) >= 12 else "****"


def _words(value: Any) -> list[str]:
    if value is None:
        return []
    if isinstance(value, str):
        return value.replace(",", " ").split()
    return [str(v).strip() for v in value if str(v).strip()]


def _out(row: Channel, *, full_url: bool = True) -> dict[str, Any]:
    url = row.url
    if not full_url and "?" in url:  # robot URLs carry their access token in the query
        url = url.split("?", 1)[0] + "?****"
    return {"code": row.code, "name": row.name, "kind": row.kind, "url": url,
            "secret": mask(row.secret), "has_secret": bool(row.secret),
            "recipients": row.recipients.split(), "events": row.events.split(),
            "active": row.active, "builtin": row.code.startswith("_"), "version": row.version,
            "created_at": row.created_at, "updated_at": row.updated_at}


def list_channels(session: Session) -> list[dict[str, Any]]:
    rows = session.scalars(select(Channel).order_by(Channel.code))
    return [_out(r, full_url=False) for r in rows]


def channel_row(session: Session, code: str) -> Channel:
    row = session.scalar(select(Channel).where(Channel.code == code))
    if row is None:
        raise NotFound("No channel {code}", code=code)
    return row


def get_channel(session: Session, code: str) -> dict[str, Any]:
    return _out(channel_row(session, code))


def check_url(url: str, field: str = "url") -> list[FieldError]:
    """An absolute http(s) URL with a host: anything else could never be delivered."""
    if not url:
        return [FieldError(field, "is required")]
    try:
        parts = urlsplit(url)
        host = parts.hostname
        parts.port  # noqa: B018 - raises on a port that is not a number
    except ValueError:
        return [FieldError(field, "is not a valid URL")]
    if parts.scheme not in ("http", "https") or any(c.isspace() for c in url):
        return [FieldError(field, "must be an http:// or https:// URL")]
    if not host:
        return [FieldError(field, "must name a host")]
    return []


def _check_events(events: list[str]) -> list[FieldError]:
    """Known kinds or patterns; none at all is fine: the webhook then only hears the alert rules
    that name it as their channel."""
    bad = [e for e in events if e not in EVENT_KINDS and e != "*"
           and not (e.endswith(".*") and e[:-2] in PREFIXES)]
    if bad:
        return [FieldError("events", "unknown event kind {kind}; expected one of: {expected}",
                           {"kind": bad[0], "expected": ", ".join((*EVENT_KINDS, "alert.*", "*"))})]
    return []


def _check(fields: dict[str, Any]) -> list[FieldError]:
    errors: list[FieldError] = []
    if not CODE.match(fields["code"]):
        errors.append(FieldError("code", "must be 1 to 40 letters, digits, '.', '_' or '-'"))
    if not fields["name"].strip() or len(fields["name"]) > 120:
        errors.append(FieldError("name", "is required (at most {n} characters)", {"n": "120"}))
    kind = fields["kind"]
    if kind not in CHANNEL_KINDS:
        return [*errors, FieldError("kind", "must be one of: {expected}",
                                    {"expected": ", ".join(CHANNEL_KINDS)})]
    if kind in URL_KINDS:
        errors += check_url(fields["url"])
    if kind == "email":
        if not fields["recipients"]:
            errors.append(FieldError("recipients", "is required"))
        errors += [FieldError("recipients", "{address} is not a valid e-mail address",
                              {"address": a}) for a in fields["recipients"] if not ADDRESS.match(a)][:1]
    if kind == "webhook":
        errors += _check_events(fields["events"])
    return errors


def _fields(data: dict[str, Any], row: Channel | None) -> dict[str, Any]:
    """The channel as saved: what ``data`` gives over what ``row`` holds. A missing (None)
    secret keeps the stored one; "" clears it."""
    def pick(key: str, default: Any) -> Any:
        return data[key] if data.get(key) is not None else default

    fields = {"code": str(pick("code", row.code if row else "")).strip(),
              "name": str(pick("name", row.name if row else "")).strip(),
              "kind": str(pick("kind", row.kind if row else "")).strip(),
              "url": str(pick("url", row.url if row else "")).strip(),
              "secret": str(pick("secret", row.secret if row else "")).strip(),
              "recipients": _words(pick("recipients", row.recipients if row else "")),
              "events": _words(pick("events", row.events if row else "")),
              "active": bool(pick("active", row.active if row else True))}
    if fields["kind"] != "webhook":
        fields["events"] = []
    if fields["kind"] != "email":
        fields["recipients"] = []
    return fields


def _apply(row: Channel, fields: dict[str, Any], now: datetime) -> None:
    row.name, row.kind, row.url, row.active = (fields["name"], fields["kind"], fields["url"],
                                               fields["active"])
    row.secret = fields["secret"]
    if row.kind == "webhook" and not row.secret:
        row.secret = secrets.token_urlsafe(32)  # every webhook is signed
    row.recipients, row.events = " ".join(fields["recipients"]), " ".join(fields["events"])
    row.updated_at = now


def create_channel(uow: UnitOfWork, actor: Actor, data: dict[str, Any]) -> dict[str, Any]:
    """Save a new channel; the answer carries a webhook's secret in full, this once."""
    fields = _fields(data, None)
    errors = _check(fields)
    if errors:
        raise ValidationFailed(errors)
    with uow:
        session, now = uow.session, uow.now()
        if session.scalar(select(Channel.id).where(Channel.code == fields["code"])) is not None:
            raise ValidationFailed.single("code", "{code} is already taken", code=fields["code"])
        row = Channel(code=fields["code"], created_at=now, version=1)
        _apply(row, fields, now)
        session.add(row)
        uow.commit()
        return _out(row) | {"secret": row.secret}


def _editable(session: Session, code: str, version: int | None) -> Channel:
    row = channel_row(session, code)
    if row.code == EMAIL_CHANNEL:
        raise Conflict("The built-in e-mail channel cannot be changed")
    if version is not None and version != row.version:
        raise StaleVersion(row.version, _out(row), saved_at=row.updated_at)
    return row


def update_channel(uow: UnitOfWork, actor: Actor, code: str, data: dict[str, Any], *,
                   version: int) -> dict[str, Any]:
    """Save the next version of a channel, based on ``version`` (409 if someone saved since)."""
    with uow:
        session, now = uow.session, uow.now()
        row = _editable(session, code, version)
        fields = _fields({k: v for k, v in data.items() if k != "code"}, row)
        errors = _check(fields)
        if errors:
            raise ValidationFailed(errors)
        secret_before = row.secret
        _apply(row, fields, now)
        row.version += 1
        uow.commit()
        return _out(row) | ({"secret": row.secret} if row.secret != secret_before else {})


def naming_rules(session: Session, code: str) -> list[str]:
    rows = session.execute(select(AlertRule.code, AlertRule.channels)).all()
    return sorted(c for c, channels in rows if code in channels.split())


def delete_channel(uow: UnitOfWork, actor: Actor, code: str, *, version: int | None = None) -> None:
    """Delete a channel and its delivery log; refused while an alert rule sends through it."""
    with uow:
        session = uow.session
        row = _editable(session, code, version)
        rules = naming_rules(session, code)
        if rules:
            raise Conflict("The alert rule {rule} sends through this channel: remove it there first",
                           rule=rules[0])
        session.execute(delete(Delivery).where(Delivery.channel_id == row.id))
        session.delete(row)
        uow.commit()
