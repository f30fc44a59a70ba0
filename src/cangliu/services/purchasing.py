"""Purchasing: supplier prices, purchase orders and their receipts (partial, repeated, within tolerance).

draft → submitted → approved → partially received → received → closed, or cancelled. Receipts
post supplier → site (or bin) at the line's price in the base currency; SKUs that need
inspection arrive on quality hold. Open quantities show as "on order" in the single view.
"""

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.dialects import postgresql, sqlite

from cangliu.core.documents import BASE_CURRENCY, PURCHASE_ORDER
from cangliu.core.errors import ValidationFailed
from cangliu.core.ledger import Move, Operation, StockStatus, parse_money, parse_qty
from cangliu.core.locations import LocationKind
from cangliu.core.permissions import Actor
from cangliu.db.models import (
    Location,
    PurchaseLine,
    PurchaseOrder,
    Setting,
    Sku,
    Supplier,
    SupplierPrice,
)
from cangliu.db.repositories import masterdata as md
from cangliu.db.uow import UnitOfWork, retrying
from cangliu.services.accounts import book_item
from cangliu.services.documents import DocumentKind, act, get, line_price
from cangliu.services.idempotency import Result
from cangliu.services.numbering import next_number
from cangliu.services.postings import Book, Meta, check_lot, post, transact
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
    lines = list(s.scalars(select(PurchaseLine).where(PurchaseLine.purchase_id == po.id)
                           .order_by(PurchaseLine.line_no)))
    codes = dict(s.execute(select(Sku.id, Sku.code).where(Sku.id.in_([ln.sku_id for ln in lines])))
                 .tuples().all())
    total = sum((ln.qty * ln.price for ln in lines), Decimal(0))
    return {
        "number": po.number, "state": po.state, "version": po.version,
        "supplier": s.get_one(Supplier, po.supplier_id).code,
        "site": s.get_one(Location, po.site_id).code, "currency": po.currency,
        "rate": str(po.rate), "expected_date": po.expected_date.isoformat() if po.expected_date else None,
        "total": str(total.quantize(CENT)), "total_base": str((total * po.rate).quantize(CENT)),
        "reason": po.reason, "created_by": po.created_by, "created_at": po.created_at.isoformat(),
        "allowed_actions": PURCHASE_ORDER.allowed(po.state),
        "lines": [{"line_no": ln.line_no, "sku": codes[ln.sku_id], "qty": str(ln.qty),
                   "price": str(ln.price), "received_qty": str(ln.received_qty),
                   "open_qty": str(max(ln.qty - ln.received_qty, Decimal(0)))} for ln in lines],
    }


KIND = DocumentKind("purchase_order", "purchase order", PurchaseOrder, PURCHASE_ORDER, answer)


def _lines(uow: UnitOfWork, po_id: int, supplier: Supplier, lines: list[PurchaseLineIn]
           ) -> list[PurchaseLine]:
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


@retrying
def create_purchase(uow: UnitOfWork, meta: Meta, *, supplier: str, site: str,
                    lines: list[PurchaseLineIn], currency: str = BASE_CURRENCY,
                    rate: Decimal | str | None = None, expected_date: date | None = None) -> Result:
    def work() -> Result:
        sup = _supplier(uow, supplier)
        site_row = md.site_by_code(uow.session, site)
        if currency != BASE_CURRENCY and rate in (None, ""):
            raise ValidationFailed.single("rate", "a foreign currency needs an exchange rate")
        fx = Decimal(1) if rate in (None, "") else parse_money(rate, field="rate")
        if fx <= 0:
            raise ValidationFailed.single("rate", "must be greater than 0")
        now = uow.now()
        po = PurchaseOrder(number=next_number(uow, "purchase_order", now.date()), state="draft",
                           supplier_id=sup.id, site_id=site_row.id, currency=currency, rate=fx,
                           expected_date=expected_date, reason=meta.reason,
                           created_by=meta.actor.username, created_at=now, version=1)
        uow.session.add(po)
        uow.session.flush()
        uow.session.add_all(_lines(uow, po.id, sup, lines))
        uow.session.flush()
        return answer(uow, po)

    request = {"supplier": supplier, "site": site, "lines": [vars(x) for x in lines],
               "currency": currency, "rate": rate, "expected_date": expected_date}
    return transact(uow, meta, "create_purchase", request, work)


@retrying
def submit_purchase(uow: UnitOfWork, meta: Meta, *, number: str, version: int | None = None
                    ) -> Result:
    """Submit; until the approvals engine exists, a submitted order is approved at once."""
    def submit(po: PurchaseOrder, _meta: Meta) -> str:
        return PURCHASE_ORDER.next(number, PURCHASE_ORDER.next(number, po.state, "submit"), "approve")

    return act(uow, meta, KIND, number, "submit", {"version": version}, submit, version)


def _tolerance(uow: UnitOfWork) -> Decimal:
    row = uow.session.get(Setting, TOLERANCE_SETTING)
    return Decimal(row.value) / 100 if row else Decimal(0)


@retrying
def receive_purchase(uow: UnitOfWork, meta: Meta, *, number: str, lines: list[ReceiptIn]) -> Result:
    """Book goods arriving against the order; more than ordered is refused beyond the tolerance."""
    def receive(po: PurchaseOrder, doc: Meta) -> str:
        by_no = {ln.line_no: ln for ln in uow.session.scalars(
            select(PurchaseLine).where(PurchaseLine.purchase_id == po.id))}
        site = uow.session.get_one(Location, po.site_id)
        supplier_loc = md.virtual(uow.session, LocationKind.SUPPLIER)
        book, moves, tolerance, value = Book(), [], _tolerance(uow), Decimal(0)
        book.loc(supplier_loc, None)
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
            lot = check_lot(sku, rl.lot, field=f"lines[{i}].lot", required=True)
            if lot:
                register_lot(uow, sku, lot, rl.expiry_date, uow.now().date())
            status = StockStatus.QUALITY_HOLD if sku.inspection else StockStatus.AVAILABLE
            moves.append(Move(sku.id, qty, supplier_loc.id, book.loc(loc, site), to_status=status,
                              lot=lot or "", unit_cost=line.price * po.rate))
            line.received_qty += qty
            value += qty * line.price
        posted = post(uow, doc, Operation.RECEIVE, moves, book)
        book_item(uow, kind="payable", partner=uow.session.get_one(Supplier, po.supplier_id).code,
                  document_type="purchase_order", document_number=po.number,
                  posting_ref=posted["ref"], currency=po.currency, rate=po.rate, amount=value,
                  on=(doc.occurred_at or uow.now()).date())
        done = all(ln.received_qty >= ln.qty for ln in by_no.values())
        return PURCHASE_ORDER.next(number, po.state, "receive_all" if done else "receive_part")

    request = {"lines": [vars(x) for x in lines], "reason": meta.reason}
    return act(uow, meta, KIND, number, "receive_part", request, receive)


@retrying
def cancel_purchase(uow: UnitOfWork, meta: Meta, *, number: str) -> Result:
    return act(uow, meta, KIND, number, "cancel", {}, lambda _p, _m: None)


@retrying
def close_purchase(uow: UnitOfWork, meta: Meta, *, number: str) -> Result:
    """Close; whatever was not received stops counting as on order."""
    return act(uow, meta, KIND, number, "close", {}, lambda _p, _m: None)


def get_purchase(uow: UnitOfWork, number: str) -> Result:
    return get(uow, KIND, number)
