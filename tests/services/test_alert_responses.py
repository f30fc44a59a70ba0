"""Automatic responses of alert rules on a small network: a replenishment suggestion made once,
a draft transfer from the site with the most to give (none when nobody can give), a lot tagged
for clearance once, and escalation after the rule's delay only, once, to the right people."""

import json
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import select

from cangliu.core.alerts import Finding
from cangliu.db.models import (
    Alert,
    AlertRule,
    AppUser,
    Location,
    Lot,
    Notification,
    OutboxEvent,
    PlanningSuggestion,
    Sku,
    TransferLine,
    TransferOrder,
)
from cangliu.services import auth, roles, stock, thresholds
from cangliu.services.alerts import responses
from cangliu.services.stock import Line
from tests.conftest import PASSWORD

NOW = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
LATER = date(2026, 12, 23)


def _levels(db, network, sku, site, ss, rop, top):
    thresholds.override(db.uow(), network, sku=sku, site=site, safety_stock=ss, reorder_point=rop,
                        max_stock=top, reason="test levels", expires_on=LATER)


@pytest.fixture
def short_store(db, network, meta):
    """S1 holds 2 of SKU-1 against SS 10, ROP 15, max 30; WH holds 100 above a floor of 20."""
    stock.receive(db.uow(), meta, site="WH", lines=[Line("SKU-1", "100", unit_cost="3")])
    stock.receive(db.uow(), meta, site="S1", lines=[Line("SKU-1", "2", unit_cost="3")])
    _levels(db, network, "SKU-1", "WH", "20", "20", "200")
    _levels(db, network, "SKU-1", "S1", "10", "15", "30")


def _id(s, model, code):
    return s.scalar(select(model.id).where(model.code == code))


def _open(db, kind, responses_, *, sku="SKU-1", site="S1", values=None, code="r1", **rule_kw):
    """Open an alert of a new rule and run its responses, as the alert module does; its id."""
    with db.uow() as uow:
        s = uow.session
        rule = AlertRule(code=code, name=f"Rule {code}", kind=kind, responses=responses_,
                         created_at=NOW, updated_at=NOW, **rule_kw)
        s.add(rule)
        s.flush()
        alert = Alert(rule_id=rule.id, key=f"{sku}@{site}", severity="warning", title="Low {sku}",
                      params=json.dumps({"sku": sku}), site_id=_id(s, Location, site),
                      sku_id=_id(s, Sku, sku), link="/stock", opened_at=NOW, last_seen_at=NOW)
        s.add(alert)
        s.flush()
        responses.on_opened(s, rule, alert, _finding(alert, values), NOW)
        uow.commit()
        return alert.id


def _finding(alert, values):
    return Finding(alert.key, alert.title, {}, alert.site_id, alert.sku_id, values=values or {})


def _again(db, alert_id, values=None):
    with db.uow() as uow:
        alert = uow.session.get_one(Alert, alert_id)
        rule = uow.session.get_one(AlertRule, alert.rule_id)
        responses.on_opened(uow.session, rule, alert, _finding(alert, values), NOW)
        uow.commit()


def _suggestions(db):
    with db.read() as s:
        return [(r.kind, r.rule, r.from_site_id and s.get_one(Location, r.from_site_id).code,
                 s.get_one(Location, r.to_site_id).code, r.qty)
                for r in s.scalars(select(PlanningSuggestion).order_by(PlanningSuggestion.id))]


def _note(db, alert_id):
    with db.read() as s:
        return s.get_one(Alert, alert_id).note


def _drafts(db):
    with db.read() as s:
        return [(s.get_one(Location, o.source_site_id).code, s.get_one(Location, o.dest_site_id).code,
                 o.state, ln.qty, o.created_by)
                for o, ln in s.execute(select(TransferOrder, TransferLine)
                                       .join(TransferLine, TransferLine.transfer_id == TransferOrder.id)
                                       .order_by(TransferOrder.id)).tuples()]


def test_a_suggestion_fills_the_site_up_to_its_max_once(db, short_store):
    alert_id = _open(db, "low_stock", "suggest")
    # Max 30 − 2 available: the central warehouse gives 28 of its 80 above safety stock.
    assert _suggestions(db) == [("transfer", "alert:r1", "WH", "S1", Decimal(28))]
    assert _note(db, alert_id).startswith("Suggestion: #")
    _again(db, alert_id)
    assert len(_suggestions(db)) == 1
    assert _note(db, alert_id).count("\n") == 0


def test_what_no_site_can_give_is_suggested_as_a_purchase(db, network, short_store):
    _levels(db, network, "SKU-1", "WH", "90", "90", "200")
    _open(db, "stock_out", "suggest")
    assert _suggestions(db) == [("transfer", "alert:r1", "WH", "S1", Decimal(10)),
                                ("purchase", "alert:r1", None, "S1", Decimal(18))]


def test_an_over_stocked_site_is_suggested_to_give_its_excess_to_the_site_lacking_most(
        db, network, meta, short_store):
    stock.receive(db.uow(), meta, site="S2", lines=[Line("SKU-1", "150", unit_cost="3")])
    _levels(db, network, "SKU-1", "S2", "5", "10", "40")
    _open(db, "over_stock", "suggest", site="S2")
    # S1 lacks 15 − 2 up to its reorder point; WH lacks nothing.
    assert _suggestions(db) == [("transfer", "alert:r1", "S2", "S1", Decimal(13))]


def test_a_draft_transfer_comes_from_the_site_with_most_to_give(db, network, meta, short_store):
    stock.receive(db.uow(), meta, site="S2", lines=[Line("SKU-1", "150", unit_cost="3")])
    _levels(db, network, "SKU-1", "S2", "5", "10", "40")  # 145 to give against WH's 80
    alert_id = _open(db, "low_stock", "draft_transfer suggest")
    # Up to the reorder point: 15 − 2; the suggestion then tops up to max what the draft leaves.
    assert _drafts(db) == [("S2", "S1", "draft", Decimal(13), "system")]
    assert _suggestions(db) == [("transfer", "alert:r1", "S2", "S1", Decimal(15))]
    _again(db, alert_id)
    assert len(_drafts(db)) == 1 and len(_suggestions(db)) == 1
    assert _note(db, alert_id).splitlines()[0].startswith("Draft transfer: TO-")


def test_no_transfer_is_drafted_when_no_site_can_give(db, network, short_store):
    _levels(db, network, "SKU-1", "WH", "100", "100", "200")
    alert_id = _open(db, "low_stock", "draft_transfer")
    assert _drafts(db) == []
    assert "no site has stock to give" in _note(db, alert_id)


def test_a_response_that_fails_is_noted_and_the_others_still_run(db, short_store):
    with db.uow() as uow:  # made inactive after the alert's rule saw it
        uow.session.scalars(select(Sku).where(Sku.code == "SKU-1")).one().active = False
        uow.commit()
    alert_id = _open(db, "low_stock", "draft_transfer suggest")
    assert _drafts(db) == []
    assert _suggestions(db) == [("transfer", "alert:r1", "WH", "S1", Decimal(28))]
    assert _note(db, alert_id).splitlines()[0] == "Draft transfer: failed: SKU SKU-1 is inactive"


def test_a_near_expiry_lot_is_tagged_for_clearance_once(db, meta):
    stock.receive(db.uow(), meta, site="S1", expiry_date=date(2026, 11, 28),
                  lines=[Line("SKU-LOT", "6", lot="L1", unit_cost="2")])
    first = _open(db, "near_expiry", "clearance", sku="SKU-LOT", values={"lot": "L1", "days_left": 5})
    with db.read() as s:
        lot = s.scalars(select(Lot).where(Lot.code == "L1")).one()
    assert lot.clearance_at == NOW and lot.clearance_note == "r1, 5 days left, at S1"
    assert _note(db, first) == "Clearance: lot L1 tagged (r1, 5 days left, at S1)"
    second = _open(db, "expired", "clearance", sku="SKU-LOT", values={"lot": "L1"}, code="r2")
    with db.read() as s:
        assert s.scalars(select(Lot.clearance_note).where(Lot.code == "L1")).one() == "r1, 5 days left, at S1"
    assert _note(db, second) == ""


@pytest.fixture
def managers(db, network):
    """Store managers of S1 and of S2, and the East region's manager."""
    for username, role, scope, region, sites in (("sm1", "store_manager", "sites", "", ["S1"]),
                                                 ("sm2", "store_manager", "sites", "", ["S2"]),
                                                 ("rm", "regional_manager", "region", "华东", [])):
        auth.create_user(db.uow(), username=username, password=PASSWORD)
        roles.set_assignments(db.uow(), network, username, [
            {"role": role, "scope": scope, "region": region, "sites": sites}])


def _escalate(db, at):
    with db.uow() as uow:
        count = responses.escalate_due(uow.session, at)
        uow.commit()
    return count


def test_an_unacknowledged_alert_escalates_after_the_delay_once_to_the_role_at_its_site(
        db, managers):
    alert_id = _open(db, "low_stock", "escalate", escalate_after_minutes=30,
                     escalate_to="store_manager")
    quiet = _open(db, "low_stock", "", code="r2", escalate_after_minutes=1,
                  escalate_to="store_manager")  # does not say "escalate"
    assert _escalate(db, NOW + timedelta(minutes=29)) == 0
    assert _escalate(db, NOW + timedelta(minutes=30)) == 1
    assert _escalate(db, NOW + timedelta(minutes=90)) == 0
    with db.read() as s:
        alert, other = s.get_one(Alert, alert_id), s.get_one(Alert, quiet)
        assert (alert.severity, alert.escalated_at) == ("critical", NOW + timedelta(minutes=30))
        assert (other.severity, other.escalated_at) == ("warning", None)
        told = s.scalars(select(AppUser.username).join(Notification, Notification.user_id == AppUser.id)
                         .where(Notification.kind == "alert_escalated")).all()
        (event,) = s.scalars(select(OutboxEvent.payload).where(OutboxEvent.kind == "alert.escalated"))
    assert told == ["sm1"]
    assert json.loads(event) | {"id": 0} == {
        "id": 0, "rule": "r1", "kind": "low_stock", "key": "SKU-1@S1", "severity": "critical",
        "state": "open", "title": "Low {sku}", "params": {"sku": "SKU-1"}, "site": "S1",
        "site_id": alert.site_id, "sku": "SKU-1", "link": "/stock", "channels": []}


def test_an_acknowledged_alert_does_not_escalate(db, managers):
    alert_id = _open(db, "low_stock", "escalate", escalate_after_minutes=30, escalate_to="store_manager")
    with db.uow() as uow:
        uow.session.get_one(Alert, alert_id).state = "acknowledged"
        uow.commit()
    assert _escalate(db, NOW + timedelta(hours=2)) == 0
