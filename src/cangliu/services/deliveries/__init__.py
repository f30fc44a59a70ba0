"""Outbound deliveries (外发): channels (webhooks, WeCom/DingTalk/Feishu group robots, e-mail), the
fan-out of domain events into queued deliveries, and the delivery log with its retries, dead
letters and manual redelivery. Sending itself lives in ``cangliu.integrations.outbound``."""

from cangliu.services.deliveries.channels import (
    EMAIL_CHANNEL,
    EVENT_KINDS,
    create_channel,
    delete_channel,
    get_channel,
    list_channels,
    mask,
    update_channel,
)
from cangliu.services.deliveries.fanout import enqueue_email, on_event, queue_test
from cangliu.services.deliveries.log import (
    MAX_ATTEMPTS,
    backoff,
    claim_due,
    get_delivery,
    list_deliveries,
    record_result,
    redeliver,
)

__all__ = ["EMAIL_CHANNEL", "EVENT_KINDS", "MAX_ATTEMPTS", "backoff", "claim_due", "create_channel",
           "delete_channel", "enqueue_email", "get_channel", "get_delivery", "list_channels",
           "list_deliveries", "mask", "on_event", "queue_test", "record_result", "redeliver",
           "update_channel"]
