"""Documents (单据): numbering and the state table each document type moves through.

A state table maps (state, action) to the next state; anything else is an illegal transition
with a clear message, so a double click or a second browser tab can never post twice.
"""

from dataclasses import dataclass
from datetime import date
from enum import StrEnum

from cangliu.core.errors import Conflict


class Reset(StrEnum):
    NEVER = "never"
    DAILY = "daily"
    MONTHLY = "monthly"
    YEARLY = "yearly"


@dataclass(frozen=True)
class Series:
    """How one document type is numbered, e.g. TO-20261123-0007."""

    prefix: str
    date_format: str = "%Y%m%d"
    width: int = 4
    reset: Reset = Reset.DAILY

    def period(self, day: date) -> str:
        """The counter bucket a date falls in: the sequence restarts in each new bucket."""
        return {Reset.NEVER: "", Reset.DAILY: day.strftime("%Y%m%d"),
                Reset.MONTHLY: day.strftime("%Y%m"), Reset.YEARLY: day.strftime("%Y")}[self.reset]

    def format(self, day: date, seq: int) -> str:
        parts = [self.prefix]
        if self.date_format:
            parts.append(day.strftime(self.date_format))
        parts.append(f"{seq:0{self.width}d}")
        return "-".join(parts)


SERIES = {
    "transfer": Series("TO"),
    "purchase_order": Series("PO"),
    "sales_order": Series("SO"),
    "stock_count": Series("SC"),
    "scrap": Series("SP"),
    "sales_return": Series("RT"),
    "receipt": Series("RC"),
    "payment": Series("PM"),
    "serial_batch": Series("SB"),
    "work_order": Series("WO"),
    "repair_ticket": Series("RP"),
    "recall": Series("RL"),
}


class IllegalTransition(Conflict):
    def __init__(self, number: str, state: str, action: str) -> None:
        super().__init__("Document {number} is {state}: cannot {action}", number=number,
                         state=state, action=action)


@dataclass(frozen=True)
class StateTable:
    name: str
    transitions: dict[str, dict[str, str]]

    def next(self, number: str, state: str, action: str) -> str:
        target = self.transitions.get(state, {}).get(action)
        if target is None:
            raise IllegalTransition(number, state, action)
        return target

    def allowed(self, state: str) -> list[str]:
        return sorted(self.transitions.get(state, {}))

    @property
    def states(self) -> set[str]:
        return set(self.transitions) | {s for t in self.transitions.values() for s in t.values()}


TRANSFER = StateTable("transfer", {
    "draft": {"edit": "draft", "submit": "pending_approval", "cancel": "cancelled"},
    "pending_approval": {"approve": "approved", "reject": "draft", "cancel": "cancelled"},
    "approved": {"ship": "shipped", "cancel": "cancelled"},
    "shipped": {"receive_part": "partially_received", "receive_all": "received",
                "cancel": "cancelled"},
    "partially_received": {"receive_part": "partially_received", "receive_all": "received"},
    "received": {"close": "closed"},
    "closed": {},
    "cancelled": {},
})

PURCHASE_ORDER = StateTable("purchase order", {
    "draft": {"edit": "draft", "submit": "submitted", "cancel": "cancelled"},
    "submitted": {"approve": "approved", "reject": "draft", "cancel": "cancelled"},
    "approved": {"receive_part": "partially_received", "receive_all": "received",
                 "cancel": "cancelled"},
    "partially_received": {"receive_part": "partially_received", "receive_all": "received",
                           "close": "closed"},
    "received": {"close": "closed"},
    "closed": {},
    "cancelled": {},
})
# Purchase orders whose unreceived quantity counts as "on order".
OPEN_PURCHASE_STATES = ("submitted", "approved", "partially_received")
BASE_CURRENCY = "CNY"

SALES_ORDER = StateTable("sales order", {
    "draft": {"edit": "draft", "confirm": "confirmed", "cancel": "cancelled"},
    "confirmed": {"ship_part": "partially_shipped", "ship_all": "shipped", "cancel": "cancelled"},
    "partially_shipped": {"ship_part": "partially_shipped", "ship_all": "shipped",
                          "close": "closed"},
    "shipped": {"return": "shipped", "close": "closed"},
    "closed": {"return": "closed"},
    "cancelled": {},
})

STOCK_COUNT = StateTable("stock count", {
    "counting": {"count": "counting", "submit": "review", "cancel": "cancelled"},
    # Posting starts the variances' approval; they post at once when the policy approves.
    "review": {"reopen": "counting", "post": "posted", "cancel": "cancelled"},
    "pending_approval": {"approve": "posted", "reject": "review", "cancel": "cancelled"},
    "posted": {},
    "cancelled": {},
})

# A posting held for approval (a large scrap or customer return): approval posts it.
HELD = StateTable("held document", {
    "pending_approval": {"approve": "posted", "reject": "rejected", "cancel": "cancelled"},
    "posted": {},
    "rejected": {},
    "cancelled": {},
})

AGING_BUCKETS = ((0, 30, "0-30"), (31, 60, "31-60"), (61, 90, "61-90"), (91, None, "90+"))


def aging_bucket(days: int) -> str:
    """Which aging column an open item of this age (in days) falls into."""
    for low, high, label in AGING_BUCKETS:
        if days >= low and (high is None or days <= high):
            return label
    return AGING_BUCKETS[0][2]
