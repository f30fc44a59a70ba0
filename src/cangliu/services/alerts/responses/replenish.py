"""The replenishing responses to a low-stock or stock-out alert: a suggestion the planners accept
or dismiss like the planning run's (a transfer from the site with the most to give, a purchase
for what nobody can give), or a draft transfer order from that site. Both count what is already
on the way, so a second alert for a site that was just served asks for nothing more."""

import json
from datetime import datetime
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.orm import Session

from cangliu.core.permissions import Actor
from cangliu.db.models import Alert, AlertRule, Location, PlanningSuggestion, Sku, TransferOrder
from cangliu.db.uow import UnitOfWork, new_ref
from cangliu.services import transfers
from cangliu.services.alerts.responses.network import (
    Position,
    best_source,
    neediest,
    positions,
    whole,
)
from cangliu.services.postings import Meta

# Documents a response creates are the system's, not a person's.
SYSTEM = Actor(0, "system", is_admin=True)


class _Within(UnitOfWork):
    """The dispatcher's open transaction seen as a unit of work, so that document helpers taking
    one (and never committing) write in it."""

    def __init__(self, session: Session, now: datetime) -> None:
        self.session = session
        self.clock = lambda: now
        self.ids = new_ref

    @property
    def dialect(self) -> str:
        return self.session.get_bind().dialect.name

    def commit(self) -> None:
        raise AssertionError("an automatic response never commits: the dispatcher does")


def rule_name(rule: AlertRule) -> str:
    """What a suggestion names as its rule: the alert rule it came from."""
    return f"alert:{rule.code}"[:60]


def marker(rule: AlertRule, alert: Alert) -> str:
    """The reason of a transfer drafted for ``alert``: how a second call knows it was done."""
    return f"Alert #{alert.id} ({rule.code})"


def _trigger(alert: Alert, target: Position, source: Position | None) -> str:
    values: dict[str, object] = {"alert": alert.id, "available": float(target.available),
                                 "inbound": float(target.inbound - target.outbound)}
    if target.levels is not None:
        values |= {"safety_stock": float(target.levels.safety_stock),
                   "reorder_point": float(target.levels.reorder_point),
                   "max_stock": float(target.levels.max_stock)}
    if source is not None:
        values |= {"source.available": float(source.available),
                   "source.surplus": float(source.surplus),
                   "source.above_max": float(source.above_max)}
    return json.dumps(values, ensure_ascii=False, sort_keys=True)


def suggest(session: Session, rule: AlertRule, alert: Alert, now: datetime) -> str:
    """Suggest filling the alert's site up to its max stock (an over-stock alert: moving what
    is above its max to the site lacking most); answers the note to record."""
    if alert.sku_id is None or alert.site_id is None:
        return ""
    away = rule.kind == "over_stock"
    end = PlanningSuggestion.from_site_id if away else PlanningSuggestion.to_site_id
    if session.scalar(select(PlanningSuggestion.id).where(
            PlanningSuggestion.sku_id == alert.sku_id, end == alert.site_id,
            PlanningSuggestion.state == "open").limit(1)) is not None:
        return "Suggestion: an open suggestion already covers this SKU at this site"
    sku = session.get_one(Sku, alert.sku_id)
    network = positions(session, sku, now.date())
    if alert.site_id not in network:  # no longer an active site
        return ""
    made = (_away(session, rule, alert, now, network, sku) if away
            else _toward(session, rule, alert, now, network, sku))
    if not made:
        return ("Suggestion: no site lacks what this site has above its max" if away else
                "Suggestion: nothing needed (no levels, or stock on the way covers the max)")
    session.flush()
    return "Suggestion: " + "; ".join(
        f"#{s.id} {s.kind} {s.qty:f} {sku.code} "
        f"{network[s.from_site_id].site + ' → ' if s.from_site_id else ''}"
        f"{network[s.to_site_id].site}" for s in made)


def _toward(session: Session, rule: AlertRule, alert: Alert, now: datetime,
            network: dict[int, Position], sku: Sku) -> list[PlanningSuggestion]:
    """A transfer from the site with the most to give, a purchase for the rest."""
    target = network[alert.site_id or 0]
    need = whole(target.lacks(up_to_max=True), sku)
    source = best_source(network, target.site_id)
    moved = min(need, whole(source.surplus, sku)) if source else Decimal(0)
    made = []
    if source and moved > 0:
        made.append(_add(session, rule, alert, now, target, source, moved))
    if need - moved > 0:
        made.append(_add(session, rule, alert, now, target, None, need - moved))
    return made


def _away(session: Session, rule: AlertRule, alert: Alert, now: datetime,
          network: dict[int, Position], sku: Sku) -> list[PlanningSuggestion]:
    """A transfer of what the site has above its max to the site lacking most."""
    source = network[alert.site_id or 0]
    target = neediest(network, source.site_id)
    qty = min(whole(source.above_max, sku), whole(target.lacks(up_to_max=False), sku)) \
        if target else Decimal(0)
    return [_add(session, rule, alert, now, target, source, qty)] if target and qty > 0 else []


def _add(session: Session, rule: AlertRule, alert: Alert, now: datetime, target: Position,
         source: Position | None, qty: Decimal) -> PlanningSuggestion:
    row = PlanningSuggestion(
        kind="transfer" if source else "purchase", rule=rule_name(rule), sku_id=alert.sku_id,
        from_site_id=source.site_id if source else None, to_site_id=target.site_id,
        qty=qty.normalize(), trigger=_trigger(alert, target, source), cover_before=None,
        cover_after=None, exception=False, state="open", run_on=now.date(), created_at=now)
    session.add(row)
    return row


def draft_transfer(session: Session, rule: AlertRule, alert: Alert, now: datetime) -> str:
    """Draft a transfer from the site with the most to give, for what the alert's site lacks up
    to its reorder point; answers the note to record."""
    if alert.sku_id is None or alert.site_id is None:
        return ""
    reason = marker(rule, alert)
    if session.scalar(select(TransferOrder.id).where(TransferOrder.reason == reason)) is not None:
        return ""
    sku = session.get_one(Sku, alert.sku_id)
    network = positions(session, sku, now.date())
    if alert.site_id not in network:
        return ""
    target = network[alert.site_id]
    need = whole(target.lacks(up_to_max=False), sku)
    if need <= 0:
        return "Draft transfer: nothing needed (no levels, or stock on the way covers the reorder point)"
    source = best_source(network, alert.site_id)
    qty = min(need, whole(source.surplus, sku)) if source else Decimal(0)
    if source is None or qty <= 0:
        return "Draft transfer: no site has stock to give above its safety stock"
    order = transfers.new_order(
        _Within(session, now), Meta(actor=SYSTEM, reason=reason),
        session.get_one(Location, source.site_id), target.site,
        [transfers.TransferLineIn(sku=sku.code, qty=qty)], None)
    return f"Draft transfer: {order.number}, {qty.normalize():f} {sku.code} {source.site} → {target.site}"
