"""Stock counts (盘点): a frozen snapshot, blind counting, a variance list, variances posted on review.

Work goes on while people count, so a line's expected quantity is its snapshot plus the net
moves into that place between the snapshot and the moment the line was counted.
"""

from dataclasses import dataclass, replace
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import case, func, or_, select

from cangliu.core.documents import STOCK_COUNT
from cangliu.core.ledger import Move, Operation, StockStatus, parse_qty
from cangliu.core.locations import LocationKind
from cangliu.core.permissions import Actor
from cangliu.db.models import Barcode, Location, Sku, StockBalance, StockCount, StockCountLine, StockMove
from cangliu.db.repositories import masterdata as md
from cangliu.db.uow import UnitOfWork, retrying
from cangliu.services import approvals
from cangliu.services.documents import DocumentKind, act, get
from cangliu.services.idempotency import Result
from cangliu.services.numbering import next_number
from cangliu.services.postings import Book, Meta, post, transact

AVAILABLE = StockStatus.AVAILABLE.value


@dataclass(frozen=True)
class CountIn:
    """One counted quantity: SKU (code or barcode), where (bin code; the site when empty), lot."""

    sku: str
    qty: Decimal | str
    location: str | None = None
    lot: str = ""


def _moved_since(uow: UnitOfWork, line: StockCountLine, since: datetime, until: datetime) -> Decimal:
    """Net available quantity that entered this place between the snapshot and the count."""
    into = (StockMove.to_location_id == line.location_id) & (StockMove.to_status == AVAILABLE)
    out_of = (StockMove.from_location_id == line.location_id) & (StockMove.from_status == AVAILABLE)
    signed = case((into, StockMove.qty), else_=0) - case((out_of, StockMove.qty), else_=0)
    total = uow.session.scalar(select(func.sum(signed)).where(
        StockMove.sku_id == line.sku_id, StockMove.lot == line.lot,
        StockMove.recorded_at > since, StockMove.recorded_at <= until, or_(into, out_of)))
    return total or Decimal(0)


def _expected(uow: UnitOfWork, count: StockCount, line: StockCountLine) -> Decimal:
    if line.counted_at is None:
        return line.snapshot_qty
    return line.snapshot_qty + _moved_since(uow, line, count.snapshot_at, line.counted_at)


def answer(uow: UnitOfWork, count: StockCount, *, reveal: bool = True) -> Result:
    """The count; a blind count hides expected quantities until it goes to review."""
    s = uow.session
    lines = list(s.scalars(select(StockCountLine).where(StockCountLine.count_id == count.id)
                           .order_by(StockCountLine.id)))
    show = reveal and (not count.blind or count.state != "counting")
    out = []
    for ln in lines:
        row = {"sku": s.get_one(Sku, ln.sku_id).code, "location": s.get_one(Location, ln.location_id).code,
               "lot": ln.lot, "counted_qty": None if ln.counted_qty is None else str(ln.counted_qty),
               "counted_by": ln.counted_by}
        if show:
            expected = _expected(uow, count, ln)
            row |= {"snapshot_qty": str(ln.snapshot_qty), "expected_qty": str(expected),
                    "variance": None if ln.counted_qty is None else str(ln.counted_qty - expected)}
        out.append(row)
    zone = s.get(Location, count.zone_id) if count.zone_id else None
    return {"number": count.number, "state": count.state, "version": count.version,
            "site": s.get_one(Location, count.site_id).code, "zone": zone.code if zone else None,
            "blind": count.blind, "snapshot_at": count.snapshot_at.isoformat(),
            "allowed_actions": STOCK_COUNT.allowed(count.state),
            "counted": sum(1 for ln in lines if ln.counted_qty is not None), "lines": out}


KIND = DocumentKind("stock_count", "stock count", StockCount, STOCK_COUNT, answer)


@retrying
def start_count(uow: UnitOfWork, meta: Meta, *, site: str, zone: str | None = None,
                blind: bool = True) -> Result:
    """Freeze a snapshot of the site's (or zone's) available stock to count against."""
    def work() -> Result:
        site_row, area = md.place(uow.session, site, zone, bin_field="zone")
        now = uow.now()
        count = StockCount(number=next_number(uow, "stock_count", now.date()), state="counting",
                           site_id=site_row.id, zone_id=area.id if zone else None, blind=blind,
                           snapshot_at=now, created_by=meta.actor.username, version=1)
        uow.session.add(count)
        uow.session.flush()
        places = select(Location.id).where(Location.site_id == site_row.id)
        if zone:
            places = places.where(or_(Location.id == area.id, Location.parent_id == area.id))
        balances = uow.session.execute(select(StockBalance.sku_id, StockBalance.location_id,
                                              StockBalance.lot, StockBalance.qty).where(
            StockBalance.location_id.in_(places), StockBalance.status == AVAILABLE,
            StockBalance.qty != 0))
        uow.session.add_all(StockCountLine(count_id=count.id, sku_id=b.sku_id, location_id=b.location_id,
                                           lot=b.lot, snapshot_qty=b.qty) for b in balances)
        uow.session.flush()
        return answer(uow, count)

    return transact(uow, meta, "start_count", {"site": site, "zone": zone, "blind": blind}, work)


@retrying
def record_counts(uow: UnitOfWork, meta: Meta, *, number: str, entries: list[CountIn]) -> Result:
    """Record what was counted; a recount replaces the earlier figure, found stock adds a line."""
    def record(count: StockCount, _doc: Meta) -> None:
        site = uow.session.get_one(Location, count.site_id)
        for i, e in enumerate(entries):
            sku = _sku(uow, e.sku, f"entries[{i}].sku")
            qty = _counted(e.qty, f"entries[{i}].qty", sku.decimals)
            _s, loc = md.place(uow.session, site.code, e.location, bin_field=f"entries[{i}].location")
            line = uow.session.scalar(select(StockCountLine).where(
                StockCountLine.count_id == count.id, StockCountLine.sku_id == sku.id,
                StockCountLine.location_id == loc.id, StockCountLine.lot == e.lot))
            if line is None:
                line = StockCountLine(count_id=count.id, sku_id=sku.id, location_id=loc.id, lot=e.lot,
                                      snapshot_qty=Decimal(0))
                uow.session.add(line)
            line.counted_qty, line.counted_at, line.counted_by = qty, uow.now(), meta.actor.username

    return act(uow, meta, KIND, number, "count", {"entries": [vars(e) for e in entries]}, record)


def _sku(uow: UnitOfWork, code: str, field: str) -> Sku:
    """A SKU by code or by one of its barcodes (what a scanner sends)."""
    by_barcode = uow.session.scalar(select(Sku).join(Barcode, Barcode.sku_id == Sku.id)
                                    .where(Barcode.code == code))
    return by_barcode or md.sku_by_code(uow.session, code, field=field)


def _counted(raw: Decimal | str, field: str, decimals: int) -> Decimal:
    if str(raw).strip() in ("0", "0.0", "0.00"):
        return Decimal(0)
    return parse_qty(raw, field=field, decimals=decimals)


@retrying
def submit_count(uow: UnitOfWork, meta: Meta, *, number: str) -> Result:
    """Close counting and open the variance review."""
    return act(uow, meta, KIND, number, "submit", {}, lambda _c, _m: None)


@retrying
def post_count(uow: UnitOfWork, meta: Meta, *, number: str) -> Result:
    """Post every variance as an adjustment (gain from / loss to the adjustment location), at
    once when the count policy approves it, else once its approval ends (state pending_approval)."""
    def post_or_hold(count: StockCount, doc: Meta) -> str | None:
        started = approvals.start(uow, meta.actor, "count", number, count.version + 1)
        if started["state"] != "approved":
            return "pending_approval"
        _post_variances(uow, count, doc)
        return None

    return act(uow, meta, KIND, number, "post", {}, post_or_hold)


def post_approved(uow: UnitOfWork, count: StockCount, submitter: Actor) -> None:
    """The approval of a count's variances ended approved: post them as its submitter."""
    _post_variances(uow, count, Meta(submitter, document_type=KIND.doc_type,
                                     document_number=count.number))


def _variances(uow: UnitOfWork, count: StockCount) -> list[tuple[StockCountLine, Decimal]]:
    lines = uow.session.scalars(select(StockCountLine).where(
        StockCountLine.count_id == count.id, StockCountLine.counted_qty.is_not(None))
        .order_by(StockCountLine.id))
    pairs = [(ln, ln.counted_qty - _expected(uow, count, ln)) for ln in lines]  # type: ignore[operator]
    return [(ln, v) for ln, v in pairs if v != 0]


def variance_fields(uow: UnitOfWork, count: StockCount) -> dict[str, Any]:
    """What the count policy reads: the variances valued at the moving-average cost."""
    pairs = _variances(uow, count)
    costs = approvals.unit_costs(uow.session, {ln.sku_id for ln, _ in pairs})
    values = [v * costs.get(ln.sku_id, Decimal(0)) for ln, v in pairs]
    site = uow.session.get_one(Location, count.site_id)
    return {"variance_value": float(sum(values, Decimal(0))),
            "gross_value": float(sum((abs(v) for v in values), Decimal(0))),
            "variance_qty": float(sum((v for _, v in pairs), Decimal(0))), "lines": len(pairs),
            "site": site.code, "region": site.region}


def _post_variances(uow: UnitOfWork, count: StockCount, doc: Meta) -> None:
    site = uow.session.get_one(Location, count.site_id)
    adjustment = md.virtual(uow.session, LocationKind.ADJUSTMENT)
    book, moves = Book(), []
    book.loc(adjustment, None)
    for line, variance in _variances(uow, count):
        book.sku(uow.session.get_one(Sku, line.sku_id))
        book.loc(uow.session.get_one(Location, line.location_id), site)
        src, dst = ((adjustment.id, line.location_id) if variance > 0
                    else (line.location_id, adjustment.id))
        moves.append(Move(line.sku_id, abs(variance), src, dst, lot=line.lot))
    if moves:
        post(uow, replace(doc, reason=doc.reason or "stock count"), Operation.ADJUST, moves, book)
    count.posted_at = uow.now()


@retrying
def reopen_count(uow: UnitOfWork, meta: Meta, *, number: str) -> Result:
    return act(uow, meta, KIND, number, "reopen", {}, lambda _c, _m: None)


@retrying
def cancel_count(uow: UnitOfWork, meta: Meta, *, number: str) -> Result:
    return act(uow, meta, KIND, number, "cancel", {},
               lambda _c, _m: approvals.cancel_running(uow, "count", number))


def get_count(uow: UnitOfWork, number: str) -> Result:
    return get(uow, KIND, number)


