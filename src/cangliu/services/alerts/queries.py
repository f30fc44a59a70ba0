"""Reading alerts: the list with its filters, newest first by id cursor, one alert with its rule
and history, and the count of open alerts for a badge. A user sees the alerts of the sites where
they hold alert.view; an alert of no site (a ledger check, an approval) only with alert.view on
every site."""

import json
from typing import Any, Final

from sqlalchemy import Select, func, or_, select
from sqlalchemy.orm import Session, aliased

from cangliu.core.errors import NotFound, ValidationFailed
from cangliu.core.permissions import Actor
from cangliu.db.models import Alert, AlertRule, Location, Sku
from cangliu.db.models.events import ALERT_STATES, SEVERITIES
from cangliu.services.alerts.routing import link_of

MAX_LIMIT: Final = 200
Site = aliased(Location)


def visible(actor: Actor) -> Any:
    scope = actor.sites("alert.view")
    if scope is None:
        return Alert.id.is_not(None)
    return Alert.site_id.in_(sorted(scope))


def _columns() -> Select[Any]:
    return (select(Alert, AlertRule.code.label("rule"), AlertRule.name.label("rule_name"),
                   AlertRule.kind, Site.code.label("site"), Site.name.label("site_name"),
                   Sku.code.label("sku"), Sku.name.label("sku_name"))
            .join(AlertRule, AlertRule.id == Alert.rule_id)
            .outerjoin(Site, Site.id == Alert.site_id)
            .outerjoin(Sku, Sku.id == Alert.sku_id))


def _item(row: Any) -> dict[str, Any]:
    alert: Alert = row.Alert
    return {"id": alert.id, "rule": row.rule, "rule_name": row.rule_name, "kind": row.kind,
            "key": alert.key, "state": alert.state, "severity": alert.severity,
            "title": alert.title, "params": json.loads(alert.params or "{}"),
            "site": row.site, "site_name": row.site_name, "sku": row.sku,
            "sku_name": row.sku_name, "link": link_of(alert), "subject_link": alert.link,
            "opened_at": alert.opened_at, "last_seen_at": alert.last_seen_at,
            "seen_count": alert.seen_count, "acknowledged_at": alert.acknowledged_at,
            "acknowledged_by": alert.acknowledged_by, "resolved_at": alert.resolved_at,
            "resolved_by": alert.resolved_by, "resolution": alert.resolution,
            "escalated_at": alert.escalated_at, "note": alert.note, "version": alert.version}


def _choice(field: str, value: str | None, allowed: tuple[str, ...]) -> None:
    if value and value not in allowed:
        raise ValidationFailed.single(field, "must be one of: {names}", names=", ".join(allowed))


def list_alerts(session: Session, actor: Actor, *, state: str | None = None,
                severity: str | None = None, rule: str | None = None, kind: str | None = None,
                site: str | None = None, q: str | None = None, after: int | None = None,
                limit: int = 50) -> tuple[list[dict[str, Any]], int | None]:
    """One page of the alerts ``actor`` may see, newest first; the cursor is the last id shown.
    ``state`` "active" means open or acknowledged; ``q`` a SKU code or name, or a key, containing
    it."""
    _choice("state", state, (*ALERT_STATES, "active"))
    _choice("severity", severity, SEVERITIES)
    query = _columns().where(visible(actor))
    if state == "active":
        query = query.where(Alert.state != "resolved")
    elif state:
        query = query.where(Alert.state == state)
    for column, value in ((Alert.severity, severity), (AlertRule.code, rule),
                          (AlertRule.kind, kind), (Site.code, site)):
        if value:
            query = query.where(column == value)
    if q:
        pattern = f"%{q.strip()}%"
        query = query.where(or_(Sku.code.ilike(pattern), Sku.name.ilike(pattern),
                                Alert.key.ilike(pattern)))
    if after:
        query = query.where(Alert.id < after)
    limit = max(1, min(limit, MAX_LIMIT))
    rows = session.execute(query.order_by(Alert.id.desc()).limit(limit + 1)).all()
    items = [_item(r) for r in rows[:limit]]
    return items, (items[-1]["id"] if len(rows) > limit else None)


def alert_out(session: Session, alert: Alert) -> dict[str, Any]:
    row = session.execute(_columns().where(Alert.id == alert.id)).one()
    return _item(row)


def get_alert(session: Session, actor: Actor, alert_id: int) -> dict[str, Any]:
    """One alert with its rule's severity, channels and roles; 404 outside the actor's scope."""
    row = session.execute(_columns().where(Alert.id == alert_id, visible(actor))).one_or_none()
    if row is None:
        raise NotFound("Alert {id} not found", id=alert_id)
    rule = session.get_one(AlertRule, row.Alert.rule_id)
    return _item(row) | {"rule_roles": rule.roles.split(), "rule_channels": rule.channels.split(),
                         "rule_condition": rule.condition, "rule_enabled": rule.enabled,
                         "can_edit": _can_edit(actor, row.Alert)}


def _can_edit(actor: Actor, alert: Alert) -> bool:
    scope = actor.sites("alert.edit")
    return scope is None or alert.site_id in scope


def open_count(session: Session, actor: Actor) -> int:
    """Open (not yet acknowledged) alerts the actor may see: the badge in the navigation."""
    return int(session.scalar(select(func.count()).select_from(Alert).where(
        Alert.state == "open", visible(actor))) or 0)
