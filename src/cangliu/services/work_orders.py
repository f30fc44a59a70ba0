"""Work orders (生产工单): finished goods made at a site from the components they consume.

A draft names the finished SKU, site, line and quantity, and its component lines (serials for
serial-tracked components, a lot for lot-tracked ones). Completing it is one transaction: the
components leave the site's stock into production ('consume'), the finished goods come out of
production into the site ('produce') valued at what the components were worth, the finished
serials (given, or generated from the SKU's rule) enter stock, and each finished unit records
its components as assembly links — the genealogy a recall walks."""

from collections.abc import Sequence
from dataclasses import dataclass, replace
from decimal import ROUND_HALF_EVEN, Decimal
from typing import Any

from sqlalchemy import delete, func, or_, select
from sqlalchemy.orm import Session

from cangliu.core.errors import Conflict, NotFound, StaleVersion, ValidationFailed
from cangliu.core.ledger import Move, Operation, StockStatus, parse_qty
from cangliu.core.locations import LocationKind
from cangliu.core.valuation import COST_PLACES
from cangliu.db.models import Location, Serial, SerialBatch, Sku, StockMove, WorkOrder, WorkOrderComponent
from cangliu.db.repositories import masterdata as md
from cangliu.db.uow import UnitOfWork, retrying
from cangliu.services import assemblies, serial_binding
from cangliu.services.idempotency import Result
from cangliu.services.numbering import next_number
from cangliu.services.postings import Meta, check_lot, post, sources, transact
from cangliu.services.serials.generation import generate_in
from cangliu.services.stock import register_lot

DOC = "work_order"
STATUSES = ("draft", "completed", "cancelled")
MAX_UNITS = 1_000  # finished serials one work order makes


@dataclass(frozen=True)
class Component:
    """One component line as the user gave it: serials for a serial-tracked SKU (its quantity
    is their count), a lot (or none: oldest stock first) for a lot-tracked one."""

    sku: str
    qty: Decimal | str | int | None = None
    lot: str | None = None
    serials: Sequence[str] = ()


@dataclass
class _Line:
    """A component line checked against the database."""

    sku: Sku
    qty: Decimal
    lot: str
    serials: list[Serial]


def _order(session: Session, number: str, *, lock: bool = False) -> WorkOrder:
    query = select(WorkOrder).where(WorkOrder.number == number)
    row = session.scalar(query.with_for_update() if lock else query)
    if row is None:
        raise NotFound("No work order {number}", number=number)
    return row


def _draft(uow: UnitOfWork, number: str, version: int | None) -> WorkOrder:
    order = _order(uow.session, number, lock=True)
    if order.status != "draft":
        raise Conflict("Work order {number} is {status}: only a draft can change",
                       number=number, status=order.status)
    if version is not None and version != order.version:
        raise StaleVersion(order.version, answer(uow.session, number))
    return order


def _check_lines(uow: UnitOfWork, site: Location, components: Sequence[Component]
                 ) -> list[_Line]:
    """Each line's SKU, quantity, lot and serials (of that SKU, in stock at ``site``)."""
    session, lines = uow.session, []
    seen: dict[int, str] = {}
    for i, c in enumerate(components):
        at = f"components[{i}]"
        sku = md.sku_by_code(session, c.sku, field=f"{at}.sku")
        codes = [s for s in c.serials if s.strip()]
        if sku.tracking == "serial" and not codes:
            raise ValidationFailed.single(f"{at}.serials", "SKU {sku} is serial-tracked: scan "
                                          "the serial of every unit", sku=sku.code)
        qty = (Decimal(len(codes)) if codes and c.qty in (None, "")
               else parse_qty(c.qty, field=f"{at}.qty", decimals=sku.decimals))
        lot = check_lot(sku, (c.lot or "").strip() or None, field=f"{at}.lot", required=False)
        scanned = serial_binding.scan_line(uow, sku, codes, qty, field=at, site=site,
                                           statuses=("in_stock",))
        rows = [session.get_one(Serial, sid) for sid in scanned.ids] if scanned else []
        for j, row in enumerate(rows):
            if seen.setdefault(row.id, at) != at:
                raise ValidationFailed.single(f"{at}.serials[{j}]", "serial {code} is given twice",
                                              code=row.code)
        lines.append(_Line(sku, qty, lot or "", rows))
    return lines


def _store_lines(session: Session, order: WorkOrder, lines: list[_Line]) -> None:
    session.execute(delete(WorkOrderComponent).where(WorkOrderComponent.work_order_id == order.id))
    for line in lines:
        if line.serials:
            session.add_all(WorkOrderComponent(work_order_id=order.id, sku_id=line.sku.id,
                                               lot=s.lot, serial_id=s.id, qty=Decimal(1))
                            for s in line.serials)
        else:
            session.add(WorkOrderComponent(work_order_id=order.id, sku_id=line.sku.id,
                                           lot=line.lot, serial_id=None, qty=line.qty))
    session.flush()


@retrying
def create(uow: UnitOfWork, meta: Meta, *, sku: str, site: str, qty: Decimal | str | int,
           line: str = "", lot: str = "", note: str = "",
           components: Sequence[Component] = ()) -> Result:
    """A draft work order (components may follow)."""
    request = {"sku": sku, "site": site, "qty": str(qty), "line": line, "lot": lot, "note": note,
               "components": [_plain(c) for c in components]}

    def work() -> Result:
        session = uow.session
        product = md.sku_by_code(session, sku)
        place = md.site_by_code(session, site)
        amount = parse_qty(qty, field="qty", decimals=product.decimals)
        if product.tracking == "serial" and (amount != amount.to_integral_value()
                                             or amount > MAX_UNITS):
            raise ValidationFailed.single("qty", "serial-tracked goods are made in whole units, "
                                          "at most {n} per work order", n=MAX_UNITS)
        check_lot(product, lot.strip() or None, field="lot", required=False)
        lines = _check_lines(uow, place, components)
        now = uow.now()
        order = WorkOrder(number=next_number(uow, DOC, now.date()), sku_id=product.id,
                          site_id=place.id, line=line.strip(), qty=amount, lot=lot.strip(),
                          status="draft", note=note.strip(), created_by=meta.actor.username,
                          created_at=now, version=1)
        session.add(order)
        session.flush()
        _store_lines(session, order, lines)
        return answer(session, order.number)

    return transact(uow, meta, "work_order.create", request, work)


@retrying
def set_components(uow: UnitOfWork, meta: Meta, *, number: str,
                   components: Sequence[Component], version: int | None = None) -> Result:
    """Replace a draft's component lines."""
    request = {"number": number, "version": version,
               "components": [_plain(c) for c in components]}

    def work() -> Result:
        order = _draft(uow, number, version)
        lines = _check_lines(uow, uow.session.get_one(Location, order.site_id), components)
        _store_lines(uow.session, order, lines)
        order.version += 1
        return answer(uow.session, number)

    return transact(uow, meta, "work_order.components", request, work)


@retrying
def cancel(uow: UnitOfWork, meta: Meta, *, number: str, version: int | None = None) -> Result:
    """A draft that will not be made: nothing moved, nothing to undo."""
    def work() -> Result:
        order = _draft(uow, number, version)
        order.status = "cancelled"
        order.version += 1
        return answer(uow.session, number)

    return transact(uow, meta, "work_order.cancel", {"number": number, "version": version}, work)


@retrying
def complete(uow: UnitOfWork, meta: Meta, *, number: str, serials: Sequence[str] = (),
             lot: str | None = None, version: int | None = None) -> Result:
    """Make the goods: components into production, finished goods out of it into the site,
    genealogy recorded — all at once, or nothing when anything is refused. ``serials``: the
    finished units' generated serials (else new ones from the SKU's rule); ``lot``: the
    finished lot (else the draft's, else a new one from the lot rule)."""
    request = {"number": number, "serials": list(serials), "lot": lot, "version": version}

    def work() -> Result:
        session = uow.session
        order = _draft(uow, number, version)
        doc = replace(meta, document_type=DOC, document_number=number)
        product = session.get_one(Sku, order.sku_id)
        site = session.get_one(Location, order.site_id)
        lines = _stored_lines(uow, order, site)
        _check_split(lines, int(order.qty) if product.tracking == "serial" else 0)
        units = _finished_units(uow, doc, order, product, site, list(serials))
        out = assemblies.Postings()
        consumed = _consume(uow, doc, out, order, site, lines, units)
        eaten = post(uow, doc, Operation.CONSUME, out.moves, out.book)
        finished_lot = _finished_lot(uow, doc, order, product, lot)
        made = post(uow, doc, Operation.PRODUCE,
                    _produce_moves(uow, out, order, product, site, units, finished_lot, eaten),
                    out.book)
        _record_consumed(session, order, consumed)
        order.status, order.completed_by, order.completed_at = ("completed", meta.actor.username,
                                                                doc.occurred_at or uow.now())
        order.version += 1
        session.flush()
        return {**answer(session, number), "consumed_posting": eaten["ref"],
                "produced_posting": made["ref"]}

    return transact(uow, meta, "work_order.complete", request, work)


def _stored_lines(uow: UnitOfWork, order: WorkOrder, site: Location) -> list[_Line]:
    """The draft's lines, their serials checked again (they may have moved since)."""
    session = uow.session
    rows = session.scalars(select(WorkOrderComponent).where(
        WorkOrderComponent.work_order_id == order.id).order_by(WorkOrderComponent.id)).all()
    if not rows:
        raise ValidationFailed.single("components", "add the components consumed before "
                                      "completing")
    components = [Component(sku=c["sku"], qty=c["qty"], lot=c["lot"] or None,
                            serials=c["serials"]) for c in _grouped(session, rows)]
    return _check_lines(uow, site, components)


def _finished_units(uow: UnitOfWork, doc: Meta, order: WorkOrder, product: Sku, site: Location,
                    given: list[str]) -> list[Serial]:
    """The finished serials (given and checked, or generated now), in stock at the site."""
    session = uow.session
    if product.tracking != "serial":
        if given:
            raise ValidationFailed.single("serials", "SKU {sku} is not serial-tracked",
                                          sku=product.code)
        return []
    if given:
        try:
            scanned = serial_binding.scan_line(uow, product, given, order.qty, field="finished",
                                               site=None, statuses=("generated",))
        except ValidationFailed as failed:  # the request names them "serials"
            raise ValidationFailed([replace(e, field=e.field.removeprefix("finished."))
                                    for e in failed.errors]) from None
        ids = scanned.ids if scanned else []
    else:
        made = generate_in(uow, doc.actor, {"sku": product.code, "count": int(order.qty),
                                          "site": site.code, "line": order.line or None,
                                          "rule": None}, None)
        batch = session.scalar(select(SerialBatch.id).where(SerialBatch.number == made["batch"]))
        ids = list(session.scalars(select(Serial.id).where(Serial.batch_id == batch)
                                   .order_by(Serial.id)))
    serial_binding.move(uow, doc, serial_binding.Scanned("serials", ids, []), "received",
                        line_no=1, site=site, values={"location_id": site.id})
    return [session.get_one(Serial, i) for i in ids]


def _check_split(lines: list[_Line], units: int) -> None:
    """Every one of ``units`` finished serials takes the same number of each component serial."""
    for i, line in enumerate(lines):
        if units and line.serials and len(line.serials) % units:
            per = max(1, round(len(line.serials) / units))
            raise ValidationFailed.single(
                f"components[{i}].serials", "{count} serials of {sku} do not split evenly over "
                "{units} finished units: give {per} per unit ({expected} in all)",
                count=len(line.serials), sku=line.sku.code, units=units, per=per,
                expected=per * units)


def _consume(uow: UnitOfWork, doc: Meta, out: assemblies.Postings, order: WorkOrder,
             site: Location, lines: list[_Line], units: list[Serial]
             ) -> list[tuple[Sku, str, Decimal]]:
    """The components' moves into production and their links to the finished units; returns
    what was taken of the lines without serials, per SKU and lot."""
    taken: dict[tuple[int, str], tuple[Sku, str, Decimal]] = {}
    production = md.virtual(uow.session, LocationKind.PRODUCTION)
    out.book.loc(production, None)
    for i, line in enumerate(lines):
        at = f"components[{i}].serials"
        per = len(line.serials) // len(units) if units else 0
        for j, child in enumerate(line.serials):
            if units:
                assemblies.install_serial(uow, doc, out, parent=units[j // per], child=child,
                                          work_order_id=order.id, field_name=f"{at}[{j}]")
            else:
                assemblies.use_up(uow, doc, out, child=child)
        if line.serials:
            continue
        out.book.sku(line.sku)
        for part in sources(uow, sku=line.sku, site=site, location=site, qty=line.qty,
                            lot=line.lot or None, status=StockStatus.AVAILABLE, explicit=False):
            out.book.loc(uow.session.get_one(Location, part.location), site)
            out.moves.append(Move(line.sku.id, part.qty, part.location, production.id,
                                  lot=part.lot))
            _, _, before = taken.get((line.sku.id, part.lot), (line.sku, part.lot, Decimal(0)))
            taken[(line.sku.id, part.lot)] = (line.sku, part.lot, before + part.qty)
    for sku, lot, qty in taken.values():
        per_unit = (qty / len(units)).quantize(COST_PLACES, ROUND_HALF_EVEN) if units else qty
        for unit in units:
            assemblies.install_lot(uow, doc, parent=unit, sku=sku, lot=lot, qty=per_unit,
                                   work_order_id=order.id)
    return list(taken.values())


def _produce_moves(uow: UnitOfWork, out: assemblies.Postings, order: WorkOrder, product: Sku,
                   site: Location, units: list[Serial], lot: str, eaten: Result) -> list[Move]:
    """The finished goods out of production, valued at what the components were worth."""
    values = [Decimal(m["value"]) for m in eaten["moves"] if m["value"] is not None]
    total = sum(values, Decimal(0)) if values else None
    production = md.virtual(uow.session, LocationKind.PRODUCTION)
    out.book.sku(product)
    out.book.loc(site, site)
    if units:
        return [Move(product.id, Decimal(1), production.id, site.id, serial=u.code, lot=u.lot,
                     unit_cost=share, value=share)
                for u, share in zip(units, _shares(total, len(units)), strict=True)]
    cost = None if total is None else (total / order.qty).quantize(COST_PLACES, ROUND_HALF_EVEN)
    return [Move(product.id, order.qty, production.id, site.id, lot=lot,
                 unit_cost=cost, value=total if cost is not None else None)]


def _shares(total: Decimal | None, count: int) -> Sequence[Decimal | None]:
    """``total`` split over ``count`` units to the millionth; the last takes the remainder."""
    if total is None:
        return [None] * count
    each = (total / count).quantize(COST_PLACES, ROUND_HALF_EVEN)
    return [each] * (count - 1) + [total - each * (count - 1)]


def _finished_lot(uow: UnitOfWork, doc: Meta, order: WorkOrder, product: Sku,
                  lot: str | None) -> str:
    """The lot the goods are made as: given, the draft's, or a new code from the lot rule."""
    code = (lot or "").strip() or order.lot
    check_lot(product, code or None, field="lot", required=False)
    if product.tracking != "lot":
        return ""
    day = uow.now().date()
    if not code:
        code = generate_in(uow, doc.actor, {"sku": product.code, "count": 1, "site": None,
                                          "line": order.line or None, "rule": None},
                         day)["first_code"]
    else:
        register_lot(uow, product, code, None, day)
    order.lot = code
    return code


def _record_consumed(session: Session, order: WorkOrder,
                     consumed: list[tuple[Sku, str, Decimal]]) -> None:
    """The lines without serials become what was actually taken, per lot."""
    session.execute(delete(WorkOrderComponent).where(
        WorkOrderComponent.work_order_id == order.id, WorkOrderComponent.serial_id.is_(None)))
    session.add_all(WorkOrderComponent(work_order_id=order.id, sku_id=sku.id, lot=lot,
                                       serial_id=None, qty=qty) for sku, lot, qty in consumed)


def _plain(c: Component) -> dict[str, Any]:
    return {"sku": c.sku, "qty": None if c.qty is None else str(c.qty), "lot": c.lot,
            "serials": list(c.serials)}


def _grouped(session: Session, rows: Sequence[WorkOrderComponent]) -> list[dict[str, Any]]:
    """Component rows as lines: a SKU's serials together, other rows one line each."""
    skus = {s.id: s for s in session.scalars(select(Sku).where(
        Sku.id.in_({r.sku_id for r in rows})))}
    codes = dict(session.execute(select(Serial.id, Serial.code).where(
        Serial.id.in_([r.serial_id for r in rows if r.serial_id]))).tuples().all())
    lines: list[dict[str, Any]] = []
    by_sku: dict[int, dict[str, Any]] = {}
    for r in rows:
        sku = skus[r.sku_id]
        if r.serial_id is None:
            lines.append({"sku": sku.code, "sku_name": sku.name, "tracking": sku.tracking,
                          "qty": r.qty, "lot": r.lot, "serials": []})
            continue
        line = by_sku.get(r.sku_id)
        if line is None:
            line = by_sku[r.sku_id] = {"sku": sku.code, "sku_name": sku.name,
                                       "tracking": sku.tracking, "qty": Decimal(0), "lot": "",
                                       "serials": []}
            lines.append(line)
        line["qty"] += r.qty
        line["serials"].append(codes[r.serial_id])
    return lines


def answer(session: Session, number: str) -> dict[str, Any]:
    """One work order with its component lines, its finished serials and their unit cost."""
    order = _order(session, number)
    sku = session.get_one(Sku, order.sku_id)
    site = session.get_one(Location, order.site_id)
    rows = session.scalars(select(WorkOrderComponent).where(
        WorkOrderComponent.work_order_id == order.id).order_by(WorkOrderComponent.id)).all()
    cost = session.scalar(select(StockMove.unit_cost).where(
        StockMove.document_type == DOC, StockMove.document_number == number,
        StockMove.operation == Operation.PRODUCE).order_by(StockMove.id).limit(1))
    finished = serial_binding.line_serials(session, DOC, number, ("received",)).get(1, [])
    return {"number": order.number, "sku": sku.code, "sku_name": sku.name,
            "tracking": sku.tracking, "site": site.code, "line": order.line, "qty": order.qty,
            "lot": order.lot, "status": order.status, "note": order.note,
            "version": order.version, "created_by": order.created_by,
            "created_at": order.created_at.isoformat(), "completed_by": order.completed_by,
            "completed_at": order.completed_at.isoformat() if order.completed_at else None,
            "unit_cost": cost,
            "components": _grouped(session, rows), "serials": finished}


def site_of(session: Session, number: str) -> int | None:
    """The site of a work order (None: no such work order)."""
    return session.scalar(select(WorkOrder.site_id).where(WorkOrder.number == number))


def list_work_orders(session: Session, *, q: str | None = None, status: str | None = None,
                     scope: frozenset[int] | None = None, limit: int = 50, offset: int = 0
                     ) -> tuple[list[dict[str, Any]], int]:
    """Work orders newest first, matching ``q`` (number or SKU code, from its start) and
    ``status``, at the sites of ``scope`` (None: all); with the total that match."""
    if status and status not in STATUSES:
        raise ValidationFailed.single("status", "must be one of: {expected}",
                                      expected=", ".join(STATUSES))
    query = (select(WorkOrder.number, Sku.code.label("sku"), Sku.name.label("sku_name"),
                    Location.code.label("site"), WorkOrder.line, WorkOrder.qty, WorkOrder.lot,
                    WorkOrder.status, WorkOrder.created_by, WorkOrder.created_at,
                    WorkOrder.completed_at)
             .join(Sku, Sku.id == WorkOrder.sku_id).join(Location, Location.id == WorkOrder.site_id))
    if q and q.strip():
        text = q.strip().replace("\\", "").replace("%", r"\%").replace("_", r"\_") + "%"
        query = query.where(or_(WorkOrder.number.like(text, escape="\\"),
                                Sku.code.like(text, escape="\\")))
    if status:
        query = query.where(WorkOrder.status == status)
    if scope is not None:
        query = query.where(WorkOrder.site_id.in_(scope))
    total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
    rows = session.execute(query.order_by(WorkOrder.id.desc()).limit(limit).offset(offset))
    return [dict(r._mapping) for r in rows], total
