"""Serial numbers (一物一码) and lot codes: rules, batch generation, scanning validation, a
serial's record and timeline, and lifecycle events recorded by documents."""

from cangliu.services.serials.generation import MAX_BATCH, SerialExists, generate, uniqueness
from cangliu.services.serials.records import (
    get_serial,
    list_serials,
    record_event,
    set_custom,
    timeline,
)
from cangliu.services.serials.rules import (
    DEFAULT_TEMPLATES,
    create,
    get_rule,
    list_rules,
    preview,
    rule_for,
    update,
)
from cangliu.services.serials.scanning import check_scan

__all__ = [
    "DEFAULT_TEMPLATES", "MAX_BATCH", "SerialExists", "check_scan", "create", "generate",
    "get_rule", "get_serial", "list_rules", "list_serials", "preview", "record_event",
    "rule_for", "set_custom", "timeline", "uniqueness", "update",
]
