"""An alert's life: opened once per rule and key (de-duplicated, held back during the rule's
cooldown after the last one resolved), refreshed while its condition holds, resolved by itself
when the condition clears or by hand, acknowledged by hand; each change tells the outbox, and an
opening tells the people concerned in the app and runs the rule's automatic responses."""

import json
import logging
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from cangliu.core.alerts import KINDS, Check, Finding
from cangliu.core.errors import Conflict, DomainError, NotFound, StaleVersion
from cangliu.core.permissions import Actor
from cangliu.db import outbox
from cangliu.db.models import Alert, AlertRule
from cangliu.db.uow import UnitOfWork
from cangliu.services.alerts.queries import alert_out
from cangliu.services.alerts.routing import announce, tell

log = logging.getLogger(__name__)
CHUNK = 500
Respond = Callable[[Session, AlertRule, Alert, Finding, datetime], None]


class NotPermitted(DomainError):
    status = 403
    title = "Forbidden"


@dataclass
class Counts:
    opened: int = 0
    refreshed: int = 0
    resolved: int = 0
    held_back: int = 0  # in the cooldown after the key's last alert resolved

    def add(self, other: "Counts") -> None:
        for name in ("opened", "refreshed", "resolved", "held_back"):
            setattr(self, name, getattr(self, name) + getattr(other, name))


@contextmanager
def guarded(session: Session) -> Iterator[None]:
    """A savepoint that also forgets the outbox events written inside it if it rolls back."""
    pending = session.info.setdefault(outbox.PENDING, [])
    mark = len(pending)
    try:
        with session.begin_nested():
            yield
    except BaseException:
        del pending[mark:]
        raise


def _open_alerts(session: Session, rule_id: int, keys: Iterable[str] | None) -> dict[str, Alert]:
    query = select(Alert).where(Alert.rule_id == rule_id, Alert.state != "resolved")
    if keys is None:
        return {a.key: a for a in session.scalars(query)}
    wanted, found = sorted(set(keys)), {}
    for i in range(0, len(wanted), CHUNK):
        found.update({a.key: a for a in session.scalars(
            query.where(Alert.key.in_(wanted[i:i + CHUNK])))})
    return found


def _cooling(session: Session, rule: AlertRule, key: str, now: datetime) -> bool:
    if rule.cooldown_minutes <= 0:
        return False
    last = session.scalar(select(func.max(Alert.resolved_at)).where(
        Alert.rule_id == rule.id, Alert.key == key, Alert.state == "resolved"))
    return last is not None and last > now - timedelta(minutes=rule.cooldown_minutes)


def _refresh(alert: Alert, now: datetime) -> None:
    alert.last_seen_at = now
    alert.seen_count += 1


def _new(rule: AlertRule, finding: Finding, now: datetime) -> Alert:
    return Alert(rule_id=rule.id, key=finding.key[:200], state="open", severity=rule.severity,
                 title=finding.title[:200],
                 params=json.dumps(dict(finding.params), ensure_ascii=False, sort_keys=True),
                 site_id=finding.site_id, sku_id=finding.sku_id, link=finding.link[:200],
                 opened_at=now, last_seen_at=now, seen_count=1, note="", version=1)


def _open(session: Session, rule: AlertRule, finding: Finding, now: datetime,
          respond: Respond | None) -> Alert | None:
    """The new alert, or None when another transaction opened one for the key meanwhile (the
    unique index on open keys refuses the second; that one is refreshed instead)."""
    alert = _new(rule, finding, now)
    try:
        with session.begin_nested():
            session.add(alert)
            session.flush()
    except IntegrityError:
        existing = _open_alerts(session, rule.id, [finding.key]).get(finding.key)
        if existing is not None:
            _refresh(existing, now)
        return None
    tell(session, rule, alert)
    announce(session, rule, alert)
    _respond(session, rule, alert, finding, now, respond)
    return alert


def _respond(session: Session, rule: AlertRule, alert: Alert, finding: Finding, now: datetime,
             respond: Respond | None) -> None:
    """The automatic responses: a failure is logged and never stops the alert."""
    try:
        if respond is None:
            from cangliu.services.alerts import responses
            respond = responses.on_opened
        with guarded(session):
            respond(session, rule, alert, finding, now)
    except Exception:
        log.exception("automatic responses of rule %s failed on alert %s", rule.code, alert.id)


def _close(session: Session, rule: AlertRule, alert: Alert, now: datetime, *, by: str,
           resolution: str) -> None:
    alert.state, alert.resolved_at, alert.resolved_by = "resolved", now, by
    alert.resolution = resolution
    alert.version += 1
    session.flush()
    announce(session, rule, alert)


def apply(session: Session, rule: AlertRule, check: Check, now: datetime, *,
          respond: Respond | None = None) -> Counts:
    """Bring the rule's alerts in line with what one evaluation found (no commit)."""
    counts = Counts()
    findings = {f.key[:200]: f for f in check.findings}
    keys = None if check.checked is None else set(findings) | set(check.checked)
    current = _open_alerts(session, rule.id, keys)
    for key, finding in findings.items():
        if key in current:
            _refresh(current[key], now)
            counts.refreshed += 1
        elif _cooling(session, rule, key, now):
            counts.held_back += 1
        elif _open(session, rule, finding, now, respond) is None:
            counts.refreshed += 1
        else:
            counts.opened += 1
    if rule.auto_resolve and KINDS[rule.kind].resolves:
        for key, alert in current.items():
            if key not in findings:
                _close(session, rule, alert, now, by="system", resolution="cleared")
                counts.resolved += 1
    session.flush()
    return counts


# --- by hand -------------------------------------------------------------------------------------

def _alert_for(session: Session, actor: Actor, alert_id: int) -> Alert:
    """The alert, if ``actor`` may see it (404 otherwise) and act on it (403 otherwise)."""
    alert = session.get(Alert, alert_id)
    seen = actor.sites("alert.view")
    if alert is None or not (seen is None or alert.site_id in seen):
        raise NotFound("Alert {id} not found", id=alert_id)
    allowed = actor.sites("alert.edit")
    if not (allowed is None or alert.site_id in allowed):
        raise NotPermitted("Your role may not do this here")
    return alert


def _stale(alert: Alert) -> StaleVersion:
    return StaleVersion(alert.version, {"id": alert.id, "state": alert.state,
                                        "version": alert.version},
                        saved_by=alert.resolved_by or alert.acknowledged_by or "")


def _change(uow: UnitOfWork, actor: Actor, alert_id: int, version: int | None, states: tuple[str, ...],
            values: Callable[[Alert, datetime], dict[str, Any]]) -> dict[str, Any]:
    with uow:
        session, now = uow.session, uow.now()
        alert = _alert_for(session, actor, alert_id)
        if version is not None and alert.version != version:
            raise _stale(alert)
        if alert.state not in states:
            raise Conflict("The alert is already {state}", state=alert.state)
        # Conditional on the version read: of two simultaneous clicks only one changes it.
        done = session.execute(update(Alert).where(
            Alert.id == alert.id, Alert.version == alert.version).values(
            version=alert.version + 1, **values(alert, now)).execution_options(
            synchronize_session=False))
        session.refresh(alert)
        if getattr(done, "rowcount", 1) != 1:
            raise _stale(alert)
        announce(session, session.get_one(AlertRule, alert.rule_id), alert)
        uow.commit()
        return alert_out(session, alert)


def _noted(alert: Alert, actor: Actor, note: str) -> str:
    note = note.strip()[:2000]
    if not note:
        return alert.note
    line = f"{actor.username}: {note}"
    return f"{alert.note}\n{line}" if alert.note else line


def acknowledge(uow: UnitOfWork, actor: Actor, alert_id: int, note: str = "", *,
                version: int | None = None) -> dict[str, Any]:
    """Someone has seen the open alert and is on it; it stays until the condition clears."""
    return _change(uow, actor, alert_id, version, ("open",), lambda a, now: {
        "state": "acknowledged", "acknowledged_at": now, "acknowledged_by": actor.username,
        "note": _noted(a, actor, note)})


def resolve(uow: UnitOfWork, actor: Actor, alert_id: int, note: str = "", *,
            version: int | None = None) -> dict[str, Any]:
    """Close an open or acknowledged alert by hand (a condition still true opens a new one at the
    next evaluation after the cooldown)."""
    return _change(uow, actor, alert_id, version, ("open", "acknowledged"), lambda a, now: {
        "state": "resolved", "resolved_at": now, "resolved_by": actor.username,
        "resolution": "manual", "note": _noted(a, actor, note)})
