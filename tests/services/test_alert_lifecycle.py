"""An alert's life (issue 8): one open alert per rule and key however often it is found, the
rule's cooldown after it resolved, auto-resolve when its key was examined and found no more,
acknowledge and resolve by hand with who and when, only within the user's scope; the store
manager of the site is told in the app, another store's manager is not; each change is in the
outbox. The detector is a stand-in here: the real ones have their own tests."""

import json
from datetime import UTC, datetime, timedelta
from functools import partial
from typing import Any

import pytest
from sqlalchemy import select

from cangliu.core.alerts import Check, Finding
from cangliu.core.errors import Conflict, NotFound, StaleVersion
from cangliu.db import outbox
from cangliu.db.models import Alert, AlertSubscription, AppUser, Location, Notification, OutboxEvent, Sku
from cangliu.services import alerts, auth, events, masterdata, roles, sales, stock, thresholds
from cangliu.services.alerts import lifecycle, queries, rules
from cangliu.services.alerts.lifecycle import NotPermitted
from cangliu.services.postings import Meta
from cangliu.services.sales import SalesLineIn
from cangliu.services.stock import Line
from tests.conftest import PASSWORD

T0 = datetime(2026, 11, 23, 9, tzinfo=UTC)
PEOPLE = (("sm1", "store_manager", "sites", "", ("S1",)),
          ("sm2", "store_manager", "sites", "", ("S2",)),
          ("rm_south", "regional_manager", "region", "华南", ()),
          ("buyer", "purchaser", "all", "", ()))


@pytest.fixture
def people(db, network):
    out = {}
    for username, role, scope, region, sites in PEOPLE:
        user = auth.create_user(db.uow(), username=username, password=PASSWORD)
        roles.set_assignments(db.uow(), network, username, [
            {"role": role, "scope": scope, "region": region, "sites": list(sites)}])
        with db.read() as s:
            out[username] = roles.actor_of(s, s.get_one(AppUser, user.user_id))
    rules.create_rule(db.uow(), network, {"code": "low", "name": "低库存", "kind": "low_stock",
                                          "roles": ["store_manager"], "cooldown_minutes": 60})
    return out


def _finding(db, site: str = "S1", sku: str = "SKU-1") -> Finding:
    with db.read() as s:
        site_id = s.scalar(select(Location.id).where(Location.code == site))
        sku_id = s.scalar(select(Sku.id).where(Sku.code == sku))
    return Finding(key=f"{sku}@{site}", title="Low stock: {sku} at {site}",
                   params={"sku": sku, "site": site}, site_id=site_id, sku_id=sku_id,
                   values={"available": 2, "safety_stock": 5})


def _apply(db, check: Check, at: datetime = T0, code: str = "low") -> lifecycle.Counts:
    with db.uow() as uow:
        counts = lifecycle.apply(uow.session, rules.row_of(uow.session, code), check, at,
                                 respond=lambda *a: None)
        uow.commit()
    return counts


def _alerts(db) -> list[Alert]:
    with db.read() as s:
        return list(s.scalars(select(Alert).order_by(Alert.id)))


def _told(db, username: str) -> list[str]:
    with db.read() as s:
        return list(s.scalars(select(Notification.link).join(
            AppUser, AppUser.id == Notification.user_id).where(AppUser.username == username)))


def _events(db, kind: str) -> list[dict[str, Any]]:
    with db.read() as s:
        return [json.loads(p) for p in s.scalars(select(OutboxEvent.payload).where(
            OutboxEvent.kind == kind).order_by(OutboxEvent.id))]


def test_the_same_finding_twice_is_one_alert_seen_twice_told_once(db, people):
    finding = _finding(db)
    assert _apply(db, Check([finding], frozenset({finding.key}))).opened == 1
    assert _apply(db, Check([finding], frozenset({finding.key})), T0 + timedelta(minutes=5)).refreshed == 1
    [alert] = _alerts(db)
    assert (alert.state, alert.seen_count, alert.last_seen_at) == ("open", 2, T0 + timedelta(minutes=5))
    assert _told(db, "sm1") == [f"/alerts/{alert.id}"]
    assert _told(db, "sm2") == [] and _told(db, "rm_south") == []
    [opened] = _events(db, "alert.opened")
    assert opened | {"params": None} == {
        "id": alert.id, "rule": "low", "rule_name": "低库存", "kind": "low_stock",
        "key": "SKU-1@S1", "severity": "warning", "state": "open",
        "title": "Low stock: {sku} at {site}", "params": None, "site": "S1",
        "site_id": alert.site_id, "sku": "SKU-1", "link": f"/alerts/{alert.id}", "channels": [],
        "opened_at": T0.isoformat(), "resolved_at": None}


def test_an_alert_resolves_itself_only_when_its_key_was_examined_and_not_found(db, people):
    s1, s2 = _finding(db), _finding(db, "S2")
    _apply(db, Check([s1, s2]))
    _apply(db, Check([], frozenset({s2.key})), T0 + timedelta(minutes=1))
    first, second = _alerts(db)
    assert first.state == "open"
    assert (second.state, second.resolution, second.resolved_by) == ("resolved", "cleared", "system")
    assert second.resolved_at == T0 + timedelta(minutes=1)
    assert [e["key"] for e in _events(db, "alert.resolved")] == ["SKU-1@S2"]
    _apply(db, Check([]), T0 + timedelta(minutes=2))  # everything examined, nothing found
    assert [a.state for a in _alerts(db)] == ["resolved", "resolved"]


def test_a_rule_without_auto_resolve_keeps_its_alert_open(db, people, network):
    rules.update_rule(db.uow(), network, "low", {"auto_resolve": False}, version=1)
    _apply(db, Check([_finding(db)]))
    _apply(db, Check([]), T0 + timedelta(minutes=1))
    assert [a.state for a in _alerts(db)] == ["open"]


def test_a_key_found_again_within_the_cooldown_opens_nothing_until_it_has_passed(db, people):
    finding = _finding(db)
    _apply(db, Check([finding]))
    _apply(db, Check([]), T0 + timedelta(minutes=10))
    assert _apply(db, Check([finding]), T0 + timedelta(minutes=69)).held_back == 1
    assert len(_alerts(db)) == 1
    assert _apply(db, Check([finding]), T0 + timedelta(minutes=71)).opened == 1
    assert [a.state for a in _alerts(db)] == ["resolved", "open"]
    assert len(_told(db, "sm1")) == 2


def test_acknowledge_then_resolve_record_who_and_when(db, people):
    _apply(db, Check([_finding(db)]))
    [alert] = _alerts(db)
    sm1, later = people["sm1"], T0 + timedelta(minutes=3)
    acked = lifecycle.acknowledge(db.uow(clock=lambda: later), sm1, alert.id, "补货中", version=1)
    assert (acked["state"], acked["acknowledged_by"], acked["acknowledged_at"]) == (
        "acknowledged", "sm1", later)
    with pytest.raises(StaleVersion):
        lifecycle.resolve(db.uow(), sm1, alert.id, version=1)
    with pytest.raises(Conflict):
        lifecycle.acknowledge(db.uow(), sm1, alert.id)
    done = lifecycle.resolve(db.uow(clock=lambda: later), sm1, alert.id, "已到货", version=2)
    assert (done["state"], done["resolved_by"], done["resolution"]) == ("resolved", "sm1", "manual")
    assert done["note"] == "sm1: 补货中\nsm1: 已到货"
    assert [e["state"] for e in _events(db, "alert.acknowledged")] == ["acknowledged"]
    assert [e["resolved_at"] for e in _events(db, "alert.resolved")] == [later.isoformat()]


def test_a_manager_of_another_region_neither_sees_nor_acknowledges_the_alert(db, people):
    _apply(db, Check([_finding(db)]))
    [alert] = _alerts(db)
    for who in ("sm2", "rm_south"):
        with db.read() as s:
            assert queries.list_alerts(s, people[who]) == ([], None)
            assert queries.open_count(s, people[who]) == 0
            with pytest.raises(NotFound):
                queries.get_alert(s, people[who], alert.id)
        with pytest.raises(NotFound):
            lifecycle.acknowledge(db.uow(), people[who], alert.id)
    with pytest.raises(NotPermitted):  # a purchaser sees every alert but may not act on one
        lifecycle.acknowledge(db.uow(), people["buyer"], alert.id)
    with db.read() as s:
        assert queries.open_count(s, people["sm1"]) == 1
        assert [i["id"] for i in queries.list_alerts(s, people["sm1"], q="sku-1")[0]] == [alert.id]
        assert queries.list_alerts(s, people["sm1"], state="resolved")[0] == []


def test_in_app_subscribers_are_told_only_of_what_they_may_see(db, people, network):
    with db.uow() as uow:
        ids = {u.username: u.id for u in uow.session.scalars(select(AppUser))}
        uow.session.add_all([
            AlertSubscription(user_id=ids["buyer"], channel="in_app", created_at=T0),
            AlertSubscription(role="regional_manager", channel="in_app", created_at=T0),
            AlertSubscription(user_id=ids["admin"], channel="email", created_at=T0)])
        uow.commit()
    _apply(db, Check([_finding(db, "S2")]))
    assert len(_told(db, "buyer")) == 1 and len(_told(db, "rm_south")) == 1
    assert len(_told(db, "sm2")) == 1 and _told(db, "sm1") == [] and _told(db, "admin") == []


def test_a_second_opening_of_the_same_key_by_a_racing_transaction_refreshes_it(db, people,
                                                                                monkeypatch):
    finding = _finding(db)
    _apply(db, Check([finding]))
    real = lifecycle._open_alerts
    monkeypatch.setattr(lifecycle, "_open_alerts", lambda s, rule_id, keys: (
        monkeypatch.setattr(lifecycle, "_open_alerts", real) or {}))  # blind once, as in a race
    assert _apply(db, Check([finding]), T0 + timedelta(minutes=1)).refreshed == 1
    [alert] = _alerts(db)
    assert alert.seen_count == 2 and len(_events(db, "alert.opened")) == 1


def test_events_evaluate_the_stock_rules_and_a_failing_rule_spoils_no_other(db, people, network):
    rules.create_rule(db.uow(), network, {"code": "broken", "name": "坏", "kind": "stock_out"})
    rules.create_rule(db.uow(), network, {"code": "late", "name": "迟", "kind": "transfer_overdue"})
    seen: list[str] = []
    finding = _finding(db)

    def detector(session, rule, now, *, event):
        seen.append(rule.code)
        if rule.code == "broken":  # fails after writing an event, which must not be kept
            outbox.emit(session, "alert.opened", {"bogus": True})
            raise RuntimeError("boom")
        return Check([finding], frozenset({finding.key}))

    with db.uow() as uow:
        outbox.emit(uow.session, "stock.changed", {"lines": [], "postings": []})
        uow.commit()
    consumer = partial(alerts.on_event, detector=detector, respond=lambda *a: None)
    events.dispatch(db.uow(clock=lambda: T0), to=[("alerts", consumer)])
    assert sorted(seen) == ["broken", "low"]  # transfer_overdue waits for the scan
    assert [a.key for a in _alerts(db)] == ["SKU-1@S1"]
    assert [e.get("rule") for e in _events(db, "alert.opened")] == ["low"]


def test_a_scan_evaluates_every_rule_but_posting_ones_then_escalates(db, people, network):
    rules.create_rule(db.uow(), network, {"code": "odd", "name": "夜间", "kind": "off_hours"})
    seen: list[tuple[str, Any]] = []

    def detector(session, rule, now, *, event):
        seen.append((rule.code, event))
        return Check([_finding(db)]) if rule.code == "low" else None

    result = alerts.scan(db.uow(clock=lambda: T0), detector=detector, respond=lambda *a: None,
                         escalate=lambda session, now: 7)
    assert seen == [("low", None)]
    assert result == {"rules": 1, "opened": 1, "refreshed": 0, "resolved": 0, "held_back": 0,
                      "escalated": 7, "failed": []}


def test_a_sale_taking_a_store_below_safety_stock_tells_its_manager(db, people, network):
    """The whole path with the real detectors and responses: sale → stock.changed → dispatch →
    low_stock alert → the store manager's inbox, and the alert's event for the channels. How
    fast is bench/events.py's to measure (``sale_to_alert``), not a test's: a timed assertion
    here failed CI when the machine was busy with other tests."""
    meta = Meta(network, reason="test")
    stock.receive(db.uow(), meta, site="S1", lines=[Line("SKU-1", "10", unit_cost="2")])
    thresholds.override(db.uow(), network, sku="SKU-1", site="S1", safety_stock="8",
                        reorder_point="9", max_stock="30", reason="test",
                        expires_on=datetime.now(UTC).date() + timedelta(days=30))
    masterdata.create(db.uow(), network, "customer", {"code": "C1", "name": "客户一"})
    rules.ensure_defaults(db.uow())
    rules.set_enabled(db.uow(), network, "low", False)  # the default low_stock rule does it
    events.dispatch_all(db)
    assert _told(db, "sm1") == []
    so = sales.create_sale(db.uow(), meta, customer="C1", site="S1",
                           lines=[SalesLineIn("SKU-1", "3", "5")])
    sales.confirm_sale(db.uow(), meta, number=so["number"])
    sales.ship_sale(db.uow(), meta, number=so["number"])
    events.dispatch_all(db)
    with db.read() as s:
        low = rules.row_of(s, "low_stock").id
    [alert] = [a for a in _alerts(db) if a.rule_id == low]
    assert (alert.key, alert.state, json.loads(alert.params)["site"]) == ("SKU-1@S1", "open", "S1")
    assert _told(db, "sm1") == [f"/alerts/{alert.id}"] and _told(db, "sm2") == []
    assert [e["key"] for e in _events(db, "alert.opened") if e["rule"] == "low_stock"] == [
        "SKU-1@S1"]
