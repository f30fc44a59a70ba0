"""Automatic responses of alert rules: what happens when an alert opens (a replenishment
suggestion, a draft transfer, a lot tagged for clearance) and the escalation of alerts nobody
acknowledged in time. Everything runs in the caller's transaction and never commits.

Each response done is recorded as one line of the alert's note, starting with its label; a
response whose line is there is not done again, so calling ``on_opened`` twice changes nothing.
"""

from collections.abc import Callable
from datetime import datetime

from sqlalchemy.orm import Session

from cangliu.core.alerts import Finding
from cangliu.core.errors import DomainError, ValidationFailed
from cangliu.db.models import Alert, AlertRule
from cangliu.services.alerts.responses import clearance, replenish
from cangliu.services.alerts.responses.escalation import escalate_due

__all__ = ["escalate_due", "on_opened"]

Response = Callable[[Session, AlertRule, Alert, Finding, datetime], str]

# In this order: a transfer drafted first is counted as on the way by the suggestion after it.
RESPONSES: dict[str, tuple[str, Response]] = {
    "clearance": ("Clearance:", clearance.tag),
    "draft_transfer": ("Draft transfer:",
                       lambda s, rule, alert, _f, now: replenish.draft_transfer(s, rule, alert, now)),
    "suggest": ("Suggestion:", lambda s, rule, alert, _f, now: replenish.suggest(s, rule, alert, now)),
}


def on_opened(session: Session, rule: AlertRule, alert: Alert, finding: Finding,
              now: datetime) -> None:
    """Run the rule's responses for an alert just opened (flushed: it has an id)."""
    wanted = set(rule.responses.split())
    for name, (label, respond) in RESPONSES.items():
        note = alert.note or ""
        if name not in wanted or any(line.startswith(label) for line in note.splitlines()):
            continue
        line = _safely(respond, label, session, rule, alert, finding, now)
        if line:
            alert.note = f"{note}\n{line}" if note else line
    session.flush()


def _safely(respond: Response, label: str, session: Session, rule: AlertRule, alert: Alert,
            finding: Finding, now: datetime) -> str:
    """One response in a savepoint of its own: one that fails (a SKU made inactive since) is
    noted and undone, and neither the alert nor the other responses are lost."""
    try:
        with session.begin_nested():
            return respond(session, rule, alert, finding, now)
    except ValidationFailed as failed:
        return f"{label} failed: " + "; ".join(e.message.format(**e.params) for e in failed.errors)
    except DomainError as failed:
        return f"{label} failed: {failed}"
