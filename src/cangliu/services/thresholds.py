"""Stock thresholds per SKU × site (安全库存 / 再订货点 / 最高库存): recomputed daily from the demand
history, the lead time of the route that supplies the site and the ABC class, stored with their
inputs and an explanation; a user may override them with a reason until an expiry date.

The series are every SKU × site with demand in the window or stock now; a series starts on its
first recorded day (demand or stock-out), and one without any takes the defaults and says so in
its note. Demand is the forecast of the series' demand class, adjusted by its lifecycle stage
(new / growth / mature / decline, stored with the XYZ class) and by the promotions covering the
next 28 days; a series with 56 observed days or more is backtested on its last 28 (MASE and
bias stored on the row), a shorter one says so in its note. Lead time comes from
``services.lead_times``: a central warehouse by purchase (approved → received in full), every
other site by transfer from its supplying site — the pair's own history with three or more
received transfers ("route"), else every transfer into the site ("site"), else the default
("default"); the row keeps the route ("WH→S1") and the explanation ends with where L and σL came
from. Service levels per ABC class, the review period and the default lead times are the saved
planning settings (``services.planning_settings``) unless given explicitly.
"""

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

import polars as pl
from sqlalchemy import Select, delete, func, insert, select
from sqlalchemy.orm import Session

from cangliu.core.errors import ValidationFailed
from cangliu.core.ledger import parse_qty
from cangliu.core.permissions import Actor
from cangliu.core.planning import (
    RouteDefault,
    ServiceLevels,
    abc_classes,
    backtest,
    complete_days,
    demand_classes,
    forecast,
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
)
from cangliu.db.repositories import masterdata as md
from cangliu.db.uow import UnitOfWork, retrying
from cangliu.services import calendar_events, demand, planning_settings
from cangliu.services.idempotency import Result
from cangliu.services.lead_times import site_lead_times
from cangliu.services.promotion_effects import forecast_frame

WINDOW_DAYS = 91  # thirteen weeks of history
HORIZON_DAYS = 28
BACKTEST_MIN_DAYS = 2 * HORIZON_DAYS  # observed days: half fits the backtest, half scores it
DEMAND_CLASSES = ("smooth", "erratic", "intermittent", "lumpy")
LEVEL_COLUMNS = {"ss": "safety_stock", "rop": "reorder_point", "max": "max_stock"}
STORED = ("lead_time_source", "route", "abc", "xyz", "pattern", "model", "lifecycle", "mase",
          "bias", "z")


@dataclass(frozen=True)
class Levels:
    """The thresholds in force for one SKU at one site; ``explanation`` is the computed formula,
    or the reason given for an override."""

    safety_stock: Decimal
    reorder_point: Decimal
    max_stock: Decimal
    explanation: str
    overridden: bool


def _options(session: Session, review_days: int | None, levels: ServiceLevels | None,
             lead_defaults: Mapping[str, RouteDefault] | None
             ) -> tuple[int, ServiceLevels, Mapping[str, RouteDefault]]:
    """The options given, the saved planning settings for the others."""
    if review_days is not None and levels is not None and lead_defaults is not None:
        return review_days, levels, lead_defaults
    saved = planning_settings.load(session)
    return (saved.review_days if review_days is None else review_days,
            levels or saved.service_levels,
            lead_defaults or planning_settings.route_defaults(saved))


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


def _abc(session: Session, series: pl.DataFrame, history: pl.DataFrame) -> pl.DataFrame:
    """ABC class per series by the value of its demand in the window, at moving-average cost."""
    costs = pl.DataFrame([(s, float(v / q)) for s, q, v in session.execute(
        select(SkuCost.sku_id, SkuCost.qty, SkuCost.value)) if q > 0], orient="row",
        schema={"sku": pl.Int64, "unit_cost": pl.Float64})
    value = (history.group_by("sku", "site").agg(pl.col("qty").sum())
             .join(costs, on="sku", how="left")
             .select("sku", "site", value=pl.col("qty") * pl.col("unit_cost").fill_null(0.0)))
    return abc_classes(series.join(value, on=["sku", "site"], how="left")
                       .with_columns(pl.col("value").fill_null(0.0))).select("sku", "site", "abc")


def _first_sales(session: Session, before: date) -> pl.DataFrame:
    """Each series' first sale before the window: its lifecycle stage looks further back."""
    rows = session.execute(select(DemandDay.sku_id, DemandDay.site_id, func.min(DemandDay.day))
                           .where(DemandDay.day < before, DemandDay.qty > 0)
                           .group_by(DemandDay.sku_id, DemandDay.site_id)).all()
    return pl.DataFrame(rows, orient="row", schema={"sku": pl.Int64, "site": pl.Int64,
                                                    "first_sale": pl.Date})


def _forecasts(session: Session, days: pl.DataFrame, stats: pl.DataFrame, start: date,
               as_of: date) -> pl.DataFrame:
    """Mean daily demand and its σ over the next 28 days by the forecast model of each series'
    demand class, adjusted by its lifecycle stage and the promotions, and the backtest of the
    series with enough observed days (series too short to classify keep their history's mean
    and σ)."""
    classes = stats.filter(pl.col("pattern").is_in(list(DEMAND_CLASSES))).select(
        "sku", "site", sb_class="pattern")
    empty = pl.DataFrame(schema={"sku": pl.Int64, "site": pl.Int64, "fd": pl.Float64,
                                 "fsd": pl.Float64, "model": pl.String, "lifecycle": pl.String,
                                 "mase": pl.Float64, "bias": pl.Float64})
    if classes.is_empty():
        return empty
    options: dict[str, Any] = {
        "horizon": HORIZON_DAYS, "as_of": as_of, "first_sales": _first_sales(session, start),
        "promotions": forecast_frame(session, start, as_of + timedelta(days=HORIZON_DAYS)),
        "events": calendar_events.frame(session, start, as_of + timedelta(days=HORIZON_DAYS)),
        # learned from the years before the backtest's holdout, so the backtest does not peek
        "event_effects": calendar_events.effects(session, as_of - timedelta(days=HORIZON_DAYS - 1),
                                                 ahead=as_of + timedelta(days=HORIZON_DAYS))}
    history = days.join(classes, on=["sku", "site"], how="semi")
    summary = forecast(history, classes, **options).summary
    long = classes.join(stats.filter(pl.col("periods") >= BACKTEST_MIN_DAYS),
                        on=["sku", "site"], how="semi")
    scored = empty.select("sku", "site", "mase", "bias")
    if not long.is_empty():  # the backtest fits every model again: only where it can say much
        scored = backtest(history.join(long, on=["sku", "site"], how="semi"), long, **options
                          ).select(scored.columns).cast(scored.schema)
    return (summary.select("sku", "site", fd="d", fsd="sd", model="model", lifecycle="stage")
            .join(scored, on=["sku", "site"], how="left").cast(empty.schema))


def _backtest_note(frame: pl.DataFrame) -> pl.DataFrame:
    """Say in the note of a series with some history why it has no MASE and bias."""
    short = pl.col("periods").fill_null(0).is_between(1, BACKTEST_MIN_DAYS - 1)
    said = pl.when(short).then(pl.format(
        "too short to backtest: {} observed days of {}", "periods", pl.lit(BACKTEST_MIN_DAYS)))
    joined = pl.concat_str("note", said, separator="; ", ignore_nulls=True)
    return frame.with_columns(note=pl.when(joined == "").then(None).otherwise(joined))


def compute(session: Session, today: date, *, window_days: int = WINDOW_DAYS,
            review_days: int | None = None, levels: ServiceLevels | None = None,
            lead_defaults: Mapping[str, RouteDefault] | None = None) -> pl.DataFrame:
    """The thresholds of every series as of ``today``, from the history before it; options not
    given come from the saved planning settings."""
    review_days, levels, lead_defaults = _options(session, review_days, levels, lead_defaults)
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
    skus = pl.DataFrame(session.execute(select(Sku.id, Sku.decimals)).all(), orient="row",
                        schema={"sku": pl.Int64, "decimals": pl.Int64})
    frame = (series.join(stats.select("sku", "site", "periods", "xyz", d="mean", sd="std",
                                      pattern="pattern"), on=["sku", "site"], how="left")
             .join(_forecasts(session, days, stats, start, end), on=["sku", "site"], how="left")
             .with_columns(d=pl.coalesce("fd", "d"), sd=pl.coalesce("fsd", "sd"))
             .drop("fd", "fsd")
             .join(_abc(session, series, history), on=["sku", "site"], how="left")
             .join(skus, on="sku", how="left")
             .join(site_lead_times(session, defaults=lead_defaults), on="site", how="left")
             .with_columns(review_days=pl.lit(float(review_days))))
    # A series with one observed day has a mean but no σ: its σ comes from the defaults too.
    return _backtest_note(stock_levels(frame, levels=levels))


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
                 "lead_time_sd": r["sL"], **{name: r[name] for name in STORED},
                 **{column: Decimal(str(r[key])) for key, column in LEVEL_COLUMNS.items()},
                 "explanation": r["explanation"][:400], "note": (r["note"] or "")[:200] or None}
                for r in frame.iter_rows(named=True)]
        if rows:
            s.execute(insert(StockThreshold), rows)
        uow.commit()
    notes = [r["note"] or "" for r in rows]
    return {"series": len(rows), "with_defaults": sum("demand history" in n for n in notes),
            "default_lead_time": sum(r["lead_time_source"] == "default" for r in rows),
            "backtested": sum(r["mase"] is not None or r["bias"] is not None for r in rows)}


def refresh(uow: UnitOfWork, *, today: date) -> dict[str, Any]:
    """The daily planning step: rebuild the window's demand history from the ledger, then
    recompute today's thresholds; twice on one day gives the same rows."""
    rebuilt = demand.rebuild_demand(uow, since=today - timedelta(days=WINDOW_DAYS))
    return {"demand": rebuilt, "thresholds": recompute(uow, today=today)}


def newest(query: Select[Any]) -> Select[Any]:
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
    query = newest(select(StockThreshold))
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
            "mase": t.mase, "bias": t.bias,
            "inputs": {"demand": t.demand, "demand_sd": t.demand_sd, "lead_time": t.lead_time,
                       "lead_time_sd": t.lead_time_sd, "lead_time_source": t.lead_time_source,
                       "route": t.route, "abc": t.abc, "xyz": t.xyz, "pattern": t.pattern,
                       "model": t.model, "lifecycle": t.lifecycle, "z": t.z}}


def list_current(session: Session, today: date, *, sku: str | None = None,
                 site: str | None = None, scope: frozenset[int] | None = None, limit: int = 50,
                 offset: int = 0) -> list[dict[str, Any]]:
    """The newest computed thresholds per series (with the override in force, if any), by SKU
    and site code; ``scope``: the sites to show."""
    query = (newest(select(StockThreshold, Sku.code, Location.code))
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
