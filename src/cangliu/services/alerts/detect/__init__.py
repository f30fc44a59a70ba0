"""Alert detectors, one per rule kind: each turns the current state (or what one event touched)
into the findings of a rule, with the keys it examined.

``run`` answers None when the event does not concern the rule's kind (a scan-only kind on any
event, a stock kind on an event touching none of its sites, a posting kind on an event without
a posting it judges) and when a kind judged only on postings is asked to scan; otherwise a
Check whose ``checked`` is None after a full scan.
"""

from collections.abc import Callable
from datetime import datetime

from sqlalchemy.orm import Session

from cangliu.core.alerts import KINDS, Check, Rule
from cangliu.services.alerts.detect import bins, documents, ledger, levels, lots, postings
from cangliu.services.events import Event

Detector = Callable[[Session, Rule, datetime, Event | None], Check | None]

DETECTORS: dict[str, Detector] = {
    "low_stock": levels.low_stock,
    "stock_out": levels.stock_out,
    "over_stock": levels.over_stock,
    "near_expiry": lots.near_expiry,
    "expired": lots.expired,
    "transfer_overdue": documents.transfer_overdue,
    "approval_overdue": documents.approval_overdue,
    "bin_over_capacity": bins.bin_over_capacity,
    "large_adjustment": postings.large_adjustment,
    "frequent_adjustments": postings.frequent_adjustments,
    "off_hours": postings.off_hours,
    "ledger_inconsistency": ledger.ledger_inconsistency,
}
assert set(DETECTORS) == set(KINDS), "a detector per rule kind"


def run(session: Session, rule: Rule, now: datetime, *, event: Event | None) -> Check | None:
    """The rule's findings now: everything of its kind when ``event`` is None, else what the
    event touched."""
    return DETECTORS[rule.kind](session, rule, now, event)
