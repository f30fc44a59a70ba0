"""The built-in webhook receiver: a webhook channel pointed at ``/api/v1/webhooks/echo`` checks
a setup end to end (the demo's channel does). The receiver finds the delivery named in
``X-Cangliu-Delivery`` and checks the signature with its channel's secret, as any receiver should."""

from sqlalchemy.orm import Session

from cangliu.core.signatures import signature_ok
from cangliu.db.models import Channel, Delivery


def verify(session: Session, delivery: str, timestamp: str, body: bytes, given: str,
           now: float) -> bool:
    """A message signed by the channel of the delivery it names, recently."""
    if not delivery.isdigit():
        return False
    row = session.get(Delivery, int(delivery))
    channel = session.get(Channel, row.channel_id) if row is not None else None
    return (channel is not None and channel.kind == "webhook" and bool(channel.secret)
            and signature_ok(channel.secret, timestamp, body, given, now))
