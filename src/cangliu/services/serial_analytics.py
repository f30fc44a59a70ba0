"""Serial failure analysis (故障分析): the failure rate of units sold by SKU, lot, production line,
production month or sales region, and repair turnaround times. Everything is grouped in the
database, so a million serials never pass through Python.

Definitions (the page shows them too). A period is whole UTC days, ``since`` to ``until``
inclusive. *Units sold*: distinct serials with a 'shipped' event in the period; a unit shipped
more than once counts once, at its first shipment in the period. *Failed*: a unit sold with at
least one repair ticket, not cancelled, opened at or after that shipment — at any time up to now,
so recent periods have had less time to fail. *Failure rate* = failed / sold. *Production line*:
the line of the unit's serial batch, else the line of the work order that made it. *Production
month*: the month its work order was completed, else the month the serial was generated.
*Sales region*: the region of the site the unit shipped from. *Turnaround*: closed − opened of
the tickets closed in the period, in hours and days; p90 interpolates linearly between the
closest ranks (Excel's PERCENTILE.INC). Tickets still open are listed apart with their age.
"""

from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from sqlalchemy import Float, case, cast, func, literal_column, select
from sqlalchemy.orm import Session
from sqlalchemy.sql import ColumnElement, Subquery

from cangliu.core.errors import ValidationFailed
from cangliu.db.models import (
    AssemblyLink,
    Location,
    RepairTicket,
    Serial,
    SerialBatch,
    SerialEvent,
    Sku,
    WorkOrder,
)
from cangliu.services.serials.rules import sku_named

DIMENSIONS = ("sku", "lot", "line", "month", "region")
TURNAROUND_BY = ("sku", "month")
ACTIVE = ("open", "in_progress")
OPEN_LISTED = 100  # open tickets listed, oldest first
MEDIAN, P90 = (1, 2), (9, 10)  # quantiles as fractions: integer arithmetic on every database


def default_period(today: date) -> tuple[date, date]:
    """The last 12 months: from the first day of the month eleven months back to today."""
    months = today.year * 12 + today.month - 1 - 11
    return date(months // 12, months % 12 + 1, 1), today


def failure_rates(session: Session, by: str, since: date, until: date, sku: str | None = None,
                  scope: frozenset[int] | None = None) -> dict[str, Any]:
    """Units sold, failed and the failure rate per value of ``by`` (highest rate first, then most
    sold), with totals. ``scope``: only shipments from these sites (None: all)."""
    _check(by, DIMENSIONS, since, until)
    sku_id = sku_named(session, sku).id if sku else None
    sold = _first_shipments(since, until, scope, sku_id, with_site=by == "region")
    key, label, joins = _dimension(session, by, sold)
    groups = [key] if label is None else [key, label]
    tickets = (select(RepairTicket.serial_id, func.max(RepairTicket.opened_at).label("opened_at"))
               .where(RepairTicket.status != "cancelled")
               .group_by(RepairTicket.serial_id).subquery("tickets"))
    failed = case((tickets.c.opened_at >= sold.c.at, 1), else_=0)
    query = (select(key.label("key"), _text(label).label("label"), func.count().label("sold"),
                    func.sum(failed).label("failed"))
             .select_from(sold).outerjoin(tickets, tickets.c.serial_id == sold.c.serial_id))
    for target, on in joins:
        query = query.outerjoin(target, on)
    rows = [{"key": r.key or "", "label": r.label or "", "sold": r.sold, "failed": int(r.failed),
             "rate": _rate(int(r.failed), r.sold)}
            for r in session.execute(query.group_by(*groups))]
    rows.sort(key=lambda r: (-r["rate"], -r["sold"], r["key"], r["label"]))
    total_sold, total_failed = sum(r["sold"] for r in rows), sum(r["failed"] for r in rows)
    return {"by": by, "since": since, "until": until, "sku": sku, "rows": rows,
            "totals": {"sold": total_sold, "failed": total_failed,
                       "rate": _rate(total_failed, total_sold)}}


def turnaround(session: Session, since: date, until: date, by: str = "sku",
               scope: frozenset[int] | None = None, *, sku: str | None = None,
               now: datetime) -> dict[str, Any]:
    """Count, mean, median and p90 of closed − opened for tickets closed in the period, per SKU
    or month closed, with totals; and the tickets still open (whatever the period), oldest
    first, with their age at ``now``. ``scope``: only tickets serviced at these sites."""
    _check(by, TURNAROUND_BY, since, until)
    sku_id = sku_named(session, sku).id if sku else None
    where = [RepairTicket.status == "closed", RepairTicket.closed_at >= _start(since),
             RepairTicket.closed_at < _start(until + timedelta(days=1)), *_narrow(scope, sku_id)]
    dialect = session.get_bind().dialect.name
    key: Any = Sku.code if by == "sku" else _month(RepairTicket.closed_at, dialect)
    label: Any = Sku.name if by == "sku" else None
    rows = _durations(session, key, label, where, dialect)
    totals = _durations(session, None, None, where, dialect)
    empty = {"key": "", "label": "", **_summary(0, None, None, None)}
    return {"by": by, "since": since, "until": until, "sku": sku, "now": now,
            "rows": sorted(rows, key=lambda r: r["key"]), "totals": totals[0] if totals else empty,
            **_open_tickets(session, _narrow(scope, sku_id), now)}


def _check(by: str, allowed: tuple[str, ...], since: date, until: date) -> None:
    if by not in allowed:
        raise ValidationFailed.single("by", "must be one of: {expected}",
                                      expected=", ".join(allowed))
    if until < since:
        raise ValidationFailed.single("until", "must not be before the start date")


def _start(day: date) -> datetime:
    return datetime.combine(day, time(), UTC)


def _rate(failed: int, sold: int) -> float:
    return round(failed / sold, 4) if sold else 0.0


def _first_shipments(since: date, until: date, scope: frozenset[int] | None, sku_id: int | None,
                     *, with_site: bool) -> Subquery:
    """One row per unit shipped in the period: the time of its first shipment there and, when
    ``with_site``, the site it left from (a window function, which costs a sort, so only the
    region needs it)."""
    where = [SerialEvent.kind == "shipped", SerialEvent.at >= _start(since),
             SerialEvent.at < _start(until + timedelta(days=1))]
    if scope is not None:
        where.append(SerialEvent.site_id.in_(scope))
    if sku_id is not None:
        where.append(SerialEvent.serial_id.in_(select(Serial.id).where(Serial.sku_id == sku_id)))
    if not with_site:
        return (select(SerialEvent.serial_id, func.min(SerialEvent.at).label("at"))
                .where(*where).group_by(SerialEvent.serial_id).subquery("sold"))
    rank = func.row_number().over(partition_by=SerialEvent.serial_id,
                                  order_by=(SerialEvent.at, SerialEvent.id))
    ranked = (select(SerialEvent.serial_id, SerialEvent.at, SerialEvent.site_id, rank.label("n"))
              .where(*where).subquery("shipped"))
    return (select(ranked.c.serial_id, ranked.c.at, ranked.c.site_id)
            .where(ranked.c.n == 1).subquery("sold"))


def _dimension(session: Session, by: str, sold: Subquery
               ) -> tuple[Any, Any, list[tuple[Any, Any]]]:
    """The grouping key and label (None: none) of ``by``, and the outer joins they need."""
    if by == "region":
        return Location.region, None, [(Location, Location.id == sold.c.site_id)]
    unit = (Serial, Serial.id == sold.c.serial_id)
    if by == "sku":
        return Sku.code, Sku.name, [unit, (Sku, Sku.id == Serial.sku_id)]
    if by == "lot":
        return Serial.lot, Sku.code, [unit, (Sku, Sku.id == Serial.sku_id)]
    # A finished unit made by a work order carries it on the links of its components.
    made = (select(AssemblyLink.parent_id, func.min(AssemblyLink.work_order_id).label("wo"))
            .where(AssemblyLink.work_order_id.is_not(None))
            .group_by(AssemblyLink.parent_id).subquery("made"))
    joins = [unit, (made, made.c.parent_id == Serial.id), (WorkOrder, WorkOrder.id == made.c.wo)]
    if by == "line":
        key = func.coalesce(func.nullif(SerialBatch.line, ""), WorkOrder.line)
        return key, None, [*joins, (SerialBatch, SerialBatch.id == Serial.batch_id)]
    dialect = session.get_bind().dialect.name
    month = case((WorkOrder.completed_at.is_not(None), _month(WorkOrder.completed_at, dialect)),
                 else_=_month(Serial.created_at, dialect))
    return month, None, joins


def _month(column: Any, dialect: str) -> ColumnElement[str]:
    """'YYYY-MM' of a UTC timestamp (SQLite stores UTC text; PostgreSQL a timestamptz)."""
    if dialect == "postgresql":
        return func.to_char(func.timezone("UTC", column), "YYYY-MM")
    return func.strftime("%Y-%m", column)


def _seconds(start: Any, end: Any, dialect: str) -> ColumnElement[float]:
    if dialect == "postgresql":
        return cast(func.extract("epoch", end - start), Float)
    return (func.julianday(end) - func.julianday(start)) * 86400.0


def _narrow(scope: frozenset[int] | None, sku_id: int | None) -> list[ColumnElement[bool]]:
    where: list[ColumnElement[bool]] = []
    if scope is not None:
        where.append(RepairTicket.site_id.in_(scope))
    if sku_id is not None:
        where.append(RepairTicket.sku_id == sku_id)
    return where


def _durations(session: Session, key: Any, label: Any, where: list[ColumnElement[bool]],
               dialect: str) -> list[dict[str, Any]]:
    """Per key (None: all together): count, mean, median and p90 of the tickets' durations,
    ranked by window functions and interpolated in one aggregate."""
    seconds = _seconds(RepairTicket.opened_at, RepairTicket.closed_at, dialect)
    base = (select(_text(key).label("key"), _text(label).label("label"), seconds.label("s"))
            .join(Sku, Sku.id == RepairTicket.sku_id).where(*where).subquery("durations"))
    part = None if key is None else base.c.key
    ranked = select(base, (func.row_number().over(partition_by=part, order_by=base.c.s) - 1)
                    .label("i"), func.count().over(partition_by=part).label("n")).subquery("ranked")
    groups: list[Any] = [] if key is None else [ranked.c.key, ranked.c.label]
    names = groups or [_text(None), _text(None)]
    rows = session.execute(
        select(*names, func.count(), func.avg(ranked.c.s), _quantile(ranked, *MEDIAN),
               _quantile(ranked, *P90)).group_by(*groups))
    return [{"key": k or "", "label": name or "", **_summary(n, mean, median, p90)}
            for k, name, n, mean, median, p90 in rows if n]


def _text(column: ColumnElement[Any] | None) -> ColumnElement[Any]:
    """The column, or an empty text written into the SQL (never a bound parameter, which
    PostgreSQL cannot type in every position)."""
    return literal_column("''") if column is None else column


def _quantile(ranked: Subquery, num: int, den: int) -> ColumnElement[float]:
    """The num/den quantile: the values at ranks ⌊(n−1)·q⌋ and the next, weighted by the
    fraction in between."""
    i, n, s = ranked.c.i, ranked.c.n, ranked.c.s
    low = (n - 1) * num // den
    frac = cast((n - 1) * num % den, Float) / den
    return func.sum(case((i == low, s * (1 - frac)), (i == low + 1, s * frac), else_=0.0))


def _summary(count: int, mean: Any, median: Any, p90: Any) -> dict[str, Any]:
    figures: dict[str, Any] = {"count": count}
    for name, seconds in (("mean", mean), ("median", median), ("p90", p90)):
        hours = None if seconds is None else float(seconds) / 3600
        figures[f"{name}_hours"] = None if hours is None else round(hours, 2)
        figures[f"{name}_days"] = None if hours is None else round(hours / 24, 2)
    return figures


def _open_tickets(session: Session, where: list[ColumnElement[bool]], now: datetime
                  ) -> dict[str, Any]:
    active = [RepairTicket.status.in_(ACTIVE), *where]
    count = session.scalar(select(func.count()).select_from(RepairTicket).where(*active))
    rows = session.execute(
        select(RepairTicket.number, Serial.code.label("serial"), Sku.code.label("sku"),
               RepairTicket.status, RepairTicket.opened_at)
        .join(Serial, Serial.id == RepairTicket.serial_id).join(Sku, Sku.id == RepairTicket.sku_id)
        .where(*active).order_by(RepairTicket.opened_at, RepairTicket.id).limit(OPEN_LISTED))
    listed = []
    for r in rows:
        hours = (now - r.opened_at).total_seconds() / 3600
        listed.append({**r._mapping, "age_hours": round(hours, 2), "age_days": round(hours / 24, 2)})
    return {"open_count": count or 0, "open": listed}
