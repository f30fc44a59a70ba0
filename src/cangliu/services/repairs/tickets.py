"""Working on repair tickets: open one on a unit (held off the shelf while in repair), record
actions and part replacements by serial, close it with an outcome or cancel it."""

from dataclasses import replace
from decimal import Decimal
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from cangliu.core.errors import Conflict, NotFound, ValidationFailed
from cangliu.core.ledger import Move, Operation, StockStatus
from cangliu.core.locations import LocationKind
from cangliu.db.models import Customer, Location, RepairAction, RepairTicket, Serial, Sku
from cangliu.db.repositories import masterdata as md
from cangliu.db.uow import UnitOfWork, retrying
from cangliu.services import assemblies
from cangliu.services.conflicts import stale_version
from cangliu.services.idempotency import Result
from cangliu.services.numbering import next_number
from cangliu.services.postings import Book, Meta, post, transact
from cangliu.services.repairs.records import (
    DOC,
    FATES,
    KINDS,
    ON_SHELF,
    OUTCOMES,
    answer,
    check_openable,
    scanned,
    shipped_on,
    warranty_of,
)
from cangliu.services.serials import record_event


def _doc(meta: Meta, number: str) -> Meta:
    return replace(meta, document_type=DOC, document_number=number)


@retrying
def open_ticket(uow: UnitOfWork, meta: Meta, *, serial: str, fault: str, fault_code: str = "",
                customer: str | None = None, site: str | None = None,
                scope: frozenset[int] | None = None) -> Result:
    """Take a unit in for repair (by code or GS1 scan): warranty from its ship date and its
    SKU's warranty period, the customer from its sale unless named, the service site from
    where it sits unless named (``scope``: the sites the user may open tickets at)."""
    request = {"serial": serial, "fault": fault, "fault_code": fault_code, "customer": customer,
               "site": site}

    def work() -> Result:
        session, now = uow.session, meta.occurred_at or uow.now()
        if not fault.strip():
            raise ValidationFailed.single("fault", "describe the fault")
        unit = scanned(session, serial, "serial", today=now.date())
        check_openable(unit)
        place = _service_site(session, unit, site, scope)
        sku = session.get_one(Sku, unit.sku_id)
        warranty, until = warranty_of(shipped_on(session, unit.id), sku.warranty_days, now.date())
        ticket = RepairTicket(
            number=next_number(uow, DOC, now.date()), serial_id=unit.id, sku_id=unit.sku_id,
            customer_id=_customer(session, customer, unit), site_id=place.id,
            fault=fault.strip(), fault_code=fault_code.strip(), warranty=warranty,
            warranty_until=until, status="open", serial_status_before=unit.status,
            resolution="", opened_by=meta.actor.username, opened_at=now, version=1)
        session.add(ticket)
        session.flush()
        doc = _doc(meta, ticket.number)
        if unit.status == "in_stock":  # a returned unit is on quality hold already
            _shelf_move(uow, doc, unit, StockStatus.AVAILABLE, StockStatus.QUALITY_HOLD)
        _event(uow, doc, unit, "repair_opened", None, {"fault": ticket.fault,
                                                       "warranty": warranty})
        return answer(session, ticket)

    return transact(uow, meta, "repair.open", request, work)


def _service_site(session: Session, unit: Serial, code: str | None,
                  scope: frozenset[int] | None) -> Location:
    """The site that takes the unit in: where a shelf unit sits, or the one named."""
    here = session.get(Location, unit.site_id) if unit.site_id else None
    place = md.site_by_code(session, code, field="site") if code else here
    if place is None:
        raise ValidationFailed.single("site", "name the service site that takes the unit in")
    if unit.status in ON_SHELF and here is not None and here.id != place.id:
        raise ValidationFailed.single("site", "serial {code} is at {actual}, not at {site}",
                                      code=unit.code, actual=here.code, site=place.code)
    if scope is not None and place.id not in scope:
        raise NotFound("Location {code} not found", code=place.code)
    return place


def _customer(session: Session, code: str | None, unit: Serial) -> int | None:
    if not code:
        return unit.customer_id
    found = session.scalar(select(Customer.id).where(Customer.code == code))
    if found is None:
        raise ValidationFailed.single("customer", "unknown {label} {code}", label="customer",
                                      code=code)
    return found


def _shelf_move(uow: UnitOfWork, doc: Meta, unit: Serial, from_status: StockStatus,
                to_status: StockStatus | None) -> None:
    """The unit's one piece of stock changes status on its shelf, or (``to_status`` None)
    leaves it for scrap."""
    session = uow.session
    site = session.get_one(Location, unit.site_id)
    shelf = session.get_one(Location, unit.location_id) if unit.location_id else site
    book = Book()
    book.sku(session.get_one(Sku, unit.sku_id))
    book.loc(shelf, site)
    if to_status is None:
        scrap = md.virtual(session, LocationKind.SCRAP)
        book.loc(scrap, None)
        move = Move(unit.sku_id, Decimal(1), shelf.id, scrap.id, from_status,
                    StockStatus.AVAILABLE, lot=unit.lot, serial=unit.code)
        post(uow, doc, Operation.SCRAP, [move], book)
        return
    post(uow, doc, Operation.STATUS, [Move(unit.sku_id, Decimal(1), shelf.id, shelf.id,
                                           from_status, to_status, lot=unit.lot,
                                           serial=unit.code)], book)


def _event(uow: UnitOfWork, doc: Meta, unit: Serial, kind: str, status: str | None,
           detail: dict[str, Any]) -> None:
    record_event(uow.session, [unit.id], kind, at=doc.occurred_at or uow.now(),
                 operator=doc.actor.username, device=doc.actor.device, document_type=DOC,
                 document_number=doc.document_number, detail=detail, status=status)
    uow.session.expire(unit, ["status"])


def _locked(uow: UnitOfWork, number: str, version: int) -> RepairTicket:
    """The ticket, locked, still being worked on, at the version the user saw."""
    session = uow.session
    ticket = session.scalar(select(RepairTicket).where(RepairTicket.number == number)
                            .with_for_update())
    if ticket is None:
        raise NotFound("No repair ticket {number}", number=number)
    if ticket.status in ("closed", "cancelled"):
        raise Conflict("Repair ticket {number} is {status}", number=number,
                       status=ticket.status)
    if ticket.version != version:
        raise stale_version(session, table="repair_ticket", key=number, version=version,
                            current_version=ticket.version, current=answer(session, ticket))
    return ticket


@retrying
def add_action(uow: UnitOfWork, meta: Meta, *, number: str, version: int, kind: str,
               note: str = "", old_serial: str | None = None, new_serial: str | None = None,
               old_part_fate: str = "") -> Result:
    """Record one step; 'replace_part' takes the old part out (returned or scrapped) and
    installs the new one, from stock at the service site, as a child of the unit."""
    request = {"number": number, "version": version, "kind": kind, "note": note,
               "old_serial": old_serial, "new_serial": new_serial, "fate": old_part_fate}

    def work() -> Result:
        session = uow.session
        ticket = _locked(uow, number, version)
        if kind not in KINDS:
            raise ValidationFailed.single("kind", "must be one of: {expected}",
                                          expected=", ".join(KINDS))
        action = RepairAction(ticket_id=ticket.id, at=meta.occurred_at or uow.now(),
                              operator=meta.actor.username, kind=kind, note=note.strip(),
                              old_part_fate="")
        if kind == "replace_part":
            _replace(uow, _doc(meta, number), ticket, action, old_serial, new_serial,
                     old_part_fate)
        elif not action.note:
            raise ValidationFailed.single("note", "say what was done")
        session.add(action)
        ticket.status = "in_progress"
        ticket.version += 1
        session.flush()
        return answer(session, ticket)

    return transact(uow, meta, "repair.action", request, work)


def _replace(uow: UnitOfWork, doc: Meta, ticket: RepairTicket, action: RepairAction,
             old: str | None, new: str | None, fate: str) -> None:
    session = uow.session
    today = action.at.date()
    unit = session.get_one(Serial, ticket.serial_id)
    if not (new or "").strip():
        raise ValidationFailed.single("new_serial", "scan the new part")
    out = assemblies.Postings()
    if (old or "").strip():
        if fate not in FATES:
            raise ValidationFailed.single("old_part_fate", "must be one of: {expected}",
                                          expected=", ".join(FATES))
        gone = scanned(session, old or "", "old_serial", today=today)
        if gone.parent_id != unit.id:
            raise ValidationFailed.single("old_serial", "serial {code} is not a part of {unit}",
                                          code=gone.code, unit=unit.code)
        assemblies.remove_serial(uow, doc, out, child=gone, fate=fate,
                                 reason=action.note or ticket.fault,
                                 repair_ticket_id=ticket.id, field_name="old_serial")
        action.old_serial_id, action.old_part_fate = gone.id, fate
    elif assemblies.children(session, unit.id):
        raise ValidationFailed.single("old_serial", "name the part that comes out: {unit} has "
                                      "recorded components", unit=unit.code)
    site = session.get_one(Location, ticket.site_id)
    part = scanned(session, new or "", "new_serial", today=today, site=site.code,
                    statuses=("in_stock",))
    assemblies.install_serial(uow, doc, out, parent=unit, child=part,
                              repair_ticket_id=ticket.id, field_name="new_serial")
    action.new_serial_id = part.id
    if out.moves:
        post(uow, doc, Operation.CONSUME, out.moves, out.book)


@retrying
def close_ticket(uow: UnitOfWork, meta: Meta, *, number: str, version: int, outcome: str,
                 resolution: str) -> Result:
    """Finish the repair: 'repaired' sends the unit back (a sold unit to its customer, a
    shelf unit to available stock); 'scrapped' writes it off."""
    request = {"number": number, "version": version, "outcome": outcome,
               "resolution": resolution}

    def work() -> Result:
        ticket = _locked(uow, number, version)
        if outcome not in OUTCOMES:
            raise ValidationFailed.single("outcome", "must be one of: {expected}",
                                          expected=", ".join(OUTCOMES))
        if not resolution.strip():
            raise ValidationFailed.single("resolution", "say how the ticket was resolved")
        ticket.resolution = resolution.strip()
        return _finish(uow, meta, ticket, "closed", outcome)

    return transact(uow, meta, "repair.close", request, work)


@retrying
def cancel_ticket(uow: UnitOfWork, meta: Meta, *, number: str, version: int) -> Result:
    """Drop a ticket nothing was done on yet: the unit goes back to its state before."""
    def work() -> Result:
        ticket = _locked(uow, number, version)
        if ticket.status != "open":
            raise Conflict("Repair ticket {number} has recorded actions: close it instead",
                           number=number)
        return _finish(uow, meta, ticket, "cancelled", None)

    return transact(uow, meta, "repair.cancel", {"number": number, "version": version}, work)


def _finish(uow: UnitOfWork, meta: Meta, ticket: RepairTicket, status: str,
            outcome: str | None) -> Result:
    session = uow.session
    unit = session.get_one(Serial, ticket.serial_id)
    before = ticket.serial_status_before
    target = ("scrapped" if outcome == "scrapped" else
              before if outcome is None or before == "sold" else "in_stock")
    doc = _doc(meta, ticket.number)
    if before in ON_SHELF and target != "returned":
        # From quality hold: back to available, or out to scrap.
        _shelf_move(uow, doc, unit, StockStatus.QUALITY_HOLD,
                    None if target == "scrapped" else StockStatus.AVAILABLE)
    _event(uow, doc, unit, "repair_closed", target,
           {"outcome": outcome} if outcome else {"cancelled": True})
    ticket.status = status
    ticket.closed_by, ticket.closed_at = meta.actor.username, meta.occurred_at or uow.now()
    ticket.version += 1
    session.flush()
    return answer(session, ticket)


