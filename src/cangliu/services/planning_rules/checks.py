"""Checks of a transfer rule at save, beyond the rule language's own (rules.rule_from_yaml): the
name, the allowed functions, a quantity that is never positive, and a cycle of sources with the
other enabled rules on today's state."""

import re
from datetime import date
from functools import lru_cache
from typing import Any, Final

import numpy as np
import polars as pl
from sqlalchemy.orm import Session

from cangliu.core.errors import FieldError, ValidationFailed
from cangliu.core.planning.rule_cycles import find_cycle
from cangliu.core.planning.rules import STATE_COLUMNS, Rule, evaluate, rule_from_yaml

# The functions a condition or quantity may call (name → meaning, shown on the settings page);
# anything else, even what the expression parser knows, is refused at save.
FUNCTIONS: Final = {
    "ABS": "absolute value", "ROUND": "round (ROUND(x, digits))", "CEIL": "round up",
    "FLOOR": "round down", "LEAST": "the smallest of its arguments",
    "GREATEST": "the largest of its arguments", "COALESCE": "the first value that is not empty",
    "NULLIF": "empty when both arguments are equal", "SQRT": "square root",
    "POWER": "x to the power y", "MOD": "remainder of x / y", "LOWER": "text in lower case",
    "UPPER": "text in upper case", "LENGTH": "length of a text",
    "STARTS_WITH": "whether a text starts with another",
}
# Words of the language that are followed by a parenthesis without being functions.
_KEYWORDS: Final = frozenset({"AND", "OR", "NOT", "IN", "IS", "CAST", "AS", "CASE", "WHEN", "THEN",
                              "ELSE", "END", "BETWEEN", "LIKE", "ILIKE", "NULL"})
_CALL: Final = re.compile(r"([A-Za-z_][A-Za-z0-9_]*)\s*\(")
_QUOTED: Final = re.compile(r"'(?:[^']|'')*'")
NAME: Final = re.compile(r"^[\w.-]{1,60}$")
RESERVED: Final = frozenset({"new", "preview"})  # path segments of the pages and the API


def check_rule(text: str, *, taken: frozenset[str] | set[str] = frozenset()) -> Rule:
    """The rule ``text`` describes, or ValidationFailed naming each problem's field: the rule
    language's checks (rules.rule_from_yaml), then the name, the functions and the quantity."""
    rule = rule_from_yaml(text, taken=taken)
    problems = [*_name_problems(rule.name), *_function_problems(rule), *_quantity_problems(rule)]
    if problems:
        raise ValidationFailed(problems)
    return rule


def _name_problems(name: str) -> list[FieldError]:
    if not NAME.match(name):
        return [FieldError("name", "must be at most 60 letters, digits, '_', '.' or '-'")]
    if name in RESERVED:
        return [FieldError("name", "is reserved: {name}", {"name": name})]
    return []


def _function_problems(rule: Rule) -> list[FieldError]:
    out = []
    for field in ("target", "source", "quantity"):
        for called in _CALL.findall(_QUOTED.sub("''", getattr(rule, field))):
            if called.upper() not in FUNCTIONS and called.upper() not in _KEYWORDS:
                out.append(FieldError(field, "unknown function {name}", {"name": called}))
    return out


@lru_cache(maxsize=1)
def _probe() -> pl.DataFrame:
    """Many made-up stock situations (every number between 0 and 1,000, independently), on which a
    quantity must come out above zero at least once."""
    rng = np.random.default_rng(7)
    size = 512
    texts = {"site_kind": ["central", "regional", "store", "online"], "abc": ["A", "B", "C"],
             "xyz": ["X", "Y", "Z"], "lifecycle": ["new", "growth", "mature", "decline"]}
    data: dict[str, Any] = {"__row": np.arange(size)}
    for name, (kind, _meaning) in STATE_COLUMNS.items():
        data[name] = (rng.uniform(0, 1000, size) if kind == "number" else
                      rng.choice(texts.get(name, ["x"]), size))
    return pl.DataFrame(data)


def _quantity_problems(rule: Rule) -> list[FieldError]:
    """A quantity below zero whatever the stock (``-available``) proposes nothing ever: refused
    as negative (a constant one is refused by the rule language already)."""
    try:
        values = _probe().select(pl.sql_expr(rule.quantity).over("__row").cast(pl.Float64)).to_series()
    except Exception:  # the rule language accepted it: judged on real data when it runs
        return []
    top, bottom = values.max(), values.min()
    if isinstance(top, float) and isinstance(bottom, float) and top <= 0 < -bottom:
        return [FieldError("quantity", "must not be negative: it is below zero for every stock level")]
    return []


def _state(session: Session, today: date) -> pl.DataFrame:
    from cangliu.services.planning import build_state  # the planning run's own view of stock

    return build_state(session, today)


def check_cycles(session: Session, rule: Rule, others: list[Rule], today: date) -> None:
    """Refuse ``rule`` if, with the other enabled rules, some SKU would go round a cycle of sites
    on today's state (a disabled rule moves nothing, so it is checked when it is enabled)."""
    if not rule.enabled:
        return
    needs, offers = evaluate([rule, *[r for r in others if r.enabled]], _state(session, today))
    cycle = find_cycle(needs, offers)
    if cycle is not None:
        raise ValidationFailed.single(
            "source", "would move {sku} round a cycle of sites: {sites} (rules: {rules})",
            sku=cycle.sku, sites=cycle.path(), rules=", ".join(dict.fromkeys(cycle.rules)))
