"""Custom fields through the services: administrators define them (key and type fixed, a field
with values deactivated rather than removed), master data records are checked against them on
create and update, and lists filter by them — on SQLite and PostgreSQL."""

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from cangliu.core.errors import Conflict, NotFound, StaleVersion, ValidationFailed
from cangliu.db.base import Base
from cangliu.db.models import AuditEvent
from cangliu.services import custom_fields, masterdata
from cangliu.services.masterdata import list_records

COLOR = {"entity": "sku", "key": "color", "label_zh": "颜色", "label_en": "Colour",
         "type": "choice", "default": "red",
         "rules": {"options": [{"value": "red", "label_zh": "红", "label_en": "Red"},
                               {"value": "blue", "label_zh": "蓝", "label_en": "Blue"}]}}
TAGS = {"entity": "sku", "key": "tags", "label_zh": "标签", "type": "multi_choice",
        "rules": {"options": [{"value": "eco"}, {"value": "gift"}, {"value": "new"}]}}
NET = {"entity": "sku", "key": "net", "label_zh": "净重", "type": "number",
       "rules": {"min": "0", "max": "100", "decimals": 2}}
HALAL = {"entity": "sku", "key": "halal", "label_zh": "清真", "type": "bool"}


def _fields(db, admin, *defs):  # type: ignore[no-untyped-def]
    return [custom_fields.create_field(db.uow(), admin, d) for d in defs]


def _errors(exc: pytest.ExceptionInfo[ValidationFailed]) -> dict[str, str]:
    return {e.field: e.message for e in exc.value.errors}


def test_an_administrator_defines_a_field_and_it_is_audited(db, network):
    field = custom_fields.create_field(db.uow(), network, COLOR)
    assert field["key"] == "color" and field["position"] == 1 and field["version"] == 1
    assert field["rules"]["options"][1] == {"value": "blue", "label_zh": "蓝", "label_en": "Blue"}
    second = custom_fields.create_field(db.uow(), network, NET)
    assert second["position"] == 2
    with db.read() as session:
        assert session.query(AuditEvent).filter_by(entity="custom_field",
                                                   action="create").count() == 2
        assert [f["key"] for f in custom_fields.list_fields(session, "sku")] == ["color", "net"]
    with pytest.raises(Conflict):
        custom_fields.create_field(db.uow(), network, COLOR)


def test_a_field_definition_that_cannot_work_is_refused_by_field(db, network):
    for bad, field in (({**COLOR, "key": "Color!"}, "key"), ({**COLOR, "entity": "lot"}, "entity"),
                       ({**COLOR, "default": "green"}, "default"), ({**COLOR, "label_zh": ""},
                                                                    "label_zh")):
        with pytest.raises(ValidationFailed) as caught:
            custom_fields.create_field(db.uow(), network, bad)
        assert field in _errors(caught)


def test_labels_and_rules_change_but_the_key_and_type_stay(db, network):
    _fields(db, network, NET)
    changed = custom_fields.update_field(db.uow(), network, "sku", "net", 1,
                                         {"label_en": "Net weight", "rules": {"max": "50"}})
    assert changed["label_en"] == "Net weight" and changed["rules"] == {"max": "50"}
    assert changed["version"] == 2
    with pytest.raises(ValidationFailed):
        custom_fields.update_field(db.uow(), network, "sku", "net", 2, {"type": "text"})
    with pytest.raises(ValidationFailed):
        custom_fields.update_field(db.uow(), network, "sku", "net", 2, {"key": "gross"})
    with pytest.raises(StaleVersion):
        custom_fields.update_field(db.uow(), network, "sku", "net", 1, {"label_zh": "x"})


def test_a_sku_takes_defaults_on_create_and_answers_its_custom_values(db, network):
    _fields(db, network, COLOR, NET)
    sku = masterdata.create(db.uow(), network, "sku", {"code": "C-1", "name": "杯子",
                                                       "custom": {"net": 2.5}})
    assert sku["custom"] == {"color": "red", "net": "2.5"}
    assert masterdata.get(db.uow(), "sku", "SKU-1")["custom"] == {}  # made before the fields


def test_bad_values_are_refused_naming_each_custom_field(db, network):
    _fields(db, network, COLOR, NET)
    with pytest.raises(ValidationFailed) as caught:
        masterdata.create(db.uow(), network, "sku", {
            "code": "C-2", "name": "杯子", "custom": {"color": "green", "net": "101", "x": 1}})
    assert _errors(caught) == {"custom.color": "is not one of the options",
                               "custom.net": "must be at most {max}",
                               "custom.x": "unknown field"}
    with pytest.raises(NotFound):
        masterdata.get(db.uow(), "sku", "C-2")


def test_an_update_changes_only_the_custom_keys_given_and_checks_required(db, network):
    grade = {"entity": "supplier", "key": "grade", "label_zh": "等级", "type": "text",
             "required": True}
    _fields(db, network, grade)
    with pytest.raises(ValidationFailed) as caught:
        masterdata.create(db.uow(), network, "supplier", {"code": "SUP", "name": "供应商",
                                                          "custom": {}})
    assert _errors(caught) == {"custom.grade": "is required"}
    # Records the system makes (no custom values at all) are not held up by required fields.
    made = masterdata.create(db.uow(), network, "supplier", {"code": "AUTO", "name": "自动"})
    assert made["custom"] == {}
    supplier = masterdata.create(db.uow(), network, "supplier", {
        "code": "SUP", "name": "供应商", "custom": {"grade": "A"}})
    edited = masterdata.update_record(db.uow(), network, "supplier", "SUP", supplier["version"],
                                      {"phone": "123"})
    assert edited["custom"] == {"grade": "A"}
    with pytest.raises(ValidationFailed) as caught:
        masterdata.update_record(db.uow(), network, "supplier", "SUP", edited["version"],
                                 {"custom": {"grade": None}})
    assert _errors(caught) == {"custom.grade": "is required"}


@pytest.mark.parametrize("kind", ["site", "customer"])
def test_sites_and_customers_carry_their_own_custom_fields(db, network, kind):
    _fields(db, network, {"entity": kind, "key": "opened", "label_zh": "开业日期", "type": "date",
                          "rules": {"min": "2000-01-01"}})
    fields = {"code": "X1", "name": "某某", "custom": {"opened": "2024-05-01"}}
    if kind == "site":
        fields["site_kind"] = "store"
    record = masterdata.create(db.uow(), network, kind, fields)
    assert record["custom"] == {"opened": "2024-05-01"}
    with pytest.raises(ValidationFailed) as caught:
        masterdata.update_record(db.uow(), network, kind, "X1", record["version"],
                                 {"custom": {"opened": "1999-12-31"}})
    assert list(_errors(caught)) == ["custom.opened"]
    with pytest.raises(ValidationFailed):  # a SKU's field means nothing on another kind
        masterdata.update_record(db.uow(), network, kind, "X1", record["version"],
                                 {"custom": {"color": "red"}})


def test_lists_filter_by_equal_values_and_by_a_contained_option(db, network):
    _fields(db, network, COLOR, TAGS, NET, HALAL)
    for code, custom in (("A", {"color": "blue", "tags": ["eco", "gift"], "net": "1.5",
                                "halal": True}),
                         ("B", {"tags": ["gift"], "net": "2", "halal": False}),
                         ("C", {"tags": ["new"]})):
        masterdata.create(db.uow(), network, "sku", {"code": code, "name": code,
                                                     "custom": custom})
    with db.read() as session:
        def codes(**wanted: str) -> list[str]:
            items, _ = list_records(session, "sku", custom=wanted)
            return [i["code"] for i in items]
        assert codes(color="red") == ["B", "C"]  # the default
        assert codes(tags="gift") == ["A", "B"]
        assert codes(net="1.50") == ["A"]
        assert codes(halal="true") == ["A"] and codes(halal="false") == ["B"]
        with pytest.raises(ValidationFailed) as caught:
            codes(size="L")
        assert _errors(caught) == {"custom.size": "unknown field"}


def test_a_field_with_values_is_deactivated_not_removed_and_keeps_the_values(db, network):
    _fields(db, network, NET, HALAL)
    masterdata.create(db.uow(), network, "sku", {"code": "A", "name": "A", "custom": {"net": "1"}})
    removed = custom_fields.remove_field(db.uow(), network, "sku", "halal", 1)
    assert removed["removed"] is True
    kept = custom_fields.remove_field(db.uow(), network, "sku", "net", 1)
    assert kept == {"entity": "sku", "key": "net", "removed": False, "in_use": 1}
    with db.read() as session:
        assert [(f["key"], f["active"]) for f in custom_fields.list_fields(session)] == [
            ("net", False)]
    sku = masterdata.get(db.uow(), "sku", "A")
    assert sku["custom"] == {"net": "1"}
    edited = masterdata.update_record(db.uow(), network, "sku", "A", sku["version"],
                                      {"name": "AA", "custom": {}})
    assert edited["custom"] == {"net": "1"}
    with pytest.raises(ValidationFailed):
        masterdata.update_record(db.uow(), network, "sku", "A", edited["version"],
                                 {"custom": {"net": "2"}})


def test_fields_are_reordered_by_key(db, network):
    _fields(db, network, COLOR, NET, HALAL)
    ordered = custom_fields.reorder(db.uow(), network, "sku", ["halal", "color"])
    assert [(f["key"], f["position"]) for f in ordered] == [("halal", 1), ("color", 2), ("net", 3)]
    with pytest.raises(ValidationFailed):
        custom_fields.reorder(db.uow(), network, "sku", ["nope"])


def test_the_model_and_the_migration_agree_on_the_custom_field_tables(db):
    with db.writer.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), Base.metadata)
    assert [d for d in diff if "custom" in repr(d)] == []
