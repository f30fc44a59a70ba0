"""Escalation: an alert left open (nobody acknowledged it) longer than its rule allows goes one
severity up and to the rule's escalation role within the alert's site, once."""

import json
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from cangliu.core.alerts import SEVERITIES
from cangliu.db import outbox
from cangliu.db.models import Alert, AlertRule, Location, Sku
from cangliu.services.approvals.people import holders
from cangliu.services.notifications import notify

TITLE = "Escalated: {rule} has been open for {minutes} minutes ({key})"


def _due(session: Session, now: datetime) -> list[tuple[Alert, AlertRule]]:
    rows = session.execute(
        select(Alert, AlertRule).join(AlertRule, AlertRule.id == Alert.rule_id)
        .where(Alert.state == "open", Alert.escalated_at.is_(None), AlertRule.enabled.is_(True),
               AlertRule.escalate_after_minutes.is_not(None), AlertRule.escalate_to != "",
               AlertRule.responses.contains("escalate"))
        .order_by(Alert.id).with_for_update(of=Alert, skip_locked=True)).tuples()
    return [(a, r) for a, r in rows if "escalate" in r.responses.split()
            and a.opened_at + timedelta(minutes=r.escalate_after_minutes or 0) <= now]


def escalate_due(session: Session, now: datetime) -> int:
    """Escalate every alert whose delay has passed; answers how many were escalated."""
    due = _due(session, now)
    for alert, rule in due:
        _escalate(session, alert, rule, now)
    session.flush()
    return len(due)


def _escalate(session: Session, alert: Alert, rule: AlertRule, now: datetime) -> None:
    alert.escalated_at = now
    alert.severity = SEVERITIES[min(SEVERITIES.index(alert.severity) + 1, len(SEVERITIES) - 1)]
    alert.version += 1
    site = session.get(Location, alert.site_id) if alert.site_id is not None else None
    people = holders(session, rule.escalate_to, [site] if site else _rule_sites(session, rule))
    notify(session, now, people, kind="alert_escalated", title=TITLE,
           params={"rule": rule.name, "key": alert.key,
                   "minutes": str(rule.escalate_after_minutes)},
           link=f"/alerts/{alert.id}")
    outbox.emit(session, "alert.escalated", payload(session, alert, rule, site))


def _rule_sites(session: Session, rule: AlertRule) -> list[Location] | None:
    """The sites a rule watches, for an alert of no one site (None: every site)."""
    codes = rule.sites.split()
    if not codes:
        return None
    return list(session.scalars(select(Location).where(Location.code.in_(codes))))


def payload(session: Session, alert: Alert, rule: AlertRule, site: Location | None
            ) -> dict[str, Any]:
    """The event payload of an alert transition (the shape of the alert module's events)."""
    sku = session.get(Sku, alert.sku_id) if alert.sku_id is not None else None
    return {"id": alert.id, "rule": rule.code, "kind": rule.kind, "key": alert.key,
            "severity": alert.severity, "state": alert.state, "title": alert.title,
            "params": json.loads(alert.params or "{}"), "site": site.code if site else None,
            "site_id": alert.site_id, "sku": sku.code if sku else None, "link": alert.link,
            "channels": []}
