"""Custom field values: each type's check and normal form, defaults, required fields, the
errors named ``custom.<key>``, and definitions refused when they cannot work."""

from datetime import date
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from cangliu.core.custom_fields import (
    FieldType,
    check,
    definition,
    display,
    matches,
    rules_of,
)
from cangliu.core.errors import ValidationFailed

COLOR = definition(key="color", label_zh="颜色", label_en="Colour", type="choice",
                   rules={"options": [{"value": "red", "label_zh": "红", "label_en": "Red"},
                                      {"value": "blue", "label_zh": "蓝", "label_en": "Blue"}]})
TAGS = definition(key="tags", label_zh="标签", type="multi_choice",
                  rules={"options": [{"value": "a"}, {"value": "b"}, {"value": "c"}]})
WEIGHT = definition(key="weight", label_zh="毛重", type="number",
                    rules={"min": "0", "max": "1000", "decimals": 2})
BORN = definition(key="born", label_zh="日期", type="date",
                  rules={"min": "2020-01-01", "max": "2030-12-31"})
CODE = definition(key="code", label_zh="编码", type="text",
                  rules={"max_length": 6, "pattern": r"[A-Z]+\d*"})
FLAG = definition(key="flag", label_zh="标记", type="bool")
ALL = [COLOR, TAGS, WEIGHT, BORN, CODE, FLAG]


def _fails(values, *, partial=False, definitions=ALL, current=None):  # type: ignore[no-untyped-def]
    with pytest.raises(ValidationFailed) as caught:
        check(definitions, values, partial=partial, current=current)
    return {e.field: e.message for e in caught.value.errors}


def test_values_are_normalised_to_json_plain_forms():
    result = check(ALL, {"color": "red", "tags": ["c", "a", "c"], "weight": 12.5,
                         "born": date(2024, 2, 29), "code": "AB12", "flag": "yes"}, partial=False)
    assert result == {"color": "red", "tags": ["a", "c"], "weight": "12.5",
                      "born": "2024-02-29", "code": "AB12", "flag": True}


def test_each_bad_value_is_named_after_its_field_and_all_are_reported_together():
    errors = _fails({"color": "green", "tags": ["z"], "weight": "1000.01", "born": "2019-12-31",
                     "code": "ab", "flag": "maybe", "size": "L"})
    assert errors == {"custom.color": "is not one of the options",
                      "custom.tags": "is not one of the options",
                      "custom.weight": "must be at most {max}",
                      "custom.born": "must be on or after {min}",
                      "custom.code": "does not match the required format",
                      "custom.flag": "must be yes or no", "custom.size": "unknown field"}


def test_numbers_refuse_more_decimals_than_allowed_and_non_numbers():
    assert _fails({"weight": "1.234"}) == {"custom.weight": "at most {n} decimal places"}
    assert _fails({"weight": "abc"}) == {"custom.weight": "must be a number"}
    assert _fails({"weight": True}) == {"custom.weight": "must be a number"}
    assert _fails({"weight": "NaN"}) == {"custom.weight": "must be a number"}
    assert check(ALL, {"weight": "1.50"}, partial=True) == {"weight": "1.5"}


def test_texts_are_limited_in_length():
    assert _fails({"code": "ABCDEFG"}) == {"custom.code": "at most {n} characters"}


def test_defaults_fill_missing_fields_on_create_only():
    size = definition(key="size", label_zh="尺码", type="text", default="M")
    assert check([size], {}, partial=False) == {"size": "M"}
    assert check([size], {}, partial=True, current={}) == {}
    assert check([size], {"size": "L"}, partial=False) == {"size": "L"}


def test_a_required_field_must_be_given_on_create_and_cannot_be_emptied_later():
    grade = definition(key="grade", label_zh="等级", type="text", required=True)
    assert _fails({}, definitions=[grade]) == {"custom.grade": "is required"}
    assert check([grade], {}, partial=True,
                 current={"grade": "A"}) == {"grade": "A"}
    assert _fails({"grade": ""}, partial=True, definitions=[grade],
                  current={"grade": "A"}) == {"custom.grade": "is required"}


def test_an_update_merges_into_the_current_values_and_empty_clears_one():
    current = {"color": "red", "code": "AB"}
    assert check(ALL, {"code": None, "flag": False}, partial=True, current=current) == {
        "color": "red", "flag": False}


def test_a_deactivated_field_keeps_its_value_but_takes_no_new_one():
    old = definition(key="old", label_zh="旧", type="text", active=False)
    assert check([old], {}, partial=True, current={"old": "x"}) == {"old": "x"}
    assert _fails({"old": "y"}, partial=True, definitions=[old]) == {"custom.old": "unknown field"}


def test_filters_match_equal_values_and_multi_choices_containing_the_option():
    assert matches(TAGS, ["a", "c"], "c") and not matches(TAGS, ["a"], "b")
    assert matches(WEIGHT, "12.5", "12.50") and not matches(WEIGHT, "12.5", "abc")
    assert matches(FLAG, True, "true") and not matches(COLOR, None, "red")


def test_values_are_shown_with_option_labels_in_the_users_language():
    assert display(COLOR, "red", "en") == "Red" and display(COLOR, "red", "zh_CN") == "红"
    assert display(TAGS, ["a", "b"], "en") == "a, b"
    assert display(FLAG, False, "zh_CN") == "否" and display(WEIGHT, None, "en") == ""


@pytest.mark.parametrize(("parts", "field"), [
    ({"type": "colour"}, "type"),
    ({"type": "choice"}, "options"),
    ({"type": "choice", "rules": {"options": [{"value": "a"}, {"value": "a"}]}}, "options"),
    ({"type": "number", "rules": {"min": "5", "max": "1"}}, "max"),
    ({"type": "number", "rules": {"decimals": "9"}}, "decimals"),
    ({"type": "date", "rules": {"min": "soon"}}, "min"),
    ({"type": "text", "rules": {"pattern": "("}}, "pattern"),
    ({"type": "number", "default": "x"}, "default"),
])
def test_a_definition_that_cannot_work_is_refused(parts, field):
    with pytest.raises(ValidationFailed) as caught:
        definition(key="k", label_zh="k", **parts)
    assert caught.value.errors[0].field == field


def test_rules_are_stored_as_plain_json_and_read_back_the_same():
    for d in ALL:
        again = definition(key=d.key, label_zh=d.label_zh, label_en=d.label_en, type=d.type,
                           rules=rules_of(d))
        assert again == d
    assert rules_of(WEIGHT) == {"min": "0", "max": "1000", "decimals": 2}
    assert BORN.type == FieldType.DATE and BORN.min == date(2020, 1, 1)


@given(st.decimals(min_value=Decimal(0), max_value=Decimal(1000), places=2))
def test_checking_a_normalised_number_again_changes_nothing(number):
    first = check([WEIGHT], {"weight": number}, partial=False)
    assert check([WEIGHT], first, partial=False) == first
    assert Decimal(first["weight"]) == number


@given(st.lists(st.sampled_from(["a", "b", "c"])), st.dates(date(2020, 1, 1), date(2030, 12, 31)))
def test_checking_normalised_choices_and_dates_again_changes_nothing(tags, day):
    first = check(ALL, {"tags": tags, "born": day}, partial=True)
    assert check(ALL, first, partial=True) == first
