"""The four built-in transfer rules, as the YAML a user would write (and may copy and edit)."""

from collections.abc import Mapping
from typing import Final

from cangliu.core.planning.rules import Rule, rule_from_yaml

# Counting what is already on the way, so a store is not filled twice while a transfer travels.
STORE_REPLENISHMENT: Final = """\
name: store_replenishment
kind: replenish
priority: 10
target: "site_kind = 'store' AND available + in_transit_in < safety_stock"
source: "site_kind = 'central'"
quantity: "max_stock - available - in_transit_in"
prefer: [same_region, lead_time, surplus]
approval_policy: transfer
cooldown_days: 1
"""

# Stock above max in one region fills a site below its reorder point in another; a source gives
# only what is above its own max (the offer formula of the balance kind).
REGIONAL_BALANCING: Final = """\
name: regional_balancing
kind: balance
priority: 20
target: "available + in_transit_in < reorder_point"
source: "available > max_stock"
quantity: "reorder_point - available - in_transit_in"
prefer: [same_region, lead_time, surplus]
approval_policy: transfer
cooldown_days: 3
"""

# From 7 days before an online promotion, each regional warehouse offers promo_uplift_pct % of its
# stock (the prestock kind); the online centre takes up to two weeks of promoted demand.
PROMOTION_PRESTOCK: Final = """\
name: promotion_prestock
kind: prestock
priority: 30
target: "site_kind = 'online' AND promo_starts_in_days BETWEEN 1 AND 7"
source: "site_kind = 'regional'"
quantity: "forecast_daily * (1 + promo_uplift_pct / 100) * 14 - available - in_transit_in"
prefer: [lead_time, surplus]
approval_policy: transfer
cooldown_days: 7
"""

# Stock that has not sold for 60 days at a selling site (a store or the online centre; warehouses
# sell nothing) moves to a site where the same SKU has under two weeks of cover, up to its max.
SLOW_MOVER_CLEARANCE: Final = """\
name: slow_mover_clearance
kind: clearance
priority: 40
target: "days_of_cover < 14 AND forecast_daily > 0"
source: "site_kind IN ('store', 'online') AND days_since_last_sale >= 60"
quantity: "max_stock - available - in_transit_in"
prefer: [surplus, same_region, lead_time]
approval_policy: transfer
cooldown_days: 14
"""

BUILTIN_RULES: Final[Mapping[str, str]] = {
    "store_replenishment": STORE_REPLENISHMENT,
    "regional_balancing": REGIONAL_BALANCING,
    "promotion_prestock": PROMOTION_PRESTOCK,
    "slow_mover_clearance": SLOW_MOVER_CLEARANCE,
}


def builtin_rules() -> tuple[Rule, ...]:
    """The built-in rules, parsed (each YAML text is checked as any user's rule is)."""
    return tuple(rule_from_yaml(text) for text in BUILTIN_RULES.values())
