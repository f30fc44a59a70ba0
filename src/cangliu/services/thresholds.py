"""Stock thresholds per SKU × site (安全库存 / 再订货点 / 最高库存): recomputed daily from the demand
history, the lead times of received transfers and the ABC class, stored with their inputs and an
explanation; a user may override them with a reason until an expiry date.

The series are every SKU × site with demand in the window or stock now; a series starts on its
first recorded day (demand or stock-out), and one without any takes the defaults and says so in
its note. Lead time is learned per destination site from
received transfers (shipped → received, any source); a site with fewer than three gets the default
of its kind: a central warehouse is supplied by purchase (7 ± 2 days), every other site by transfer
(2 ± 0.5 days).
"""

from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

import polars as pl
from sqlalchemy import Select, delete, func, insert, select
from sqlalchemy.orm import Session

from cangliu.core.errors import ValidationFailed
from cangliu.core.ledger import parse_qty
from cangliu.core.locations import LocationKind
from cangliu.core.permissions import Actor
from cangliu.core.planning import (
    ServiceLevels,
    abc_classes,
    complete_days,
    demand_classes,
    forecast,
    lead_times,
    stock_levels,
)
from cangliu.db.models import (
    DemandDay,
    Location,
    Sku,
    SkuCost,
    StockBalance,
    StockThreshold,
    ThresholdOverride,
    TransferOrder,
)
from cangliu.db.repositories import masterdata as md
from cangliu.db.uow import UnitOfWork, retrying
from cangliu.services import demand
from cangliu.services.idempotency import Result

WINDOW_DAYS = 91  # thirteen weeks of history
DEMAND_CLASSES = ("smooth", "erratic", "intermittent", "lumpy")
REVIEW_DAYS = 7
LEVEL_COLUMNS = {"ss": "safety_stock", "rop": "reorder_point", "max": "max_stock"}


@dataclass(frozen=True)
class Levels:
    """The thresholds in force for one SKU at one site; ``explanation`` is the computed formula,
    or the reason given for an override."""

    safety_stock: Decimal
    reorder_point: Decimal
    max_stock: Decimal
    explanation: str
    overridden: bool


def _history(session: Session, start: date, end: date) -> pl.DataFrame:
    rows = session.execute(select(DemandDay.sku_id, DemandDay.site_id, DemandDay.day,
                                  DemandDay.qty, DemandDay.stockout)
                           .where(DemandDay.day.between(start, end))).all()
    return pl.DataFrame([(s, t, d, float(q), bool(o)) for s, t, d, q, o in rows], orient="row",
                        schema={"sku": pl.Int64, "site": pl.Int64, "day": pl.Date,
                                "qty": pl.Float64, "stockout": pl.Boolean})


def _stocked(session: Session) -> pl.DataFrame:
    rows = session.execute(select(StockBalance.sku_id, StockBalance.site_id).where(
        StockBalance.site_id.is_not(None), StockBalance.qty > 0).distinct()).all()
    return pl.DataFrame(rows, orient="row", schema={"sku": pl.Int64, "site": pl.Int64})


def _lead_times(session: Session, sites: pl.DataFrame) -> pl.DataFrame:
    shipped = session.execute(select(TransferOrder.dest_site_id, TransferOrder.shipped_at,
                                     TransferOrder.received_at).where(
        TransferOrder.received_at.is_not(None), TransferOrder.shipped_at.is_not(None))).all()
    legs = pl.DataFrame([("*", str(dest), (got - sent).total_seconds() / 86400)
                         for dest, sent, got in shipped], orient="row",
                        schema={"route_from": pl.String, "route_to": pl.String, "days": pl.Float64})
    routes = sites.select(route_from=pl.lit("*"), route_to=pl.col("site").cast(pl.String),
                          kind=pl.when(pl.col("site_kind") == "central").then(pl.lit("purchase"))
                          .otherwise(pl.lit("transfer")))
    return lead_times(legs, routes).select(
        site=pl.col("route_to").cast(pl.Int64), L=pl.col("L"), sL=pl.col("sL"),
        lead_time_source=pl.col("lead_time_source"))


def _forecasts(days: pl.DataFrame, stats: pl.DataFrame, as_of: date) -> pl.DataFrame:
    """Mean daily demand and its σ over the next 28 days by the forecast model of each series'
    demand class (series too short to classify keep their history's mean and σ)."""
    classes = stats.filter(pl.col("pattern").is_in(list(DEMAND_CLASSES))).select(
        "sku", "site", sb_class="pattern")
    empty = pl.DataFrame(schema={"sku": pl.Int64, "site": pl.Int64, "fd": pl.Float64,
                                 "fsd": pl.Float64, "model": pl.String})
    if classes.is_empty():
        return empty
    summary = forecast(days.join(classes, on=["sku", "site"], how="semi"), classes,
                       as_of=as_of).summary
    return summary.select("sku", "site", fd="d", fsd="sd", model="model").cast(empty.schema)


def compute(session: Session, today: date, *, window_days: int = WINDOW_DAYS,
            review_days: int = REVIEW_DAYS, levels: ServiceLevels = ServiceLevels()
            ) -> pl.DataFrame:
    """The thresholds of every series as of ``today``, from the history before it."""
    start, end = today - timedelta(days=window_days), today - timedelta(days=1)
    history = _history(session, start, end)
    series = pl.concat([history.select("sku", "site"), _stocked(session)]).unique()
    if series.is_empty():
        return series
    # A series starts on its first recorded day: the days before it are not days without demand.
    first = history.group_by("sku", "site").agg(first=pl.col("day").min())
    days = (complete_days(history, start=start, end=end).join(first, on=["sku", "site"])
            .filter(pl.col("day") >= pl.col("first")).drop("first"))
    stats = demand_classes(days)
    sku_rows = session.execute(select(Sku.id, Sku.decimals)).all()
    skus = pl.DataFrame(sku_rows, orient="row", schema={"sku": pl.Int64, "decimals": pl.Int64})
    costs = pl.DataFrame([(s, float(v / q)) for s, q, v in session.execute(
        select(SkuCost.sku_id, SkuCost.qty, SkuCost.value)) if q > 0], orient="row",
        schema={"sku": pl.Int64, "unit_cost": pl.Float64})
    value = (history.group_by("sku", "site").agg(pl.col("qty").sum())
             .join(costs, on="sku", how="left")
             .select("sku", "site", value=pl.col("qty") * pl.col("unit_cost").fill_null(0.0)))
    abc = abc_classes(series.join(value, on=["sku", "site"], how="left")
                      .with_columns(pl.col("value").fill_null(0.0)))
    site_rows = session.execute(select(Location.id, Location.site_kind).where(
        Location.kind == LocationKind.SITE.value)).all()
    sites = pl.DataFrame(site_rows, orient="row", schema={"site": pl.Int64, "site_kind": pl.String})
    frame = (series.join(stats.select("sku", "site", d="mean", sd="std", pattern="pattern"),
                         on=["sku", "site"], how="left")
             .join(_forecasts(days, stats, end), on=["sku", "site"], how="left")
             .with_columns(d=pl.coalesce("fd", "d"), sd=pl.coalesce("fsd", "sd"))
             .drop("fd", "fsd")
             .join(abc.select("sku", "site", "abc"), on=["sku", "site"], how="left")
             .join(skus, on="sku", how="left")
             .join(_lead_times(session, sites), on="site", how="left")
             .with_columns(review_days=pl.lit(float(review_days))))
    # A series with one observed day has a mean but no σ: its σ comes from the defaults too.
    return stock_levels(frame, levels=levels)


@retrying
def recompute(uow: UnitOfWork, *, today: date | None = None, **options: Any) -> dict[str, int]:
    """Compute and store today's thresholds (again, replacing today's rows: idempotent)."""
    with uow:
        s = uow.session
        day = today or uow.now().date()
        frame = compute(s, day, **options)
        s.execute(delete(StockThreshold).where(StockThreshold.computed_on == day))
        rows = [{"sku_id": r["sku"], "site_id": r["site"], "computed_on": day,
                 "demand": r["d"], "demand_sd": r["sd"], "lead_time": r["L"],
                 "lead_time_sd": r["sL"], "lead_time_source": r["lead_time_source"],
                 "abc": r["abc"], "pattern": r["pattern"], "model": r["model"], "z": r["z"],
                 **{column: Decimal(str(r[key])) for key, column in LEVEL_COLUMNS.items()},
                 "explanation": r["explanation"][:400], "note": r["note"]}
                for r in frame.iter_rows(named=True)]
        if rows:
            s.execute(insert(StockThreshold), rows)
        uow.commit()
    notes = [r["note"] or "" for r in rows]
    return {"series": len(rows), "with_defaults": sum("demand history" in n for n in notes),
            "default_lead_time": sum("lead time" in n for n in notes)}


def refresh(uow: UnitOfWork, *, today: date) -> dict[str, Any]:
    """The daily planning step: rebuild the window's demand history from the ledger, then
    recompute today's thresholds; twice on one day gives the same rows."""
    rebuilt = demand.rebuild_demand(uow, since=today - timedelta(days=WINDOW_DAYS))
    return {"demand": rebuilt, "thresholds": recompute(uow, today=today)}


def _newest(query: Select[Any]) -> Select[Any]:
    """``query`` on stock_threshold narrowed to each series' newest computed day."""
    newest = select(StockThreshold.sku_id, StockThreshold.site_id,
                    func.max(StockThreshold.computed_on).label("on")).group_by(
        StockThreshold.sku_id, StockThreshold.site_id).subquery()
    return query.join(newest, (newest.c.sku_id == StockThreshold.sku_id)
                      & (newest.c.site_id == StockThreshold.site_id)
                      & (newest.c.on == StockThreshold.computed_on))


def current(session: Session, today: date, pairs: list[tuple[int, int]] | None = None
            ) -> dict[tuple[int, int], Levels]:
    """The levels in force per (sku_id, site_id): an unexpired override, else the newest
    computed ones."""
    query = _newest(select(StockThreshold))
    overrides = select(ThresholdOverride).where(ThresholdOverride.expires_on >= today).order_by(
        ThresholdOverride.id)
    if pairs is not None:
        skus, sites = {p[0] for p in pairs}, {p[1] for p in pairs}
        query = query.where(StockThreshold.sku_id.in_(skus), StockThreshold.site_id.in_(sites))
        overrides = overrides.where(ThresholdOverride.sku_id.in_(skus),
                                    ThresholdOverride.site_id.in_(sites))
    out = {(t.sku_id, t.site_id): Levels(t.safety_stock, t.reorder_point, t.max_stock,
                                         t.explanation, False) for t in session.scalars(query)}
    for o in session.scalars(overrides):  # the newest override wins
        out[(o.sku_id, o.site_id)] = Levels(o.safety_stock, o.reorder_point, o.max_stock,
                                            o.reason, True)
    return out


def _row(t: StockThreshold, sku: str, site: str) -> dict[str, Any]:
    return {"sku": sku, "site": site, "computed_on": t.computed_on.isoformat(),
            "safety_stock": t.safety_stock, "reorder_point": t.reorder_point,
            "max_stock": t.max_stock, "explanation": t.explanation, "note": t.note,
            "inputs": {"demand": t.demand, "demand_sd": t.demand_sd, "lead_time": t.lead_time,
                       "lead_time_sd": t.lead_time_sd, "lead_time_source": t.lead_time_source,
                       "abc": t.abc, "pattern": t.pattern, "model": t.model, "z": t.z}}


def list_current(session: Session, today: date, *, sku: str | None = None,
                 site: str | None = None, scope: frozenset[int] | None = None, limit: int = 50,
                 offset: int = 0) -> list[dict[str, Any]]:
    """The newest computed thresholds per series (with the override in force, if any), by SKU
    and site code; ``scope``: the sites to show."""
    query = (_newest(select(StockThreshold, Sku.code, Location.code))
             .join(Sku, Sku.id == StockThreshold.sku_id)
             .join(Location, Location.id == StockThreshold.site_id))
    if sku:
        query = query.where(Sku.code == sku)
    if site:
        query = query.where(Location.code == site)
    if scope is not None:
        query = query.where(StockThreshold.site_id.in_(scope))
    rows = session.execute(query.order_by(Sku.code, Location.code).offset(offset).limit(limit)).all()
    found = current(session, today, [(t.sku_id, t.site_id) for t, _a, _b in rows])
    out = []
    for t, sku_code, site_code in rows:
        levels = found[(t.sku_id, t.site_id)]
        out.append({**_row(t, sku_code, site_code),
                    "override": None if not levels.overridden else {
                        "safety_stock": levels.safety_stock, "reorder_point": levels.reorder_point,
                        "max_stock": levels.max_stock, "reason": levels.explanation}})
    return out


def history(session: Session, sku: str, site: str) -> dict[str, Any]:
    """Every day's computed thresholds of one series, newest first, and its overrides."""
    sku_row, site_row = md.sku_by_code(session, sku), md.site_by_code(session, site)
    computed = session.scalars(select(StockThreshold).where(
        StockThreshold.sku_id == sku_row.id, StockThreshold.site_id == site_row.id)
        .order_by(StockThreshold.computed_on.desc()).limit(400))
    overrides = session.scalars(select(ThresholdOverride).where(
        ThresholdOverride.sku_id == sku_row.id, ThresholdOverride.site_id == site_row.id)
        .order_by(ThresholdOverride.id.desc()))
    return {"sku": sku, "site": site, "computed": [_row(t, sku, site) for t in computed],
            "overrides": [{"safety_stock": o.safety_stock, "reorder_point": o.reorder_point,
                           "max_stock": o.max_stock, "reason": o.reason,
                           "expires_on": o.expires_on.isoformat(), "created_by": o.created_by,
                           "created_at": o.created_at.isoformat()} for o in overrides]}


def by_code(session: Session, today: date, pairs: list[tuple[str, str]]
            ) -> dict[tuple[str, str], Levels]:
    """``current`` keyed by (SKU code, site code), for the rows of a stock list."""
    skus = dict(session.execute(select(Sku.code, Sku.id).where(
        Sku.code.in_({p[0] for p in pairs}))).tuples().all())
    sites = dict(session.execute(select(Location.code, Location.id).where(
        Location.code.in_({p[1] for p in pairs}))).tuples().all())
    ids = {(skus[a], sites[b]): (a, b) for a, b in pairs if a in skus and b in sites}
    return {ids[key]: levels for key, levels in current(session, today, list(ids)).items()
            if key in ids}


def _level(raw: str, field: str, decimals: int) -> Decimal:
    """A level: zero, or a quantity the SKU can be counted in."""
    return Decimal(0) if str(raw).strip() in ("0", "0.0") else parse_qty(raw, field=field,
                                                                          decimals=decimals)


@retrying
def override(uow: UnitOfWork, actor: Actor, *, sku: str, site: str, safety_stock: str,
             reorder_point: str, max_stock: str, reason: str, expires_on: date) -> Result:
    """Set a SKU's levels at a site by hand until ``expires_on`` (inclusive), with the reason."""
    with uow:
        s = uow.session
        sku_row = md.sku_by_code(s, sku)
        site_row = md.site_by_code(s, site)
        ss, rop, top = (_level(v, f, sku_row.decimals)
                        for f, v in (("safety_stock", safety_stock),
                                     ("reorder_point", reorder_point), ("max_stock", max_stock)))
        if rop < ss:
            raise ValidationFailed.single("reorder_point", "must not be below the safety stock")
        if top < rop:
            raise ValidationFailed.single("max_stock", "must not be below the reorder point")
        if not reason.strip():
            raise ValidationFailed.single("reason", "is required")
        if expires_on < uow.now().date():
            raise ValidationFailed.single("expires_on", "must not be in the past")
        s.add(ThresholdOverride(sku_id=sku_row.id, site_id=site_row.id, safety_stock=ss,
                                reorder_point=rop, max_stock=top, reason=reason.strip()[:200],
                                expires_on=expires_on, created_by=actor.username,
                                created_at=uow.now()))
        uow.commit()
    return {"sku": sku, "site": site, "safety_stock": str(ss), "reorder_point": str(rop),
            "max_stock": str(top), "reason": reason.strip(), "expires_on": expires_on.isoformat()}
