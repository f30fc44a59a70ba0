"""Transfer orders between two sites: shipped stock sits in transit until the destination receives it.

draft → pending approval → approved → shipped → partially received → received → closed.
Shipping moves stock from the source into the route's transit location (outbound in transit at
the source, inbound at the destination); receiving moves it on, with damage to the damaged status
and declared shortages to the adjustment location.
"""

from dataclasses import dataclass, replace
from datetime import date
from decimal import Decimal
from typing import Any

from sqlalchemy import select
from sqlalchemy.dialects import postgresql, sqlite

from cangliu.core import ledger
from cangliu.core.documents import TRANSFER
from cangliu.core.errors import ValidationFailed
from cangliu.core.ledger import Move, Operation, StockStatus, parse_qty
from cangliu.core.locations import LocationKind
from cangliu.core.permissions import Actor
from cangliu.db.models import Location, Sku, StockMove, TransferLine, TransferOrder
from cangliu.db.repositories import masterdata as md
from cangliu.db.uow import UnitOfWork, retrying
from cangliu.services import approvals, custom_fields, serial_binding
from cangliu.services.documents import DocumentKind, act, get
from cangliu.services.idempotency import Result
from cangliu.services.numbering import next_number
from cangliu.services.postings import Book, Meta, SiteStock, check_lot, post, transact


@dataclass(frozen=True)
class TransferLineIn:
    sku: str
    qty: Decimal | str
    lot: str | None = None


@dataclass(frozen=True)
class ReceiptLineIn:
    """What arrived for one line: good units, damaged units, and units declared missing."""

    line_no: int
    received: Decimal | str = "0"
    damaged: Decimal | str = "0"
    shortage: Decimal | str = "0"
    serials: list[str] | None = None  # scanned units arrived (received + damaged)


@dataclass(frozen=True)
class ShipSerialsIn:
    """The serials of one line's units put on the road."""

    line_no: int
    serials: list[str]


OPEN_ON_ROAD = ("shipped", "partially_received")
# A transfer receipt may scan units in any live state: those not shipped are reported as extra.
SCANNABLE = ("generated", "in_stock", "reserved", "in_transit", "sold", "returned", "in_repair")


def answer(uow: UnitOfWork, order: TransferOrder) -> Result:
    s = uow.session
    lines = list(s.scalars(select(TransferLine).where(TransferLine.transfer_id == order.id)
                           .order_by(TransferLine.line_no)))
    codes = {sid: code for sid, code in s.execute(select(Sku.id, Sku.code).where(
        Sku.id.in_([ln.sku_id for ln in lines])))}
    shipped = sum((ln.shipped_qty for ln in lines), Decimal(0))
    received = sum((ln.received_qty for ln in lines), Decimal(0))
    today = uow.now().date()
    serials = serial_binding.answer_serials(s, "transfer", order.number,
                                            ((ln.line_no, ln.sku_id) for ln in lines),
                                            {"serials": ("transfer_out",),
                                             "received_serials": ("transfer_in",)})
    return {
        "number": order.number, "state": order.state, "version": order.version,
        "source": s.get_one(Location, order.source_site_id).code,
        "dest": s.get_one(Location, order.dest_site_id).code,
        "expected_arrival": order.expected_arrival.isoformat() if order.expected_arrival else None,
        "overdue": bool(order.expected_arrival and order.expected_arrival < today
                        and order.state in OPEN_ON_ROAD),
        "receipt_accuracy": str((received / shipped).quantize(Decimal("0.0001")))
        if shipped and order.state in ("received", "closed") else None,
        "reason": order.reason, "generated_by_rule": order.generated_by_rule,
        "exception": order.exception, "created_by": order.created_by,
        "created_at": order.created_at.isoformat(), "custom": order.custom or {},
        "shipped_at": order.shipped_at.isoformat() if order.shipped_at else None,
        "received_at": order.received_at.isoformat() if order.received_at else None,
        "allowed_actions": TRANSFER.allowed(order.state),
        "lines": [{"line_no": ln.line_no, "sku": codes[ln.sku_id], "lot": ln.lot, "qty": str(ln.qty),
                   "shipped_qty": str(ln.shipped_qty), "received_qty": str(ln.received_qty),
                   "damaged_qty": str(ln.damaged_qty), "shortage_qty": str(ln.shortage_qty),
                   **serials.get(ln.line_no, {})}
                  for ln in lines],
    }


def _new_lines(uow: UnitOfWork, order_id: int | None, lines: list[TransferLineIn]
               ) -> list[TransferLine]:
    """The checked lines of transfer ``order_id`` (None: one still to be made, set it later)."""
    if not lines:
        raise ValidationFailed.single("lines", "must have at least one line")
    rows = []
    for i, line in enumerate(lines):
        sku = md.sku_by_code(uow.session, line.sku, field=f"lines[{i}].sku")
        qty = parse_qty(line.qty, field=f"lines[{i}].qty", decimals=sku.decimals)
        lot = check_lot(sku, line.lot, field=f"lines[{i}].lot", required=False)
        rows.append(TransferLine(transfer_id=order_id, line_no=i + 1, sku_id=sku.id, qty=qty,
                                 lot=lot or ""))
    return rows


@dataclass(frozen=True)
class DestinationIn:
    """One destination of a replenishment from a single source: its own lines and arrival date."""

    dest: str
    lines: list[TransferLineIn]
    expected_arrival: date | None = None


def new_order(uow: UnitOfWork, meta: Meta, src: Location, dest: str, lines: list[TransferLineIn],
              expected_arrival: date | None, field: str = "",
              custom: dict[str, Any] | None = None) -> TransferOrder:
    """A draft transfer with its lines; ``field`` prefixes error fields, e.g. ``destinations[1].``.
    ``custom``: its custom field values (None when the system makes it: defaults only)."""
    dst = md.site_by_code(uow.session, dest, field=f"{field}dest")
    if src.id == dst.id:
        raise ValidationFailed.single(f"{field}dest", "must differ from the source site")
    try:
        rows = _new_lines(uow, None, lines)
    except ValidationFailed as exc:
        raise ValidationFailed([replace(e, field=f"{field}{e.field}") for e in exc.errors]) from None
    values = custom_fields.stored(uow.session, "transfer_order", custom)
    now = uow.now()
    # The number once the order is known to be good: its counter row stays locked until the
    # commit, and others creating transfers wait for it.
    order = TransferOrder(number=next_number(uow, "transfer", now.date()), state="draft",
                          source_site_id=src.id, dest_site_id=dst.id,
                          expected_arrival=expected_arrival, reason=meta.reason,
                          created_by=meta.actor.username, created_at=now, version=1,
                          custom=values)
    uow.session.add(order)
    uow.session.flush()
    for row in rows:
        row.transfer_id = order.id
    uow.session.add_all(rows)
    uow.session.flush()
    return order


@retrying
def create_transfer(uow: UnitOfWork, meta: Meta, *, source: str, dest: str,
                    lines: list[TransferLineIn], expected_arrival: date | None = None,
                    custom: dict[str, Any] | None = None) -> Result:
    def work() -> Result:
        src = md.site_by_code(uow.session, source, field="source")
        return answer(uow, new_order(uow, meta, src, dest, lines, expected_arrival,
                                     custom=custom))

    request = {"source": source, "dest": dest, "lines": [vars(x) for x in lines],
               "expected_arrival": expected_arrival, "reason": meta.reason,
               **({"custom": custom} if custom else {})}
    return transact(uow, meta, "create_transfer", request, work)


@retrying
def create_transfers(uow: UnitOfWork, meta: Meta, *, source: str,
                     destinations: list[DestinationIn],
                     custom: dict[str, Any] | None = None) -> Result:
    """One source replenishing several sites: a separate transfer per destination, all created in
    one transaction, so a bad line anywhere creates none of them. ``custom`` values go on each."""
    def work() -> Result:
        if not destinations:
            raise ValidationFailed.single("destinations", "must have at least one destination")
        src = md.site_by_code(uow.session, source, field="source")
        seen: set[str] = set()
        orders = []
        for i, d in enumerate(destinations):
            if d.dest in seen:
                raise ValidationFailed.single(f"destinations[{i}].dest",
                                              "site {site} is named twice", site=d.dest)
            seen.add(d.dest)
            orders.append(new_order(uow, meta, src, d.dest, d.lines, d.expected_arrival,
                                     field=f"destinations[{i}].", custom=custom))
        return {"source": source, "transfers": [answer(uow, o) for o in orders]}

    request = {"source": source, "reason": meta.reason, "destinations": [
        {"dest": d.dest, "expected_arrival": d.expected_arrival,
         "lines": [vars(x) for x in d.lines]} for d in destinations],
        **({"custom": custom} if custom else {})}
    return transact(uow, meta, "create_transfers", request, work)


@retrying
def update_transfer(uow: UnitOfWork, meta: Meta, *, number: str, version: int,
                    lines: list[TransferLineIn] | None = None,
                    expected_arrival: date | None = None,
                    custom: dict[str, Any] | None = None) -> Result:
    """Edit a draft; a stale version changes nothing and answers with the current document."""
    def edit(order: TransferOrder, _meta: Meta) -> str | None:
        order.expected_arrival = expected_arrival or order.expected_arrival
        if custom is not None:
            order.custom = custom_fields.stored(uow.session, "transfer_order", custom,
                                                current=order.custom, partial=True)
        if lines is not None:
            new = _new_lines(uow, order.id, lines)
            for old in uow.session.scalars(select(TransferLine)
                                           .where(TransferLine.transfer_id == order.id)):
                uow.session.delete(old)
            uow.session.flush()
            uow.session.add_all(new)
        if order.state != "pending_approval":
            return None
        # Editing a transfer under approval restarts its approval for the new version.
        uow.session.flush()
        restarted = approvals.restart(uow, meta.actor, "transfer", number, order.version + 1)
        return approvals.settle(uow, "transfer", number, restarted)

    request = {"version": version, "expected_arrival": expected_arrival,
               "lines": [vars(x) for x in lines] if lines is not None else None,
               **({"custom": custom} if custom is not None else {})}
    return act(uow, meta, approvals.editable(KIND, "transfer"), number, "edit", request, edit,
               version)


@retrying
def submit_transfer(uow: UnitOfWork, meta: Meta, *, number: str, version: int | None = None
                    ) -> Result:
    """Send for approval: the policy approves it at once or starts its approval."""
    def submit(order: TransferOrder, _meta: Meta) -> str:
        return start_approval(uow, meta.actor, order)

    return act(uow, meta, KIND, number, "submit", {"version": version}, submit, version)


def start_approval(uow: UnitOfWork, actor: Actor, order: TransferOrder) -> str:
    """Submit a draft: the state its policy leads to (approved at once, or pending approval)."""
    TRANSFER.next(order.number, order.state, "submit")
    started = approvals.start(uow, actor, "transfer", order.number, order.version + 1)
    return approvals.settle(uow, "transfer", order.number, started)


def _route(uow: UnitOfWork, order: TransferOrder) -> Location:
    """The transit location of this source → destination route, created on first use."""
    code = f"@TR-{order.source_site_id}-{order.dest_site_id}"
    src = uow.session.get_one(Location, order.source_site_id)
    dst = uow.session.get_one(Location, order.dest_site_id)
    insert = postgresql.insert if uow.dialect == "postgresql" else sqlite.insert
    uow.session.execute(insert(Location).values(
        code=code, name=f"在途 {src.code} → {dst.code}", name_en=f"In transit {src.code} → {dst.code}",
        kind=LocationKind.TRANSIT.value, route_from_id=src.id, route_to_id=dst.id, region="",
        address="", allow_negative=False, active=True, version=1).on_conflict_do_nothing())
    return uow.session.scalars(select(Location).where(Location.code == code)).one()


def _lines(uow: UnitOfWork, order: TransferOrder) -> list[TransferLine]:
    lines = list(uow.session.scalars(select(TransferLine).where(TransferLine.transfer_id == order.id)
                                     .order_by(TransferLine.line_no)))
    md.load(uow.session, Sku, (ln.sku_id for ln in lines))
    return lines


def _ship_serials(lines: list[ShipSerialsIn] | None, by_no: set[int]
                  ) -> dict[int, tuple[int, list[str]]]:
    """The serials given per line number, with the index of their entry (for error fields)."""
    given: dict[int, tuple[int, list[str]]] = {}
    for i, x in enumerate(lines or []):
        if x.line_no not in by_no:
            raise ValidationFailed.single(f"lines[{i}].line_no", "no line {n} on this transfer",
                                          n=x.line_no)
        given[x.line_no] = (i, list(x.serials))
    return given


@retrying
def ship_transfer(uow: UnitOfWork, meta: Meta, *, number: str,
                  lines: list[ShipSerialsIn] | None = None) -> Result:
    """Take every line from the source site's free stock and put it on the road; ``lines``
    may carry the serials of serial-tracked lines (in stock at the source)."""
    def ship(order: TransferOrder, doc: Meta) -> None:
        src = uow.session.get_one(Location, order.source_site_id)
        route = _route(uow, order)
        book, moves = Book(), []
        book.loc(route, None)
        order_lines = _lines(uow, order)
        given = _ship_serials(lines, {ln.line_no for ln in order_lines})
        stock = SiteStock(uow, (ln.sku_id for ln in order_lines), location=src, site=src)
        md.load(uow.session, Location, (f.location for free in stock.free.values() for f in free))
        bound = []
        for k, line in enumerate(order_lines):
            sku = book.skus.get(line.sku_id) or uow.session.get_one(Sku, line.sku_id)
            book.sku(sku)
            i, codes = given.get(line.line_no, (k, None))
            scanned = serial_binding.scan_line(uow, sku, codes, line.qty, field=f"lines[{i}]",
                                               site=src, statuses=("in_stock",))
            parts = [Move(sku.id, part.qty, part.location, route.id, lot=part.lot)
                     for part in stock.take(sku, line.qty, line.lot or None)]
            for part in parts:
                book.loc(uow.session.get_one(Location, part.from_location), src)
            moves.extend(serial_binding.with_serials(parts, scanned))
            bound.append((line.line_no, scanned))
            line.shipped_qty = line.qty
        post(uow, doc, Operation.TRANSFER_SHIP, moves, book)
        for line_no, scanned in bound:
            serial_binding.move(uow, doc, scanned, "transfer_out", line_no=line_no, site=src,
                                values={"location_id": None})
        order.shipped_at = uow.now()

    request = {"lines": [vars(x) for x in lines]} if lines else {}
    return act(uow, meta, KIND, number, "ship", request, ship)


@retrying
def receive_transfer(uow: UnitOfWork, meta: Meta, *, number: str, lines: list[ReceiptLineIn]
                     ) -> Result:
    """Book what arrived; damaged units land as damaged, declared shortages go to adjustment.
    Scanned serials are checked against the shipped list: the answer's ``serials_missing`` and
    ``serials_extra`` name what was shipped but not scanned, and scanned but not shipped."""
    report: dict[str, list[dict[str, object]]] = {"serials_missing": [], "serials_extra": []}

    def receive(order: TransferOrder, doc: Meta) -> str:
        by_no = {ln.line_no: ln for ln in _lines(uow, order)}
        route, dst = _route(uow, order), uow.session.get_one(Location, order.dest_site_id)
        adjustment = md.virtual(uow.session, LocationKind.ADJUSTMENT)
        book, moves = Book(), []
        for loc, site in ((route, None), (dst, dst), (adjustment, None)):
            book.loc(loc, site)
        on_the_road = SiteStock(uow, (ln.sku_id for ln in by_no.values()), location=route)
        arrivals = []
        for i, rl in enumerate(lines):
            line = by_no.get(rl.line_no)
            if line is None:
                raise ValidationFailed.single(f"lines[{i}].line_no", "no line {n} on {number}",
                                              n=rl.line_no, number=number)
            sku = uow.session.get_one(Sku, line.sku_id)
            book.sku(sku)
            amounts = _amounts(rl, i, sku)
            outstanding = line.shipped_qty - line.received_qty - line.damaged_qty - line.shortage_qty
            if sum(amounts.values()) > outstanding:
                raise ValidationFailed.single(f"lines[{i}]", "exceeds what is still in transit ({n})",
                                              n=outstanding)
            scanned = serial_binding.scan_line(
                uow, sku, rl.serials, amounts["received"] + amounts["damaged"],
                field=f"lines[{i}]", site=None, statuses=SCANNABLE)
            # The ledger names the shipped units scanned: the first ones arrived sound, the
            # rest damaged.
            waiting = serial_binding.expected(uow, doc, sku_id=sku.id, line_no=line.line_no)
            named = [c for c in (scanned.codes if scanned else []) if c in waiting]
            sound = int(amounts["received"])
            units = {"received": named[:sound], "damaged": named[sound:], "shortage": []}
            targets = {"received": (dst.id, StockStatus.AVAILABLE),
                       "damaged": (dst.id, StockStatus.DAMAGED),
                       "shortage": (adjustment.id, StockStatus.AVAILABLE)}
            for kind, qty in amounts.items():
                if qty > 0:
                    to, status = targets[kind]
                    parts = [Move(sku.id, part.qty, route.id, to, to_status=status, lot=part.lot)
                             for part in on_the_road.take(sku, qty, line.lot or None)]
                    moves.extend(serial_binding.name_units(parts, units[kind]))
            line.received_qty += amounts["received"]
            line.damaged_qty += amounts["damaged"]
            line.shortage_qty += amounts["shortage"]
            arrivals.append((line, scanned))
        post(uow, doc, Operation.TRANSFER_RECEIVE, moves, book)
        for line, scanned in arrivals:
            settled = line.received_qty + line.damaged_qty + line.shortage_qty == line.shipped_qty
            missing, extra = serial_binding.arrive(uow, doc, scanned, sku_id=line.sku_id,
                                                   line_no=line.line_no, dest=dst, settled=settled)
            for key, codes in (("serials_missing", missing), ("serials_extra", extra)):
                if codes:
                    report[key].append({"line_no": line.line_no, "serials": codes})
        done = all(ln.received_qty + ln.damaged_qty + ln.shortage_qty == ln.shipped_qty
                   for ln in by_no.values())
        if done:
            order.received_at = uow.now()
        return TRANSFER.next(number, order.state, "receive_all" if done else "receive_part")

    request = {"lines": [vars(x) for x in lines], "reason": meta.reason}
    reporting = replace(KIND, answer=lambda u, o: {**answer(u, o), **report})
    return act(uow, meta, reporting, number, "receive_part", request, receive)


def _amounts(rl: ReceiptLineIn, i: int, sku: Sku) -> dict[str, Decimal]:
    amounts = {}
    for name in ("received", "damaged", "shortage"):
        raw = getattr(rl, name)
        amounts[name] = (Decimal(0) if str(raw).strip() in ("", "0")
                         else parse_qty(raw, field=f"lines[{i}].{name}", decimals=sku.decimals))
    if not any(amounts.values()):
        raise ValidationFailed.single(f"lines[{i}]", "give a received, damaged or shortage quantity")
    return amounts


@retrying
def cancel_transfer(uow: UnitOfWork, meta: Meta, *, number: str) -> Result:
    """Cancel; a shipped transfer brings its stock back with reversing moves dated now."""
    def cancel(order: TransferOrder, doc: Meta) -> None:
        approvals.cancel_running(uow, "transfer", number)
        if order.state != "shipped":
            return
        shipped = list(uow.session.scalars(select(StockMove).where(
            StockMove.document_number == order.number,
            StockMove.operation == Operation.TRANSFER_SHIP.value).order_by(StockMove.id)))
        book = Book()
        for row in shipped:
            book.sku(uow.session.get_one(Sku, row.sku_id))
            for lid in (row.from_location_id, row.to_location_id):
                loc = uow.session.get_one(Location, lid)
                book.loc(loc, uow.session.get(Location, loc.site_id) if loc.site_id else None)
        moves = [ledger.reverse(Move(r.sku_id, r.qty, r.from_location_id, r.to_location_id,
                                     lot=r.lot)) for r in shipped]
        post(uow, replace(doc, occurred_at=None), Operation.CANCEL, moves, book,
             reversal_of=[r.id for r in shipped])
        serial_binding.back_home(uow, doc, uow.session.get_one(Location, order.source_site_id))
        for line in _lines(uow, order):
            line.shipped_qty = Decimal(0)

    return act(uow, meta, KIND, number, "cancel", {}, cancel)


@retrying
def close_transfer(uow: UnitOfWork, meta: Meta, *, number: str) -> Result:
    return act(uow, meta, KIND, number, "close", {}, lambda _o, _m: None)


def get_transfer(uow: UnitOfWork, number: str) -> Result:
    return get(uow, KIND, number)


KIND = DocumentKind("transfer", "transfer", TransferOrder, TRANSFER, answer)
