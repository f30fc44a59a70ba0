"""Outbound deliveries: messages queued for webhooks, group robots and e-mail, with retries."""

from datetime import datetime

from sqlalchemy.orm import Session

from cangliu.services.events import Event


def on_event(session: Session, event: Event, now: datetime) -> None:
    """Queue the event for the webhooks subscribed to its kind (placeholder)."""
