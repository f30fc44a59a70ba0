"""Who hears of an alert in the app, and what every state change tells the outbox.

In-app: the holders of each of the rule's roles whose assignment covers the alert's site (any
holder for an alert without a site), plus the in-app subscriptions to this rule or to every rule
(a user's own, or a role's holders within the site) — a subscriber who may not see the alert's
site is not told. Channels and e-mail are the deliveries' business: they read the outbox event.
"""

import json
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from cangliu.db import outbox
from cangliu.db.models import Alert, AlertRule, AlertSubscription, AppUser, Location, Sku
from cangliu.services.approvals.people import holders
from cangliu.services.notifications import notify
from cangliu.services.roles import actor_of

NOTIFICATION_KIND = "alert"
EVENTS = {"open": "alert.opened", "acknowledged": "alert.acknowledged",
          "resolved": "alert.resolved"}  # the event that tells an alert reached a state


def link_of(alert: Alert) -> str:
    return f"/alerts/{alert.id}"


def _site(session: Session, alert: Alert) -> Location | None:
    return session.get(Location, alert.site_id) if alert.site_id is not None else None


def subscribers(session: Session, rule: AlertRule | None, site: Location | None,
                channel: str = "in_app") -> set[int]:
    """The users subscribed on ``channel`` to ``rule`` (or to every rule) who may see an alert
    at ``site``: a role's holders within the site, and users by name whose roles cover it."""
    subs = session.execute(select(AlertSubscription.user_id, AlertSubscription.role).where(
        AlertSubscription.channel == channel,
        or_(AlertSubscription.rule_id == (rule.id if rule is not None else None),
            AlertSubscription.rule_id.is_(None)))).all()
    sites = [site] if site is not None else None
    found: set[int] = set()
    for user_id, role in subs:
        if role:
            found.update(holders(session, role, sites))
            continue
        user = session.get(AppUser, user_id)
        if user is not None and user.active and actor_of(session, user).can(
                "alert.view", site.id if site is not None else None):
            found.add(user.id)
    return found


def recipients(session: Session, rule: AlertRule, alert: Alert) -> list[int]:
    """The users told in the app that ``alert`` opened."""
    site = _site(session, alert)
    sites = [site] if site is not None else None
    found = {u for role in rule.roles.split() for u in holders(session, role, sites)}
    return sorted(found | subscribers(session, rule, site))


def tell(session: Session, rule: AlertRule, alert: Alert) -> int:
    """Notify the recipients in their inbox; how many were told."""
    return notify(session, alert.opened_at, recipients(session, rule, alert),
                  kind=NOTIFICATION_KIND, title=alert.title,
                  params=json.loads(alert.params or "{}"), link=link_of(alert))


def _iso(value: Any) -> str | None:
    return value.isoformat() if value is not None else None


def payload(session: Session, rule: AlertRule, alert: Alert) -> dict[str, Any]:
    site = _site(session, alert)
    sku = session.get(Sku, alert.sku_id) if alert.sku_id is not None else None
    return {"id": alert.id, "rule": rule.code, "rule_name": rule.name, "kind": rule.kind,
            "key": alert.key, "severity": alert.severity, "state": alert.state,
            "title": alert.title, "params": json.loads(alert.params or "{}"),
            "site": site.code if site is not None else None, "site_id": alert.site_id,
            "sku": sku.code if sku is not None else None, "link": link_of(alert),
            "channels": rule.channels.split(), "opened_at": _iso(alert.opened_at),
            "resolved_at": _iso(alert.resolved_at)}


def announce(session: Session, rule: AlertRule, alert: Alert) -> None:
    """The alert's new state in the outbox, for the channels, the browsers and the webhooks."""
    outbox.emit(session, EVENTS[alert.state], payload(session, rule, alert))
