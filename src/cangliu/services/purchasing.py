"""Purchasing: supplier prices, purchase orders, their receipts (partial, repeated, within
tolerance) and supplier returns.

draft → submitted → approved → partially received → received → closed, or cancelled; a draft
can be edited. Receipts post supplier → site (or a bin, suggested by free capacity) at the
line's price in the base currency; SKUs that need inspection arrive on quality hold. Open
quantities show as "on order" in the single view. A supplier return gives received goods back
and books a debit note against the payable.
"""

from collections.abc import Iterator
from dataclasses import dataclass, replace
from datetime import date
from decimal import ROUND_HALF_EVEN, Decimal
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.dialects import postgresql, sqlite

from cangliu.core import ledger
from cangliu.core.documents import BASE_CURRENCY, PURCHASE_ORDER, StateTable
from cangliu.core.errors import ValidationFailed
from cangliu.core.ledger import Free, Move, Operation, StockStatus, parse_money, parse_qty
from cangliu.core.locations import LocationKind
from cangliu.core.permissions import Actor
from cangliu.core.valuation import COST_PLACES
from cangliu.db.models import (
    Location,
    PurchaseLine,
    PurchaseOrder,
    Setting,
    Sku,
    StockBalance,
    StockMove,
    Supplier,
    SupplierPrice,
)
from cangliu.db.repositories import masterdata as md
from cangliu.db.uow import UnitOfWork, retrying
from cangliu.services import approvals, custom_fields, lot_codes, serial_binding
from cangliu.services.accounts import book_credit, book_item
from cangliu.services.documents import DocumentKind, act, get, line_price, load, replace_lines
from cangliu.services.idempotency import Result
from cangliu.services.numbering import next_number
from cangliu.services.postings import Book, Meta, check_lot, post, transact
from cangliu.services.putaway import SiteBins, plan_answer
from cangliu.services.stock import register_lot

TOLERANCE_SETTING = "over_receipt_tolerance_pct"
CENT = Decimal("0.01")


@dataclass(frozen=True)
class PurchaseLineIn:
    sku: str
    qty: Decimal | str
    price: Decimal | str | None = None  # defaults to the supplier's price list


@dataclass(frozen=True)
class ReceiptIn:
    line_no: int
    qty: Decimal | str
    bin: str | None = None
    lot: str | None = None
    expiry_date: date | None = None
    serials: list[str] | None = None  # a serial-tracked SKU's units, codes or GS1 content


@dataclass(frozen=True)
class ReturnIn:
    """Goods of one line going back to the supplier; from quality hold or available stock
    (default: quality hold when the SKU needs inspection, else available)."""

    line_no: int
    qty: Decimal | str
    reason: str = ""
    from_status: str | None = None
    bin: str | None = None
    lot: str | None = None


def _supplier(uow: UnitOfWork, code: str) -> Supplier:
    row = uow.session.scalar(select(Supplier).where(Supplier.code == code))
    if row is None or not row.active:
        raise ValidationFailed.single("supplier", "unknown {label} {code}", label="supplier", code=code)
    return row


@retrying
def set_supplier_price(uow: UnitOfWork, actor: Actor, *, supplier: str, sku: str,
                       price: Decimal | str, currency: str = BASE_CURRENCY,
                       min_order_qty: Decimal | str = "0", lead_time_days: int | None = None) -> Result:
    with uow:
        sup, item = _supplier(uow, supplier), md.sku_by_code(uow.session, sku)
        values = {"supplier_id": sup.id, "sku_id": item.id, "price": parse_money(price, field="price"),
                  "currency": currency, "min_order_qty": parse_money(min_order_qty, field="min_order_qty"),
                  "lead_time_days": lead_time_days}
        insert = postgresql.insert if uow.dialect == "postgresql" else sqlite.insert
        stmt = insert(SupplierPrice).values(**values)
        uow.session.execute(stmt.on_conflict_do_update(
            index_elements=["supplier_id", "sku_id"],
            set_={k: stmt.excluded[k] for k in ("price", "currency", "min_order_qty",
                                                 "lead_time_days")}))
        uow.commit()
    return {"supplier": supplier, "sku": sku, "price": str(values["price"]), "currency": currency,
            "min_order_qty": str(values["min_order_qty"]), "lead_time_days": lead_time_days}


def answer(uow: UnitOfWork, po: PurchaseOrder) -> Result:
    s = uow.session
    lines = _order_lines(uow, po)
    codes = dict(s.execute(select(Sku.id, Sku.code).where(Sku.id.in_([ln.sku_id for ln in lines])))
                 .tuples().all())
    total = sum((ln.qty * ln.price for ln in lines), Decimal(0))
    serials = serial_binding.answer_serials(s, "purchase_order", po.number,
                                            ((ln.line_no, ln.sku_id) for ln in lines),
                                            {"serials": ("received",)})
    return {
        "number": po.number, "state": po.state, "version": po.version,
        "supplier": s.get_one(Supplier, po.supplier_id).code,
        "site": s.get_one(Location, po.site_id).code, "currency": po.currency,
        "rate": str(po.rate), "expected_date": po.expected_date.isoformat() if po.expected_date else None,
        "total": str(total.quantize(CENT)), "total_base": str((total * po.rate).quantize(CENT)),
        "reason": po.reason, "created_by": po.created_by, "created_at": po.created_at.isoformat(),
        "custom": po.custom or {},
        "allowed_actions": sorted(PURCHASE_ORDER.allowed(po.state) + (
            ["return"] if po.state in RETURNS.transitions
            and any(ln.returned_qty < ln.received_qty for ln in lines) else [])),
        "lines": [{"line_no": ln.line_no, "sku": codes[ln.sku_id], "qty": str(ln.qty),
                   "price": str(ln.price), "received_qty": str(ln.received_qty),
                   "returned_qty": str(ln.returned_qty),
                   "open_qty": str(max(ln.qty - ln.received_qty, Decimal(0))),
                   **serials.get(ln.line_no, {})}
                  for ln in lines],
    }


def _order_lines(uow: UnitOfWork, po: PurchaseOrder) -> list[PurchaseLine]:
    lines = list(uow.session.scalars(select(PurchaseLine).where(PurchaseLine.purchase_id == po.id)
                                     .order_by(PurchaseLine.line_no)))
    md.load(uow.session, Sku, (ln.sku_id for ln in lines))
    return lines


KIND = DocumentKind("purchase_order", "purchase order", PurchaseOrder, PURCHASE_ORDER, answer)
# Goods can go back to the supplier once they arrived, even after the order is closed; a return
# leaves the order's state as it is (it does not reopen the quantity on order).
RETURNS = StateTable("purchase order", {state: {"return": state} for state in (
    "partially_received", "received", "closed")})
RETURN_KIND = replace(KIND, table=RETURNS)


def _lines(uow: UnitOfWork, po_id: int | None, supplier: Supplier, lines: list[PurchaseLineIn]
           ) -> list[PurchaseLine]:
    """The checked lines of order ``po_id`` (None: one still to be made, set it later)."""
    if not lines:
        raise ValidationFailed.single("lines", "must have at least one line")
    rows = []
    for i, line in enumerate(lines):
        sku = md.sku_by_code(uow.session, line.sku, field=f"lines[{i}].sku")
        qty = parse_qty(line.qty, field=f"lines[{i}].qty", decimals=sku.decimals)
        listed = uow.session.scalar(select(SupplierPrice.price).where(
            SupplierPrice.supplier_id == supplier.id, SupplierPrice.sku_id == sku.id))
        price = line_price(listed, line.price, f"lines[{i}].price")
        rows.append(PurchaseLine(purchase_id=po_id, line_no=i + 1, sku_id=sku.id, qty=qty,
                                 price=price, received_qty=Decimal(0)))
    return rows


def new_purchase(uow: UnitOfWork, meta: Meta, *, supplier: str, site: str,
                 lines: list[PurchaseLineIn], currency: str = BASE_CURRENCY,
                 rate: Decimal | str | None = None, expected_date: date | None = None,
                 custom: dict[str, Any] | None = None) -> PurchaseOrder:
    """A draft purchase order with its lines, inside the caller's transaction. ``custom``:
    the custom field values (None when the system makes the order: defaults only)."""
    sup = _supplier(uow, supplier)
    site_row = md.site_by_code(uow.session, site)
    fx = _rate(currency, rate)
    rows = _lines(uow, None, sup, lines)
    values = custom_fields.stored(uow.session, "purchase_order", custom)
    now = uow.now()
    # The number once the order is known to be good: its counter row stays locked until the
    # commit, and others creating orders wait for it.
    po = PurchaseOrder(number=next_number(uow, "purchase_order", now.date()), state="draft",
                       supplier_id=sup.id, site_id=site_row.id, currency=currency, rate=fx,
                       expected_date=expected_date, reason=meta.reason,
                       created_by=meta.actor.username, created_at=now, version=1, custom=values)
    uow.session.add(po)
    uow.session.flush()
    for row in rows:
        row.purchase_id = po.id
    uow.session.add_all(rows)
    uow.session.flush()
    return po


@retrying
def create_purchase(uow: UnitOfWork, meta: Meta, *, supplier: str, site: str,
                    lines: list[PurchaseLineIn], currency: str = BASE_CURRENCY,
                    rate: Decimal | str | None = None, expected_date: date | None = None,
                    custom: dict[str, Any] | None = None) -> Result:
    def work() -> Result:
        return answer(uow, new_purchase(uow, meta, supplier=supplier, site=site, lines=lines,
                                        currency=currency, rate=rate, expected_date=expected_date,
                                        custom=custom))

    request = {"supplier": supplier, "site": site, "lines": [vars(x) for x in lines],
               "currency": currency, "rate": rate, "expected_date": expected_date,
               **({"custom": custom} if custom else {})}
    return transact(uow, meta, "create_purchase", request, work)


def _rate(currency: str, rate: Decimal | str | None) -> Decimal:
    if currency != BASE_CURRENCY and rate in (None, ""):
        raise ValidationFailed.single("rate", "a foreign currency needs an exchange rate")
    fx = Decimal(1) if rate in (None, "") else parse_money(rate, field="rate")
    if fx <= 0:
        raise ValidationFailed.single("rate", "must be greater than 0")
    return fx


@retrying
def update_purchase(uow: UnitOfWork, meta: Meta, *, number: str, version: int,
                    supplier: str | None = None, site: str | None = None,
                    currency: str | None = None, rate: Decimal | str | None = None,
                    expected_date: date | None = None,
                    lines: list[PurchaseLineIn] | None = None,
                    custom: dict[str, Any] | None = None) -> Result:
    """Edit a draft (what is not given stays); lines are replaced as a whole, custom values
    key by key. A stale version changes nothing and answers with the current document."""
    def edit(po: PurchaseOrder, _meta: Meta) -> str | None:
        sup = _supplier(uow, supplier) if supplier else uow.session.get_one(Supplier, po.supplier_id)
        po.supplier_id = sup.id
        if site:
            po.site_id = md.site_by_code(uow.session, site).id
        if rate not in (None, "") or (currency and currency != po.currency):
            po.rate = _rate(currency or po.currency, rate)
        po.currency = currency or po.currency
        po.expected_date = expected_date or po.expected_date
        if custom is not None:
            po.custom = custom_fields.stored(uow.session, "purchase_order", custom,
                                             current=po.custom, partial=True)
        if lines is not None:
            replace_lines(uow, _order_lines(uow, po), _lines(uow, po.id, sup, lines))
        if po.state != "submitted":
            return None
        # Editing an order under approval restarts its approval for the new version.
        uow.session.flush()
        restarted = approvals.restart(uow, meta.actor, "purchase", number, po.version + 1)
        return approvals.settle(uow, "purchase", number, restarted)

    request = {"version": version, "supplier": supplier, "site": site, "currency": currency,
               "rate": rate, "expected_date": expected_date,
               "lines": [vars(x) for x in lines] if lines is not None else None,
               **({"custom": custom} if custom is not None else {})}
    return act(uow, meta, approvals.editable(KIND, "purchase"), number, "edit", request, edit,
               version)


@retrying
def submit_purchase(uow: UnitOfWork, meta: Meta, *, number: str, version: int | None = None
                    ) -> Result:
    """Submit for approval: the policy approves it at once or starts its approval."""
    def submit(po: PurchaseOrder, _meta: Meta) -> str:
        PURCHASE_ORDER.next(number, po.state, "submit")
        started = approvals.start(uow, meta.actor, "purchase", number, po.version + 1)
        return approvals.settle(uow, "purchase", number, started)

    return act(uow, meta, KIND, number, "submit", {"version": version}, submit, version)


def _base_cost(price: Decimal, rate: Decimal) -> Decimal:
    """A unit cost in the base currency, to the millionth the ledger keeps."""
    return (price * rate).quantize(COST_PLACES, ROUND_HALF_EVEN)


def _tolerance(uow: UnitOfWork) -> Decimal:
    row = uow.session.get(Setting, TOLERANCE_SETTING)
    return Decimal(row.value) / 100 if row else Decimal(0)


@retrying
def receive_purchase(uow: UnitOfWork, meta: Meta, *, number: str, lines: list[ReceiptIn]) -> Result:
    """Book goods arriving against the order; more than ordered is refused beyond the tolerance.
    A lot-tracked line without a lot gets one from its lot rule (``generated_lots``)."""
    generated: list[dict[str, object]] = []

    def receive(po: PurchaseOrder, doc: Meta) -> str:
        by_no = {ln.line_no: ln for ln in uow.session.scalars(
            select(PurchaseLine).where(PurchaseLine.purchase_id == po.id))}
        site = uow.session.get_one(Location, po.site_id)
        supplier_loc = md.virtual(uow.session, LocationKind.SUPPLIER)
        book, moves, tolerance, value = Book(), [], _tolerance(uow), Decimal(0)
        book.loc(supplier_loc, None)
        bound: list[tuple[int, serial_binding.Scanned | None, Location, str]] = []
        if not lines:
            raise ValidationFailed.single("lines", "must have at least one line")
        for i, rl in enumerate(lines):
            line = by_no.get(rl.line_no)
            if line is None:
                raise ValidationFailed.single(f"lines[{i}].line_no", "no line {n} on {number}",
                                              n=rl.line_no, number=number)
            sku = uow.session.get_one(Sku, line.sku_id)
            book.sku(sku)
            qty = parse_qty(rl.qty, field=f"lines[{i}].qty", decimals=sku.decimals)
            allowed = line.qty * (1 + tolerance) - line.received_qty
            if qty > allowed:
                raise ValidationFailed.single(f"lines[{i}].qty",
                                              "exceeds the ordered quantity: at most {n} more",
                                              n=max(allowed, Decimal(0)))
            _site, loc = md.place(uow.session, site.code, rl.bin, bin_field=f"lines[{i}].bin")
            made = None if rl.lot else lot_codes.generate(uow, sku, site=site, day=uow.now().date(),
                                                          expiry=rl.expiry_date)
            if made:
                generated.append({"line_no": line.line_no, "sku": sku.code, "lot": made})
            lot = check_lot(sku, rl.lot or made, field=f"lines[{i}].lot", required=True)
            if lot:
                register_lot(uow, sku, lot, rl.expiry_date, uow.now().date())
            status = StockStatus.QUALITY_HOLD if sku.inspection else StockStatus.AVAILABLE
            scanned = serial_binding.scan_line(uow, sku, rl.serials, qty, field=f"lines[{i}]",
                                               site=None, statuses=("generated",), register=True)
            moves += serial_binding.with_serials(
                [Move(sku.id, qty, supplier_loc.id, book.loc(loc, site), to_status=status,
                      lot=lot or "", unit_cost=_base_cost(line.price, po.rate))], scanned)
            bound.append((line.line_no, scanned, loc, lot or ""))
            line.received_qty += qty
            value += qty * line.price
        posted = post(uow, doc, Operation.RECEIVE, moves, book)
        for line_no, scanned, loc, lot in bound:
            serial_binding.move(uow, doc, scanned, "received", line_no=line_no, site=site,
                                values={"purchase_order": po.number, "location_id": loc.id,
                                        "lot": lot})
        book_item(uow, kind="payable", partner=uow.session.get_one(Supplier, po.supplier_id).code,
                  document_type="purchase_order", document_number=po.number,
                  posting_ref=posted["ref"], currency=po.currency, rate=po.rate, amount=value,
                  on=(doc.occurred_at or uow.now()).date())
        done = all(ln.received_qty >= ln.qty for ln in by_no.values())
        return PURCHASE_ORDER.next(number, po.state, "receive_all" if done else "receive_part")

    request = {"lines": [vars(x) for x in lines], "reason": meta.reason}
    reporting = replace(KIND, answer=lambda u, o: {**answer(u, o), "generated_lots": generated})
    return act(uow, meta, reporting, number, "receive_part", request, receive)


@retrying
def cancel_purchase(uow: UnitOfWork, meta: Meta, *, number: str) -> Result:
    return act(uow, meta, KIND, number, "cancel", {},
               lambda _p, _m: approvals.cancel_running(uow, "purchase", number))


@retrying
def close_purchase(uow: UnitOfWork, meta: Meta, *, number: str) -> Result:
    """Close; whatever was not received stops counting as on order."""
    return act(uow, meta, KIND, number, "close", {}, lambda _p, _m: None)


def get_purchase(uow: UnitOfWork, number: str) -> Result:
    return get(uow, KIND, number)


def putaway_purchase(uow: UnitOfWork, number: str) -> Result:
    """Suggested bins for what each line still has to receive (none once receiving is over)."""
    with uow:
        po = load(uow, KIND, number, lock=False)
        site = uow.session.get_one(Location, po.site_id)
        bins, suggestions = SiteBins(uow, site), []
        receiving = "receive_part" in PURCHASE_ORDER.allowed(po.state)
        for line in _order_lines(uow, po) if receiving else []:
            open_qty = line.qty - line.received_qty
            if open_qty > 0:
                sku = uow.session.get_one(Sku, line.sku_id)
                suggestions.append({"line_no": line.line_no, "sku": sku.code,
                                    "open_qty": str(open_qty),
                                    **plan_answer(bins.plan(sku, open_qty))})
        return {"number": po.number, "site": site.code, "lines": suggestions}


@retrying
def return_purchase(uow: UnitOfWork, meta: Meta, *, number: str, lines: list[ReturnIn]) -> Result:
    """Give received goods back to the supplier from the order's site; the payable is reduced
    by a debit note at the line prices. Each line returns at most received − already returned."""
    def give_back(po: PurchaseOrder, doc: Meta) -> None:
        if not lines:
            raise ValidationFailed.single("lines", "must have at least one line")
        by_no = {ln.line_no: ln for ln in _order_lines(uow, po)}
        site = uow.session.get_one(Location, po.site_id)
        supplier_loc = md.virtual(uow.session, LocationKind.SUPPLIER)
        book, moves, value = Book(), [], Decimal(0)
        book.loc(supplier_loc, None)
        for i, rl in enumerate(lines):
            line, sku, qty = _returnable(uow, by_no, rl, i, number)
            book.sku(sku)
            status = _return_status(sku, rl.from_status, f"lines[{i}].from_status")
            _site, loc = md.place(uow.session, site.code, rl.bin, bin_field=f"lines[{i}].bin")
            lot = check_lot(sku, rl.lot, field=f"lines[{i}].lot", required=False)
            parts = _on_hand(uow, sku, site, loc, status, lot, qty, field=f"lines[{i}].qty",
                             where=(number, line.line_no))
            returned_before = sum((ln.returned_qty for ln in by_no.values()
                                   if ln.sku_id == sku.id), Decimal(0))
            slices = _receipt_slices(uow, po, sku.id, returned_before, qty)
            for part, ref in _pair(parts, slices):
                book.loc(uow.session.get_one(Location, part.location), site)
                moves.append(Move(sku.id, part.qty, part.location, supplier_loc.id,
                                  from_status=status, lot=part.lot,
                                  unit_cost=_base_cost(line.price, po.rate), cost_source=ref))
            line.returned_qty += qty
            value += qty * line.price
        notes = "; ".join(f"{rl.line_no}: {rl.reason}" for rl in lines if rl.reason)
        posted = post(uow, replace(doc, reason="; ".join(r for r in (doc.reason, notes) if r)[:200]),
                      Operation.SUPPLIER_RETURN, moves, book)
        book_credit(uow, kind="payable", partner=uow.session.get_one(Supplier, po.supplier_id).code,
                    document_type="purchase_order", document_number=po.number,
                    posting_ref=posted["ref"], currency=po.currency, rate=po.rate, amount=value,
                    on=(doc.occurred_at or uow.now()).date())

    request = {"lines": [vars(x) for x in lines], "reason": meta.reason}
    return act(uow, meta, RETURN_KIND, number, "return", request, give_back)


def _returnable(uow: UnitOfWork, by_no: dict[int, PurchaseLine], rl: ReturnIn, i: int,
                number: str) -> tuple[PurchaseLine, Sku, Decimal]:
    """The line a return names and the quantity going back: at most received − returned."""
    line = by_no.get(rl.line_no)
    if line is None:
        raise ValidationFailed.single(f"lines[{i}].line_no", "no line {n} on {number}",
                                      n=rl.line_no, number=number)
    sku = uow.session.get_one(Sku, line.sku_id)
    qty = parse_qty(rl.qty, field=f"lines[{i}].qty", decimals=sku.decimals)
    left = line.received_qty - line.returned_qty
    if qty > left:
        raise ValidationFailed.single(
            f"lines[{i}].qty",
            "{number} line {line}: at most {n} can go back (received {received}, returned {returned})",
            number=number, line=line.line_no, n=left, received=line.received_qty,
            returned=line.returned_qty)
    return line, sku, qty


RETURNABLE_STATUSES = (StockStatus.QUALITY_HOLD.value, StockStatus.AVAILABLE.value)


def _return_status(sku: Sku, raw: str | None, field: str) -> StockStatus:
    """Rejected goods usually wait on quality hold; SKUs without inspection return from stock."""
    if not raw:
        return StockStatus.QUALITY_HOLD if sku.inspection else StockStatus.AVAILABLE
    if raw not in RETURNABLE_STATUSES:
        raise ValidationFailed.single(field, "must be one of: {expected}",
                                      expected=", ".join(RETURNABLE_STATUSES))
    return StockStatus(raw)


def _on_hand(uow: UnitOfWork, sku: Sku, site: Location, loc: Location, status: StockStatus,
             lot: str | None, qty: Decimal, *, field: str, where: tuple[str, int]) -> list[Free]:
    """Where the returned goods are taken from: the named bin, else the site, oldest first.
    Unlike a sale, a return never takes stock below zero: goods not there cannot go back."""
    query = (select(StockBalance.location_id, StockBalance.lot,
                    StockBalance.qty - StockBalance.reserved)
             .where(StockBalance.sku_id == sku.id, StockBalance.status == status.value,
                    StockBalance.qty > StockBalance.reserved,
                    StockBalance.location_id == loc.id if loc.id != site.id
                    else StockBalance.site_id == site.id)
             .order_by(StockBalance.id))
    if lot:
        query = query.where(StockBalance.lot == lot)
    candidates = [Free(location, lt, free) for location, lt, free in uow.session.execute(query)]
    picked = ledger.allocate(qty, candidates)
    if picked is None:
        raise ValidationFailed.single(
            field, "{number} line {line}: only {available} of {sku} is {state} at {location}",
            number=where[0], line=where[1], available=sum((c.qty for c in candidates), Decimal(0)),
            sku=sku.code, state=status.value, location=loc.code)
    return picked


def _receipt_slices(uow: UnitOfWork, po: PurchaseOrder, sku_id: int, returned: Decimal,
                    qty: Decimal) -> list[tuple[str, Decimal]]:
    """The receipts (posting refs) a return of ``qty`` gives back: the order's receipts of the
    SKU oldest first, after the quantity earlier returns already gave back."""
    receipts = uow.session.execute(
        select(StockMove.ref, func.sum(StockMove.qty))
        .where(StockMove.document_number == po.number, StockMove.sku_id == sku_id,
               StockMove.operation == Operation.RECEIVE.value)
        .group_by(StockMove.ref).order_by(func.min(StockMove.id))).tuples().all()
    slices = []
    for ref, received in receipts:
        skip = min(received, returned)
        returned -= skip
        take = min(received - skip, qty)
        if take > 0:
            slices.append((ref, take))
            qty -= take
    return slices


def _pair(parts: list[Free], slices: list[tuple[str, Decimal]]
          ) -> Iterator[tuple[Free, str | None]]:
    """Split the stock taken so that every piece names the one receipt it gives back."""
    pending = list(slices)
    for part in parts:
        left = part.qty
        while left > 0:
            ref, available = pending[0] if pending else (None, left)
            take = min(left, available)
            yield Free(part.location, part.lot, take), ref
            left -= take
            if pending and take == available:
                pending.pop(0)
            elif pending:
                pending[0] = (pending[0][0], available - take)
