"""Custom fields (自定义字段): the fields administrators add to SKUs, sites, partners, serials
and documents — their definitions and the check of the values records carry for them."""

from cangliu.core.custom_fields.definitions import definition, rules_of
from cangliu.core.custom_fields.values import (
    ENTITIES,
    KEY_PATTERN,
    TEXT_MAX,
    Definition,
    FieldType,
    Invalid,
    Option,
    check,
    check_value,
    display,
    empty,
    matches,
)

__all__ = ["ENTITIES", "KEY_PATTERN", "TEXT_MAX", "Definition", "FieldType", "Invalid", "Option",
           "check", "check_value", "definition", "display", "empty", "matches", "rules_of"]
