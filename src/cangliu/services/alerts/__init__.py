"""Alerts: rules as data, evaluation from events and scans, de-duplication, auto-resolve,
acknowledgement, routing to roles and channels, automatic responses.

``on_event`` is the dispatcher's consumer: a ``stock.changed`` event has the rules of the kinds
it concerns evaluated on what it touched, right away. ``scan`` evaluates every enabled rule on
the whole network (the periodic job) and escalates what has waited too long. Each rule runs in a
savepoint of its own: a rule that fails is logged and never keeps the others from their alerts
(the next scan evaluates it again).
"""

import logging
from collections.abc import Callable
from dataclasses import asdict
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from cangliu.core.alerts import KINDS, Check, Rule
from cangliu.db.models import AlertRule
from cangliu.db.uow import UnitOfWork
from cangliu.services.alerts.lifecycle import Counts, Respond, apply, guarded
from cangliu.services.alerts.rules import as_rule, enabled_rows
from cangliu.services.events import Event

log = logging.getLogger(__name__)
Detector = Callable[..., Check | None]  # (session, rule, now, *, event) → Check | None
EVENT_KINDS = {"stock.changed": ("stock", "posting")}  # event kind → the rule triggers it fires


def _detector(detector: Detector | None) -> Detector:
    if detector is not None:
        return detector
    from cangliu.services.alerts import detect

    return detect.run


def _evaluate(session: Session, row: AlertRule, rule: Rule, now: datetime, event: Event | None,
              detector: Detector, respond: Respond | None, counts: Counts) -> bool:
    """One rule, in its own savepoint; whether it ran without error."""
    try:
        with guarded(session):
            check = detector(session, rule, now, event=event)
            if check is not None:
                counts.add(apply(session, row, check, now, respond=respond))
    except Exception:
        log.exception("alert rule %s failed on %s", row.code,
                      f"event {event.id}" if event is not None else "the scan")
        return False
    return True


def on_event(session: Session, event: Event, now: datetime, *, detector: Detector | None = None,
             respond: Respond | None = None) -> None:
    """Evaluate the enabled rules an event may trigger (no commit: the dispatcher's transaction)."""
    triggers = EVENT_KINDS.get(event.kind)
    if not triggers:
        return
    rows = [r for r in enabled_rows(session) if KINDS[r.kind].on in triggers]
    if not rows:
        return
    run, counts = _detector(detector), Counts()
    for row in rows:
        _evaluate(session, row, as_rule(session, row), now, event, run, respond, counts)


def scan(uow: UnitOfWork, *, detector: Detector | None = None, respond: Respond | None = None,
         escalate: Callable[[Session, datetime], int] | None = None) -> dict[str, Any]:
    """Every enabled rule on the whole network (posting rules only look at postings, so they are
    left to the events), then the escalations due, in one transaction; the counts."""
    run, counts, failed = _detector(detector), Counts(), []
    with uow:
        session, now = uow.session, uow.now()
        rows = [r for r in enabled_rows(session) if KINDS[r.kind].on != "posting"]
        for row in rows:
            if not _evaluate(session, row, as_rule(session, row), now, None, run, respond, counts):
                failed.append(row.code)
        if escalate is None:
            from cangliu.services.alerts import responses
            escalate = responses.escalate_due
        escalated = escalate(session, now)
        uow.commit()
    return {"rules": len(rows), **asdict(counts), "escalated": escalated, "failed": failed}
