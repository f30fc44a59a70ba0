"""The KPI definitions: what each code means, its formula over the snapshot sums, and its unit.

The formulas are the textbook ones (DESIGN §3); ``Totals`` holds the sums they read.
"""

from dataclasses import dataclass, field
from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

ZERO = Decimal(0)
PLACES = {"money": Decimal("0.01"), "ratio": Decimal("0.0001"), "days": Decimal("0.1"),
          "hours": Decimal("0.1"), "count": Decimal(1)}


@dataclass(frozen=True)
class Kpi:
    code: str
    name: str  # English msgid
    formula: str  # English msgid
    source: str
    unit: str  # money | ratio | days | hours | count
    better: str = "higher"  # which way is good, for the comparison's colours


KPIS: tuple[Kpi, ...] = (
    Kpi("inventory_value", "Inventory value", "Stock value at cost at the end of the period",
        "kpi_snapshot.stock_value (ledger: Σ move value per site)", "money", "lower"),
    Kpi("cogs", "Cost of goods sold", "Cost of goods shipped to customers less customer returns",
        "kpi_snapshot.cogs (ledger moves to and from customers)", "money"),
    Kpi("turnover", "Turnover", "COGS ÷ average inventory value",
        "kpi_snapshot.cogs, daily stock_value", "ratio"),
    Kpi("days_of_inventory", "Days of inventory", "Days in period × average inventory value ÷ COGS",
        "kpi_snapshot.cogs, daily stock_value", "days", "lower"),
    Kpi("stockout_rate", "Stock-out rate",
        "Orders not fully served from stock (shipped or reserved) ÷ all orders (order lines "
        "when a category is chosen)",
        "sales orders and lines by creation day", "ratio", "lower"),
    Kpi("fill_rate", "Fill rate",
        "Order lines served in full from stock (shipped or reserved) ÷ all order lines",
        "sales lines by order creation day", "ratio"),
    Kpi("transfer_count", "Transfers shipped", "Transfer orders shipped in the period",
        "transfer_order.shipped_at, at the source site", "count"),
    Kpi("transfer_value", "Transfer value", "Cost value of stock shipped on transfers",
        "ledger transfer_ship moves", "money"),
    Kpi("approval_hours", "Approval time (h)", "Mean hours from submission to final decision",
        "approval_instance started_at → finished_at", "hours", "lower"),
    Kpi("transit_hours", "Transit time (h)", "Mean hours from shipment to receipt of transfers",
        "transfer_order shipped_at → received_at, at the destination", "hours", "lower"),
    Kpi("receipt_accuracy", "Receipt accuracy",
        "Purchase lines received exactly as ordered ÷ purchase lines received",
        "purchase_line qty vs received_qty, on the last receipt's day", "ratio"),
)
BY_CODE = {k.code: k for k in KPIS}
# Measures of whole documents: not split by category.
DOCUMENT_KPIS = ("transfer_count", "approval_hours", "transit_hours")
ADDITIVE = ("inventory_value", "on_hand_qty", "cogs", "receipts_value", "transfer_value")


@dataclass
class Totals:
    """Sums of snapshot measures over a set of days, sites and categories."""

    days: int = 0
    end_value: Decimal = ZERO  # stock value on the last day
    end_qty: Decimal = ZERO
    value_days: Decimal = ZERO  # Σ daily stock value: ÷ days is the average
    sums: dict[str, Any] = field(default_factory=dict)
    by_lines: bool = False  # a category filter: stock-out from lines, document measures unknown

    def get(self, name: str) -> Any:
        return self.sums.get(name, 0)


def _div(a: Any, b: Any) -> Decimal | None:
    return None if not b else Decimal(a) / Decimal(b)


def _round(kpi: Kpi, value: Decimal | None) -> Decimal | None:
    return None if value is None else value.quantize(PLACES[kpi.unit], ROUND_HALF_UP)


def evaluate(t: Totals) -> dict[str, Decimal | None]:
    """Every KPI's value from the totals (None where its denominator is zero or unknown)."""
    average = _div(t.value_days, t.days) or ZERO
    cogs = Decimal(t.get("cogs"))
    orders, short = ((t.get("lines"), t.get("lines_short")) if t.by_lines
                     else (t.get("orders"), t.get("orders_short")))
    raw: dict[str, Decimal | None] = {
        "inventory_value": t.end_value,
        "cogs": cogs,
        "turnover": _div(cogs, average),
        "days_of_inventory": _div(t.days * average, cogs) if cogs > 0 else None,
        "stockout_rate": _div(short, orders),
        "fill_rate": _div(t.get("lines") - t.get("lines_short"), t.get("lines")),
        "transfer_count": Decimal(t.get("transfers_shipped")),
        "transfer_value": Decimal(t.get("transfers_value")),
        "approval_hours": _div(t.get("approval_hours_sum"), t.get("approvals")),
        "transit_hours": _div(t.get("transit_hours_sum"), t.get("transit_count")),
        "receipt_accuracy": _div(t.get("receipt_lines_exact"), t.get("receipt_lines")),
    }
    if t.by_lines:
        raw.update(dict.fromkeys(DOCUMENT_KPIS))
    return {k.code: _round(k, raw[k.code]) for k in KPIS}


def days_between(start: date, end: date) -> int:
    return (end - start).days + 1
