"""Assemblies (装配): which component serials and lots sit inside which unit, and since when.

A component serial installed in a parent becomes 'installed' and goes where the parent goes;
if it was on a shelf, one unit of its SKU leaves that site's stock into production (a
'consume' move) in the same transaction. Removing it ends the link (kept as history) and
sends the component back to stock (a 'produce' move into the named site), back to whoever
supplied it ('returned') or to scrap. ``Serial.parent_id`` always names the current parent, so
walking up from a part to every unit that contains it is a chain of index probes.

These functions work inside the caller's transaction (a work order, a repair ticket, or the
install/remove calls below) and return the ledger moves the caller posts with its own.
"""

from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from cangliu.core.errors import Conflict, NotFound, ValidationFailed
from cangliu.core.ledger import Move, Operation
from cangliu.core.locations import LocationKind
from cangliu.db.models import AssemblyLink, Location, RepairTicket, Serial, Sku, WorkOrder
from cangliu.db.repositories import masterdata as md
from cangliu.db.uow import UnitOfWork, retrying
from cangliu.services.postings import Book, Meta, post, transact
from cangliu.services.serials import record_event

FATES = ("in_stock", "returned", "scrapped")  # where a removed component goes
MAX_DEPTH = 50  # deeper than any real assembly: a longer parent chain is a cycle or a bug
INSTALLABLE = frozenset({"generated", "in_stock", "returned"})


@dataclass
class Postings:
    """The ledger moves assembly changes make, collected for the caller to post."""

    book: Book = field(default_factory=Book)
    moves: list[Move] = field(default_factory=list)


def serial_named(session: Session, code: str, *, field_name: str, sku: str | None = None
                 ) -> Serial:
    """The serial a user names by code (and SKU, where codes are unique per SKU only)."""
    query = select(Serial).where(Serial.code == (code or "").strip())
    if sku:
        query = query.join(Sku, Sku.id == Serial.sku_id).where(Sku.code == sku)
    rows = session.scalars(query.limit(2)).all()
    if not rows:
        raise ValidationFailed.single(field_name, "no serial {code}", code=code)
    if len(rows) > 1:
        raise ValidationFailed.single(field_name, "serial {code} belongs to several SKUs",
                                      code=code)
    return rows[0]


def ancestors(session: Session, serial: Serial) -> list[Serial]:
    """The units ``serial`` sits in, innermost first."""
    chain: list[Serial] = []
    current = serial
    while current.parent_id is not None:
        if len(chain) >= MAX_DEPTH:
            raise Conflict("Serial {code} sits deeper than {n} levels", code=serial.code,
                           n=MAX_DEPTH)
        current = session.get_one(Serial, current.parent_id)
        chain.append(current)
    return chain


def children(session: Session, parent_id: int, *, history: bool = False) -> list[dict[str, Any]]:
    """The components of one unit (serials and lots), oldest first, with the numbers of the
    work order or repair ticket that put them in; ``history`` includes those removed since."""
    child = Serial.__table__.alias("child")
    query = (select(AssemblyLink.id, child.c.code.label("serial"), Sku.code.label("sku"),
                    Sku.name.label("sku_name"), AssemblyLink.child_lot.label("lot"),
                    AssemblyLink.qty, AssemblyLink.installed_at, AssemblyLink.installed_by,
                    AssemblyLink.removed_at, AssemblyLink.removed_by,
                    AssemblyLink.removal_reason, AssemblyLink.work_order_id,
                    AssemblyLink.repair_ticket_id,
                    select(WorkOrder.number).where(WorkOrder.id == AssemblyLink.work_order_id)
                    .scalar_subquery().label("work_order"),
                    select(RepairTicket.number)
                    .where(RepairTicket.id == AssemblyLink.repair_ticket_id)
                    .scalar_subquery().label("repair_ticket"))
             .join(Sku, Sku.id == AssemblyLink.child_sku_id)
             .outerjoin(child, child.c.id == AssemblyLink.child_serial_id)
             .where(AssemblyLink.parent_id == parent_id)
             .order_by(AssemblyLink.installed_at, AssemblyLink.id))
    if not history:
        query = query.where(AssemblyLink.removed_at.is_(None))
    return [dict(r._mapping) for r in session.execute(query)]


def install_serial(uow: UnitOfWork, doc: Meta, out: Postings, *, parent: Serial, child: Serial,
                   work_order_id: int | None = None, repair_ticket_id: int | None = None,
                   field_name: str = "child") -> AssemblyLink:
    """Put ``child`` into ``parent``. Refused: the same unit, a component already installed
    elsewhere, one not free to install (reserved, in transit, sold …), a parent scrapped or
    retired, or a loop (the parent already inside the child)."""
    session = uow.session
    if child.id == parent.id:
        raise ValidationFailed.single(field_name, "serial {code} cannot be installed in itself",
                                      code=child.code)
    if child.parent_id is not None:
        raise ValidationFailed.single(field_name, "serial {code} is already installed in {parent}",
                                      code=child.code,
                                      parent=session.get_one(Serial, child.parent_id).code)
    if child.status not in INSTALLABLE:
        raise ValidationFailed.single(field_name, "serial {code} is {status}: only units "
                                      "generated, in stock or returned can be installed",
                                      code=child.code, status=child.status)
    if parent.status in ("scrapped", "retired"):
        raise ValidationFailed.single("parent", "serial {code} is {status}: nothing can be "
                                      "installed in it", code=parent.code, status=parent.status)
    if any(a.id == child.id for a in ancestors(session, parent)):
        raise ValidationFailed.single(field_name, "serial {code} contains {parent}: installing it "
                                      "would make a loop", code=child.code, parent=parent.code)
    if child.status == "in_stock":
        _consume(uow, out, child)
    now = doc.occurred_at or uow.now()
    link = AssemblyLink(parent_id=parent.id, child_serial_id=child.id, child_sku_id=child.sku_id,
                        child_lot=child.lot, qty=Decimal(1), work_order_id=work_order_id,
                        repair_ticket_id=repair_ticket_id, installed_by=doc.actor.username,
                        installed_at=now, removal_reason="")
    session.add(link)
    _event(uow, doc, child, "installed", at=now, other=parent, role="parent")
    _event(uow, doc, parent, "part_installed", at=now, other=child, role="child")
    child.parent_id = parent.id
    child.site_id = None
    child.location_id = None
    session.flush()
    return link


def use_up(uow: UnitOfWork, doc: Meta, out: Postings, *, child: Serial) -> None:
    """``child`` (in stock) goes into goods that carry no serial of their own: it leaves the
    shelf into production and stays 'installed' with no parent unit to name."""
    _consume(uow, out, child)
    _event(uow, doc, child, "installed", at=doc.occurred_at or uow.now())
    child.site_id = None
    child.location_id = None
    uow.session.flush()


def install_lot(uow: UnitOfWork, doc: Meta, *, parent: Serial, sku: Sku, lot: str, qty: Decimal,
                work_order_id: int | None = None, repair_ticket_id: int | None = None
                ) -> AssemblyLink:
    """Record that ``qty`` of ``sku`` from ``lot`` went into ``parent`` (its stock is consumed
    by the caller's document, which knows the site and bins)."""
    now = doc.occurred_at or uow.now()
    link = AssemblyLink(parent_id=parent.id, child_serial_id=None, child_sku_id=sku.id,
                        child_lot=lot, qty=qty, work_order_id=work_order_id,
                        repair_ticket_id=repair_ticket_id, installed_by=doc.actor.username,
                        installed_at=now, removal_reason="")
    uow.session.add(link)
    _event(uow, doc, parent, "part_installed", at=now,
           extra={"sku": sku.code, "lot": lot, "qty": str(qty)})
    uow.session.flush()
    return link


def remove_serial(uow: UnitOfWork, doc: Meta, out: Postings, *, child: Serial, fate: str,
                  site: Location | None = None, reason: str = "",
                  repair_ticket_id: int | None = None, field_name: str = "child") -> Serial:
    """Take ``child`` out of its parent: back to stock at ``site`` (fate 'in_stock'), back to
    its supplier or owner ('returned') or to scrap. Returns the former parent."""
    session = uow.session
    if fate not in FATES:
        raise ValidationFailed.single("fate", "must be one of: {expected}",
                                      expected=", ".join(FATES))
    if child.parent_id is None:
        raise ValidationFailed.single(field_name, "serial {code} is not installed in any unit",
                                      code=child.code)
    if fate == "in_stock" and site is None:
        raise ValidationFailed.single("site", "name the site the part goes back to")
    link = session.scalar(select(AssemblyLink).where(
        AssemblyLink.child_serial_id == child.id, AssemblyLink.removed_at.is_(None)))
    if link is None:
        raise NotFound("Serial {code} has no open assembly link", code=child.code)
    parent = session.get_one(Serial, child.parent_id)
    now = doc.occurred_at or uow.now()
    link.removed_at, link.removed_by, link.removal_reason = now, doc.actor.username, reason
    child.parent_id = None
    session.flush()
    if fate == "in_stock" and site is not None:
        _produce(uow, out, child, site)
    _event(uow, doc, child, "removed", at=now, other=parent, role="parent", status=fate,
           site=site if fate == "in_stock" else None, extra={"reason": reason} if reason else None)
    _event(uow, doc, parent, "part_removed", at=now, other=child, role="child",
           extra={"reason": reason, "fate": fate})
    if repair_ticket_id is not None and link.repair_ticket_id is None:
        link.repair_ticket_id = repair_ticket_id
    session.flush()
    return parent


def _consume(uow: UnitOfWork, out: Postings, child: Serial) -> None:
    """One unit of the child's SKU leaves the shelf it sits on into production."""
    session = uow.session
    if child.site_id is None:
        raise Conflict("Serial {code} is in stock but at no site", code=child.code)
    site = session.get_one(Location, child.site_id)
    shelf = session.get_one(Location, child.location_id) if child.location_id else site
    production = md.virtual(session, LocationKind.PRODUCTION)
    sku = session.get_one(Sku, child.sku_id)
    out.book.sku(sku)
    out.book.loc(shelf, site)
    out.book.loc(production, None)
    out.moves.append(Move(sku.id, Decimal(1), shelf.id, production.id, lot=child.lot,
                          serial=child.code))


def _produce(uow: UnitOfWork, out: Postings, child: Serial, site: Location) -> None:
    """One unit of the child's SKU comes back out of production onto ``site``."""
    session = uow.session
    production = md.virtual(session, LocationKind.PRODUCTION)
    sku = session.get_one(Sku, child.sku_id)
    out.book.sku(sku)
    out.book.loc(site, site)
    out.book.loc(production, None)
    out.moves.append(Move(sku.id, Decimal(1), production.id, site.id, lot=child.lot,
                          serial=child.code))


def _event(uow: UnitOfWork, doc: Meta, serial: Serial, kind: str, *, at: datetime,
           other: Serial | None = None, role: str = "", status: str | None = None,
           site: Location | None = None, extra: dict[str, Any] | None = None) -> None:
    """One event on ``serial`` naming the other unit (the parent's part_* events keep its
    state)."""
    detail = dict(extra or {})
    if other is not None:
        detail[role] = other.code
    session = uow.session
    record_event(session, [serial.id], kind, at=at, operator=doc.actor.username,
                 device=doc.actor.device, document_type=doc.document_type,
                 document_number=doc.document_number, site_id=site.id if site else None,
                 detail=detail, status=status)
    session.expire(serial, ["status", "site_id"])


@retrying
def install(uow: UnitOfWork, meta: Meta, *, parent: str, child: str,
            sku: str | None = None) -> dict[str, Any]:
    """Install one component serial in a unit, by code (API and page)."""
    request = {"action": "install", "parent": parent, "child": child, "sku": sku}

    def work() -> dict[str, Any]:
        session = uow.session
        parent_row = serial_named(session, parent, field_name="parent")
        child_row = serial_named(session, child, field_name="child", sku=sku)
        out = Postings()
        install_serial(uow, meta, out, parent=parent_row, child=child_row)
        return _answer(uow, meta, out, "install", parent_row, child_row)

    return transact(uow, meta, "assembly.install", request, work)


@retrying
def remove(uow: UnitOfWork, meta: Meta, *, child: str, fate: str, site: str | None = None,
           reason: str = "", sku: str | None = None) -> dict[str, Any]:
    """Take one component serial out of its unit, by code (API and page)."""
    request = {"action": "remove", "child": child, "fate": fate, "site": site, "reason": reason,
               "sku": sku}

    def work() -> dict[str, Any]:
        session = uow.session
        if not reason.strip():
            raise ValidationFailed.single("reason", "say why the part comes out")
        child_row = serial_named(session, child, field_name="child", sku=sku)
        place = md.site_by_code(session, site, field="site") if site else None
        out = Postings()
        parent_row = remove_serial(uow, meta, out, child=child_row, fate=fate, site=place,
                                   reason=reason.strip())
        return _answer(uow, meta, out, "remove", parent_row, child_row)

    return transact(uow, meta, "assembly.remove", request, work)


def _answer(uow: UnitOfWork, meta: Meta, out: Postings, action: str, parent: Serial,
            child: Serial) -> dict[str, Any]:
    posting = post(uow, meta, Operation.CONSUME if action == "install" else Operation.PRODUCE,
                   out.moves, out.book) if out.moves else None
    uow.session.refresh(child)
    return {"action": action, "parent": parent.code, "child": child.code,
            "child_status": child.status, "posting": posting["ref"] if posting else None}
