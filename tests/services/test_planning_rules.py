"""Transfer rules stored as data: the built-ins until a rule is saved, every save checked (the
language, the functions, a never-positive quantity, a cycle of sources), versions kept and
restorable, built-ins disabled or reset but never deleted, and a preview of what a rule proposes."""

from datetime import UTC, date, datetime
from typing import Any

import polars as pl
import pytest
from sqlalchemy import select

from cangliu.core.errors import Conflict, NotFound, StaleVersion, ValidationFailed
from cangliu.core.planning.rule_builtins import BUILTIN_RULES, builtin_rules
from cangliu.core.planning.rules import STATE_COLUMNS, rule_from_yaml
from cangliu.db.models import AuditEvent, TransferRule
from cangliu.services import planning, planning_rules
from cangliu.services.planning_rules import checks

TODAY = date(2026, 11, 23)
EAST = """\
name: east_to_west
kind: replenish
priority: 50
target: "region = 'west' AND available < max_stock"
source: "region = 'east'"
quantity: "max_stock - available"
"""
WEST = EAST.replace("east_to_west", "west_to_east").replace("'west'", "'@'").replace(
    "'east'", "'west'").replace("'@'", "'east'")


def state(*rows: dict[str, Any]) -> pl.DataFrame:
    """A planning state: every whitelisted column, zero or empty unless the row says otherwise."""
    blank = {name: 0.0 if kind == "number" else "" for name, (kind, _) in STATE_COLUMNS.items()}
    schema = {name: pl.Float64 if kind == "number" else pl.Utf8 for name, (kind, _) in STATE_COLUMNS.items()}
    return pl.DataFrame([blank | row for row in rows], schema=schema)


# Sites E (east) and W (west) are both below max with stock above safety stock to give: each rule
# moves A one way.
LOW_AND_FULL = state(
    {"sku": "A", "site": "E", "region": "east", "available": 50.0, "safety_stock": 20.0, "max_stock": 80.0},
    {"sku": "A", "site": "W", "region": "west", "available": 50.0, "safety_stock": 20.0, "max_stock": 80.0},
    {"sku": "A", "site": "E2", "region": "east", "available": 500.0, "safety_stock": 10.0},
    {"sku": "A", "site": "W2", "region": "west", "available": 500.0, "safety_stock": 10.0})


@pytest.fixture
def uow(db):
    return lambda: db.uow(clock=lambda: datetime(2026, 11, 23, 9, tzinfo=UTC))


@pytest.fixture
def fixed_state(monkeypatch):
    """The state the cycle check sees (the planning run's own is tested with it)."""
    holder = {"frame": LOW_AND_FULL}
    monkeypatch.setattr(checks, "_state", lambda session, today: holder["frame"])
    return holder


def errors(caught: pytest.ExceptionInfo[ValidationFailed]) -> list[tuple[str, str, dict[str, str]]]:
    return [(e.field, e.message, e.params) for e in caught.value.errors]


def test_a_fresh_database_plans_with_the_built_in_rules(db):
    with db.read() as s:
        assert planning_rules.active_rules(s) == builtin_rules()
        listed = planning_rules.list_rules(s)
    assert [r["name"] for r in listed] == list(BUILTIN_RULES)
    assert all(r["builtin"] and r["version"] == 1 for r in listed)


def test_seeding_stores_the_built_ins_once(db, uow):
    assert planning_rules.seed_builtins(uow()) == 4
    assert planning_rules.seed_builtins(uow()) == 0
    with db.read() as s:
        rows = s.scalars(select(TransferRule).order_by(TransferRule.priority)).all()
        assert [(r.name, r.builtin, r.version) for r in rows] == [(n, True, 1) for n in BUILTIN_RULES]
        assert planning_rules.active_rules(s) == builtin_rules()


def test_a_saved_rule_joins_the_built_ins_and_is_audited(db, uow, network):
    saved = planning_rules.create_rule(uow(), network, EAST)
    assert (saved["name"], saved["version"], saved["priority"], saved["enabled"]) == (
        "east_to_west", 1, 50, True)
    with db.read() as s:
        names = [r.name for r in planning_rules.active_rules(s)]
        audited = s.scalars(select(AuditEvent.entity).where(AuditEvent.entity == "transfer_rule")).all()
    assert names == [*BUILTIN_RULES, "east_to_west"]  # by priority: 10, 20, 30, 40, then 50
    assert len(audited) == 5  # four built-ins seeded, one created


@pytest.mark.parametrize(("text", "field", "message"), [
    (EAST.replace("available < max_stock", "stock < 1"), "target", "unknown field {name}"),
    (EAST.replace("max_stock - available", "-5"), "quantity", "must not be negative"),
    (EAST.replace("max_stock - available", "-available"), "quantity",
     "must not be negative: it is below zero for every stock level"),
    (EAST.replace("max_stock - available", "EXP(max_stock) - available"), "quantity",
     "unknown function {name}"),
    (EAST.replace("east_to_west", "new"), "name", "is reserved: {name}"),
    (EAST.replace("east_to_west", "a/b"), "name", "must be at most 60 letters, digits, '_', '.' or '-'"),
    ("name: [", "yaml", "is not valid YAML: {reason}"),
])
def test_a_bad_rule_is_refused_with_the_field_and_reason_and_nothing_is_stored(
        db, uow, network, text, field, message):
    with pytest.raises(ValidationFailed) as caught:
        planning_rules.create_rule(uow(), network, text)
    assert [(f, m) for f, m, _ in errors(caught)] == [(field, message)]
    with db.read() as s:
        assert s.scalar(select(TransferRule.id).limit(1)) is None


def test_the_built_in_rules_pass_every_check_at_save():
    assert tuple(planning_rules.check_rule(text) for text in BUILTIN_RULES.values()) == builtin_rules()


def test_functions_in_quoted_text_and_allowed_functions_pass():
    text = EAST.replace("region = 'west'", "region = 'f(x)' OR LOWER(region) = 'west'").replace(
        "max_stock - available", "GREATEST(max_stock - available, 0)")
    rule = planning_rules.check_rule(text)
    assert rule.name == "east_to_west"


def test_a_duplicate_name_is_refused_naming_name(uow, network):
    planning_rules.create_rule(uow(), network, EAST)
    with pytest.raises(ValidationFailed) as caught:
        planning_rules.create_rule(uow(), network, EAST.replace("priority: 50", "priority: 5"))
    assert errors(caught) == [("name", "duplicate rule name {name}", {"name": "east_to_west"})]
    with pytest.raises(ValidationFailed) as caught:
        planning_rules.create_rule(uow(), network, BUILTIN_RULES["regional_balancing"])
    assert errors(caught)[0][0] == "name"


def test_a_rule_closing_a_cycle_of_sources_is_refused_with_the_rules_and_sites(db, uow, network, fixed_state):
    for name in BUILTIN_RULES:  # the built-ins would balance E and W too: out of the way
        planning_rules.set_enabled(uow(), network, name, False)
    planning_rules.create_rule(uow(), network, EAST)
    with pytest.raises(ValidationFailed) as caught:
        planning_rules.create_rule(uow(), network, WEST)
    [(field, message, params)] = errors(caught)
    assert (field, message) == ("source", "would move {sku} round a cycle of sites: {sites} (rules: {rules})")
    assert params["sku"] == "A" and set(params["rules"].split(", ")) == {"east_to_west", "west_to_east"}
    sites = params["sites"].split(" → ")
    assert sites[0] == sites[-1] and {"E", "W"} & set(sites)
    # Saved disabled it moves nothing; enabling it is checked again and refused.
    disabled = planning_rules.create_rule(uow(), network, WEST + "enabled: false\n")
    with pytest.raises(ValidationFailed):
        planning_rules.set_enabled(uow(), network, "west_to_east", True)
    with db.read() as s:
        assert planning_rules.get_rule(s, "west_to_east")["version"] == disabled["version"]
    # On a state where nothing needs stock in the west, there is no cycle.
    fixed_state["frame"] = LOW_AND_FULL.filter(pl.col("region") == "east")
    assert planning_rules.set_enabled(uow(), network, "west_to_east", True)["enabled"] is True


def test_saving_on_the_real_planning_state_works(uow, network):
    assert planning_rules.create_rule(uow(), network, EAST)["version"] == 1


def test_an_edit_needs_the_version_in_force_and_keeps_history_for_restore(db, uow, network):
    planning_rules.create_rule(uow(), network, EAST)
    edited = planning_rules.update_rule(uow(), network, "east_to_west",
                                        EAST.replace("priority: 50", "priority: 7"), version=1)
    assert (edited["version"], edited["priority"]) == (2, 7)
    with pytest.raises(StaleVersion) as stale:
        planning_rules.update_rule(uow(), network, "east_to_west", EAST, version=1)
    assert stale.value.current_version == 2 and stale.value.saved_by == network.username
    with pytest.raises(ValidationFailed) as renamed:
        planning_rules.update_rule(uow(), network, "east_to_west", EAST.replace("east_to_west", "other"),
                                   version=2)
    assert errors(renamed)[0][0] == "name"
    restored = planning_rules.restore_rule(uow(), network, "east_to_west", 1, version=2)
    assert (restored["version"], restored["priority"]) == (3, 50)
    with db.read() as s:
        history = planning_rules.rule_versions(s, "east_to_west")
        assert [(h["version"], h["action"]) for h in history] == [
            (3, "restore"), (2, "update"), (1, "create")]
        assert planning_rules.version_text(s, "east_to_west", 2) == EAST.replace(
            "priority: 50", "priority: 7")


def test_disabling_keeps_the_rest_of_the_yaml_as_written(db, uow, network):
    planning_rules.create_rule(uow(), network, "# east feeds west\n" + EAST)
    planning_rules.set_enabled(uow(), network, "east_to_west", False)
    with db.read() as s:
        rule = planning_rules.get_rule(s, "east_to_west")
        stored = [r for r in planning_rules.active_rules(s) if r.name == "east_to_west"]
    assert rule["enabled"] is False and rule["yaml"].startswith("# east feeds west\n")
    assert stored[0].enabled is False
    planning_rules.set_enabled(uow(), network, "east_to_west", True)
    with db.read() as s:
        assert planning_rules.get_rule(s, "east_to_west")["yaml"].count("enabled:") == 1


def test_a_built_in_rule_is_disabled_or_reset_never_deleted(db, uow, network):
    planning_rules.set_enabled(uow(), network, "regional_balancing", False)
    planning_rules.update_rule(uow(), network, "store_replenishment",
                               BUILTIN_RULES["store_replenishment"].replace("priority: 10", "priority: 11"),
                               version=1)
    with pytest.raises(Conflict):
        planning_rules.delete_rule(uow(), network, "regional_balancing")
    reset = planning_rules.reset_builtin(uow(), network, "store_replenishment")
    assert (reset["priority"], reset["version"]) == (10, 3)
    with db.read() as s:
        rules = {r.name: r for r in planning_rules.active_rules(s)}
    assert rules["regional_balancing"].enabled is False
    assert rules["store_replenishment"] == rule_from_yaml(BUILTIN_RULES["store_replenishment"])
    planning_rules.create_rule(uow(), network, EAST)
    with pytest.raises(Conflict):
        planning_rules.reset_builtin(uow(), network, "east_to_west")


def test_a_deleted_rule_is_gone_its_history_stays_and_its_name_may_be_reused(db, uow, network):
    planning_rules.create_rule(uow(), network, EAST)
    planning_rules.delete_rule(uow(), network, "east_to_west", version=1)
    with db.read() as s:
        with pytest.raises(NotFound):
            planning_rules.get_rule(s, "east_to_west")
        assert "east_to_west" not in {r.name for r in planning_rules.active_rules(s)}
    again = planning_rules.create_rule(uow(), network, EAST)
    assert again["version"] == 3
    with db.read() as s:
        assert [h["action"] for h in planning_rules.rule_versions(s, "east_to_west")] == [
            "create", "delete", "create"]


def test_preview_shows_what_the_rule_alone_would_propose_now(db, monkeypatch):
    frame = state(
        {"sku": "A", "site": "S1", "site_kind": "store", "region": "east", "available": 2.0,
         "safety_stock": 5.0, "reorder_point": 8.0, "max_stock": 20.0, "forecast_daily": 1.0,
         "pack_size": 1.0},
        {"sku": "A", "site": "WH", "site_kind": "central", "region": "east", "available": 100.0,
         "safety_stock": 10.0, "max_stock": 200.0, "forecast_daily": 1.0, "pack_size": 1.0},
    ).with_columns(sku_id=pl.lit(1, pl.Int64), site_id=pl.Series([1, 2], dtype=pl.Int64),
                   note=pl.lit(""))
    monkeypatch.setattr(planning, "build_state", lambda session, today: frame)
    rule = rule_from_yaml(BUILTIN_RULES["store_replenishment"] + "enabled: false\n")
    with db.read() as s:
        shown = planning_rules.preview(s, rule, TODAY)
    assert (shown["transfer_count"], shown["purchase_count"]) == (1, 0)
    [move] = shown["transfers"]
    assert (move["rule"], move["sku"], move["from_site"], move["to_site"], move["qty"]) == (
        "store_replenishment", "A", "WH", "S1", 18.0)
