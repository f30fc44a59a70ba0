"""Conditions: SQL expressions over named columns, shared by approval policies and planning rules.

An expression is parsed by ``polars.sql_expr`` and may only read the columns it is given — never
``eval``, never a query.
"""

import re
from collections.abc import Mapping, Sequence
from functools import lru_cache
from typing import Any, Final

import polars as pl

from cangliu.core.errors import ValidationFailed

MAX_LENGTH: Final = 500
KINDS: Final[Mapping[str, type[pl.DataType]]] = {
    "number": pl.Float64, "text": pl.Utf8, "bool": pl.Boolean}
_SAMPLES: Final[Mapping[str, object]] = {"number": 1.0, "text": "x", "bool": True}
# Polars resolves a subquery's tables while parsing — `x IN (FROM read_csv('/etc/passwd'))` opens
# the file — so the words that start a query are refused before the text reaches the parser, even
# inside quotes (a text value such as 'from store' is refused too: use codes in conditions).
_QUERY_WORD: Final = re.compile(r"(?<![a-z_])(select|from|values|table|with)(?![a-z0-9_])", re.IGNORECASE)
_ROW: Final = "__row"


class _Refused(Exception):
    def __init__(self, message: str, **params: object) -> None:
        super().__init__(message)
        self.message = message
        self.params = params


def check_expression(text: str, columns: Mapping[str, str], *, field: str) -> None:
    """Refuse ``text`` unless it is a true/false expression over ``columns`` (name → kind)."""
    _checked(text, columns, field)


def evaluate(text: str, rows: Sequence[Mapping[str, Any]], columns: Mapping[str, str]) -> list[bool]:
    """Whether the condition holds for each row; a missing value makes it not hold. The text is
    checked again (ValidationFailed on ``condition``), so nothing unchecked is ever run."""
    if not rows:
        return []
    expr = _checked(text, columns, "condition")
    result = _frame(rows, columns).select(expr.over(_ROW).alias("result")).to_series()
    return [bool(value) for value in result.fill_null(False).to_list()]


def _checked(text: str, columns: Mapping[str, str], field: str) -> pl.Expr:
    try:
        return _typed(text, columns)
    except _Refused as refused:
        raise ValidationFailed.single(field, refused.message, **refused.params) from None


def _typed(text: str, columns: Mapping[str, str]) -> pl.Expr:
    expr = _parsed(text)
    unknown = [name for name in expr.meta.root_names() if name not in columns]
    if unknown:
        raise _Refused("unknown field {name}", name=unknown[0])
    sample = _frame([{name: _SAMPLES[kind] for name, kind in columns.items()}], columns)
    try:
        dtype = sample.select(expr.over(_ROW).alias("result")).to_series().dtype
    except Exception as error:  # any evaluation failure (types, multiple outputs) is the user's
        raise _Refused("is not a valid expression: {reason}", reason=_reason(error)) from None
    if dtype != pl.Boolean:
        raise _Refused("must be true or false, not {kind}", kind=str(dtype))
    return expr


@lru_cache(maxsize=512)
def _parsed(text: str) -> pl.Expr:
    if not text.strip():
        raise _Refused("must not be empty")
    if len(text) > MAX_LENGTH:
        raise _Refused("must be at most {n} characters", n=MAX_LENGTH)
    word = _QUERY_WORD.search(text)
    if word:
        raise _Refused("may not contain a query ({word})", word=word.group(1).upper())
    try:
        expr = pl.sql_expr(text)
    except Exception as error:  # the parser's own message is the reason shown
        raise _Refused("is not a valid expression: {reason}", reason=_reason(error)) from None
    if ".subplan" in str(expr):
        raise _Refused("may not contain a query ({word})", word="SELECT")
    return expr


def _frame(rows: Sequence[Mapping[str, Any]], columns: Mapping[str, str]) -> pl.DataFrame:
    """One row per input row, typed by kind; each row is its own window, so an aggregate
    (``SUM(amount)``) judges the row alone and rows never see each other."""
    data: dict[str, list[Any]] = {_ROW: list(range(len(rows)))}
    data.update({name: [row.get(name) for row in rows] for name in columns})
    schema: dict[str, Any] = {_ROW: pl.Int64, **{name: KINDS[kind] for name, kind in columns.items()}}
    return pl.DataFrame(data, schema=schema)


def _reason(error: Exception) -> str:
    lines = str(error).strip().splitlines()
    return lines[0] if lines else type(error).__name__
