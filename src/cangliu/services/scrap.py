"""Scrap (报废): stock written off to the scrap location under a numbered document with a reason code.

A scrap document is its posting: its lines are the ledger moves carrying its number, so reading one
back (print view, PDF, list) needs no table of its own.
"""

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import Select, select
from sqlalchemy.orm import aliased

from cangliu.core.errors import NotFound, ValidationFailed
from cangliu.core.ledger import Move, Operation, ScrapReason, StockStatus, parse_qty
from cangliu.core.locations import LocationKind
from cangliu.core.permissions import Actor
from cangliu.db.models import HeldDocument, Location, Sku, StockMove
from cangliu.db.repositories import masterdata as md
from cangliu.db.uow import UnitOfWork, retrying
from cangliu.services import approvals
from cangliu.services.held import held, hold, request_of
from cangliu.services.idempotency import Result
from cangliu.services.numbering import next_number
from cangliu.services.postings import Book, Meta, check_lot, post, sources, transact
from cangliu.services.stock import Line, line_field


@retrying
def scrap(uow: UnitOfWork, meta: Meta, *, site: str, reason_code: ScrapReason | str,
          lines: list[Line], from_status: StockStatus = StockStatus.DAMAGED) -> Result:
    """Write stock off; damaged stock by default, or held / available stock when stated. Posted at
    once when the scrap policy approves it, else held (state pending_approval) until approved."""
    request = {"site": site, "reason_code": str(reason_code), "from_status": from_status.value,
               "lines": [vars(x) for x in lines], "reason": meta.reason}

    def work() -> Result:
        if reason_code not in set(ScrapReason):
            raise ValidationFailed.single("reason_code", "must be one of: {expected}",
                                          expected=", ".join(ScrapReason))
        if not lines:
            raise ValidationFailed.single("lines", "must have at least one line")
        number = next_number(uow, "scrap", uow.now().date())
        moves, book = _moves(uow, site, lines, from_status)
        site_row = md.site_by_code(uow.session, site, field="site")
        costs = approvals.unit_costs(uow.session, {m.sku_id for m in moves})
        amount = sum((m.qty * costs.get(m.sku_id, Decimal(0)) for m in moves), Decimal(0))
        fields = {"amount": float(amount), "lines": len(lines), "site": site_row.code,
                  "region": site_row.region, "reason_code": str(reason_code)}
        waiting = hold(uow, meta, "scrap", number, site_row, request, fields)
        if waiting is not None:
            return {**waiting, "reason_code": str(reason_code)}
        return {"number": number, "reason_code": str(reason_code), "state": "posted",
                **post(uow, _doc(meta, number, str(reason_code)), Operation.SCRAP, moves, book)}

    return transact(uow, meta, "scrap", request, work)


def post_approved(uow: UnitOfWork, row: HeldDocument, submitter: Actor) -> None:
    """A held scrap was approved: write it off now, as its submitter asked."""
    request = request_of(row)
    moves, book = _moves(uow, request["site"], [Line(**x) for x in request["lines"]],
                         StockStatus(request["from_status"]))
    meta = Meta(submitter, reason=request["reason"])
    post(uow, _doc(meta, row.number, request["reason_code"]), Operation.SCRAP, moves, book)


def _doc(meta: Meta, number: str, reason_code: str) -> Meta:
    return replace(meta, document_type="scrap", document_number=number,
                   reason=f"{reason_code}: {meta.reason}".strip(": "))


def _moves(uow: UnitOfWork, site: str, lines: list[Line], from_status: StockStatus
           ) -> tuple[list[Move], Book]:
    book, moves = Book(), []
    scrap_loc = md.virtual(uow.session, LocationKind.SCRAP)
    book.loc(scrap_loc, None)
    for i, line in enumerate(lines):
        sku = md.sku_by_code(uow.session, line.sku, field=line_field(lines, i, "sku"))
        book.sku(sku)
        qty = parse_qty(line.qty, field=line_field(lines, i, "qty"), decimals=sku.decimals)
        site_row, loc = md.place(uow.session, site, line.bin, bin_field=line_field(lines, i, "bin"))
        lot = check_lot(sku, line.lot, field=line_field(lines, i, "lot"), required=False)
        for part in sources(uow, sku=sku, site=site_row, location=loc, qty=qty, lot=lot,
                            status=from_status, explicit=bool(line.bin)):
            book.loc(uow.session.get_one(Location, part.location), site_row)
            moves.append(Move(sku.id, part.qty, part.location, scrap_loc.id, from_status,
                              StockStatus.AVAILABLE, part.lot))
    return moves, book


def _split_reason(reason: str) -> tuple[str, str]:
    """The stored reason is ``code: note`` (or just ``code``): see ``scrap``."""
    code, _, note = reason.partition(": ")
    return code, note


def get_scrap(uow: UnitOfWork, number: str) -> Result:
    """One scrap document from its moves: where, why, who, when and the written-off lines."""
    frm, site = aliased(Location), aliased(Location)
    query = (select(StockMove, Sku.code, Sku.name, frm.code, site.code, site.name)
             .join(Sku, Sku.id == StockMove.sku_id).join(frm, frm.id == StockMove.from_location_id)
             .join(site, site.id == frm.site_id)
             .where(StockMove.document_type == "scrap", StockMove.document_number == number,
                    StockMove.operation == Operation.SCRAP.value)
             .order_by(StockMove.document_line))
    with uow:
        rows = uow.session.execute(query).all()
        if not rows:
            return _waiting(uow, number)
        reversed_ = uow.session.scalar(select(StockMove.id).where(
            StockMove.reversal_of_id.in_([r[0].id for r in rows])).limit(1)) is not None
        return _document(number, rows, reversed_)


def _waiting(uow: UnitOfWork, number: str) -> Result:
    """A scrap held for approval (or rejected): the lines as requested, not yet written off."""
    found = held(uow, "scrap", number=number)
    if not found:
        raise NotFound("No scrap {number}", number=number)
    doc, request = found[0], found[0]["request"]
    site = md.site_by_code(uow.session, doc["site"])
    names = dict(uow.session.execute(select(Sku.code, Sku.name).where(
        Sku.code.in_([ln["sku"] for ln in request["lines"]]))).tuples().all())
    return {
        "number": number, "state": doc["state"], "site": doc["site"], "site_name": site.name,
        "reason_code": request["reason_code"], "note": request["reason"],
        "from_status": request["from_status"], "operator": doc["created_by"], "device": "",
        "occurred_at": doc["created_at"], "recorded_at": doc["created_at"], "ref": None,
        "reversed": False,
        "lines": [{"line_no": i, "sku": ln["sku"], "name": names.get(ln["sku"], ""),
                   "qty": str(ln["qty"]), "uom": "", "location": ln.get("bin") or "",
                   "lot": ln.get("lot") or "", "from_status": request["from_status"]}
                  for i, ln in enumerate(request["lines"], start=1)],
    }


def _document(number: str, rows: Sequence[Any], reversed_: bool) -> Result:
    first, site, site_name = rows[0][0], rows[0][4], rows[0][5]
    code, note = _split_reason(first.reason)
    return {
        "number": number, "state": "posted", "site": site, "site_name": site_name, "reason_code": code,
        "note": note, "from_status": first.from_status, "operator": first.operator,
        "device": first.device, "occurred_at": first.occurred_at.isoformat(),
        "recorded_at": first.recorded_at.isoformat(), "ref": first.ref, "reversed": reversed_,
        "lines": [{"line_no": m.document_line, "sku": sku, "name": name, "qty": str(m.qty),
                   "uom": m.uom, "location": loc, "lot": m.lot, "from_status": m.from_status}
                  for m, sku, name, loc, _site, _name in rows],
    }


@dataclass(frozen=True)
class Filters:
    """What a scrap list is narrowed to: the dates are inclusive UTC days; ``scope`` the sites."""

    site: str | None = None
    q: str | None = None
    created_from: date | None = None
    created_to: date | None = None
    after: str | None = None
    scope: frozenset[int] | None = None

    def apply(self, query: Select[Any], site: Any, number: Any, at: Any) -> Select[Any]:
        """``query`` narrowed on its site row, document number and date columns."""
        if self.site:
            query = query.where(site.code == self.site)
        if self.scope is not None:
            query = query.where(site.id.in_(self.scope))
        if self.q:
            query = query.where(number.ilike(f"%{self.q.strip()}%"))
        if self.created_from:
            query = query.where(at >= _day_start(self.created_from))
        if self.created_to:
            query = query.where(at < _day_start(self.created_to + timedelta(days=1)))
        if self.after:
            query = query.where(number < self.after)
        return query.order_by(number.desc())


def list_scraps(uow: UnitOfWork, *, site: str | None = None, q: str | None = None,
                created_from: date | None = None, created_to: date | None = None,
                limit: int = 50, after: str | None = None, scope: frozenset[int] | None = None
                ) -> tuple[list[dict[str, Any]], str | None]:
    """Scrap documents, newest number first, keyset-paginated on the number: those written off
    (dated when) and those waiting for approval or rejected (dated when asked for)."""
    if created_from and created_to and created_from > created_to:
        raise ValidationFailed.single("created_to", "must not be before {start}", start=created_from)
    narrow = Filters(site, q, created_from, created_to, after, scope)
    frm, site_loc = aliased(Location), aliased(Location)
    posted = narrow.apply(
        select(StockMove.document_number, StockMove.reason, StockMove.operator,
               StockMove.occurred_at, StockMove.from_status, site_loc.code)
        .join(frm, frm.id == StockMove.from_location_id).join(site_loc, site_loc.id == frm.site_id)
        .where(StockMove.document_type == "scrap", StockMove.operation == Operation.SCRAP.value,
               StockMove.document_line == 1),  # one row per document: its first line
        site_loc, StockMove.document_number, StockMove.occurred_at)
    waiting = narrow.apply(
        select(HeldDocument, Location.code).join(Location, Location.id == HeldDocument.site_id)
        .where(HeldDocument.document_type == "scrap", HeldDocument.state != "posted"),
        Location, HeldDocument.number, HeldDocument.created_at)
    with uow:
        rows = [{"number": number, "state": "posted", "site": site_code,
                 "reason_code": _split_reason(reason)[0], "note": _split_reason(reason)[1],
                 "from_status": status, "occurred_at": at, "operator": operator}
                for number, reason, operator, at, status, site_code in uow.session.execute(
                    posted.limit(limit + 1))]
        for row, site_code in uow.session.execute(waiting.limit(limit + 1)):
            request = request_of(row)
            rows.append({"number": row.number, "state": row.state, "site": site_code,
                         "reason_code": request["reason_code"], "note": request["reason"],
                         "from_status": request["from_status"], "occurred_at": row.created_at,
                         "operator": row.created_by})
    rows.sort(key=lambda r: r["number"], reverse=True)
    page = rows[:limit]
    return page, (page[-1]["number"] if len(rows) > limit else None)


def _day_start(day: date) -> datetime:
    return datetime.combine(day, time.min, tzinfo=UTC)
