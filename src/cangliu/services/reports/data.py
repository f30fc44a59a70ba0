"""A report's figures for one period: stock movements by operation and site, inventory value at
the end of the period by site and category, the period's KPIs and the alerts handled — gathered
by ``build`` from the ledger and the alert table, kept as JSON with the report."""

import json
from dataclasses import asdict, dataclass, replace
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import and_, case, func, or_, select
from sqlalchemy.orm import Session, aliased

from cangliu.db.models import Alert, AlertRule, Location, StockMove
from cangliu.services import kpis
from cangliu.services.valuation import inventory_value

CENT = Decimal("0.01")


@dataclass(frozen=True)
class Movement:
    operation: str
    site: str
    postings: int
    qty: Decimal
    value: Decimal


@dataclass(frozen=True)
class Holding:
    site: str
    category: str
    value: Decimal


@dataclass(frozen=True)
class Handled:
    rule: str
    severity: str
    opened: int
    acknowledged: int
    resolved: int


@dataclass(frozen=True)
class ReportData:
    """``kpis`` maps KPI codes to decimal strings, or None where undefined for the period; it is
    None itself for a reader whose scope is not the whole network."""

    kind: str
    period_start: date
    period_end: date
    generated_at: datetime
    complete: bool
    movements: tuple[Movement, ...] = ()
    inventory: tuple[Holding, ...] = ()
    kpis: dict[str, str | None] | None = None
    alerts: tuple[Handled, ...] = ()


def day_start(day: date) -> datetime:
    """Report periods are calendar days in UTC, like the demand history."""
    return datetime.combine(day, time(), tzinfo=UTC)


def build(session: Session, kind: str, period_start: date, period_end: date, *,
          now: datetime | None = None) -> ReportData:
    now = now or datetime.now(UTC)
    start, end = day_start(period_start), day_start(period_end + timedelta(days=1))
    return ReportData(kind, period_start, period_end, now, complete=now >= end,
                      movements=_movements(session, start, end),
                      inventory=tuple(Holding(r["site"], r["category"], r["value"]) for r in
                                      inventory_value(session, at=end - timedelta(microseconds=1))),
                      kpis=_kpis(session, period_start, period_end),
                      alerts=_alerts(session, start, end))


def _movements(session: Session, start: datetime, end: datetime) -> tuple[Movement, ...]:
    """Per operation and site; a move counts at the site it leaves, or else the one it enters
    (a transfer ships from its source and is received at its destination)."""
    src, dst, site = aliased(Location), aliased(Location), aliased(Location)
    site_id = func.coalesce(src.site_id, dst.site_id)
    rows = session.execute(
        select(StockMove.operation, site.code, func.count(func.distinct(StockMove.ref)),
               func.sum(StockMove.qty), func.coalesce(func.sum(StockMove.value), 0))
        .join(src, src.id == StockMove.from_location_id)
        .join(dst, dst.id == StockMove.to_location_id)
        .join(site, site.id == site_id)
        .where(StockMove.occurred_at >= start, StockMove.occurred_at < end)
        .group_by(StockMove.operation, site.code)
        .order_by(StockMove.operation, site.code))
    return tuple(Movement(op, code, int(n), _plain(Decimal(qty)), Decimal(value).quantize(CENT))
                 for op, code, n, qty, value in rows)


def _plain(qty: Decimal) -> Decimal:
    """A quantity without the trailing zeros of the column's scale (10, 2.5)."""
    return qty.quantize(Decimal(1)) if qty == qty.to_integral_value() else qty.normalize()


def _alerts(session: Session, start: datetime, end: datetime) -> tuple[Handled, ...]:
    """Alerts opened, acknowledged and resolved within the period, by rule and severity."""
    def within(column: Any) -> Any:
        return func.sum(case((and_(column >= start, column < end), 1), else_=0))

    rows = session.execute(
        select(AlertRule.code, Alert.severity, within(Alert.opened_at),
               within(Alert.acknowledged_at), within(Alert.resolved_at))
        .join(AlertRule, AlertRule.id == Alert.rule_id)
        .where(Alert.opened_at < end, or_(Alert.resolved_at.is_(None),
                                          Alert.resolved_at >= start))
        .group_by(AlertRule.code, Alert.severity).order_by(AlertRule.code, Alert.severity))
    found = (Handled(code, sev, int(o or 0), int(a or 0), int(r or 0)) for code, sev, o, a, r in rows)
    return tuple(h for h in found if h.opened or h.acknowledged or h.resolved)


def _kpis(session: Session, start: date, end: date) -> dict[str, str | None]:
    """The network's KPIs for the period (code → decimal string, None when undefined), in the
    KPI catalogue's order."""
    found = kpis.summary(session, start, end)
    return {k.code: None if found.get(k.code) is None else str(found[k.code]) for k in kpis.KPIS}


def for_sites(data: ReportData, sites: frozenset[str] | None) -> ReportData:
    """The report as a reader limited to ``sites`` (codes; None: all) may see it: their sites'
    rows only, without the network-wide KPIs and alerts."""
    if sites is None:
        return data
    return replace(data, movements=tuple(m for m in data.movements if m.site in sites),
                   inventory=tuple(h for h in data.inventory if h.site in sites),
                   kpis=None, alerts=())


def dump(data: ReportData) -> str:
    return json.dumps(asdict(data), default=str, ensure_ascii=False, sort_keys=True)


def load(text: str) -> ReportData:
    raw = json.loads(text)
    return ReportData(
        raw["kind"], date.fromisoformat(raw["period_start"]),
        date.fromisoformat(raw["period_end"]), datetime.fromisoformat(raw["generated_at"]),
        raw["complete"],
        movements=tuple(Movement(m["operation"], m["site"], m["postings"], Decimal(m["qty"]),
                                 Decimal(m["value"])) for m in raw["movements"]),
        inventory=tuple(Holding(h["site"], h["category"], Decimal(h["value"]))
                        for h in raw["inventory"]),
        kpis=raw["kpis"], alerts=tuple(Handled(**a) for a in raw["alerts"]))
