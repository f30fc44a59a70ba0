"""A repair ticket's record (维修/保修单): the warranty a unit falls under, the scan that names
a unit, one ticket with its actions and the unit's components, and the ticket list."""

from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from cangliu.core.errors import FieldError, NotFound, ValidationFailed
from cangliu.db.models import (
    Customer,
    Location,
    RepairAction,
    RepairTicket,
    Serial,
    SerialEvent,
    Sku,
)
from cangliu.services import assemblies
from cangliu.services.serials import check_scan

DOC = "repair_ticket"
OPENABLE = ("sold", "returned", "in_stock")
ON_SHELF = ("returned", "in_stock")  # their stock sits at a site: held while in repair
STATUSES = ("open", "in_progress", "closed", "cancelled")
WARRANTIES = ("in_warranty", "out_of_warranty", "unknown")
KINDS = ("diagnose", "repair", "replace_part", "test", "note")
OUTCOMES = ("repaired", "scrapped")
FATES = ("returned", "scrapped")  # where a replaced part goes


def warranty_of(shipped: date | None, days: int, opened: date) -> tuple[str, date | None]:
    """The warranty a ticket opened on ``opened`` falls under and its last day: 'unknown' for a
    unit never shipped or a SKU without warranty (``days`` 0)."""
    if shipped is None or days <= 0:
        return "unknown", None
    until = shipped + timedelta(days=days)
    return ("in_warranty" if opened <= until else "out_of_warranty"), until


def shipped_on(session: Session, serial_id: int) -> date | None:
    """The day the unit last left for a customer."""
    at = session.scalar(select(func.max(SerialEvent.at)).where(
        SerialEvent.serial_id == serial_id, SerialEvent.kind == "shipped"))
    return at.date() if at else None


def scanned(session: Session, content: str, field: str, *, today: date,
            site: str | None = None, statuses: tuple[str, ...] | None = None) -> Serial:
    """The serial a typed code or GS1 scan names, or every problem found, under ``field``."""
    found = check_scan(session, content, site=site, statuses=statuses, today=today)
    if found["problems"]:
        raise ValidationFailed([FieldError(field, p.message, p.params)
                                for p in found["problems"]])
    return assemblies.serial_named(session, found["code"], field_name=field, sku=found["sku"])


def check_unit(session: Session, code: str, *, today: date) -> dict[str, Any]:
    """What the new-ticket form shows on a scan: the unit, its warranty, and whether a ticket
    can be opened on it (``problems`` says why not)."""
    try:
        unit = scanned(session, code, "serial", today=today)
        check_openable(unit)
    except ValidationFailed as failed:
        return {"problems": failed.errors}
    sku = session.get_one(Sku, unit.sku_id)
    shipped = shipped_on(session, unit.id)
    warranty, until = warranty_of(shipped, sku.warranty_days, today)
    customer = session.get(Customer, unit.customer_id) if unit.customer_id else None
    site = session.get(Location, unit.site_id) if unit.site_id else None
    return {"problems": [], "serial": unit.code, "sku": sku.code, "sku_name": sku.name,
            "status": unit.status, "customer": customer.code if customer else None,
            "site": site.code if site else None, "shipped_on": shipped,
            "warranty_days": sku.warranty_days, "warranty": warranty, "warranty_until": until}


def check_openable(unit: Serial) -> None:
    """Only a unit with a customer or on a shelf is taken in: not one in transit, inside another
    unit, already in repair or gone."""
    if unit.status not in OPENABLE:
        raise ValidationFailed.single("serial", "serial {code} is {status}: only units sold, "
                                      "returned or in stock can be taken in for repair",
                                      code=unit.code, status=unit.status)


def _code(session: Session, model: Any, ref: int | None) -> str | None:
    return session.scalar(select(model.code).where(model.id == ref)) if ref else None


def answer(session: Session, t: RepairTicket) -> dict[str, Any]:
    """The ticket with its unit's current state and components and its actions, oldest first."""
    unit = session.execute(select(Serial.code, Serial.status).where(
        Serial.id == t.serial_id)).one()
    sku = session.execute(select(Sku.code, Sku.name).where(Sku.id == t.sku_id)).one()
    turnaround = (t.closed_at - t.opened_at).total_seconds() if t.closed_at else None
    return {
        "number": t.number, "serial": unit.code, "serial_status": unit.status, "sku": sku.code,
        "sku_name": sku.name, "customer": _code(session, Customer, t.customer_id),
        "site": _code(session, Location, t.site_id), "fault": t.fault,
        "fault_code": t.fault_code, "warranty": t.warranty, "warranty_until": t.warranty_until,
        "status": t.status, "serial_status_before": t.serial_status_before,
        "resolution": t.resolution, "opened_by": t.opened_by, "opened_at": t.opened_at,
        "closed_by": t.closed_by, "closed_at": t.closed_at, "turnaround_seconds": turnaround,
        "version": t.version, "actions": _actions(session, t.id),
        "components": assemblies.children(session, t.serial_id),
    }


def _actions(session: Session, ticket_id: int) -> list[dict[str, Any]]:
    old, new = Serial.__table__.alias("old"), Serial.__table__.alias("new")
    rows = session.execute(
        select(RepairAction.at, RepairAction.operator, RepairAction.kind, RepairAction.note,
               old.c.code.label("old_serial"), new.c.code.label("new_serial"),
               RepairAction.old_part_fate)
        .outerjoin(old, old.c.id == RepairAction.old_serial_id)
        .outerjoin(new, new.c.id == RepairAction.new_serial_id)
        .where(RepairAction.ticket_id == ticket_id).order_by(RepairAction.at, RepairAction.id))
    return [dict(r._mapping) for r in rows]


def get_ticket(session: Session, number: str, *, scope: frozenset[int] | None = None
               ) -> dict[str, Any]:
    """One ticket; one at a service site outside ``scope`` is not found."""
    ticket = session.scalar(select(RepairTicket).where(RepairTicket.number == number))
    if ticket is None or (scope is not None and ticket.site_id not in scope):
        raise NotFound("No repair ticket {number}", number=number)
    return answer(session, ticket)


def ticket_site(session: Session, number: str) -> int | None:
    """The service site of a ticket (NotFound when there is no such ticket)."""
    found = session.execute(select(RepairTicket.site_id).where(
        RepairTicket.number == number)).tuples().first()
    if found is None:
        raise NotFound("No repair ticket {number}", number=number)
    return found[0]


@dataclass(frozen=True)
class Filters:
    """What a ticket list is narrowed to (codes exact; ``q`` any part of the number, serial or
    fault); ``scope``: the service sites the reader sees (None: all)."""

    status: str | None = None
    warranty: str | None = None
    sku: str | None = None
    serial: str | None = None
    customer: str | None = None
    site: str | None = None
    q: str | None = None
    scope: frozenset[int] | None = None


def _choice(field: str, value: str | None, allowed: tuple[str, ...]) -> None:
    if value and value not in allowed:
        raise ValidationFailed.single(field, "must be one of: {expected}",
                                      expected=", ".join(allowed))


def list_tickets(session: Session, filters: Filters, *, after: str | None = None,
                 limit: int = 50) -> tuple[list[dict[str, Any]], str | None]:
    """One page of tickets, newest first; ``after`` is the ``next_cursor`` of the page before."""
    _choice("status", filters.status, STATUSES)
    _choice("warranty", filters.warranty, WARRANTIES)
    t = RepairTicket
    query = (select(t.id, t.number, Serial.code.label("serial"), Sku.code.label("sku"),
                    Sku.name.label("sku_name"), Customer.code.label("customer"),
                    Location.code.label("site"), t.fault, t.fault_code, t.warranty, t.status,
                    t.opened_at, t.closed_at)
             .join(Serial, Serial.id == t.serial_id).join(Sku, Sku.id == t.sku_id)
             .outerjoin(Customer, Customer.id == t.customer_id)
             .outerjoin(Location, Location.id == t.site_id))
    exact = {t.status: filters.status, t.warranty: filters.warranty, Sku.code: filters.sku,
             Serial.code: filters.serial, Customer.code: filters.customer,
             Location.code: filters.site}
    for column, value in exact.items():
        if value:
            query = query.where(column == value.strip())
    if filters.scope is not None:
        query = query.where(t.site_id.in_(filters.scope))
    if filters.q and filters.q.strip():
        like = "%" + filters.q.strip().replace("%", "").replace("_", r"\_") + "%"
        query = query.where(or_(t.number.ilike(like, escape="\\"),
                                Serial.code.ilike(like, escape="\\"),
                                t.fault.ilike(like, escape="\\")))
    if after:
        if not after.isdigit():
            raise ValidationFailed.single("cursor", "is not a cursor this server issued")
        query = query.where(t.id < int(after))
    rows = session.execute(query.order_by(t.id.desc()).limit(limit + 1)).all()
    more = len(rows) > limit
    rows = rows[:limit]
    items = [{k: v for k, v in r._mapping.items() if k != "id"} for r in rows]
    return items, (str(rows[-1].id) if more else None)
