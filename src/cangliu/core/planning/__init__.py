"""Planning: demand classes and stock thresholds per SKU × site, vectorised with Polars.

Floats are used here (the exception to Decimal quantities); callers convert at the boundary.
"""

from cangliu.core.planning.classify import (
    AbcCutoffs,
    PatternCutoffs,
    XyzCutoffs,
    abc_classes,
    complete_days,
    demand_classes,
)
from cangliu.core.planning.forecast import Forecast, Lifecycle, backtest, forecast, lead_time_demand
from cangliu.core.planning.matching import Plan, expected_days_of_cover, match
from cangliu.core.planning.rule_builtins import BUILTIN_RULES, builtin_rules
from cangliu.core.planning.rules import Rule, evaluate, rules_from_yaml, rules_to_yaml
from cangliu.core.planning.thresholds import (
    DEFAULT_LEAD_TIMES,
    DemandDefaults,
    RouteDefault,
    ServiceLevels,
    lead_times,
    stock_levels,
    z_for,
)

__all__ = [
    "BUILTIN_RULES",
    "DEFAULT_LEAD_TIMES",
    "AbcCutoffs",
    "DemandDefaults",
    "Forecast",
    "Lifecycle",
    "PatternCutoffs",
    "Plan",
    "RouteDefault",
    "Rule",
    "ServiceLevels",
    "XyzCutoffs",
    "abc_classes",
    "backtest",
    "builtin_rules",
    "complete_days",
    "demand_classes",
    "evaluate",
    "expected_days_of_cover",
    "forecast",
    "lead_time_demand",
    "lead_times",
    "match",
    "rules_from_yaml",
    "rules_to_yaml",
    "stock_levels",
    "z_for",
]
