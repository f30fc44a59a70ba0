"""Alert rules: the kinds of condition Cangliu watches, the columns a rule's condition may read
for each kind, the kind's parameters with their defaults, and what a detector reports.

A detector (services.alerts.detect) turns the current state into ``Finding``s, one per key that
is in alarm, and says which keys it examined (``Check.checked``) so that an open alert whose key
was examined and not found again can resolve itself.
"""

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Final

SEVERITIES: Final = ("info", "warning", "critical")
RESPONSES: Final = ("suggest", "draft_transfer", "clearance", "escalate")


@dataclass(frozen=True)
class Kind:
    """``columns``: name → rules kind (number / text / bool) for conditions; ``params``: name →
    default; ``on``: what makes it evaluate — ``stock`` (a stock.changed event: only the touched
    SKU × site pairs are examined), ``posting`` (each posting of a stock.changed event) or only
    the periodic ``scan``; every kind is also evaluated by the scan except ``posting`` kinds."""

    code: str
    columns: Mapping[str, str]
    params: Mapping[str, Any] = field(default_factory=dict)
    on: str = "scan"
    resolves: bool = True  # whether the condition can clear (a past posting cannot)


_LEVELS = {"sku": "text", "site": "text", "region": "text", "category": "text", "abc": "text",
           "on_hand": "number", "available": "number", "reserved": "number",
           "safety_stock": "number", "reorder_point": "number", "max_stock": "number",
           "days_of_cover": "number", "daily_demand": "number"}
_LOT = {"sku": "text", "site": "text", "region": "text", "category": "text", "lot": "text",
        "days_left": "number", "qty": "number", "value": "number"}
_POSTING = {"sku": "text", "site": "text", "user": "text", "operation": "text",
            "value": "number", "qty": "number", "hour": "number"}

KINDS: Final[Mapping[str, Kind]] = {k.code: k for k in (
    Kind("low_stock", _LEVELS, {"level": "safety_stock"}, on="stock"),  # or "reorder_point"
    Kind("stock_out", _LEVELS, on="stock"),
    Kind("over_stock", _LEVELS, {"days_of_cover": None}, on="stock"),  # None: above max only
    Kind("near_expiry", _LOT, {"days": 30}),
    Kind("expired", _LOT),
    Kind("transfer_overdue", {"number": "text", "from_site": "text", "to_site": "text",
                              "region": "text", "hours_late": "number", "lines": "number"},
         {"grace_hours": 0}),
    Kind("approval_overdue", {"document_type": "text", "number": "text", "site": "text",
                              "region": "text", "hours_waiting": "number", "step": "text"},
         {"hours": 24}),
    Kind("bin_over_capacity", {"bin": "text", "site": "text", "region": "text",
                               "weight_pct": "number", "volume_pct": "number",
                               "weight": "number", "volume": "number"},
         {"percent": 100}, on="stock"),
    Kind("large_adjustment", _POSTING, {"value": "1000"}, on="posting", resolves=False),
    Kind("frequent_adjustments", {"user": "text", "count": "number"},
         {"count": 10, "hours": 24}, on="posting"),
    Kind("off_hours", _POSTING, {"start": "08:00", "end": "20:00", "timezone": "Asia/Shanghai"},
         on="posting", resolves=False),
    Kind("ledger_inconsistency", {"differences": "number"}),
)}


@dataclass(frozen=True)
class Rule:
    """An alert rule as the detectors see it: ``site_ids`` None watches every site."""

    id: int
    code: str
    kind: str
    params: Mapping[str, Any]
    condition: str = ""
    site_ids: frozenset[int] | None = None


@dataclass(frozen=True)
class Finding:
    """One key in alarm. ``title`` is an English msgid filled with ``params`` when shown."""

    key: str
    title: str
    params: Mapping[str, str]
    site_id: int | None = None
    sku_id: int | None = None
    link: str = ""
    values: Mapping[str, Any] = field(default_factory=dict)  # the kind's columns, for conditions


@dataclass(frozen=True)
class Check:
    """What one evaluation found. ``checked``: the keys examined (an open alert whose key was
    examined and is not among ``findings`` has cleared); None means every key of the rule was."""

    findings: list[Finding]
    checked: frozenset[str] | None = None
