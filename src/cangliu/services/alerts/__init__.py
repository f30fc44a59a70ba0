"""Alerts: rules as data, evaluation from events and scans, de-duplication, auto-resolve,
acknowledgement, routing to roles and channels, automatic responses."""

from datetime import datetime

from sqlalchemy.orm import Session

from cangliu.services.events import Event


def on_event(session: Session, event: Event, now: datetime) -> None:
    """Evaluate the rules an event may trigger (placeholder until the alerts module lands)."""
