"""Stock operations, one posting each: receive, issue, move, adjust, change status, reverse."""

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from sqlalchemy import select

from cangliu.core.errors import Conflict, NotFound, ValidationFailed
from cangliu.core.ledger import (
    Move,
    Operation,
    StockStatus,
    check_flow,
    parse_money,
    parse_qty,
    reverse,
)
from cangliu.core.locations import LocationKind
from cangliu.db.models import Location, Lot, Sku, StockMove
from cangliu.db.repositories import masterdata as md
from cangliu.db.uow import UnitOfWork, retrying
from cangliu.services import lot_codes, quick_receipt
from cangliu.services.idempotency import Result
from cangliu.services.postings import Book, Meta, check_lot, post, sources, transact
from cangliu.services.reservations import consume


@dataclass(frozen=True)
class Line:
    """One SKU line of an operation; codes as the user typed them, quantity still unparsed."""

    sku: str
    qty: Decimal | str | int
    bin: str | None = None
    lot: str | None = None
    unit_cost: Decimal | str | None = None
    to_bin: str | None = None


def line_field(lines: list[Line], i: int, name: str) -> str:
    return name if len(lines) == 1 else f"lines[{i}].{name}"


def _sku_qty(uow: UnitOfWork, lines: list[Line], i: int, book: Book) -> tuple[Sku, Decimal]:
    sku = md.sku_by_code(uow.session, lines[i].sku, field=line_field(lines, i, "sku"))
    book.sku(sku)
    return sku, parse_qty(lines[i].qty, field=line_field(lines, i, "qty"), decimals=sku.decimals)


def _request(meta: Meta, lines: list[Line], **extra: object) -> dict[str, object]:
    return {"lines": [vars(x) for x in lines], "reason": meta.reason, **extra,
            "occurred_at": meta.occurred_at.isoformat() if meta.occurred_at else None}


def _unit_cost(raw: Decimal | str | None, field: str) -> Decimal | None:
    if raw is None or raw == "":
        return None
    return parse_money(raw, field=field)


def register_lot(uow: UnitOfWork, sku: Sku, code: str, expiry: date | None, today: date) -> None:
    """Lots are registered on first receipt; expiry defaults to today + the SKU's shelf life."""
    if uow.session.scalar(select(Lot.id).where(Lot.sku_id == sku.id, Lot.code == code)):
        return
    if expiry is None and sku.shelf_life_days:
        expiry = date.fromordinal(today.toordinal() + sku.shelf_life_days)
    uow.session.add(Lot(sku_id=sku.id, code=code, production_date=today, expiry_date=expiry))
    uow.session.flush()


@retrying
def receive(uow: UnitOfWork, meta: Meta, *, site: str, lines: list[Line],
            expiry_date: date | None = None) -> Result:
    """Goods arrive from a supplier into a site (or one of its bins); a lot-tracked line without
    a lot gets one from its lot rule."""
    def work() -> Result:
        book, moves = Book(), []
        supplier = md.virtual(uow.session, LocationKind.SUPPLIER)
        book.loc(supplier, None)
        for i, line in enumerate(lines):
            sku, qty = _sku_qty(uow, lines, i, book)
            site_row, loc = md.place(uow.session, site, line.bin, bin_field=line_field(lines, i, "bin"))
            made = None if line.lot else lot_codes.generate(
                uow, sku, site=site_row, day=(meta.occurred_at or uow.now()).date(), expiry=expiry_date)
            lot = check_lot(sku, line.lot or made, field=line_field(lines, i, "lot"), required=True)
            check_flow(Operation.RECEIVE, LocationKind(supplier.kind), LocationKind(loc.kind))
            if lot:
                register_lot(uow, sku, lot, expiry_date, (meta.occurred_at or uow.now()).date())
            moves.append(Move(sku.id, qty, supplier.id, book.loc(loc, site_row), lot=lot or "",
                              unit_cost=_unit_cost(line.unit_cost, line_field(lines, i, "unit_cost"))))
        return post(uow, meta, Operation.RECEIVE, moves, book)

    request = _request(meta, lines, site=site, expiry_date=expiry_date)
    if expiry_date is None:
        quick = quick_receipt.receive(uow, meta, site=site, lines=lines, request=request)
        if quick is not None:
            return quick
    return transact(uow, meta, "receive", request, work)


@retrying
def issue(uow: UnitOfWork, meta: Meta, *, site: str, lines: list[Line],
          reservation: str | None = None) -> Result:
    """Goods leave a site to a customer, from a reservation or straight from free stock."""
    def work() -> Result:
        book, moves = Book(), []
        customer = md.virtual(uow.session, LocationKind.CUSTOMER)
        book.loc(customer, None)
        for i, line in enumerate(lines):
            sku, qty = _sku_qty(uow, lines, i, book)
            site_row, loc = md.place(uow.session, site, line.bin, bin_field=line_field(lines, i, "bin"))
            lot = check_lot(sku, line.lot, field=line_field(lines, i, "lot"), required=False)
            if reservation:
                picked = consume(uow, reservation, sku=sku, site=site_row, qty=qty)
            else:
                picked = sources(uow, sku=sku, site=site_row, location=loc, qty=qty, lot=lot,
                                 status=StockStatus.AVAILABLE, explicit=bool(line.bin))
            for part in picked:
                book.loc(uow.session.get_one(Location, part.location), site_row)
                moves.append(Move(sku.id, part.qty, part.location, customer.id, lot=part.lot))
        return post(uow, meta, Operation.ISSUE, moves, book)

    return transact(uow, meta, "issue", _request(meta, lines, site=site, reservation=reservation),
                    work)


@retrying
def move(uow: UnitOfWork, meta: Meta, *, from_site: str, to_site: str, lines: list[Line]) -> Result:
    """Direct move between bins or sites (a transfer with transit is a document, not this)."""
    def work() -> Result:
        book, moves = Book(), []
        for i, line in enumerate(lines):
            sku, qty = _sku_qty(uow, lines, i, book)
            src_site, src = md.place(uow.session, from_site, line.bin, site_field="from_site",
                                     bin_field=line_field(lines, i, "bin"))
            dst_site, dst = md.place(uow.session, to_site, line.to_bin, site_field="to_site",
                                     bin_field=line_field(lines, i, "to_bin"))
            lot = check_lot(sku, line.lot, field=line_field(lines, i, "lot"), required=False)
            dst_id = book.loc(dst, dst_site)
            for part in sources(uow, sku=sku, site=src_site, location=src, qty=qty, lot=lot,
                                status=StockStatus.AVAILABLE, explicit=bool(line.bin)):
                if part.location == dst_id:
                    raise ValidationFailed.single("to_bin", "is the same location as the source")
                book.loc(uow.session.get_one(Location, part.location), src_site)
                moves.append(Move(sku.id, part.qty, part.location, dst_id, lot=part.lot))
        return post(uow, meta, Operation.MOVE, moves, book)

    request = _request(meta, lines, from_site=from_site, to_site=to_site)
    return transact(uow, meta, "move", request, work)


@retrying
def adjust(uow: UnitOfWork, meta: Meta, *, site: str, gain: bool, lines: list[Line]) -> Result:
    """Book a counted gain or loss against the adjustment location; a reason is mandatory."""
    def work() -> Result:
        if not meta.reason.strip():
            raise ValidationFailed.single("reason", "is required for adjustments")
        book, moves = Book(), []
        adjustment = md.virtual(uow.session, LocationKind.ADJUSTMENT)
        book.loc(adjustment, None)
        for i, line in enumerate(lines):
            sku, qty = _sku_qty(uow, lines, i, book)
            site_row, loc = md.place(uow.session, site, line.bin, bin_field=line_field(lines, i, "bin"))
            lot = check_lot(sku, line.lot, field=line_field(lines, i, "lot"), required=gain)
            if gain:
                moves.append(Move(sku.id, qty, adjustment.id, book.loc(loc, site_row), lot=lot or ""))
                continue
            for part in sources(uow, sku=sku, site=site_row, location=loc, qty=qty, lot=lot,
                                status=StockStatus.AVAILABLE, explicit=bool(line.bin)):
                book.loc(uow.session.get_one(Location, part.location), site_row)
                moves.append(Move(sku.id, part.qty, part.location, adjustment.id, lot=part.lot))
        return post(uow, meta, Operation.ADJUST, moves, book)

    return transact(uow, meta, "adjust", _request(meta, lines, site=site, gain=gain), work)


@retrying
def change_status(uow: UnitOfWork, meta: Meta, *, site: str, from_status: StockStatus,
                  to_status: StockStatus, lines: list[Line]) -> Result:
    """Put stock on quality hold, mark it damaged, or release it back to available."""
    def work() -> Result:
        if from_status == to_status:
            raise ValidationFailed.single("to_status", "must differ from from_status")
        book, moves = Book(), []
        for i, line in enumerate(lines):
            sku, qty = _sku_qty(uow, lines, i, book)
            site_row, loc = md.place(uow.session, site, line.bin, bin_field=line_field(lines, i, "bin"))
            lot = check_lot(sku, line.lot, field=line_field(lines, i, "lot"), required=False)
            for part in sources(uow, sku=sku, site=site_row, location=loc, qty=qty, lot=lot,
                                status=from_status, explicit=bool(line.bin)):
                lid = book.loc(uow.session.get_one(Location, part.location), site_row)
                moves.append(Move(sku.id, part.qty, lid, lid, from_status, to_status, lot=part.lot))
        return post(uow, meta, Operation.STATUS, moves, book)

    request = _request(meta, lines, site=site, from_status=from_status.value,
                       to_status=to_status.value)
    return transact(uow, meta, "status", request, work)


@retrying
def reverse_posting(uow: UnitOfWork, meta: Meta, *, ref: str) -> Result:
    """Cancel a posting by writing the opposite moves; the original stays in the ledger."""
    def work() -> Result:
        # Locking the original rows makes concurrent cancellations of one posting queue up, so
        # the second sees the first one's reversal instead of tripping the unique index.
        rows = list(uow.session.scalars(select(StockMove).where(StockMove.ref == ref)
                                        .order_by(StockMove.id).with_for_update()))
        if not rows:
            raise NotFound("No posting {ref}", ref=ref)
        if rows[0].operation == Operation.REVERSAL:
            raise Conflict("Posting {ref} is itself a reversal", ref=ref)
        if uow.session.scalar(select(StockMove.id).where(StockMove.reversal_of_id == rows[0].id)):
            raise Conflict("Posting {ref} was already reversed", ref=ref)
        book = Book()
        for row in rows:
            book.sku(uow.session.get_one(Sku, row.sku_id))
            for lid in (row.from_location_id, row.to_location_id):
                loc = uow.session.get_one(Location, lid)
                book.loc(loc, uow.session.get(Location, loc.site_id) if loc.site_id else None)
        moves = [reverse(Move(r.sku_id, r.qty, r.from_location_id, r.to_location_id,
                              StockStatus(r.from_status), StockStatus(r.to_status), r.lot, r.serial,
                              r.unit_cost, cost_source=r.ref, value=r.value)) for r in rows]
        return post(uow, meta, Operation.REVERSAL, moves, book, reversal_of=[r.id for r in rows])

    return transact(uow, meta, "reverse", {"ref": ref, "reason": meta.reason}, work)
