"""Daily KPI snapshots: one day's stock position per site × category (end of day, UTC) and the
day's flows, recomputed idempotently from the ledger and the documents."""

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field, fields
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session, aliased

from cangliu.core.locations import LocationKind
from cangliu.db.models import (
    ApprovalInstance,
    HeldDocument,
    Location,
    PurchaseLine,
    PurchaseOrder,
    Reservation,
    SalesLine,
    SalesOrder,
    Sku,
    StockCount,
    StockMove,
    TransferOrder,
)
from cangliu.db.models.kpis import KpiSiteSnapshot, KpiSnapshot
from cangliu.db.uow import UnitOfWork

ZERO = Decimal(0)
HOUR = Decimal(3600)
BASE_DAYS = 7  # how far back a snapshot is looked for to build a day on; else the ledger is replayed
# Where an approval happens: the site of the document it decides.
APPROVAL_SITES: dict[str, tuple[Any, Any]] = {
    "transfer": (TransferOrder.number, TransferOrder.source_site_id),
    "purchase": (PurchaseOrder.number, PurchaseOrder.site_id),
    "count": (StockCount.number, StockCount.site_id),
}


@dataclass
class CategoryDay:
    """The measures of one site × category on one day (a ``kpi_snapshot`` row's values)."""

    on_hand_qty: Decimal = ZERO
    stock_value: Decimal = ZERO
    cogs: Decimal = ZERO
    receipts_value: Decimal = ZERO
    issues_qty: Decimal = ZERO
    lines: int = 0
    lines_short: int = 0
    transfers_value: Decimal = ZERO
    receipt_lines: int = 0
    receipt_lines_exact: int = 0


@dataclass
class SiteDay:
    """The document measures of one site on one day (a ``kpi_site_snapshot`` row's values)."""

    orders: int = 0
    orders_short: int = 0
    transfers_shipped: int = 0
    transit_count: int = 0
    transit_hours_sum: Decimal = ZERO
    approvals: int = 0
    approval_hours_sum: Decimal = ZERO


@dataclass
class Day:
    """Everything one day's snapshot holds, keyed by (site_id, category_id) and site_id."""

    day: date
    categories: dict[tuple[int, int], CategoryDay] = field(
        default_factory=lambda: defaultdict(CategoryDay))
    sites: dict[int, SiteDay] = field(default_factory=lambda: defaultdict(SiteDay))


def bounds(day: date) -> tuple[datetime, datetime]:
    start = datetime.combine(day, time(), tzinfo=UTC)
    return start, start + timedelta(days=1)


def values(row: Any) -> dict[str, Any]:
    return {f.name: getattr(row, f.name) for f in fields(row)}


def compute(session: Session, day: date) -> Day:
    """The day's measures from the live tables (nothing written)."""
    out = Day(day)
    _positions(session, out)
    _flows(session, out)
    _sales(session, out)
    _transfers(session, out)
    _approvals(session, out)
    _receipts(session, out)
    return out


def _moves(session: Session, start: datetime | None, end: datetime) -> Iterable[Any]:
    """The moves in [start, end) summed per operation, both ends' kind and site, and category."""
    src, dst = aliased(Location), aliased(Location)
    query = (select(StockMove.operation, src.kind, src.site_id, dst.kind, dst.site_id,
                    Sku.category_id, func.sum(StockMove.qty),
                    func.sum(StockMove.value))
             .join(src, src.id == StockMove.from_location_id)
             .join(dst, dst.id == StockMove.to_location_id)
             .join(Sku, Sku.id == StockMove.sku_id)
             .where(StockMove.occurred_at < end)
             .group_by(StockMove.operation, src.kind, src.site_id, dst.kind, dst.site_id,
                       Sku.category_id))
    if start is not None:
        query = query.where(StockMove.occurred_at >= start)
    # SKUs without a category count under 0 (coalesced here: PostgreSQL would not group by a
    # bound parameter's expression).
    return [(*r[:5], r[5] or 0, *r[6:]) for r in session.execute(query)]


def _positions(session: Session, out: Day) -> None:
    """End-of-day stock: the newest settled snapshot of the week before plus the moves since,
    or the whole ledger replayed when there is none."""
    start, end = bounds(out.day)
    base = _settled_base(session, out.day)
    if base is not None:
        start = bounds(base)[1]
        for row in session.scalars(select(KpiSnapshot).where(KpiSnapshot.day == base)):
            cell = out.categories[(row.site_id, row.category_id)]
            cell.on_hand_qty, cell.stock_value = row.on_hand_qty, row.stock_value
    for _op, _sk, src_site, _dk, dst_site, cat, qty, value in _moves(
            session, start if base is not None else None, end):
        if src_site == dst_site:
            continue  # within one site (bin to bin, status change): neither qty nor value moves
        if src_site is not None:
            cell = out.categories[(src_site, cat)]
            cell.on_hand_qty -= qty
            cell.stock_value -= value or ZERO
        if dst_site is not None:
            cell = out.categories[(dst_site, cat)]
            cell.on_hand_qty += qty
            cell.stock_value += value or ZERO


def _settled_base(session: Session, day: date) -> date | None:
    """The newest day of the week before ``day`` whose snapshot was taken after that day ended
    (one taken during its day may miss the day's later moves)."""
    taken = session.execute(
        select(KpiSnapshot.day, func.min(KpiSnapshot.taken_at))
        .where(KpiSnapshot.day < day, KpiSnapshot.day >= day - timedelta(days=BASE_DAYS))
        .group_by(KpiSnapshot.day).order_by(KpiSnapshot.day.desc())).tuples().all()
    return next((d for d, at in taken if at >= bounds(d)[1]), None)


def _flows(session: Session, out: Day) -> None:
    """COGS and issues (less customer returns), receipts from suppliers, transfer shipments."""
    start, end = bounds(out.day)
    for op, src_kind, src_site, dst_kind, dst_site, cat, qty, value in _moves(session, start, end):
        value = value or ZERO
        if dst_kind == LocationKind.CUSTOMER and src_site is not None:
            cell = out.categories[(src_site, cat)]
            cell.cogs += value
            cell.issues_qty += qty
        elif src_kind == LocationKind.CUSTOMER and dst_site is not None:
            cell = out.categories[(dst_site, cat)]
            cell.cogs -= value
            cell.issues_qty -= qty
        elif src_kind == LocationKind.SUPPLIER and dst_site is not None:
            out.categories[(dst_site, cat)].receipts_value += value
        elif op == "transfer_ship" and src_site is not None:
            out.categories[(src_site, cat)].transfers_value += value


def _sales(session: Session, out: Day) -> None:
    """Orders created that day (drafts and cancelled ones are not orders yet / any more). A line
    is short when its quantity is neither shipped nor held for it by a reservation (closed with
    a backorder dropped, or waiting without stock); an order is short when one of its lines is."""
    start, end = bounds(out.day)
    held = (select(Reservation.ref, func.sum(Reservation.qty).label("qty"))
            .where(Reservation.state == "open").group_by(Reservation.ref).subquery())
    rows = session.execute(
        select(SalesOrder.id, SalesOrder.site_id, Sku.category_id, SalesLine.qty,
               SalesLine.shipped_qty, held.c.qty)
        .join(SalesLine, SalesLine.sales_id == SalesOrder.id)
        .join(Sku, Sku.id == SalesLine.sku_id)
        .outerjoin(held, held.c.ref == SalesLine.reservation)
        .where(SalesOrder.created_at >= start, SalesOrder.created_at < end,
               SalesOrder.state.not_in(("draft", "cancelled")))).all()
    short: dict[int, bool] = {}
    site_of: dict[int, int] = {}
    for order_id, site_id, cat, qty, shipped, reserved in rows:
        cell = out.categories[(site_id, cat or 0)]
        missing = shipped + (reserved or ZERO) < qty
        cell.lines += 1
        cell.lines_short += missing
        short[order_id] = short.get(order_id, False) or missing
        site_of[order_id] = site_id
    for order_id, site_id in site_of.items():
        out.sites[site_id].orders += 1
        out.sites[site_id].orders_short += short[order_id]


def _hours(start: datetime, end: datetime) -> Decimal:
    return (Decimal((end - start).total_seconds()) / HOUR).quantize(Decimal("0.000001"))


def _transfers(session: Session, out: Day) -> None:
    """Transfers shipped that day (at the source) and received that day (transit time, at the
    destination)."""
    start, end = bounds(out.day)
    for (site_id,) in session.execute(select(TransferOrder.source_site_id).where(
            TransferOrder.shipped_at >= start, TransferOrder.shipped_at < end)):
        out.sites[site_id].transfers_shipped += 1
    for site_id, shipped, received in session.execute(
            select(TransferOrder.dest_site_id, TransferOrder.shipped_at, TransferOrder.received_at)
            .where(TransferOrder.received_at >= start, TransferOrder.received_at < end,
                   TransferOrder.shipped_at.is_not(None))):
        out.sites[site_id].transit_count += 1
        out.sites[site_id].transit_hours_sum += _hours(shipped, received)


def _approvals(session: Session, out: Day) -> None:
    """Approvals finished that day, from submission to the final decision, at the document's site."""
    start, end = bounds(out.day)
    done = session.execute(select(ApprovalInstance.document_type, ApprovalInstance.document_number,
                                  ApprovalInstance.started_at, ApprovalInstance.finished_at)
                           .where(ApprovalInstance.finished_at >= start,
                                  ApprovalInstance.finished_at < end)).all()
    sites = _document_sites(session, {(t, n) for t, n, _s, _f in done})
    for doc_type, number, started, finished in done:
        site_id = sites.get((doc_type, number))
        if site_id is not None:
            out.sites[site_id].approvals += 1
            out.sites[site_id].approval_hours_sum += _hours(started, finished)


def _document_sites(session: Session, docs: set[tuple[str, str]]) -> dict[tuple[str, str], int]:
    out: dict[tuple[str, str], int] = {}
    for doc_type, (number_col, site_col) in APPROVAL_SITES.items():
        numbers = [n for t, n in docs if t == doc_type]
        if numbers:
            out.update({(doc_type, n): s for n, s in session.execute(
                select(number_col, site_col).where(number_col.in_(numbers)))})
    held = [(t, n) for t, n in docs if t not in APPROVAL_SITES]
    if held:
        out.update({(t, n): s for t, n, s in session.execute(
            select(HeldDocument.document_type, HeldDocument.number, HeldDocument.site_id)
            .where(HeldDocument.number.in_([n for _t, n in held])))})
    return out


def _receipts(session: Session, out: Day) -> None:
    """Purchase order lines (per order and SKU) whose last receipt was that day: exact when the
    quantity received equals the quantity ordered."""
    start, end = bounds(out.day)
    last = (select(StockMove.document_number.label("number"), StockMove.sku_id)
            .where(StockMove.operation == "receive", StockMove.document_type == "purchase_order")
            .group_by(StockMove.document_number, StockMove.sku_id)
            .having(func.max(StockMove.occurred_at) >= start,
                    func.max(StockMove.occurred_at) < end).subquery())
    rows = session.execute(
        select(PurchaseOrder.site_id, func.coalesce(Sku.category_id, 0), PurchaseLine.qty,
               PurchaseLine.received_qty)
        .join(PurchaseLine, PurchaseLine.purchase_id == PurchaseOrder.id)
        .join(last, (last.c.number == PurchaseOrder.number) & (last.c.sku_id == PurchaseLine.sku_id))
        .join(Sku, Sku.id == PurchaseLine.sku_id)).all()
    for site_id, cat, qty, received in rows:
        cell = out.categories[(site_id, cat)]
        cell.receipt_lines += 1
        cell.receipt_lines_exact += received == qty


def _nonzero(row: CategoryDay) -> bool:
    return any(v for v in values(row).values())


def snapshot(uow: UnitOfWork, day: date) -> int:
    """Recompute and store one day's snapshot rows (replacing the day's earlier ones); returns
    how many rows were written."""
    with uow:
        written = _store(uow.session, day, uow.now())
        uow.commit()
    return written


def _store(session: Session, day: date, now: datetime) -> int:
    found = compute(session, day)
    session.execute(delete(KpiSnapshot).where(KpiSnapshot.day == day))
    session.execute(delete(KpiSiteSnapshot).where(KpiSiteSnapshot.day == day))
    session.flush()
    cats = [KpiSnapshot(day=day, site_id=s, category_id=c, taken_at=now, **values(v))
            for (s, c), v in sorted(found.categories.items()) if _nonzero(v)]
    sites = [KpiSiteSnapshot(day=day, site_id=s, **values(v))
             for s, v in sorted(found.sites.items()) if any(values(v).values())]
    session.add_all([*cats, *sites])
    session.flush()
    return len(cats) + len(sites)


def backfill(uow: UnitOfWork, start: date, end: date) -> int:
    """Snapshot every day from ``start`` to ``end`` inclusive, oldest first (each day builds on
    the one before), in one transaction; returns the rows written."""
    written = 0
    with uow:
        day = start
        while day <= end:
            written += _store(uow.session, day, uow.now())
            day += timedelta(days=1)
        uow.commit()
    return written
