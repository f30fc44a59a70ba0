"""Events and alerts: the outbox of domain events, alert rules and alerts, outbound channels
(webhooks, group robots, e-mail) with their delivery log, and alert subscriptions."""

from datetime import datetime

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from cangliu.db.base import Base, BigId

ALERT_STATES = ("open", "acknowledged", "resolved")
SEVERITIES = ("info", "warning", "critical")
CHANNEL_KINDS = ("webhook", "wecom", "dingtalk", "feishu", "email")
DELIVERY_STATES = ("pending", "sent", "dead")


def _within(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


class OutboxEvent(Base):
    """One domain event, written in the transaction of the change it reports. ``payload`` is JSON.
    The dispatcher stamps ``dispatched_at`` once alert evaluation and webhook fan-out have taken
    it, in their own transaction; browsers tail the table by id."""

    __tablename__ = "outbox_event"
    __table_args__ = (
        Index("ix_outbox_event_pending", "id", postgresql_where=text("dispatched_at IS NULL"),
              sqlite_where=text("dispatched_at IS NULL")),
        Index("ix_outbox_event_at", "at"),
    )
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    at: Mapped[datetime]
    kind: Mapped[str] = mapped_column(String(40))
    payload: Mapped[str] = mapped_column(Text, default="{}")
    dispatched_at: Mapped[datetime | None]
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    error: Mapped[str] = mapped_column(Text, default="")


class AlertRule(Base):
    """What to watch (``kind`` with its ``params`` as JSON and an optional ``condition`` over the
    kind's named columns), how bad it is, who hears of it (roles within their site scope) and
    through which channels, how often, and what happens automatically."""

    __tablename__ = "alert_rule"
    __table_args__ = (CheckConstraint(_within("severity", SEVERITIES), name="severity"),
                      CheckConstraint("cooldown_minutes >= 0", name="cooldown"))
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    code: Mapped[str] = mapped_column(String(40), unique=True)
    name: Mapped[str] = mapped_column(String(120))
    name_en: Mapped[str] = mapped_column(String(120), default="")
    kind: Mapped[str] = mapped_column(String(30), index=True)
    params: Mapped[str] = mapped_column(Text, default="{}")
    condition: Mapped[str] = mapped_column(Text, default="")
    severity: Mapped[str] = mapped_column(String(10), default="warning")
    roles: Mapped[str] = mapped_column(Text, default="")  # role codes, space-separated
    sites: Mapped[str] = mapped_column(Text, default="")  # site codes it watches; empty: all
    channels: Mapped[str] = mapped_column(Text, default="")  # channel codes, space-separated
    cooldown_minutes: Mapped[int] = mapped_column(Integer, default=60)
    auto_resolve: Mapped[bool] = mapped_column(Boolean, default=True)
    responses: Mapped[str] = mapped_column(Text, default="")  # automatic responses
    escalate_after_minutes: Mapped[int | None] = mapped_column(Integer)
    escalate_to: Mapped[str] = mapped_column(String(40), default="")  # a role code
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]
    version: Mapped[int] = mapped_column(Integer, default=1)


class Alert(Base):
    """One occurrence of a rule's condition for one key (e.g. ``SKU-0001@ST-01``). At most one
    alert per rule and key is open or acknowledged at a time; it resolves when the condition
    clears (if the rule says so) or by hand."""

    __tablename__ = "alert"
    __table_args__ = (
        CheckConstraint(_within("state", ALERT_STATES), name="state"),
        CheckConstraint(_within("severity", SEVERITIES), name="severity"),
        Index("uq_alert_open_key", "rule_id", "key", unique=True,
              postgresql_where=text("state <> 'resolved'"), sqlite_where=text("state <> 'resolved'")),
        Index("ix_alert_state_opened", "state", "opened_at"),
        Index("ix_alert_rule_key_resolved", "rule_id", "key", "resolved_at"),
    )
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    rule_id: Mapped[int] = mapped_column(ForeignKey("alert_rule.id"))
    key: Mapped[str] = mapped_column(String(200))
    state: Mapped[str] = mapped_column(String(12), default="open")
    severity: Mapped[str] = mapped_column(String(10))
    title: Mapped[str] = mapped_column(String(200))  # an English msgid filled with params
    params: Mapped[str] = mapped_column(Text, default="{}")
    site_id: Mapped[int | None] = mapped_column(ForeignKey("location.id"), index=True)
    sku_id: Mapped[int | None] = mapped_column(ForeignKey("sku.id"), index=True)
    link: Mapped[str] = mapped_column(String(200), default="")
    opened_at: Mapped[datetime]
    last_seen_at: Mapped[datetime]
    seen_count: Mapped[int] = mapped_column(Integer, default=1)
    acknowledged_at: Mapped[datetime | None]
    acknowledged_by: Mapped[str | None] = mapped_column(String(64))
    resolved_at: Mapped[datetime | None]
    resolved_by: Mapped[str | None] = mapped_column(String(64))
    resolution: Mapped[str] = mapped_column(String(20), default="")  # cleared / manual
    escalated_at: Mapped[datetime | None]
    note: Mapped[str] = mapped_column(Text, default="")
    version: Mapped[int] = mapped_column(Integer, default=1)


class Channel(Base):
    """Somewhere outside Cangliu to send messages: a webhook (JSON signed with HMAC-SHA256,
    subscribed to event kinds), a WeCom, DingTalk or Feishu group robot, or e-mail recipients."""

    __tablename__ = "channel"
    __table_args__ = (CheckConstraint(_within("kind", CHANNEL_KINDS), name="kind"),)
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    code: Mapped[str] = mapped_column(String(40), unique=True)
    name: Mapped[str] = mapped_column(String(120))
    kind: Mapped[str] = mapped_column(String(10))
    url: Mapped[str] = mapped_column(Text, default="")
    secret: Mapped[str] = mapped_column(Text, default="")
    recipients: Mapped[str] = mapped_column(Text, default="")  # e-mail addresses, space-separated
    events: Mapped[str] = mapped_column(Text, default="")  # webhook event kinds; "*" every kind
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]
    version: Mapped[int] = mapped_column(Integer, default=1)


class Delivery(Base):
    """One message to one channel: pending until sent, retried with exponential backoff, dead
    after the last attempt (and redeliverable by hand). ``dedupe`` makes enqueueing idempotent:
    an event or alert transition is queued once per channel."""

    __tablename__ = "delivery"
    __table_args__ = (
        CheckConstraint(_within("state", DELIVERY_STATES), name="state"),
        UniqueConstraint("channel_id", "dedupe", name="uq_delivery_channel_dedupe"),
        Index("ix_delivery_state_next", "state", "next_at"),
    )
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    channel_id: Mapped[int] = mapped_column(ForeignKey("channel.id"))
    dedupe: Mapped[str] = mapped_column(String(80))
    event_id: Mapped[int | None] = mapped_column(ForeignKey("outbox_event.id"))
    alert_id: Mapped[int | None] = mapped_column(ForeignKey("alert.id"))
    kind: Mapped[str] = mapped_column(String(40))
    payload: Mapped[str] = mapped_column(Text)  # JSON
    state: Mapped[str] = mapped_column(String(10), default="pending")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_at: Mapped[datetime]
    last_status: Mapped[int | None] = mapped_column(Integer)
    last_error: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime]
    sent_at: Mapped[datetime | None]


class AlertSubscription(Base):
    """A user or a role asks for alerts (of one rule, or of all) through in-app or e-mail."""

    __tablename__ = "alert_subscription"
    __table_args__ = (
        CheckConstraint("(user_id IS NULL) <> (role IS NULL)", name="one_subscriber"),
        CheckConstraint("channel IN ('in_app', 'email')", name="channel"),
    )
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("app_user.id"), index=True)
    role: Mapped[str | None] = mapped_column(String(40))
    rule_id: Mapped[int | None] = mapped_column(ForeignKey("alert_rule.id"))
    channel: Mapped[str] = mapped_column(String(10), default="in_app")
    created_at: Mapped[datetime]
