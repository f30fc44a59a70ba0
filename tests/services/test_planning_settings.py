"""Planning settings: defaults until saved, every field validated by name, service levels ordered
A ≥ B ≥ C, a stale version refused without overwriting, each change in the audit log."""

import json
from concurrent.futures import ThreadPoolExecutor

import pytest
from sqlalchemy import select

from cangliu.core.errors import StaleVersion, ValidationFailed
from cangliu.core.planning import DEFAULT_LEAD_TIMES, ServiceLevels
from cangliu.db.audit import acting
from cangliu.db.models import AuditEvent
from cangliu.services import planning_settings
from cangliu.services.planning_settings import PlanningSettings, load, save

GOOD = {"service_level_a": "99", "service_level_b": "97.5", "service_level_c": "92",
        "review_days": "14", "purchase_lead_days": "10", "purchase_lead_sd": "3",
        "transfer_lead_days": "1.5", "transfer_lead_sd": "0"}


def _fields(exc: pytest.ExceptionInfo[ValidationFailed]) -> dict[str, str]:
    return {e.field: e.message for e in exc.value.errors}


def test_nothing_saved_gives_the_defaults_of_the_planning_core(db):
    with db.read() as session:
        settings = load(session)
        assert planning_settings.state(session).version == 0
    assert settings.service_levels == ServiceLevels()
    assert settings.review_days == 7
    assert (settings.purchase_lead_days, settings.purchase_lead_sd) == (
        DEFAULT_LEAD_TIMES["purchase"].mean_days, DEFAULT_LEAD_TIMES["purchase"].sd_days)
    assert (settings.transfer_lead_days, settings.transfer_lead_sd) == (
        DEFAULT_LEAD_TIMES["transfer"].mean_days, DEFAULT_LEAD_TIMES["transfer"].sd_days)


def test_saved_settings_are_loaded_back_with_service_levels_from_percent(db, admin):
    saved = save(db.uow(), admin, GOOD, version=0)
    with db.read() as session:
        stored = planning_settings.state(session)
    assert stored.settings == saved == PlanningSettings(
        ServiceLevels(a=0.99, b=0.975, c=0.92), review_days=14, purchase_lead_days=10.0,
        purchase_lead_sd=3.0, transfer_lead_days=1.5, transfer_lead_sd=0.0)
    assert (stored.version, stored.saved_by) == (1, "admin")
    assert planning_settings.as_fields(saved)["service_level_b"] == "97.5"
    defaults = planning_settings.route_defaults(saved)
    assert (defaults["transfer"].mean_days, defaults["purchase"].sd_days) == (1.5, 3.0)


def test_a_field_left_out_keeps_its_value(db, admin):
    save(db.uow(), admin, GOOD, version=0)
    save(db.uow(), admin, {"review_days": "30"}, version=1)
    with db.read() as session:
        settings = load(session)
    assert settings.review_days == 30 and settings.service_levels.a == 0.99


@pytest.mark.parametrize(("field", "raw", "message"), [
    ("service_level_a", "50", "must be above {min} % and at most {max} %"),
    ("service_level_a", "100", "must be above {min} % and at most {max} %"),
    ("service_level_c", "abc", "must be a number"),
    ("service_level_c", "NaN", "must be a number"),
    ("review_days", "0", "must be between 1 and {n}"),
    ("review_days", "91", "must be between 1 and {n}"),
    ("review_days", "7.5", "must be a whole number"),
    ("purchase_lead_days", "0", "must be greater than 0"),
    ("transfer_lead_days", "-1", "must be greater than 0"),
    ("transfer_lead_sd", "-0.1", "must be 0 or more"),
    ("purchase_lead_days", "400", "must be at most {n} days"),
])
def test_each_bad_value_is_refused_naming_its_field(db, admin, field, raw, message):
    with pytest.raises(ValidationFailed) as exc:
        save(db.uow(), admin, {**GOOD, field: raw}, version=0)
    assert _fields(exc) == {field: message}
    with db.read() as session:
        assert planning_settings.state(session).version == 0  # nothing saved


def test_every_bad_field_is_named_at_once_and_unknown_fields_are_refused(db, admin):
    with pytest.raises(ValidationFailed) as exc:
        save(db.uow(), admin, {**GOOD, "review_days": "", "transfer_lead_sd": "-1",
                               "safety_factor": "2"}, version=0)
    assert set(_fields(exc)) == {"review_days", "transfer_lead_sd", "safety_factor"}


def test_a_less_valuable_class_is_never_served_better(db, admin):
    with pytest.raises(ValidationFailed) as exc:
        save(db.uow(), admin, {**GOOD, "service_level_b": "99.5", "service_level_c": "99.9"},
             version=0)
    errors = {e.field: e.params for e in exc.value.errors}
    assert errors == {"service_level_b": {"cls": "A"}, "service_level_c": {"cls": "B"}}
    save(db.uow(), admin, {**GOOD, "service_level_b": "99", "service_level_c": "99"}, version=0)


def test_a_stale_version_changes_nothing_and_says_who_saved(db, admin):
    save(db.uow(), admin, GOOD, version=0)
    with pytest.raises(StaleVersion) as exc:
        save(db.uow(), admin, {**GOOD, "review_days": "21"}, version=0)
    assert exc.value.current_version == 1 and exc.value.saved_by == "admin"
    assert exc.value.changed["review_days"] == "14"
    with db.read() as session:
        assert load(session).review_days == 14
    save(db.uow(), admin, {"review_days": "21"}, version=None)  # no version: no check
    with db.read() as session:
        assert planning_settings.state(session).version == 2


def test_each_change_is_audited_with_before_and_after(db, admin):
    save(db.uow(), admin, GOOD, version=0)
    with acting(admin):  # who acts comes from the request (or command) around the service
        save(db.uow(), admin, {"review_days": "30"}, version=1)
    with db.read() as session:
        events = list(session.scalars(select(AuditEvent).where(
            AuditEvent.entity == "setting", AuditEvent.entity_key == "planning")
            .order_by(AuditEvent.id)))
    assert [e.action for e in events] == ["create", "update"]
    change = events[1]
    before, after = (json.loads(json.loads(v)["value"]) for v in (change.before, change.after))
    assert (before["review_days"], after["review_days"]) == (14, 30)
    assert change.username == "admin"


@pytest.mark.parametrize("first", [True, False], ids=["first-save", "later-save"])
def test_of_two_saves_on_one_version_at_once_exactly_one_wins(db, admin, first):
    if not first:
        save(db.uow(), admin, GOOD, version=0)
    base = 0 if first else 1

    def attempt(days: str) -> str:
        try:
            save(db.uow(), admin, {"review_days": days}, version=base)
        except StaleVersion:
            return "stale"
        return "saved"

    with ThreadPoolExecutor(max_workers=2) as pool:
        outcomes = sorted(pool.map(attempt, ["20", "21"]))
    assert outcomes == ["saved", "stale"]
    with db.read() as session:
        assert planning_settings.state(session).version == base + 1
