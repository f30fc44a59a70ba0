"""Sales orders: confirm reserves stock (available-to-promise), ship in parts, take returns.

draft → confirmed → partially shipped → shipped → closed, or cancelled. While confirmed, each
line's unshipped quantity is held by a reservation — that remainder is the backorder — in the
bins and lots it will be picked from (``services.picking``): the reservation is the pick list.
Returns come back from the customer onto quality hold, to be restocked or scrapped after inspection.
"""

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.dialects import postgresql, sqlite

from cangliu.core.documents import BASE_CURRENCY, SALES_ORDER
from cangliu.core.errors import Conflict, NotFound, ValidationFailed
from cangliu.core.ledger import Move, Operation, StockStatus, parse_money, parse_qty
from cangliu.core.locations import Channel, LocationKind
from cangliu.core.permissions import Actor
from cangliu.core.valuation import COST_PLACES
from cangliu.db.models import (
    Customer,
    CustomerPrice,
    HeldDocument,
    Location,
    SalesLine,
    SalesOrder,
    Sku,
    StockMove,
)
from cangliu.db.repositories import ledger as repo
from cangliu.db.repositories import masterdata as md
from cangliu.db.uow import UnitOfWork, retrying
from cangliu.services import custom_fields, serial_binding
from cangliu.services.accounts import book_credit, book_item
from cangliu.services.documents import DocumentKind, act, get, line_price, load, replace_lines
from cangliu.services.held import held, hold, request_of
from cangliu.services.idempotency import Result
from cangliu.services.numbering import next_number
from cangliu.services.picking import free_stock_of, hold_picked, pick_list, ship_parts
from cangliu.services.postings import Book, Meta, post, transact

CHANNELS = (Channel.STORE.value, Channel.ONLINE.value, Channel.WHOLESALE.value)


@dataclass(frozen=True)
class SalesLineIn:
    sku: str
    qty: Decimal | str
    price: Decimal | str | None = None  # defaults to the customer's price


@dataclass(frozen=True)
class LineQty:
    """A quantity against one order line (shipping or returning)."""

    line_no: int
    qty: Decimal | str
    # A serial-tracked SKU's units, codes or GS1 content (keyword only: subclasses keep their
    # positional fields).
    serials: list[str] | None = field(default=None, kw_only=True)


@dataclass(frozen=True)
class ShipLine(LineQty):
    """A quantity to ship, optionally from a bin and/or lot other than the pick list's."""

    bin: str | None = None
    lot: str | None = None


def _customer(uow: UnitOfWork, code: str) -> Customer:
    row = uow.session.scalar(select(Customer).where(Customer.code == code))
    if row is None or not row.active:
        raise ValidationFailed.single("customer", "unknown {label} {code}", label="customer", code=code)
    return row


@retrying
def set_customer_price(uow: UnitOfWork, actor: Actor, *, customer: str, sku: str,
                       price: Decimal | str) -> Result:
    with uow:
        cust, item = _customer(uow, customer), md.sku_by_code(uow.session, sku)
        insert = postgresql.insert if uow.dialect == "postgresql" else sqlite.insert
        stmt = insert(CustomerPrice).values(customer_id=cust.id, sku_id=item.id,
                                            price=parse_money(price, field="price"))
        uow.session.execute(stmt.on_conflict_do_update(index_elements=["customer_id", "sku_id"],
                                                       set_={"price": stmt.excluded.price}))
        uow.commit()
    return {"customer": customer, "sku": sku, "price": str(parse_money(price, field="price"))}


def answer(uow: UnitOfWork, so: SalesOrder) -> Result:
    s = uow.session
    lines = _lines(uow, so)
    codes = dict(s.execute(select(Sku.id, Sku.code).where(Sku.id.in_([ln.sku_id for ln in lines])))
                 .tuples().all())
    total = sum((ln.qty * ln.price for ln in lines), Decimal(0))
    serials = serial_binding.answer_serials(s, "sales_order", so.number,
                                            ((ln.line_no, ln.sku_id) for ln in lines),
                                            {"serials": ("shipped",),
                                             "returned_serials": ("returned",)})
    return {
        "number": so.number, "state": so.state, "version": so.version,
        "customer": s.get_one(Customer, so.customer_id).code,
        "site": s.get_one(Location, so.site_id).code, "channel": so.channel,
        "currency": so.currency, "rate": str(so.rate), "total": str(total.quantize(Decimal("0.01"))),
        "reason": so.reason, "created_by": so.created_by, "created_at": so.created_at.isoformat(),
        "custom": so.custom or {},
        "allowed_actions": SALES_ORDER.allowed(so.state),
        "returns": held(uow, "sales_return", parent=so.number),
        "lines": [{"line_no": ln.line_no, "sku": codes[ln.sku_id], "qty": str(ln.qty),
                   "price": str(ln.price), "shipped_qty": str(ln.shipped_qty),
                   "backorder_qty": str(ln.qty - ln.shipped_qty
                                        if so.state in ("confirmed", "partially_shipped")
                                        else Decimal(0)),
                   "returned_qty": str(ln.returned_qty), **serials.get(ln.line_no, {})}
                  for ln in lines],
    }


KIND = DocumentKind("sales_order", "sales order", SalesOrder, SALES_ORDER, answer)


def _lines(uow: UnitOfWork, so: SalesOrder) -> list[SalesLine]:
    lines = list(uow.session.scalars(select(SalesLine).where(SalesLine.sales_id == so.id)
                                     .order_by(SalesLine.line_no)))
    md.load(uow.session, Sku, (ln.sku_id for ln in lines))
    return lines


def _new_lines(uow: UnitOfWork, so_id: int | None, customer: Customer, lines: list[SalesLineIn]
               ) -> list[SalesLine]:
    """The checked lines of order ``so_id`` (None: one still to be made, set it later)."""
    if not lines:
        raise ValidationFailed.single("lines", "must have at least one line")
    rows = []
    for i, line in enumerate(lines):
        sku = md.sku_by_code(uow.session, line.sku, field=f"lines[{i}].sku")
        qty = parse_qty(line.qty, field=f"lines[{i}].qty", decimals=sku.decimals)
        listed = uow.session.scalar(select(CustomerPrice.price).where(
            CustomerPrice.customer_id == customer.id, CustomerPrice.sku_id == sku.id))
        price = line_price(listed, line.price, f"lines[{i}].price")
        rows.append(SalesLine(sales_id=so_id, line_no=i + 1, sku_id=sku.id, qty=qty, price=price,
                              shipped_qty=Decimal(0), returned_qty=Decimal(0)))
    return rows


@retrying
def create_sale(uow: UnitOfWork, meta: Meta, *, customer: str, site: str,
                lines: list[SalesLineIn], channel: str = Channel.STORE.value,
                currency: str = BASE_CURRENCY, rate: Decimal | str | None = None,
                custom: dict[str, Any] | None = None) -> Result:
    """A draft sales order; ``custom`` holds its custom field values (None when the system
    makes it: defaults only)."""
    def work() -> Result:
        cust = _customer(uow, customer)
        site_row = md.site_by_code(uow.session, site)
        fx = _rate(currency, rate)
        _check_channel(channel)
        rows = _new_lines(uow, None, cust, lines)
        values = custom_fields.stored(uow.session, "sales_order", custom)
        now = uow.now()
        # The number once the order is known to be good: its counter row stays locked until
        # the commit, and others creating orders wait for it.
        so = SalesOrder(number=next_number(uow, "sales_order", now.date()), state="draft",
                        customer_id=cust.id, site_id=site_row.id, channel=channel, currency=currency,
                        rate=fx, reason=meta.reason, created_by=meta.actor.username,
                        created_at=now, version=1, custom=values)
        uow.session.add(so)
        uow.session.flush()
        for row in rows:
            row.sales_id = so.id
        uow.session.add_all(rows)
        uow.session.flush()
        return answer(uow, so)

    request = {"customer": customer, "site": site, "lines": [vars(x) for x in lines],
               "channel": channel, "currency": currency, "rate": rate,
               **({"custom": custom} if custom else {})}
    return transact(uow, meta, "create_sale", request, work)


def _rate(currency: str, rate: Decimal | str | None) -> Decimal:
    """The exchange rate of a document in ``currency``: 1 for the base currency unless given."""
    if not re.fullmatch(r"[A-Z]{3}", currency):
        raise ValidationFailed.single("currency", "must be a three-letter code such as CNY")
    if currency != BASE_CURRENCY and rate in (None, ""):
        raise ValidationFailed.single("rate", "a foreign currency needs an exchange rate")
    fx = Decimal(1) if rate in (None, "") else parse_money(rate, field="rate")
    if fx == 0:
        raise ValidationFailed.single("rate", "must be greater than 0")
    return fx


def _check_channel(channel: str) -> None:
    if channel not in CHANNELS:
        raise ValidationFailed.single("channel", "must be one of: {expected}",
                                      expected=", ".join(CHANNELS))


@retrying
def update_sale(uow: UnitOfWork, meta: Meta, *, number: str, version: int,
                customer: str | None = None, site: str | None = None, channel: str | None = None,
                currency: str | None = None, rate: Decimal | str | None = None,
                lines: list[SalesLineIn] | None = None,
                custom: dict[str, Any] | None = None) -> Result:
    """Edit a draft; a stale version changes nothing and answers with the current order.

    Fields left out keep their value; lines, when given, replace the order's lines as a whole.
    A change of currency needs its rate again (back to the base currency the rate becomes 1).
    """
    def edit(so: SalesOrder, _meta: Meta) -> None:
        cust = _customer(uow, customer) if customer is not None else None
        so.customer_id = cust.id if cust else so.customer_id
        so.site_id = md.site_by_code(uow.session, site).id if site is not None else so.site_id
        if channel is not None:
            _check_channel(channel)
            so.channel = channel
        if currency is not None or rate not in (None, ""):
            so.currency = currency or so.currency
            so.rate = _rate(so.currency, rate)
        if custom is not None:
            so.custom = custom_fields.stored(uow.session, "sales_order", custom,
                                             current=so.custom, partial=True)
        if lines is not None:
            new = _new_lines(uow, so.id, cust or uow.session.get_one(Customer, so.customer_id),
                             lines)
            replace_lines(uow, _lines(uow, so), new)

    request = {"version": version, "customer": customer, "site": site, "channel": channel,
               "currency": currency, "rate": rate,
               "lines": [vars(x) for x in lines] if lines is not None else None,
               **({"custom": custom} if custom is not None else {})}
    return act(uow, meta, KIND, number, "edit", request, edit, version)


@retrying
def confirm_sale(uow: UnitOfWork, meta: Meta, *, number: str, version: int | None = None) -> Result:
    """Reserve every line in the bins it will be picked from; a shortage names what other
    sites could supply."""
    def confirm(so: SalesOrder, doc: Meta) -> None:
        site = uow.session.get_one(Location, so.site_id)
        lines = _lines(uow, so)
        stock = free_stock_of(uow, [ln.sku_id for ln in lines], site)
        for line in lines:
            sku = uow.session.get_one(Sku, line.sku_id)
            line.reservation = hold_picked(uow, doc, sku, site, line.qty,
                                          stock.setdefault(sku.id, []))
        uow.session.flush()

    return act(uow, meta, KIND, number, "confirm", {"version": version}, confirm, version)


@retrying
def ship_sale(uow: UnitOfWork, meta: Meta, *, number: str,
              lines: Sequence[LineQty] | None = None) -> Result:
    """Ship to the customer from the pick list; without lines, everything still open ships.

    A ``ShipLine`` naming a bin and/or lot ships from there instead of the pick list.
    """
    def ship(so: SalesOrder, doc: Meta) -> str:
        site = uow.session.get_one(Location, so.site_id)
        customer = md.virtual(uow.session, LocationKind.CUSTOMER)
        order_lines = _lines(uow, so)
        wanted = _quantities(uow, order_lines, lines, lambda ln: ln.qty - ln.shipped_qty, "open")
        book, moves = Book(), []
        book.loc(customer, None)
        bound = []
        held = repo.open_reservations_of(uow.session, [ln.reservation or "" for ln, _ in wanted])
        md.load(uow.session, Location, (p.location_id for parts in held.values() for p in parts))
        for i, (line, qty) in enumerate(wanted):
            sku = uow.session.get_one(Sku, line.sku_id)
            book.sku(sku)
            given = lines[i] if lines else None
            place = (given.bin, given.lot) if isinstance(given, ShipLine) else (None, None)
            scanned = serial_binding.scan_line(uow, sku, given.serials if given else None, qty,
                                               field=f"lines[{i}]", site=site,
                                               statuses=("in_stock",))
            parts = []
            for part in ship_parts(uow, line.reservation or "", sku, site, qty, *place,
                                   field=f"lines[{i}]", held=held[line.reservation or ""]):
                book.loc(uow.session.get_one(Location, part.location), site)
                parts.append(Move(sku.id, part.qty, part.location, customer.id, lot=part.lot))
            moves += serial_binding.with_serials(parts, scanned)
            bound.append((line.line_no, scanned))
            line.shipped_qty += qty
        posted = post(uow, doc, Operation.ISSUE, moves, book)
        for line_no, scanned in bound:
            serial_binding.move(uow, doc, scanned, "shipped", line_no=line_no, site=site,
                                values={"customer_id": so.customer_id, "sales_order": so.number,
                                        "site_id": None, "location_id": None})
        book_item(uow, kind="receivable", partner=uow.session.get_one(Customer, so.customer_id).code,
                  document_type="sales_order", document_number=so.number, posting_ref=posted["ref"],
                  currency=so.currency, rate=so.rate, amount=sum((ln.price * q for ln, q in wanted),
                                                                  Decimal(0)),
                  on=(doc.occurred_at or uow.now()).date())
        done = all(ln.shipped_qty == ln.qty for ln in order_lines)
        return SALES_ORDER.next(number, so.state, "ship_all" if done else "ship_part")

    request = {"lines": [vars(x) for x in lines] if lines else None}
    return act(uow, meta, KIND, number, "ship_part", request, ship)


def _quantities(uow: UnitOfWork, order_lines: list[SalesLine], given: Sequence[LineQty] | None,
                limit: Callable[[SalesLine], Decimal], what: str) -> list[tuple[SalesLine, Decimal]]:
    """Pair each requested quantity with its line, refusing more than ``limit`` allows."""
    by_no = {ln.line_no: ln for ln in order_lines}
    if given is None:
        return [(ln, limit(ln)) for ln in order_lines if limit(ln) > 0]
    if not given:
        raise ValidationFailed.single("lines", "must have at least one line")
    pairs = []
    for i, g in enumerate(given):
        line = by_no.get(g.line_no)
        if line is None:
            raise ValidationFailed.single(f"lines[{i}].line_no", "no line {n} on this order", n=g.line_no)
        sku = uow.session.get_one(Sku, line.sku_id)
        qty = parse_qty(g.qty, field=f"lines[{i}].qty", decimals=sku.decimals)
        if qty > limit(line):
            raise ValidationFailed.single(f"lines[{i}].qty", "exceeds the {what} quantity {n}",
                                          what=what, n=limit(line))
        pairs.append((line, qty))
    return pairs


def _release_backorders(uow: UnitOfWork, so: SalesOrder) -> None:
    for line in _lines(uow, so):
        for part in repo.open_reservations(uow.session, line.reservation or ""):
            repo.unhold(uow.session, part.sku_id, part.location_id, part.lot, part.qty)
            part.state = "released"


@retrying
def cancel_sale(uow: UnitOfWork, meta: Meta, *, number: str) -> Result:
    """Cancel before shipping: reserved stock becomes available again."""
    return act(uow, meta, KIND, number, "cancel", {},
               lambda so, _m: _release_backorders(uow, so))


@retrying
def close_sale(uow: UnitOfWork, meta: Meta, *, number: str) -> Result:
    """Close; an unshipped backorder is dropped and its reservation released."""
    return act(uow, meta, KIND, number, "close", {},
               lambda so, _m: _release_backorders(uow, so))


@retrying
def return_sale(uow: UnitOfWork, meta: Meta, *, number: str, lines: list[LineQty]) -> Result:
    """Goods come back from the customer onto quality hold at the order's site: at once when the
    return policy approves it, else held as a return (RT…, listed under ``returns``) until it is."""
    def take_back_or_hold(so: SalesOrder, doc: Meta) -> None:
        pairs = _returnable(uow, so, lines)
        site = uow.session.get_one(Location, so.site_id)
        scanned = _scan_returns(uow, so, pairs, lines)
        fields = {"amount": float(sum((ln.price * q for ln, q in pairs), Decimal(0)) * so.rate),
                  "lines": len(pairs), "site": site.code, "region": site.region,
                  "customer": uow.session.get_one(Customer, so.customer_id).code,
                  "sales_order": so.number}
        request = {"sales_order": so.number, "lines": [vars(x) for x in lines],
                   "reason": meta.reason}
        returned = next_number(uow, "sales_return", uow.now().date())
        if hold(uow, meta, "sales_return", returned, site, request, fields, parent=so.number) is None:
            _take_back(uow, so, doc, pairs, scanned)

    return act(uow, meta, KIND, number, "return", {"lines": [vars(x) for x in lines]},
               take_back_or_hold)


def post_approved_return(uow: UnitOfWork, row: HeldDocument, submitter: Actor) -> None:
    """A held return was approved: take the goods back now, if the order still allows it."""
    request = request_of(row)
    so = load(uow, KIND, request["sales_order"])
    SALES_ORDER.next(so.number, so.state, "return")
    given = [LineQty(**x) for x in request["lines"]]
    pairs = _returnable(uow, so, given)
    doc = Meta(submitter, reason=request["reason"], document_type=KIND.doc_type,
               document_number=so.number)
    _take_back(uow, so, doc, pairs, _scan_returns(uow, so, pairs, given))
    so.version += 1


def get_return(uow: UnitOfWork, number: str) -> Result:
    """A customer return request (RT…) with its order's line details, in any state."""
    with uow:
        found = held(uow, "sales_return", number=number)
        if not found:
            raise NotFound("No return {number}", number=number)
        doc = found[0]
        so = load(uow, KIND, doc["parent"], lock=False)
        by_no = {ln["line_no"]: ln for ln in answer(uow, so)["lines"]}
        lines = [{**by_no.get(int(ln["line_no"]), {}), "return_qty": str(ln["qty"])}
                 for ln in doc["request"]["lines"]]
        return {**doc, "customer": uow.session.get_one(Customer, so.customer_id).code,
                "currency": so.currency, "lines": lines}


def _returnable(uow: UnitOfWork, so: SalesOrder, lines: Sequence[LineQty]
                ) -> list[tuple[SalesLine, Decimal]]:
    return _quantities(uow, _lines(uow, so), lines, lambda ln: ln.shipped_qty - ln.returned_qty,
                       "returnable")


def _scan_returns(uow: UnitOfWork, so: SalesOrder, pairs: list[tuple[SalesLine, Decimal]],
                  given: Sequence[LineQty]) -> list[serial_binding.Scanned | None]:
    """The serials coming back per returned line: sold, and sold on this order."""
    found = []
    for i, (line, qty) in enumerate(pairs):
        scanned = serial_binding.scan_line(uow, uow.session.get_one(Sku, line.sku_id),
                                           given[i].serials, qty, field=f"lines[{i}]",
                                           site=None, statuses=("sold",))
        serial_binding.check_sold_on(uow.session, scanned, so.number)
        found.append(scanned)
    return found


def _take_back(uow: UnitOfWork, so: SalesOrder, doc: Meta,
               pairs: list[tuple[SalesLine, Decimal]],
               scanned: Sequence[serial_binding.Scanned | None] = ()) -> None:
    site = uow.session.get_one(Location, so.site_id)
    customer = md.virtual(uow.session, LocationKind.CUSTOMER)
    book, moves = Book(), []
    book.loc(customer, None)
    book.loc(site, site)
    for k, (line, qty) in enumerate(pairs):
        book.sku(uow.session.get_one(Sku, line.sku_id))
        moves += serial_binding.with_serials(
            [Move(line.sku_id, qty, customer.id, site.id, to_status=StockStatus.QUALITY_HOLD,
                  unit_cost=_shipped_cost(uow, so.number, line.sku_id))],
            scanned[k] if k < len(scanned) else None)
        line.returned_qty += qty
    posted = post(uow, doc, Operation.RECEIVE, moves, book)
    for (line, _qty), units in zip(pairs, scanned, strict=False):
        serial_binding.move(uow, doc, units, "returned", line_no=line.line_no, site=site,
                            values={"location_id": site.id})
    # A credit note: the returned goods no longer owe their price.
    book_credit(uow, kind="receivable", partner=uow.session.get_one(Customer, so.customer_id).code,
                document_type="sales_order", document_number=so.number, posting_ref=posted["ref"],
                currency=so.currency, rate=so.rate,
                amount=sum((ln.price * q for ln, q in pairs), Decimal(0)),
                on=(doc.occurred_at or uow.now()).date())


def _shipped_cost(uow: UnitOfWork, number: str, sku_id: int) -> Decimal | None:
    """A return re-enters at the average cost at which this order's units left."""
    qty, value = uow.session.execute(
        select(func.sum(StockMove.qty), func.sum(StockMove.value)).where(
            StockMove.document_number == number, StockMove.sku_id == sku_id,
            StockMove.operation == Operation.ISSUE.value)).one()
    return (value / qty).quantize(COST_PLACES) if qty and value is not None else None


def get_sale(uow: UnitOfWork, number: str) -> Result:
    return get(uow, KIND, number)


PICKING_STATES = ("confirmed", "partially_shipped")


def get_pick_list(uow: UnitOfWork, number: str) -> Result:
    """Per open line, the bins and lots to take it from, in pick order (FEFO for lots)."""
    with uow:
        so = load(uow, KIND, number, lock=False)
        if so.state not in PICKING_STATES:
            raise Conflict("Sales order {number} is {state}: only a confirmed order has a pick list",
                           number=number, state=so.state)
        return {"number": so.number, "state": so.state, "version": so.version,
                "customer": uow.session.get_one(Customer, so.customer_id).code,
                "site": uow.session.get_one(Location, so.site_id).code,
                "lines": pick_list(uow, _lines(uow, so))}
