"""The planning state: one row per SKU × site with every column a transfer rule may read
(core.planning.rules.STATE_COLUMNS), built from the ledger figures, the thresholds in force, the
demand history and the promotion calendar.

The rows are the SKU × site pairs that hold, expect or owe stock, or have thresholds. Transfer
orders not shipped yet (draft, pending approval, approved) count as shipped: in transit to their
destination and no longer available at their source, so a suggestion accepted yesterday is not
proposed again today. SKU and site
are codes (a condition may say ``site = 'ST01'``); ``sku_id`` and ``site_id`` ride along.
"""

from datetime import date, timedelta
from typing import Any, Final

import polars as pl
from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session

from cangliu.core.locations import LocationKind
from cangliu.core.planning.rules import STATE_COLUMNS
from cangliu.db import queries
from cangliu.db.models import (
    Category,
    DemandDay,
    Location,
    Sku,
    SkuCost,
    StockThreshold,
    TransferLine,
    TransferOrder,
)
from cangliu.services import promotion_effects, thresholds

# The SKU attributes that read as tags (tags LIKE '%perishable%').
TAG_FLAGS: Final = ("fragile", "high_value", "bonded", "perishable")
SALES_DAYS: Final = 30
UNSHIPPED: Final = ("draft", "pending_approval", "approved")
_FLOAT: Final = pl.Float64
_SCHEMA: Final = pl.Schema({
    "sku_id": pl.Int64, "site_id": pl.Int64,
    **{name: (_FLOAT if kind == "number" else pl.String) for name, (kind, _) in STATE_COLUMNS.items()},
    "note": pl.String})


def _frame(rows: Any, schema: dict[str, Any]) -> pl.DataFrame:
    return pl.DataFrame(list(rows), orient="row", schema=schema)


def _skus(session: Session) -> pl.DataFrame:
    rows = session.execute(select(Sku.id, Sku.code, Category.code, Sku.pack_size,
                                  *(getattr(Sku, flag) for flag in TAG_FLAGS))
                           .outerjoin(Category, Category.id == Sku.category_id))
    costs = {sku_id: float(value / qty) for sku_id, qty, value in
             session.execute(select(SkuCost.sku_id, SkuCost.qty, SkuCost.value)) if qty > 0}
    return _frame(((i, code, cat or "", float(pack or 1),
                    ",".join(f for f, on in zip(TAG_FLAGS, flags, strict=True) if on),
                    costs.get(i, 0.0)) for i, code, cat, pack, *flags in rows),
                  {"sku_id": pl.Int64, "sku": pl.String, "category": pl.String,
                   "pack_size": _FLOAT, "tags": pl.String, "unit_cost": _FLOAT})


def _sites(session: Session) -> pl.DataFrame:
    rows = session.execute(select(Location.id, Location.code, Location.region, Location.site_kind,
                                  Location.channel).where(Location.kind == LocationKind.SITE.value,
                                                          Location.active))
    return _frame(rows, {"site_id": pl.Int64, "site": pl.String, "region": pl.String,
                         "site_kind": pl.String, "channel": pl.String})


def _figures(session: Session) -> pl.DataFrame:
    names = ("on_hand", "available", "in_transit_in", "in_transit_out", "on_order")
    return _frame(((sku_id, site_id, *(float(f[n]) for n in names))
                   for sku_id, site_id, f in queries.all_figures(session)),
                  {"sku_id": pl.Int64, "site_id": pl.Int64, **dict.fromkeys(names, _FLOAT)})


def _planned(session: Session) -> pl.DataFrame:
    """Units on transfer orders not shipped yet (draft, pending approval, approved), per SKU at
    the destination (``coming``) and at the source (``going``)."""
    rows = session.execute(
        select(TransferLine.sku_id, TransferOrder.source_site_id, TransferOrder.dest_site_id,
               TransferLine.qty).join(TransferOrder, TransferOrder.id == TransferLine.transfer_id)
        .where(TransferOrder.state.in_(UNSHIPPED)))
    moves = [(sku, dest, float(qty), 0.0) for sku, _src, dest, qty in rows]
    moves += [(sku, src, 0.0, float(qty)) for sku, src, _dest, qty in rows]
    return (_frame(moves, {"sku_id": pl.Int64, "site_id": pl.Int64, "coming": _FLOAT,
                           "going": _FLOAT})
            .group_by("sku_id", "site_id").agg(pl.col("coming", "going").sum()))


def _newest_thresholds(session: Session, today: date) -> pl.DataFrame:
    """The levels in force (overrides win) with the newest computation's forecast and classes."""
    newest: Select[Any] = thresholds.newest(select(StockThreshold))
    rows = [(t.sku_id, t.site_id, t.demand, t.abc, t.xyz, t.pattern,
             t.lifecycle, t.note) for t in session.scalars(newest)]
    computed = _frame(rows, {"sku_id": pl.Int64, "site_id": pl.Int64, "forecast_daily": _FLOAT,
                             "abc": pl.String, "xyz": pl.String, "pattern": pl.String,
                             "lifecycle": pl.String, "note": pl.String})
    levels = _frame(((sku_id, site_id, float(v.safety_stock), float(v.reorder_point),
                      float(v.max_stock)) for (sku_id, site_id), v in
                     thresholds.current(session, today).items()),
                    {"sku_id": pl.Int64, "site_id": pl.Int64, "safety_stock": _FLOAT,
                     "reorder_point": _FLOAT, "max_stock": _FLOAT})
    return levels.join(computed, on=["sku_id", "site_id"], how="full", coalesce=True)


def _sales(session: Session, today: date) -> pl.DataFrame:
    """Units sold in the last 30 days and days since the last sale. A pair that never sold counts
    from the first day of the recorded history (so old stock that never sold reads as slow)."""
    since = today - timedelta(days=SALES_DAYS)
    rows = session.execute(
        select(DemandDay.sku_id, DemandDay.site_id,
               func.sum(DemandDay.qty).filter(DemandDay.day >= since, DemandDay.day < today),
               func.max(DemandDay.day).filter(DemandDay.qty > 0))
        .where(DemandDay.day < today).group_by(DemandDay.sku_id, DemandDay.site_id))
    first = session.scalar(select(func.min(DemandDay.day))) or today
    return _frame(((sku, site, float(qty or 0), float(((today - (last or first)).days)))
                   for sku, site, qty, last in rows),
                  {"sku_id": pl.Int64, "site_id": pl.Int64, "sales_30d": _FLOAT,
                   "days_since_last_sale": _FLOAT}).with_columns(
        pl.lit(float((today - first).days)).alias("__history_days"))


def _promotions(session: Session, today: date, pairs: pl.DataFrame) -> pl.DataFrame:
    found = promotion_effects.upcoming(session, today, pairs.select(sku="sku_id", site="site_id"))
    return found.select(sku_id="sku", site_id="site", promo_starts_in_days="promo_starts_in_days",
                        promo_uplift_pct="promo_uplift_pct")


def build_state(session: Session, today: date) -> pl.DataFrame:
    """Every SKU × site with stock, transit, open orders or thresholds, as of ``today``."""
    keys = ["sku_id", "site_id"]
    figures, levels = _figures(session), _newest_thresholds(session, today)
    state = (pl.concat([figures.select(keys), levels.select(keys)]).unique()
             .join(_skus(session), on="sku_id").join(_sites(session), on="site_id")
             .join(figures, on=keys, how="left").join(levels, on=keys, how="left"))
    if state.is_empty():
        return pl.DataFrame(schema=_SCHEMA)
    sales = _sales(session, today)
    history_days = float(sales["__history_days"][0]) if sales.height else 0.0
    state = (state.join(sales.drop("__history_days"), on=keys, how="left")
             .join(_promotions(session, today, state.select(keys)), on=keys, how="left")
             .join(_planned(session), on=keys, how="left"))
    stock = ("on_hand", "available", "in_transit_in", "in_transit_out", "on_order", "sales_30d",
             "coming", "going")
    state = state.with_columns(*(pl.col(c).fill_null(0.0) for c in stock)).with_columns(
        # A transfer not shipped yet counts as on its way, so no run proposes it twice.
        in_transit_in=pl.col("in_transit_in") + pl.col("coming"),
        in_transit_out=pl.col("in_transit_out") + pl.col("going"),
        available=pl.col("available") - pl.col("going"),
        forecast_daily=pl.col("forecast_daily").fill_null(0.0),
        days_since_last_sale=pl.col("days_since_last_sale").fill_null(history_days),
    ).with_columns(
        days_of_cover=pl.when(pl.col("forecast_daily") > 0)
        .then(pl.col("available") / pl.col("forecast_daily")))
    return state.select(_SCHEMA.names()).cast(_SCHEMA).sort("sku", "site")
