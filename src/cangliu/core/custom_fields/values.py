"""Custom field values: the definition of a field and the check of the values a record carries
for it.

Values are kept JSON-plain: text as str, numbers as decimal strings (never floats), dates as
ISO strings, yes/no as bool, a choice as its option's value, a multi-choice as a list of them.
"""

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from decimal import Decimal, InvalidOperation
from enum import StrEnum
from typing import Any, Final

from cangliu.core.errors import FieldError, ValidationFailed

ENTITIES: Final = ("sku", "site", "supplier", "customer", "serial", "purchase_order",
                   "sales_order", "transfer_order")
KEY_PATTERN: Final = r"^[a-z][a-z0-9_]{0,39}$"
TEXT_MAX: Final = 2000
NUMBER_MAX_DIGITS: Final = 18  # digits before the point: keeps values printable and exact


class FieldType(StrEnum):
    TEXT = "text"
    NUMBER = "number"
    DATE = "date"
    CHOICE = "choice"
    MULTI = "multi_choice"
    BOOL = "bool"


@dataclass(frozen=True)
class Option:
    """One answer of a choice field: the stored value and its labels."""

    value: str
    label_zh: str
    label_en: str = ""

    def label(self, locale: str) -> str:
        return self.label_en if locale.startswith("en") and self.label_en else self.label_zh


@dataclass(frozen=True)
class Definition:
    """One field of an entity. ``min``/``max`` bound a number (Decimal) or a date; ``decimals``
    the places a number may have; ``max_length`` and ``pattern`` a text."""

    key: str
    label_zh: str
    type: FieldType
    label_en: str = ""
    required: bool = False
    default: Any = None
    options: tuple[Option, ...] = ()
    min: Decimal | date | None = None
    max: Decimal | date | None = None
    decimals: int | None = None
    max_length: int | None = None
    pattern: str | None = None
    position: int = 0
    active: bool = True

    def label(self, locale: str) -> str:
        return self.label_en if locale.startswith("en") and self.label_en else self.label_zh

    def option_label(self, value: str, locale: str) -> str:
        for option in self.options:
            if option.value == value:
                return option.label(locale)
        return value


class Invalid(ValueError):
    """A value a field refuses: ``message`` is an English msgid with ``params``."""

    def __init__(self, message: str, **params: object) -> None:
        super().__init__(message)
        self.message = message
        self.params = params


def _text(d: Definition, value: Any) -> str:
    if not isinstance(value, str):
        raise Invalid("must be text")
    limit = d.max_length or TEXT_MAX
    if len(value) > limit:
        raise Invalid("at most {n} characters", n=limit)
    if d.pattern and not re.fullmatch(d.pattern, value):
        raise Invalid("does not match the required format")
    return value


def _number(d: Definition, value: Any) -> str:
    if isinstance(value, bool) or not isinstance(value, str | int | float | Decimal):
        raise Invalid("must be a number")
    try:
        number = Decimal(str(value).strip())
    except InvalidOperation:
        raise Invalid("must be a number") from None
    if not number.is_finite() or number.adjusted() >= NUMBER_MAX_DIGITS:
        raise Invalid("must be a number")
    number = number.normalize() if number else Decimal(0)  # "1.50" and "1.5" are one value
    exponent = number.as_tuple().exponent
    places = max(0, -exponent) if isinstance(exponent, int) else 0
    if d.decimals is not None and places > d.decimals:
        raise Invalid("at most {n} decimal places", n=d.decimals)
    if isinstance(d.min, Decimal) and number < d.min:
        raise Invalid("must be at least {min}", min=d.min)
    if isinstance(d.max, Decimal) and number > d.max:
        raise Invalid("must be at most {max}", max=d.max)
    return f"{number:f}"


def _day(value: Any) -> date:
    if isinstance(value, date):
        return value
    if isinstance(value, str) and len(value.strip()) == 10:
        try:
            return date.fromisoformat(value.strip())
        except ValueError:
            pass
    raise Invalid("must be a date (YYYY-MM-DD)")


def _date(d: Definition, value: Any) -> str:
    day = _day(value)
    if isinstance(d.min, date) and day < d.min:
        raise Invalid("must be on or after {min}", min=d.min.isoformat())
    if isinstance(d.max, date) and day > d.max:
        raise Invalid("must be on or before {max}", max=d.max.isoformat())
    return day.isoformat()


def _choice(d: Definition, value: Any) -> str:
    if not isinstance(value, str) or value not in {o.value for o in d.options}:
        raise Invalid("is not one of the options")
    return value


def _multi(d: Definition, value: Any) -> list[str]:
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list | tuple):
        raise Invalid("must be a list of options")
    chosen = {_choice(d, v) for v in value}
    return [o.value for o in d.options if o.value in chosen]  # in the options' order


def _bool(d: Definition, value: Any) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.lower() in ("true", "false", "yes", "no", "1", "0"):
        return value.lower() in ("true", "yes", "1")
    raise Invalid("must be yes or no")


CHECKS = {FieldType.TEXT: _text, FieldType.NUMBER: _number, FieldType.DATE: _date,
          FieldType.CHOICE: _choice, FieldType.MULTI: _multi, FieldType.BOOL: _bool}


def empty(value: Any) -> bool:
    return value is None or value == "" or value == [] or value == ()


def check_value(d: Definition, value: Any) -> Any:
    """The normalised value of one field (None when empty), or ``Invalid``."""
    if empty(value):
        return None
    return CHECKS[d.type](d, value)


def check(definitions: list[Definition], values: Mapping[str, Any] | None, *, partial: bool,
          current: Mapping[str, Any] | None = None, required: bool = True) -> dict[str, Any]:
    """The record's custom values after ``values``: checked, normalised and merged into
    ``current``. On create (``partial`` false) missing fields take their default. Unknown keys,
    bad values and missing required fields fail together, each named ``custom.<key>``.
    A deactivated field accepts no new value but keeps the one it has. ``required`` false skips
    the required check (records the system makes: nobody could have typed the value)."""
    by_key = {d.key: d for d in definitions}
    result = {k: v for k, v in (current or {}).items()}
    errors: list[FieldError] = []
    for key, value in (values or {}).items():
        d = by_key.get(key)
        if d is None or (not d.active and not empty(value)):
            errors.append(_error(key, Invalid("unknown field")))
            continue
        try:
            normalised = check_value(d, value)
        except Invalid as exc:
            errors.append(_error(key, exc))
            continue
        if normalised is None:
            result.pop(key, None)
        else:
            result[key] = normalised
    for d in definitions:
        if not d.active:
            continue
        if not partial and d.key not in (values or {}) and not empty(d.default):
            result.setdefault(d.key, d.default)
        if required and d.required and empty(result.get(d.key)) and (
                not partial or d.key in (values or {})):
            errors.append(_error(d.key, Invalid("is required")))
    if errors:
        raise ValidationFailed(errors)
    return result


def _error(key: str, exc: Invalid) -> FieldError:
    return FieldError(f"custom.{key}", exc.message, {k: str(v) for k, v in exc.params.items()})


def matches(d: Definition, stored: Any, wanted: str) -> bool:
    """Whether a stored value answers a list filter: equal, or for a multi-choice containing."""
    if stored is None:
        return False
    if d.type == FieldType.MULTI:
        return wanted in stored
    try:
        return bool(check_value(d, wanted) == stored)
    except Invalid:
        return False


def display(d: Definition, value: Any, locale: str) -> str:
    """A value as a page, a list or an export shows it, options by their label."""
    if empty(value):
        return ""
    if d.type == FieldType.BOOL:
        return ("Yes" if value else "No") if locale.startswith("en") else ("是" if value else "否")
    if d.type == FieldType.CHOICE:
        return d.option_label(str(value), locale)
    if d.type == FieldType.MULTI:
        return ", ".join(d.option_label(str(v), locale) for v in value)
    return str(value)

