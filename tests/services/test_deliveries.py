"""Channels and the delivery queue: channels are checked at save, every dispatched event is
queued once per channel that must carry it (webhooks by kind, an alert rule's channels, e-mail
to subscribers), failures back off exponentially and die after the last attempt, and a dead
delivery can be sent again by hand."""

import json
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select, update

from cangliu.core.errors import Conflict, StaleVersion, ValidationFailed
from cangliu.db.models import AlertRule, AlertSubscription, AppUser, Delivery, Location, OutboxEvent
from cangliu.services import auth, deliveries, roles
from cangliu.services.events import Event
from tests.conftest import PASSWORD

T0 = datetime(2026, 11, 24, 8, 0, tzinfo=UTC)
HOOK = {"code": "erp", "name": "ERP", "kind": "webhook", "url": "https://erp.example.com/hook",
        "events": ["stock.changed", "alert.*"]}


def fields_of(exc: ValidationFailed) -> set[str]:
    return {e.field for e in exc.errors}


def fan(db, kind: str, payload: dict, now: datetime = T0) -> int:  # type: ignore[no-untyped-def]
    """An event as the dispatcher hands it over: written to the outbox, then fanned out."""
    with db.uow() as uow:
        row = OutboxEvent(at=now, kind=kind, payload=json.dumps(payload), attempts=0, error="")
        uow.session.add(row)
        uow.session.flush()
        deliveries.on_event(uow.session, Event(row.id, now, kind, payload), now)
        uow.commit()
        return row.id


def queued(db) -> list[tuple[str, str, str]]:  # type: ignore[no-untyped-def]
    with db.read() as session:
        return sorted((i["channel"], i["kind"], i["state"])
                      for i in deliveries.list_deliveries(session)["items"])


def test_a_channel_with_a_bad_url_kind_address_or_event_is_refused_naming_each_field(db, admin):
    bad = [({"url": "ftp://erp.example.com/x"}, "url"), ({"url": "https:///nohost"}, "url"),
           ({"url": ""}, "url"), ({"code": "no spaces"}, "code"), ({"kind": "fax"}, "kind"),
           ({"events": ["stock.moved"]}, "events")]
    for change, field in bad:
        with pytest.raises(ValidationFailed) as refused:
            deliveries.create_channel(db.uow(), admin, HOOK | change)
        assert field in fields_of(refused.value), change
    with pytest.raises(ValidationFailed) as refused:
        deliveries.create_channel(db.uow(), admin, {"code": "ops", "name": "Ops", "kind": "email",
                                                    "recipients": "ops@example.com not-an-address"})
    assert fields_of(refused.value) == {"recipients"}


def test_a_webhook_with_no_event_kinds_hears_only_the_alert_rules_naming_it(db, admin):
    deliveries.create_channel(db.uow(), admin, HOOK | {"events": []})
    fan(db, "stock.changed", {"lines": [], "postings": []})
    fan(db, "alert.opened", {"id": 1, "rule": "low_stock", "channels": ["erp"]})
    assert queued(db) == [("erp", "alert.opened", "pending")]


def test_a_webhook_gets_a_secret_that_lists_show_only_masked(db, admin):
    made = deliveries.create_channel(db.uow(), admin, HOOK)
    assert len(made["secret"]) > 20
    with db.read() as session:
        listed = deliveries.list_channels(session)[0]
        shown = deliveries.get_channel(session, "erp")
    assert made["secret"] not in json.dumps([listed, shown], default=str)
    assert listed["secret"].endswith(made["secret"][-4:]) and listed["has_secret"]
    robot = deliveries.create_channel(db.uow(), admin, {
        "code": "wx", "name": "群", "kind": "wecom",
        "url": "https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=abcdef"})
    with db.read() as session:
        assert "abcdef" not in str(deliveries.list_channels(session))
    changed = deliveries.update_channel(db.uow(), admin, "wx", {"name": "门店群"},
                                        version=robot["version"])
    assert changed["url"].endswith("key=abcdef") and changed["version"] == 2
    with pytest.raises(StaleVersion):
        deliveries.update_channel(db.uow(), admin, "wx", {"name": "x"}, version=1)
    with pytest.raises(ValidationFailed):
        deliveries.create_channel(db.uow(), admin, HOOK)  # the code is taken


def test_an_event_is_queued_once_for_each_webhook_that_hears_its_kind(db, admin):
    deliveries.create_channel(db.uow(), admin, HOOK)
    deliveries.create_channel(db.uow(), admin, HOOK | {"code": "all", "events": "*"})
    deliveries.create_channel(db.uow(), admin, HOOK | {"code": "off", "events": "*",
                                                       "active": False})
    event_id = fan(db, "stock.changed", {"lines": []})
    fan(db, "record.changed", {"entity": "sku", "key": "A", "action": "update"})
    assert queued(db) == [("all", "record.changed", "pending"), ("all", "stock.changed", "pending"),
                          ("erp", "stock.changed", "pending")]
    with db.uow() as uow:  # the dispatcher took it again after a crash
        deliveries.on_event(uow.session, Event(event_id, T0, "stock.changed", {}), T0)
        uow.commit()
    assert len(queued(db)) == 3


def test_an_alert_goes_to_its_rules_channels_and_by_email_to_subscribers_in_scope(db, network):
    deliveries.create_channel(db.uow(), network, {"code": "wx", "name": "群", "kind": "wecom",
                                                  "url": "https://qyapi.weixin.qq.com/x?key=k"})
    deliveries.create_channel(db.uow(), network, HOOK)
    for name, region_site in (("east", "S1"), ("south", "S2"), ("far", "S2")):
        auth.create_user(db.uow(), username=name, password=PASSWORD)
        roles.set_assignments(db.uow(), network, name, [{"role": "store_manager",
                                                         "scope": "sites", "sites": [region_site]}])
    with db.uow() as uow:
        s = uow.session
        s.execute(update(AppUser).values(email=AppUser.username + "@example.com"))
        s.execute(update(AppUser).where(AppUser.username == "far").values(email=""))
        s.add(AlertRule(code="low", name="低库存", kind="low_stock", created_at=T0, updated_at=T0,
                        channels="wx erp"))
        s.flush()
        rule_id = s.scalar(select(AlertRule.id).where(AlertRule.code == "low"))
        s.add(AlertSubscription(role="store_manager", rule_id=rule_id, channel="email",
                                created_at=T0))
        s.add(AlertSubscription(user_id=network.user_id, channel="email", created_at=T0))
        # south sees S2 only: its subscription to every rule brings it nothing of S1
        south = s.scalar(select(AppUser.id).where(AppUser.username == "south"))
        s.add(AlertSubscription(user_id=south, channel="email", created_at=T0))
        site_id = s.scalar(select(Location.id).where(Location.code == "S1"))
        uow.commit()
    fan(db, "alert.opened", {"id": 999, "rule": "low", "severity": "warning", "site": "S1",
                             "site_id": site_id, "channels": ["wx", "erp", "gone"]})
    assert queued(db) == [("_email", "alert.opened", "pending"), ("erp", "alert.opened", "pending"),
                          ("wx", "alert.opened", "pending")]
    with db.read() as session:
        mail = deliveries.list_deliveries(session, channel="_email")["items"][0]
    assert mail["payload"]["to"] == ["admin@example.com", "east@example.com"]


def test_enqueue_email_queues_each_dedupe_once(db):
    with db.uow() as uow:
        first = deliveries.enqueue_email(uow.session, T0, to=["a@example.com"], subject="周报",
                                         text="见附件", dedupe="report:weekly:2026-W48")
        again = deliveries.enqueue_email(uow.session, T0, to=["a@example.com"], subject="周报",
                                         text="见附件", dedupe="report:weekly:2026-W48")
        uow.commit()
    assert first is not None and again is None


def test_failures_back_off_exponentially_then_die_and_a_redelivery_starts_afresh(db, admin):
    deliveries.create_channel(db.uow(), admin, HOOK)
    fan(db, "stock.changed", {"lines": []})
    now, waits = T0, []
    for _ in range(deliveries.MAX_ATTEMPTS):
        with db.uow() as uow:
            assert deliveries.claim_due(uow.session, now - timedelta(seconds=1), 10) == []
            (row,) = deliveries.claim_due(uow.session, now, 10)
            assert deliveries.claim_due(uow.session, now, 10) == []  # leased while it is sent
            deliveries.record_result(uow.session, row, now, ok=False, status=500, error="HTTP 500")
            waits.append(row.next_at - now)
            now, state = row.next_at, row.state
            uow.commit()
    assert waits[:7] == [timedelta(seconds=30 * 2**i) for i in range(7)] and state == "dead"
    assert deliveries.backoff(12) == timedelta(hours=1)  # capped
    with db.read() as session:
        dead = deliveries.list_deliveries(session, state="dead")["items"]
    assert [(d["attempts"], d["last_status"]) for d in dead] == [(8, 500)]
    again = deliveries.redeliver(db.uow(clock=lambda: now), admin, dead[0]["id"])
    assert (again["state"], again["attempts"], "admin" in again["last_error"]) == ("pending", 0, True)
    with pytest.raises(Conflict):
        deliveries.redeliver(db.uow(), admin, dead[0]["id"])


def test_the_log_pages_by_cursor_and_filters(db, admin):
    deliveries.create_channel(db.uow(), admin, HOOK)
    for _ in range(3):
        fan(db, "stock.changed", {"lines": []})
    with db.read() as session:
        first = deliveries.list_deliveries(session, limit=2)
        rest = deliveries.list_deliveries(session, limit=2, cursor=first["next_cursor"])
        assert deliveries.list_deliveries(session, kind="alert.opened")["items"] == []
        with pytest.raises(ValidationFailed):
            deliveries.list_deliveries(session, state="lost")
    assert len(first["items"]) == 2 and len(rest["items"]) == 1 and rest["next_cursor"] is None


def test_a_channel_named_by_an_alert_rule_cannot_be_deleted(db, admin):
    deliveries.create_channel(db.uow(), admin, HOOK)
    fan(db, "stock.changed", {"lines": []})
    with db.uow() as uow:
        uow.session.add(AlertRule(code="low", name="低库存", kind="low_stock", created_at=T0,
                                  updated_at=T0, channels="erp"))
        uow.commit()
    with pytest.raises(Conflict):
        deliveries.delete_channel(db.uow(), admin, "erp")
    with db.uow() as uow:
        uow.session.execute(update(AlertRule).values(channels=""))
        uow.commit()
    deliveries.delete_channel(db.uow(), admin, "erp")
    with db.read() as session:
        assert session.scalar(select(Delivery.id)) is None and deliveries.list_channels(session) == []
