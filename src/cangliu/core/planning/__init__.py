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
    "DEFAULT_LEAD_TIMES",
    "AbcCutoffs",
    "DemandDefaults",
    "Forecast",
    "Lifecycle",
    "PatternCutoffs",
    "RouteDefault",
    "ServiceLevels",
    "XyzCutoffs",
    "abc_classes",
    "backtest",
    "complete_days",
    "demand_classes",
    "forecast",
    "lead_time_demand",
    "lead_times",
    "stock_levels",
    "z_for",
]
