"""Custom field definitions as administrators submit and the database stores them: checked
(a known type, options for a choice, bounds in order, a pattern that compiles, a default the
field accepts) and turned back into plain JSON rules."""

import re
from collections.abc import Mapping
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Any

from cangliu.core.custom_fields.values import (
    KEY_PATTERN,
    TEXT_MAX,
    Definition,
    FieldType,
    Invalid,
    Option,
    check_value,
    empty,
)
from cangliu.core.errors import ValidationFailed


def _bound(kind: FieldType, raw: Any, name: str) -> Decimal | date | None:
    if empty(raw):
        return None
    try:
        if kind == FieldType.DATE:
            return raw if isinstance(raw, date) else date.fromisoformat(str(raw))
        number = Decimal(str(raw))
        if not number.is_finite():
            raise InvalidOperation
        return number
    except (ValueError, InvalidOperation):
        if kind == FieldType.DATE:
            raise ValidationFailed.single(name, "must be a date (YYYY-MM-DD)") from None
        raise ValidationFailed.single(name, "must be a number") from None


def _options(raw: Any) -> tuple[Option, ...]:
    options = []
    for item in raw or ():
        value = str(item.get("value", "")).strip() if isinstance(item, Mapping) else ""
        if not value:
            raise ValidationFailed.single("options", "every option needs a value")
        options.append(Option(value, str(item.get("label_zh") or value),
                              str(item.get("label_en") or "")))
    if len({o.value for o in options}) != len(options):
        raise ValidationFailed.single("options", "option values must be unique")
    return tuple(options)


def _whole(raw: Any, name: str, low: int, high: int) -> int | None:
    if empty(raw):
        return None
    try:
        number = int(str(raw))
    except ValueError:
        raise ValidationFailed.single(name, "must be a whole number") from None
    if not low <= number <= high:
        raise ValidationFailed.single(name, "must be between {low} and {high}", low=low, high=high)
    return number


def definition(*, key: str, label_zh: str, type: str, label_en: str = "",
               required: bool = False, default: Any = None, rules: Mapping[str, Any] | None = None,
               position: int = 0, active: bool = True) -> Definition:
    """A definition from its stored or submitted parts, checked: a known type, options for a
    choice, bounds in order, a pattern that compiles and a default the field accepts."""
    try:
        kind = FieldType(type)
    except ValueError:
        raise ValidationFailed.single("type", "must be one of: {expected}",
                                      expected=", ".join(t.value for t in FieldType)) from None
    if not re.fullmatch(KEY_PATTERN, key or ""):
        raise ValidationFailed.single("key", "lower-case letters, digits and _, starting with a letter")
    rules = rules or {}
    pattern = str(rules.get("pattern") or "") or None
    if pattern and kind == FieldType.TEXT:
        try:
            re.compile(pattern)
        except re.error:
            raise ValidationFailed.single("pattern", "is not a valid regular expression") from None
    numeric = kind in (FieldType.NUMBER, FieldType.DATE)
    d = Definition(
        key=key, label_zh=label_zh, label_en=label_en, type=kind, required=required,
        options=_options(rules.get("options")) if kind in (FieldType.CHOICE, FieldType.MULTI)
        else (),
        min=_bound(kind, rules.get("min"), "min") if numeric else None,
        max=_bound(kind, rules.get("max"), "max") if numeric else None,
        decimals=_whole(rules.get("decimals"), "decimals", 0, 6)
        if kind == FieldType.NUMBER else None,
        max_length=_whole(rules.get("max_length"), "max_length", 1, TEXT_MAX)
        if kind == FieldType.TEXT else None,
        pattern=pattern if kind == FieldType.TEXT else None, position=position, active=active)
    if kind in (FieldType.CHOICE, FieldType.MULTI) and not d.options:
        raise ValidationFailed.single("options", "a choice needs at least one option")
    if d.min is not None and d.max is not None and d.min > d.max:  # type: ignore[operator]
        raise ValidationFailed.single("max", "must not be below the minimum")
    try:
        normal_default = check_value(d, default)
    except Invalid as exc:
        raise ValidationFailed.single("default", exc.message, **exc.params) from None
    return Definition(**{**d.__dict__, "default": normal_default})


def rules_of(d: Definition) -> dict[str, Any]:
    """The definition's rules as stored (JSON-plain), only those its type uses."""
    rules: dict[str, Any] = {}
    if d.options:
        rules["options"] = [{"value": o.value, "label_zh": o.label_zh, "label_en": o.label_en}
                            for o in d.options]
    for name in ("min", "max"):
        bound = getattr(d, name)
        if bound is not None:
            rules[name] = bound.isoformat() if isinstance(bound, date) else f"{bound:f}"
    for name in ("decimals", "max_length", "pattern"):
        if getattr(d, name) is not None:
            rules[name] = getattr(d, name)
    return rules
