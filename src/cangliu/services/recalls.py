"""Recalls (召回): from a component lot or serial, or a finished lot, every unit that contains
it through the assemblies still in place, with its customer or the stock location holding it.

A recall freezes the top-level units found (those inside no other unit) so its list and export
do not drift. Holding it puts every one of them still in stock ('in_stock') on quality hold in
the ledger in one transaction. Reserved units are promised to an order: their stock is reserved
and cannot change status, so they are counted as not held and the site's staff is told; once the
reservation is cancelled, holding again takes them (a second hold holds only what became
eligible since, and otherwise writes nothing). Closing a recall releases nothing: held stock goes
back to available through a status change once the quality team decides.
"""

from collections.abc import Callable, Sequence
from dataclasses import replace
from datetime import datetime
from decimal import Decimal
from io import BytesIO
from typing import Any

from openpyxl import Workbook
from sqlalchemy import Select, Table, case, func, insert, literal, or_, select, union_all, update
from sqlalchemy.orm import Session, aliased

from cangliu.core.errors import Conflict, NotFound, ValidationFailed
from cangliu.core.ledger import Move, Operation, StockStatus
from cangliu.core.permissions import Actor
from cangliu.db.models import (
    AppUser,
    AssemblyLink,
    Customer,
    Location,
    Recall,
    RecallUnit,
    SalesOrder,
    Serial,
    SerialEvent,
    Sku,
)
from cangliu.db.repositories import masterdata as md
from cangliu.db.uow import UnitOfWork, retrying
from cangliu.services.assemblies import MAX_DEPTH
from cangliu.services.idempotency import Result
from cangliu.services.notifications import notify
from cangliu.services.numbering import next_number
from cangliu.services.postings import Book, Meta, post, transact
from cangliu.services.roles import actor_of
from cangliu.services.serials import record_event

CHUNK = 1_000
UNIT: Table = RecallUnit.__table__  # type: ignore[assignment]
Site = aliased(Location)
Bin = aliased(Location)
# Who is told: staff posting stock at a holding site, sales staff seeing the orders that sold it.
SITE_PERMISSION, SALES_PERMISSION = "stock.create", "sales.view"
SHOWN_CUSTOMERS = 20  # a notification names at most this many customers, then "and N more"


def _hits(sku_id: int, lot: str | None, serial_id: int | None) -> Any:
    """(id, depth) of every unit containing the part: a recursive walk up ``Serial.parent_id``
    (the assembly links in place) from the part itself (depth 0) and from the units holding a
    quantity of the lot (depth 1); a unit reached on several paths keeps its shortest."""
    if serial_id is not None:
        seed: Any = select(Serial.id.label("id"), literal(0).label("depth")).where(
            Serial.id == serial_id)
    else:
        seed = union_all(
            select(Serial.id.label("id"), literal(0).label("depth"))
            .where(Serial.sku_id == sku_id, Serial.lot == lot),
            select(AssemblyLink.parent_id, literal(1))
            .where(AssemblyLink.child_sku_id == sku_id, AssemblyLink.child_lot == lot,
                   AssemblyLink.child_serial_id.is_(None), AssemblyLink.removed_at.is_(None)))
    start = seed.subquery()
    hit = select(start.c.id, start.c.depth).cte("hit", recursive=True)
    hit = hit.union(select(Serial.parent_id, hit.c.depth + 1)
                    .join(hit, Serial.id == hit.c.id)
                    .where(Serial.parent_id.is_not(None), hit.c.depth < MAX_DEPTH))
    return select(hit.c.id, func.min(hit.c.depth).label("depth")).group_by(hit.c.id).subquery()


def _shipped_at() -> Any:
    """When a sold unit left: its last 'shipped' event (none for units never sold)."""
    # coalesce() keeps SQLite off the (kind, at) index, which would read every shipment for
    # each unit: the serial's own events are the few rows to look at.
    last = (select(func.max(SerialEvent.at))
            .where(SerialEvent.serial_id == Serial.id,
                   func.coalesce(SerialEvent.kind, "") == "shipped")
            .scalar_subquery())
    return case((Serial.customer_id.is_not(None), last), else_=None).label("shipped_at")


def _unit_columns() -> tuple[Any, ...]:
    return (Serial.id, Serial.code.label("serial"), Sku.code.label("sku"),
            Sku.name.label("sku_name"), Serial.lot, Serial.status, Serial.parent_id,
            Site.code.label("site"),
            case((Serial.location_id != Serial.site_id, Bin.code), else_=None).label("bin"),
            Customer.code.label("customer"), Customer.name.label("customer_name"),
            Serial.sales_order, _shipped_at(), Serial.site_id, Serial.customer_id)


def _joined(query: Select[Any]) -> Select[Any]:
    return (query.join(Sku, Sku.id == Serial.sku_id)
            .outerjoin(Site, Site.id == Serial.site_id)
            .outerjoin(Bin, Bin.id == Serial.location_id)
            .outerjoin(Customer, Customer.id == Serial.customer_id))


def _visible(scope: frozenset[int] | None) -> Any:
    """Units at a site of ``scope`` (None: all), or at none (sold, installed, generated)."""
    return Serial.id.is_not(None) if scope is None else or_(Serial.site_id.is_(None),
                                                             Serial.site_id.in_(scope))


def trace(session: Session, sku: str, lot: str | None = None, serial: str | None = None, *,
          scope: frozenset[int] | None = None) -> list[dict[str, Any]]:
    """Every unit containing the lot or serial of ``sku`` (and the part itself), top-level units
    first: depth (0 = the part itself, 1 = it sits directly inside), status, site and bin, and
    for sold units the customer, sales order and ship date."""
    sku_row, lot, serial_id = _part(session, sku, lot, serial)
    hits = _hits(sku_row.id, lot, serial_id)
    query = _joined(select(*_unit_columns(), hits.c.depth).join(hits, hits.c.id == Serial.id))
    rows = [_row(r) for r in session.execute(query.where(_visible(scope)))]
    if not rows and serial_id is None:
        raise ValidationFailed.single("lot", "no unit holds lot {lot} of SKU {sku}", lot=lot,
                                      sku=sku_row.code)
    return sorted(rows, key=lambda r: (not r["top"], r["depth"], r["id"]))


def _row(row: Any) -> dict[str, Any]:
    data = dict(row._mapping)
    data["top"] = data.pop("parent_id") is None
    return data


def _part(session: Session, sku: str, lot: str | None,
          serial: str | None) -> tuple[Sku, str | None, int | None]:
    """The SKU and the lot or serial a recall starts from, each refused naming its field."""
    if not (sku or "").strip():
        raise ValidationFailed.single("sku", "is required")
    sku_row = md.sku_by_code(session, sku.strip(), field="sku")
    lot, serial = (lot or "").strip() or None, (serial or "").strip() or None
    if lot and serial:
        raise ValidationFailed.single("serial", "name a lot or a serial, not both")
    if serial:
        # By code alone (its own index), then the SKU: a code may repeat across SKUs.
        found = next((i for i, sku_id in session.execute(
            select(Serial.id, Serial.sku_id).where(Serial.code == serial)) if sku_id == sku_row.id),
            None)
        if found is None:
            raise ValidationFailed.single("serial", "no serial {code} of SKU {sku}", code=serial,
                                          sku=sku_row.code)
        return sku_row, None, found
    if not lot:
        raise ValidationFailed.single("lot", "name a lot or a serial")
    return sku_row, lot, None


@retrying
def create(uow: UnitOfWork, meta: Meta, *, sku: str, reason: str, lot: str | None = None,
           serial: str | None = None) -> Result:
    """Open a recall: trace the part and freeze the top-level units found."""
    request = {"action": "create", "sku": sku, "lot": lot, "serial": serial, "reason": reason}

    def work() -> Result:
        session = uow.session
        if not reason.strip():
            raise ValidationFailed.single("reason", "say why the units are recalled")
        sku_row, lot_code, serial_id = _part(session, sku, lot, serial)
        top = [u for u in trace(session, sku_row.code, lot_code, serial) if u["top"]]
        now = uow.now()
        row = Recall(number=next_number(uow, "recall", now.date()), sku_id=sku_row.id,
                     lot=lot_code or "", serial_id=serial_id, reason=reason.strip(),
                     status="open", unit_count=len(top), held_count=0,
                     created_by=meta.actor.username, created_at=now)
        session.add(row)
        session.flush()
        units = [{"recall_id": row.id, "serial_id": u["id"], "depth": u["depth"],
                  "status": u["status"], "site_id": u["site_id"],
                  "customer_id": u["customer_id"], "held": False} for u in top]
        if units:  # with RETURNING, SQLAlchemy sends many rows per INSERT, not one each
            session.connection().execute(insert(UNIT).returning(UNIT.c.id), units)
        return {"number": row.number, "unit_count": row.unit_count}

    return transact(uow, meta, "recall.create", request, work)


def _recall(session: Session, number: str, *, lock: bool = False) -> Recall:
    query = select(Recall).where(Recall.number == number)
    row = session.scalar(query.with_for_update() if lock else query)
    if row is None:
        raise NotFound("No recall {number}", number=number)
    return row


@retrying
def hold(uow: UnitOfWork, meta: Meta, number: str) -> Result:
    """Put every unit of the recall still in stock on quality hold (one posting), record it on
    each serial and tell the people concerned. Units held before are left as they are."""
    def work() -> Result:
        session = uow.session
        recall = _recall(session, number, lock=True)
        if recall.status != "open":
            raise Conflict("Recall {number} is closed", number=number)
        rows = session.execute(
            select(RecallUnit.id, Serial.id, Serial.code, Serial.sku_id, Serial.lot,
                   Serial.site_id, func.coalesce(Serial.location_id, Serial.site_id))
            .join(Serial, Serial.id == RecallUnit.serial_id)
            .where(RecallUnit.recall_id == recall.id, RecallUnit.held.is_(False),
                   Serial.status == "in_stock", Serial.site_id.is_not(None))
            .order_by(RecallUnit.id)).all()
        doc = replace(meta, document_type="recall", document_number=number,
                      reason=meta.reason or recall.reason)
        posting = _post_hold(uow, doc, rows) if rows else None
        now = uow.now()
        ids = [r[1] for r in rows]
        if ids:
            record_event(session, ids, "status_changed", at=now, operator=meta.actor.username,
                         device=meta.actor.device, document_type="recall",
                         document_number=number, detail={"recall": number})
            for start in range(0, len(rows), CHUNK):
                session.execute(update(RecallUnit).where(RecallUnit.id.in_(
                    [r[0] for r in rows[start:start + CHUNK]])).values(held=True),
                    execution_options={"synchronize_session": False})
            recall.held_count += len(ids)
        first = recall.held_at is None
        if ids or first:
            recall.held_at, recall.held_by = now, meta.actor.username
        by_site: dict[int, int] = {}
        for r in rows:
            by_site[r[5]] = by_site.get(r[5], 0) + 1
        _tell(session, now, recall, by_site, meta.actor, customers=first)
        return {"number": number, "held": len(ids), "held_count": recall.held_count,
                "not_held": _not_held(session, recall.id),
                "posting": posting["ref"] if posting else None}

    return transact(uow, meta, "recall.hold", {"action": "hold", "number": number}, work)


def _post_hold(uow: UnitOfWork, doc: Meta, rows: Sequence[Any]) -> Result:
    """available → quality_hold, one unit per serial, where each sits."""
    session, book = uow.session, Book()
    for sku in session.scalars(select(Sku).where(Sku.id.in_({r[3] for r in rows}))):
        book.sku(sku)
    places = {loc.id: loc for loc in session.scalars(select(Location).where(
        Location.id.in_({r[5] for r in rows} | {r[6] for r in rows})))}
    for r in rows:
        book.loc(places[r[6]], places[r[5]])
    moves = [Move(r[3], Decimal(1), r[6], r[6], StockStatus.AVAILABLE, StockStatus.QUALITY_HOLD,
                  lot=r[4], serial=r[2]) for r in rows]
    return post(uow, doc, Operation.STATUS, moves, book)


def _not_held(session: Session, recall_id: int) -> dict[str, int]:
    """The recall's units not on hold, by their current status."""
    return dict(session.execute(
        select(Serial.status, func.count()).join(RecallUnit, RecallUnit.serial_id == Serial.id)
        .where(RecallUnit.recall_id == recall_id, RecallUnit.held.is_(False))
        .group_by(Serial.status)).tuples().all())


def _tell(session: Session, at: datetime, recall: Recall, by_site: dict[int, int], actor: Actor,
          *, customers: bool) -> None:
    """Staff posting stock at each holding site hear how many units there went on hold; on the
    first hold, sales staff seeing the orders that sold affected units hear which customers."""
    sold = _customers(session, recall.id) if customers else ([], [])
    if not by_site and not sold[0]:
        return
    people = [actor_of(session, u) for u in session.scalars(
        select(AppUser).where(AppUser.active.is_(True), AppUser.id != actor.user_id))]
    link = f"/recalls/{recall.number}"
    for site_id, count in sorted(by_site.items()):
        site = session.get_one(Location, site_id)
        notify(session, at, [p.user_id for p in people if p.can(SITE_PERMISSION, site_id)],
               kind="recall", title="Recall {number}: {count} units put on quality hold at {site}",
               params={"number": recall.number, "count": str(count), "site": site.code},
               body=recall.reason, link=link)
    codes, order_sites = sold
    if codes:
        shown = ", ".join(codes[:SHOWN_CUSTOMERS])
        if len(codes) > SHOWN_CUSTOMERS:
            shown += f" … (+{len(codes) - SHOWN_CUSTOMERS})"
        notify(session, at, [p.user_id for p in people if p.sees(SALES_PERMISSION, order_sites)],
               kind="recall", title="Recall {number}: units sold to {customers} are affected",
               params={"number": recall.number, "customers": shown}, body=recall.reason,
               link=link)


def _customers(session: Session, recall_id: int) -> tuple[list[str], list[int]]:
    """The codes of the customers holding the recall's units, and the sites that sold them."""
    units = select(RecallUnit.serial_id).where(RecallUnit.recall_id == recall_id)
    codes = list(session.scalars(select(Customer.code).where(Customer.id.in_(
        select(RecallUnit.customer_id).where(RecallUnit.recall_id == recall_id))
    ).order_by(Customer.code)))
    sites = list(session.scalars(select(SalesOrder.site_id).distinct().where(
        SalesOrder.number.in_(select(Serial.sales_order).where(Serial.id.in_(units))))))
    return codes, sites


@retrying
def close(uow: UnitOfWork, meta: Meta, number: str) -> Result:
    """End the recall (a closed recall is closed again without change)."""
    def work() -> Result:
        recall = _recall(uow.session, number, lock=True)
        recall.status = "closed"
        return {"number": number, "status": recall.status}

    return transact(uow, meta, "recall.close", {"action": "close", "number": number}, work)


def _header(session: Session, recall: Recall) -> dict[str, Any]:
    serial = session.get(Serial, recall.serial_id) if recall.serial_id else None
    sku = session.get_one(Sku, recall.sku_id)
    return {"number": recall.number, "sku": sku.code, "sku_name": sku.name, "lot": recall.lot,
            "serial": serial.code if serial else None, "reason": recall.reason,
            "status": recall.status, "unit_count": recall.unit_count,
            "held_count": recall.held_count, "created_by": recall.created_by,
            "created_at": recall.created_at, "held_at": recall.held_at,
            "held_by": recall.held_by}


def list_recalls(session: Session, *, q: str | None = None, status: str | None = None,
                 after: str | None = None, limit: int = 50
                 ) -> tuple[list[dict[str, Any]], str | None]:
    """Newest first; ``q`` matches the start of the number, the SKU code or the lot."""
    query = select(Recall).join(Sku, Sku.id == Recall.sku_id)
    if status:
        if status not in ("open", "closed"):
            raise ValidationFailed.single("status", "must be one of: {expected}",
                                          expected="open, closed")
        query = query.where(Recall.status == status)
    if q and q.strip():
        like = q.strip().replace("%", "").replace("_", r"\_") + "%"
        query = query.where(or_(Recall.number.like(like, escape="\\"),
                                Sku.code.like(like, escape="\\"),
                                Recall.lot.like(like, escape="\\")))
    if after:
        if not after.isdigit():
            raise ValidationFailed.single("cursor", "is not a cursor this server issued")
        query = query.where(Recall.id < int(after))
    rows = list(session.scalars(query.order_by(Recall.id.desc()).limit(limit + 1)))
    page = rows[:limit]
    return [_header(session, r) for r in page], (str(page[-1].id) if len(rows) > limit else None)


def _units(recall_id: int) -> Select[Any]:
    return _joined(select(RecallUnit.id.label("unit_id"), RecallUnit.depth, RecallUnit.held,
                          RecallUnit.status.label("status_found"), *_unit_columns())
                   .join(Serial, Serial.id == RecallUnit.serial_id)
                   ).where(RecallUnit.recall_id == recall_id).order_by(RecallUnit.id)


def get_recall(session: Session, number: str, *, after: str | None = None, limit: int = 50,
               scope: frozenset[int] | None = None) -> dict[str, Any]:
    """The recall and one page of its units (those of ``scope``'s sites or at no site)."""
    recall = _recall(session, number)
    query = _units(recall.id).where(_visible(scope))
    if after:
        if not after.isdigit():
            raise ValidationFailed.single("cursor", "is not a cursor this server issued")
        query = query.where(RecallUnit.id > int(after))
    rows = session.execute(query.limit(limit + 1)).all()
    page = [_row(r) for r in rows[:limit]]
    return {**_header(session, recall), "not_held": _not_held(session, recall.id), "units": page,
            "next_cursor": str(page[-1]["unit_id"]) if len(rows) > limit else None}


EXPORT_COLUMNS = (("serial", "Serial"), ("sku", "SKU"), ("depth", "Depth"),
                  ("status", "Status"), ("site", "Site"), ("bin", "Bin"),
                  ("customer", "Customer"), ("sales_order", "Sales order"),
                  ("shipped_at", "Ship date"), ("held", "Held"))


def export_xlsx(session: Session, number: str, translate: Callable[[str], str], *,
                scope: frozenset[int] | None = None) -> bytes:
    """The recall as a workbook: its header, then one row per unit, headers in the reader's
    language (``translate`` maps an English msgid)."""
    recall = _recall(session, number)
    head = _header(session, recall)
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.title = recall.number
    for label, value in (("Recall", head["number"]), ("SKU", head["sku"]), ("Lot", head["lot"]),
                         ("Serial", head["serial"] or ""), ("Reason", head["reason"]),
                         ("Status", translate(head["status"].capitalize())),
                         ("Units", head["unit_count"]), ("Held", head["held_count"])):
        sheet.append([translate(label), value])
    sheet.append([])
    sheet.append([translate(label) for _key, label in EXPORT_COLUMNS])
    yes, no = translate("Yes"), translate("No")
    for row in session.execute(_units(recall.id).where(_visible(scope))).yield_per(CHUNK):
        data = row._mapping
        sheet.append([(yes if data[k] else no) if k == "held" else
                      _cell(data[k]) for k, _label in EXPORT_COLUMNS])
    out = BytesIO()
    book.save(out)
    return out.getvalue()


def _cell(value: Any) -> Any:
    return value.replace(tzinfo=None) if isinstance(value, datetime) else value


def summary(rows: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """What a trace found, in counts: units, top-level units, in stock, sold; the customers
    and sites concerned."""
    top = [r for r in rows if r["top"]]
    return {"units": len(rows), "top_level": len(top),
            "in_stock": sum(r["status"] == "in_stock" for r in top),
            "sold": sum(r["customer"] is not None for r in top),
            "customers": sorted({r["customer"] for r in top if r["customer"]}),
            "sites": sorted({r["site"] for r in top if r["site"]})}
