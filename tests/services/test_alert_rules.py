"""Alert rules as data (issue 8): a rule with a bad expression, an unknown role, site or channel,
or parameters its kind does not take is refused at save naming the field and the reason; saves
are based on the version read; the default rules cover every kind."""

from datetime import UTC, datetime

import pytest

from cangliu.core.alerts import KINDS
from cangliu.core.errors import Conflict, StaleVersion, ValidationFailed
from cangliu.db.models import Alert, AlertRule, Channel
from cangliu.services.alerts import rules

T0 = datetime(2026, 11, 23, 9, tzinfo=UTC)
GOOD = {"code": "s1-low", "name": "门店一低库存", "kind": "low_stock",
        "params": {"level": "reorder_point"}, "condition": "available < safety_stock",
        "severity": "warning", "roles": ["store_manager"], "sites": ["S1"],
        "channels": ["ops-robot"], "cooldown_minutes": 30}


@pytest.fixture
def channel(db, network):
    with db.uow() as uow:
        uow.session.add(Channel(code="ops-robot", name="运维群", kind="wecom", url="https://x",
                                created_at=T0, updated_at=T0))
        uow.commit()


BAD_RULES = [  # (change to a good rule, the field named, words of the reason)
    ({"condition": "available <"}, "condition", ""),
    ({"condition": "colour = 'red'"}, "condition", "unknown field colour"),
    ({"roles": ["store_manager", "janitor"]}, "roles", "unknown role janitor"),
    ({"sites": ["S9"]}, "sites", "unknown site S9"),
    ({"channels": ["nowhere"]}, "channels", "unknown channel nowhere"),
    ({"params": {"level": "max"}}, "params.level", "must be one of"),
    ({"params": {"days": 3}}, "params.days", "is not a parameter of low_stock"),
    ({"kind": "near_expiry", "params": {"days": 0}}, "params.days", "must be between 1 and 3650"),
    ({"kind": "off_hours", "params": {"start": "25:00"}}, "params.start", "must be a time"),
    ({"kind": "off_hours", "params": {"timezone": "Mars/Base"}}, "params.timezone", "unknown time zone"),
    ({"kind": "burglary"}, "kind", "must be one of"),
    ({"severity": "dire"}, "severity", "must be one of"),
    ({"cooldown_minutes": -1}, "cooldown_minutes", "must be between 0"),
    ({"responses": ["clearance"]}, "responses", "clearance does nothing for low_stock"),
    ({"responses": ["escalate"], "escalate_after_minutes": 60}, "escalate_to", "is required"),
    ({"escalate_to": "nobody", "escalate_after_minutes": 5}, "escalate_to", "unknown role nobody"),
    ({"code": "Bad Code!"}, "code", "lower-case"),
]


def test_a_bad_rule_is_refused_at_save_naming_the_field(db, network, channel):
    for change, field, reason in BAD_RULES:  # one database for the table: nothing is written
        with pytest.raises(ValidationFailed) as refused:
            rules.create_rule(db.uow(), network, {**GOOD, **change})
        errors = {e.field: e.message.format(**e.params) for e in refused.value.errors}
        assert field in errors, (change, errors)
        assert reason in errors[field], change
    with db.read() as s:
        assert s.query(AlertRule).count() == 0


def test_a_good_rule_is_saved_and_read_back_as_the_detectors_see_it(db, network, channel):
    saved = rules.create_rule(db.uow(), network, GOOD)
    assert (saved["roles"], saved["sites"], saved["version"]) == (["store_manager"], ["S1"], 1)
    with db.read() as s:
        rule = rules.as_rule(s, rules.row_of(s, "s1-low"))
    assert rule.params == {"level": "reorder_point"}
    assert rule.condition == "available < safety_stock"
    assert rule.site_ids is not None and len(rule.site_ids) == 1
    with pytest.raises(Conflict):
        rules.create_rule(db.uow(), network, GOOD)


def test_an_update_on_an_old_version_is_refused_and_overwrites_nothing(db, network, channel):
    rules.create_rule(db.uow(), network, GOOD)
    rules.update_rule(db.uow(), network, "s1-low", {"severity": "critical"}, version=1)
    with pytest.raises(StaleVersion):
        rules.update_rule(db.uow(), network, "s1-low", {"cooldown_minutes": 0}, version=1)
    with db.read() as s:
        assert rules.get_rule(s, "s1-low")["cooldown_minutes"] == 30
        assert rules.get_rule(s, "s1-low")["severity"] == "critical"
    assert rules.set_enabled(db.uow(), network, "s1-low", False, version=2)["enabled"] is False


def test_a_rule_that_raised_alerts_cannot_be_deleted_only_disabled(db, network, channel):
    rules.create_rule(db.uow(), network, GOOD)
    rules.create_rule(db.uow(), network, {**GOOD, "code": "spare"})
    with db.uow() as uow:
        row = rules.row_of(uow.session, "s1-low")
        uow.session.add(Alert(rule_id=row.id, key="k", severity="warning", title="t",
                              opened_at=T0, last_seen_at=T0))
        uow.commit()
    with pytest.raises(Conflict):
        rules.delete_rule(db.uow(), network, "s1-low")
    rules.delete_rule(db.uow(), network, "spare")
    with db.read() as s:
        assert [r["code"] for r in rules.list_rules(s)] == ["s1-low"]


def test_the_default_rules_cover_every_kind_once(db, network):
    assert rules.ensure_defaults(db.uow()) == len(KINDS)
    assert rules.ensure_defaults(db.uow()) == 0
    with db.read() as s:
        listed = rules.list_rules(s)
    assert sorted(r["kind"] for r in listed) == sorted(KINDS)
    low = next(r for r in listed if r["kind"] == "low_stock")
    assert low["roles"] == ["store_manager", "clerk"]
