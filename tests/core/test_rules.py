"""The condition language: SQL expressions over whitelisted columns, without a database."""

from decimal import Decimal
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from cangliu.core.errors import ValidationFailed
from cangliu.core.rules import check_expression, evaluate

COLUMNS = {"amount": "number", "region": "text", "urgent": "bool"}


def refusal(text: str, columns: dict[str, str] = COLUMNS) -> tuple[str, dict[str, str]]:
    with pytest.raises(ValidationFailed) as caught:
        check_expression(text, columns, field="condition")
    [error] = caught.value.errors
    assert error.field == "condition"
    return error.message, error.params


@pytest.mark.parametrize("text", [
    "amount >= 50000",
    "region = 'east' AND NOT urgent",
    "amount BETWEEN 10 AND 20 OR region IN ('north', 'south')",
    "lower(region) LIKE 'e%'",
    "urgent",
    "region IS NULL",
    "TRUE",
])
def test_a_true_false_expression_over_known_columns_is_accepted(text: str) -> None:
    check_expression(text, COLUMNS, field="condition")


@pytest.mark.parametrize(("text", "message", "params"), [
    ("", "must not be empty", {}),
    ("   ", "must not be empty", {}),
    ("amount > " + "1" * 500, "must be at most {n} characters", {"n": "500"}),
    ("amount >", "is not a valid expression: {reason}", None),
    ("amount > 1 AND", "is not a valid expression: {reason}", None),
    ("region = 1", "is not a valid expression: {reason}", None),
    ("cost > 1", "unknown field {name}", {"name": "cost"}),
    ("amount > 1 AND secret = 'x'", "unknown field {name}", {"name": "secret"}),
    ("amount", "must be true or false, not {kind}", {"kind": "Float64"}),
    ("amount + 1", "must be true or false, not {kind}", {"kind": "Float64"}),
    ("region", "must be true or false, not {kind}", {"kind": "String"}),
    ("NULL", "must be true or false, not {kind}", {"kind": "Null"}),
])
def test_a_bad_expression_is_refused_with_the_reason(text: str, message: str,
                                                    params: dict[str, str] | None) -> None:
    got_message, got_params = refusal(text)
    assert got_message == message
    if params is not None:
        assert got_params == params
    else:
        assert got_params["reason"]


@pytest.mark.parametrize("text", [
    "read_csv('/etc/passwd')",
    "amount IN (SELECT amount FROM t)",
    "amount > (SELECT 1)",
    "amount IN (FROM read_csv('/nonexistent/x.csv'))",
    "amount IN (VALUES (1))",
    "amount IN (WITH a AS (SELECT 1) SELECT * FROM a)",
    "amount IN (select/**/1)",
    "EXISTS (SELECT 1)",
    "__import__('os').system('true')",
    "amount > 1; DROP TABLE stock_move",
    "pg_read_file('/etc/passwd') = ''",
    "COLUMNS(*) > 1",
    "_POLARS_TMP_0 > 1",
])
def test_an_expression_cannot_reach_beyond_its_columns(text: str) -> None:
    message, _ = refusal(text)
    assert message in {"may not contain a query ({word})", "is not a valid expression: {reason}",
                       "unknown field {name}"}


def test_a_refused_subquery_never_opens_the_file_it_names(tmp_path: Path) -> None:
    target = tmp_path / "secret.csv"
    message, params = refusal(f"amount IN (FROM read_csv('{target}'))")
    assert (message, params) == ("may not contain a query ({word})", {"word": "FROM"})


ROWS = [
    {"amount": Decimal("60000"), "region": "east", "urgent": False},
    {"amount": 100, "region": "west", "urgent": True},
    {"amount": None, "region": None, "urgent": None},
    {},
]


@pytest.mark.parametrize(("text", "expected"), [
    ("amount >= 50000", [True, False, False, False]),
    ("region = 'east' OR urgent", [True, True, False, False]),
    ("NOT urgent", [True, False, False, False]),
    ("region IS NULL", [False, False, True, True]),
    ("amount < 50000 OR amount IS NULL", [False, True, True, True]),
])
def test_evaluation_treats_a_missing_value_as_not_holding(text: str, expected: list[bool]) -> None:
    assert evaluate(text, ROWS, COLUMNS) == expected


def test_an_aggregate_judges_each_row_alone() -> None:
    rows = [{"amount": 30}, {"amount": 30}]
    assert evaluate("SUM(amount) > 50", rows, COLUMNS) == [False, False]


def test_evaluation_refuses_an_unchecked_expression() -> None:
    with pytest.raises(ValidationFailed):
        evaluate("cost > 1", [{"amount": 1}], COLUMNS)


def test_evaluating_no_rows_gives_no_answers() -> None:
    assert evaluate("amount > 1", [], COLUMNS) == []


@given(st.lists(st.one_of(st.none(), st.floats(-1e9, 1e9)), max_size=30), st.floats(-1e9, 1e9))
def test_vectorised_evaluation_matches_the_rows_one_by_one(amounts: list[float | None],
                                                           limit: float) -> None:
    literal = f"{limit:f}"  # SQL has no exponent notation: 1e-05 is written 0.000010
    rows = [{"amount": a} for a in amounts]
    assert evaluate(f"amount >= {literal}", rows, COLUMNS) == [
        a is not None and a >= float(literal) for a in amounts]
