"""E-mail over SMTP to a local aiosmtpd server started by the test: an alert to its subscribers
and a prepared e-mail (a report) arrive with text and HTML parts and a link back; without an SMTP
host the delivery fails as not configured and waits for a retry, nothing lost. Subscribers get
an alert in the language they read."""

import email
import socket
from collections.abc import Iterator
from datetime import UTC, datetime
from email.message import Message

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.handlers import Message as MessageHandler
from sqlalchemy import select, update

from cangliu.config import Settings
from cangliu.db.models import AlertRule, AlertSubscription, AppUser, Location
from cangliu.integrations import outbound
from cangliu.services import auth, deliveries, roles
from tests.conftest import PASSWORD
from tests.integrations.test_webhooks import log
from tests.services.test_deliveries import fan

NOW = datetime(2026, 11, 24, 8, 0, tzinfo=UTC)


class Inbox(MessageHandler):
    def __init__(self) -> None:
        super().__init__()
        self.messages: list[Message] = []

    def handle_message(self, message: Message) -> None:
        self.messages.append(message)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def smtp() -> Iterator[tuple[Inbox, Settings]]:
    inbox = Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=free_port())
    controller.start()
    yield inbox, Settings(public_url="https://cangliu.example.com", smtp_host="127.0.0.1",
                          smtp_port=controller.port, smtp_from="cangliu@example.com")
    controller.stop()


def parts(message: Message) -> dict[str, str]:
    parsed = email.message_from_string(message.as_string())
    return {p.get_content_type(): p.get_payload(decode=True).decode()
            for p in parsed.walk() if not p.is_multipart()}


def test_an_alert_email_channel_and_a_report_email_arrive_with_a_link_back(db, admin, smtp):
    inbox, settings = smtp
    deliveries.create_channel(db.uow(), admin, {"code": "ops", "name": "运营", "kind": "email",
                                                "recipients": "ops@example.com, boss@example.com"})
    fan(db, "alert.opened", {"id": 3, "rule": "low", "severity": "warning", "site": "S1",
                             "title": "Low stock: {sku} at {site}",
                             "params": {"sku": "SKU-1", "site": "S1"}, "link": "/alerts/3",
                             "channels": ["ops"]})
    with db.uow() as uow:
        deliveries.enqueue_email(uow.session, NOW, to=["cfo@example.com"], subject="库存周报",
                                 text="本周库存周转 4.2", dedupe="report:1", link="/reports/1")
        uow.commit()
    assert outbound.send_due(db, settings, now=NOW) == 2
    assert sorted(d["state"] for d in log(db)) == ["sent", "sent"]
    alert, report = sorted(inbox.messages, key=lambda m: str(m["X-RcptTo"]))[::-1]
    assert alert["From"] == "cangliu@example.com"
    assert alert["X-RcptTo"] == "ops@example.com, boss@example.com"
    assert "Low stock: SKU-1 at S1" in str(email.header.make_header(
        email.header.decode_header(alert["Subject"])))
    body = parts(report)
    assert "本周库存周转 4.2" in body["text/plain"]
    assert 'href="https://cangliu.example.com/reports/1"' in body["text/html"]
    assert "https://cangliu.example.com/alerts/3" in parts(alert)["text/plain"]


def subject(message: Message) -> str:
    return str(email.header.make_header(email.header.decode_header(message["Subject"])))


def test_an_alert_reaches_each_subscriber_in_the_language_they_read(db, network, smtp):
    inbox, settings = smtp
    li = auth.create_user(db.uow(), username="li", password=PASSWORD)
    roles.set_assignments(db.uow(), network, "li", [{"role": "store_manager", "scope": "all"}])
    auth.set_locale(db.uow(), li.user_id, "en")
    with db.uow() as uow:
        uow.session.execute(update(AppUser).values(email=AppUser.username + "@example.com"))
        uow.session.add(AlertRule(code="low", name="低库存", kind="low_stock", created_at=NOW,
                                  updated_at=NOW))
        uow.session.add_all(AlertSubscription(user_id=u, channel="email", created_at=NOW)
                            for u in (network.user_id, li.user_id))
        site_id = uow.session.scalar(select(Location.id).where(Location.code == "S1"))
        uow.commit()
    fan(db, "alert.opened", {"id": 3, "rule": "low", "rule_name": "低库存", "severity": "warning",
                             "site": "S1", "site_id": site_id, "sku": "SKU-1",
                             "title": "Stock of {sku} at {site} is low",
                             "params": {"sku": "SKU-1", "site": "S1"}, "link": "/alerts/3"})
    assert outbound.send_due(db, settings, now=NOW) == 2
    by = {str(m["X-RcptTo"]): m for m in inbox.messages}
    assert sorted(by) == ["admin@example.com", "li@example.com"]
    assert subject(by["li@example.com"]) == "[Warning] New alert: Stock of SKU-1 at S1 is low"
    text = {to: parts(m)["text/plain"].splitlines() for to, m in by.items()}
    assert text["li@example.com"][:3] == ["Rule: 低库存", "Site: S1", "SKU: SKU-1"]
    assert subject(by["admin@example.com"]).startswith("【警告】新预警：")
    assert text["admin@example.com"][:3] == ["规则：低库存", "站点：S1", "SKU：SKU-1"]


def test_without_an_smtp_host_the_email_waits_logged_as_not_configured(db):
    with db.uow() as uow:
        deliveries.enqueue_email(uow.session, NOW, to=["cfo@example.com"], subject="周报", text="-",
                                 dedupe="report:1")
        uow.commit()
    assert outbound.send_due(db, Settings(smtp_host=""), now=NOW) == 1
    (entry,) = log(db)
    assert (entry["state"], entry["last_error"]) == ("pending", "SMTP is not configured")
