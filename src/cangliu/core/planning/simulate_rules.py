"""The dynamic policy's planning day: the state of every item × site (the stores and the central
warehouse) as the planning run builds it, the transfer rules evaluated on it (``rules.evaluate``),
matched (``matching.match``) and shipped, as if every suggestion were accepted that day.

The central warehouse sells nothing to customers, so — as the threshold service computes it for a
site without demand history — its forecast and its levels are 0: it offers all it holds, and
never needs stock by a rule (its supplier orders follow its own reorder level, in simulate.py).
"""

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Final

import numpy as np
import polars as pl

from cangliu.core.planning.matching import Plan, match
from cangliu.core.planning.rule_builtins import builtin_rules
from cangliu.core.planning.rules import Rule, evaluate
from cangliu.core.planning.simulate_data import Demand
from cangliu.core.planning.simulate_flows import Flows, Levels

CENTRAL: Final = "WH"
SALES_DAYS: Final = 30
_COOLING: Final = pl.Schema({"rule": pl.Utf8, "sku": pl.Utf8, "site": pl.Utf8, "until": pl.Int64})
LOG_SCHEMA: Final = pl.Schema({"day": pl.Int64, "rule": pl.Utf8, "sku": pl.Utf8,
                               "from_site": pl.Utf8, "to_site": pl.Utf8, "qty": pl.Float64})


@dataclass(eq=False)
class RulePlanner:
    """The frames that stay the same every day (site and SKU codes, routes, packs), the day each
    series last sold, and the cooldowns of the rules: a rule that moved stock to a SKU at a site
    leaves it alone for ``cooldown_days``, as the planning run does after a decided suggestion."""

    rules: tuple[Rule, ...]
    sites: tuple[str, ...]  # the stores, then CENTRAL
    skus: tuple[str, ...]
    keys: pl.DataFrame  # sku, site, region, site_kind, channel — one row per site × item
    lead_times: pl.DataFrame
    packs: pl.DataFrame
    last_sale: np.ndarray  # [store, item]: the last day with a sale (−1: none yet)
    cooling: pl.DataFrame = field(default_factory=lambda: pl.DataFrame(schema=_COOLING))
    log: list[pl.DataFrame] = field(default_factory=list)
    purchases: int = 0

    @classmethod
    def start(cls, demand: Demand, flows: Flows, *, warehouse_lead: int, lateral_lead: int,
              rules: Sequence[Rule] | None = None) -> "RulePlanner":
        stores, items = len(demand.stores), len(demand.items)
        sites = (*demand.stores, CENTRAL)
        keys = pl.DataFrame({
            "sku": np.tile(demand.items, stores + 1), "site": np.repeat(sites, items),
            "region": np.repeat([*demand.store_regions, ""], items),
            "site_kind": np.repeat(["store"] * stores + ["central"], items),
            "channel": np.repeat(["store"] * stores + ["warehouse"], items)},
            schema={name: pl.Utf8 for name in ("sku", "site", "region", "site_kind", "channel")},
        ).with_columns(pl.col("region").replace("", None))
        sold = flows.sales[:flows.start_day] > 0
        last = np.where(sold.any(axis=0), sold.shape[0] - 1 - np.argmax(sold[::-1], axis=0), -1)
        return cls(rules=tuple(builtin_rules() if rules is None else rules), sites=sites,
                   skus=demand.items, keys=keys,
                   lead_times=_routes(demand.stores, warehouse_lead, lateral_lead),
                   packs=pl.DataFrame({"sku": demand.items, "pack_size": [1.0] * items}),
                   last_sale=last)

    def state(self, flows: Flows, t: int, levels: Levels) -> pl.DataFrame:
        """Every item × site at the end of day ``t``, with every column of STATE_COLUMNS (those
        the simulation has no data for — category, tags, promotions, xyz — empty). The warehouse
        is in no region and, selling nothing, has no forecast and levels of 0."""
        zero = np.zeros((1, len(self.skus)))

        def column(store: np.ndarray, central: np.ndarray = zero) -> np.ndarray:
            return np.concatenate([store, central]).reshape(-1)

        forecast = column(levels.d)
        available = column(flows.store, flows.warehouse[None, :])
        price = flows.price
        numbers = {
            "on_hand": available, "available": available,
            "in_transit_in": column(flows.store_transit),
            "in_transit_out": column(np.zeros_like(flows.store)),
            "on_order": column(np.zeros_like(flows.store), flows.on_order[None, :]),
            "safety_stock": column(levels.ss), "reorder_point": column(levels.rop),
            "max_stock": column(levels.max), "forecast_daily": forecast,
            "days_since_last_sale": column(t - self.last_sale, np.full_like(zero, t + 1.0)),
            "sales_30d": column(flows.sales[max(0, t - SALES_DAYS + 1):t + 1].sum(axis=0)),
            "pack_size": np.ones_like(forecast),
            "unit_cost": column(price, price.mean(axis=0)[None, :]),
        }
        abc = flows.abc if flows.abc is not None else np.full(flows.store.shape, "C")
        return self.keys.with_columns(
            *(pl.Series(name, values, pl.Float64) for name, values in numbers.items()),
            # No forecast demand: no cover figure (null), as in the planning run.
            pl.Series("days_of_cover", np.where(forecast > 0, available / np.where(
                forecast > 0, forecast, 1.0), np.nan)).fill_nan(None),
            promo_starts_in_days=pl.lit(None, pl.Float64), promo_uplift_pct=pl.lit(None, pl.Float64),
            abc=pl.Series(np.concatenate([abc, np.full((1, len(self.skus)), "C")]).reshape(-1)),
            lifecycle=pl.lit("mature"), category=pl.lit(""), tags=pl.lit(""),
            xyz=pl.lit(None, pl.Utf8), pattern=pl.lit(None, pl.Utf8))

    def plan(self, flows: Flows, t: int, levels: Levels) -> Plan:
        """Today's plan: the rules' needs (less those cooling down) matched to their offers."""
        self.last_sale = np.where(flows.sales[t] > 0, t, self.last_sale)
        needs, offers = evaluate(self.rules, self.state(flows, t, levels))
        needs = needs.join(self.cooling.filter(pl.col("until") > t),
                           on=["rule", "sku", "site"], how="anti")
        plan = match(needs, offers, self.lead_times, self.packs,
                     preference_by_rule={r.name: r.prefer for r in self.rules})
        cooldown = {r.name: r.cooldown_days for r in self.rules}
        decided = plan.transfers.select(
            "rule", "sku", site="to_site",
            until=t + pl.col("rule").replace_strict(cooldown, return_dtype=pl.Int64))
        still = self.cooling.filter(pl.col("until") > t + 1)
        self.cooling = pl.concat([still, decided.cast(_COOLING)]).unique(
            ["rule", "sku", "site"], keep="last")
        # As in the planning service, only a replenishment rule's unmet need is a purchase.
        buying = [r.name for r in self.rules if r.kind == "replenish"]
        self.purchases += plan.purchases.filter(pl.col("rule").is_in(buying)).height
        return plan

    def ship(self, flows: Flows, t: int, transfers: pl.DataFrame, *, warehouse_lead: int,
             lateral_lead: int) -> None:
        """Send every matched transfer today: from the warehouse or from a store, to a store."""
        if transfers.is_empty():
            return
        site = {code: k for k, code in enumerate(self.sites)}
        item = {code: k for k, code in enumerate(self.skus)}
        src = transfers["from_site"].replace_strict(site, return_dtype=pl.Int64).to_numpy()
        dst = transfers["to_site"].replace_strict(site, return_dtype=pl.Int64).to_numpy()
        sku = transfers["sku"].replace_strict(item, return_dtype=pl.Int64).to_numpy()
        qty = transfers["qty"].to_numpy()
        central = len(self.sites) - 1
        if (dst == central).any():
            raise ValueError("a rule moved stock to the central warehouse, which has no route in")
        from_wh = src == central
        np.add.at(flows.warehouse, sku[from_wh], -qty[from_wh])
        np.add.at(flows.store, (src[~from_wh], sku[~from_wh]), -qty[~from_wh])
        lead = np.where(from_wh, warehouse_lead, lateral_lead)
        np.add.at(flows.to_store, (t + lead, dst, sku), qty)
        np.add.at(flows.store_transit, (dst, sku), qty)
        flows.shipments += int(from_wh.sum())
        flows.laterals += int((~from_wh).sum())
        self.log.append(transfers.select(pl.lit(t, pl.Int64).alias("day"), *LOG_SCHEMA.names()[1:]))


def _routes(stores: Sequence[str], warehouse_lead: int, lateral_lead: int) -> pl.DataFrame:
    """Lead time in days of every route: warehouse → store, store → store."""
    rows = [(CENTRAL, s, float(warehouse_lead)) for s in stores]
    rows += [(a, b, float(lateral_lead)) for a in stores for b in stores if a != b]
    return pl.DataFrame(rows, schema={"from_site": pl.Utf8, "to_site": pl.Utf8, "days": pl.Float64},
                        orient="row")
