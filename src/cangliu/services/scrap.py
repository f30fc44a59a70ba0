"""Scrap (报废): stock written off to the scrap location under a numbered document with a reason code.

A scrap document is its posting: its lines are the ledger moves carrying its number, so reading one
back (print view, PDF, list) needs no table of its own.
"""

from collections.abc import Sequence
from dataclasses import replace
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import aliased

from cangliu.core.errors import NotFound, ValidationFailed
from cangliu.core.ledger import Move, Operation, ScrapReason, StockStatus, parse_qty
from cangliu.core.locations import LocationKind
from cangliu.db.models import Location, Sku, StockMove
from cangliu.db.repositories import masterdata as md
from cangliu.db.uow import UnitOfWork, retrying
from cangliu.services.idempotency import Result
from cangliu.services.numbering import next_number
from cangliu.services.postings import Book, Meta, check_lot, post, sources, transact
from cangliu.services.stock import Line, line_field


@retrying
def scrap(uow: UnitOfWork, meta: Meta, *, site: str, reason_code: ScrapReason | str,
          lines: list[Line], from_status: StockStatus = StockStatus.DAMAGED) -> Result:
    """Write stock off; damaged stock by default, or held / available stock when stated."""
    def work() -> Result:
        if reason_code not in set(ScrapReason):
            raise ValidationFailed.single("reason_code", "must be one of: {expected}",
                                          expected=", ".join(ScrapReason))
        if not lines:
            raise ValidationFailed.single("lines", "must have at least one line")
        number = next_number(uow, "scrap", uow.now().date())
        doc = replace(meta, document_type="scrap", document_number=number,
                      reason=f"{reason_code}: {meta.reason}".strip(": "))
        book, moves = Book(), []
        scrap_loc = md.virtual(uow.session, LocationKind.SCRAP)
        book.loc(scrap_loc, None)
        for i, line in enumerate(lines):
            sku = md.sku_by_code(uow.session, line.sku, field=line_field(lines, i, "sku"))
            book.sku(sku)
            qty = parse_qty(line.qty, field=line_field(lines, i, "qty"), decimals=sku.decimals)
            site_row, loc = md.place(uow.session, site, line.bin,
                                     bin_field=line_field(lines, i, "bin"))
            lot = check_lot(sku, line.lot, field=line_field(lines, i, "lot"), required=False)
            for part in sources(uow, sku=sku, site=site_row, location=loc, qty=qty, lot=lot,
                                status=from_status, explicit=bool(line.bin)):
                book.loc(uow.session.get_one(Location, part.location), site_row)
                moves.append(Move(sku.id, part.qty, part.location, scrap_loc.id, from_status,
                                  StockStatus.AVAILABLE, part.lot))
        return {"number": number, "reason_code": str(reason_code),
                **post(uow, doc, Operation.SCRAP, moves, book)}

    request = {"site": site, "reason_code": str(reason_code), "from_status": from_status.value,
               "lines": [vars(x) for x in lines], "reason": meta.reason}
    return transact(uow, meta, "scrap", request, work)


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
            raise NotFound("No scrap {number}", number=number)
        reversed_ = uow.session.scalar(select(StockMove.id).where(
            StockMove.reversal_of_id.in_([r[0].id for r in rows])).limit(1)) is not None
        return _document(number, rows, reversed_)


def _document(number: str, rows: Sequence[Any], reversed_: bool) -> Result:
    first, site, site_name = rows[0][0], rows[0][4], rows[0][5]
    code, note = _split_reason(first.reason)
    return {
        "number": number, "site": site, "site_name": site_name, "reason_code": code,
        "note": note, "from_status": first.from_status, "operator": first.operator,
        "device": first.device, "occurred_at": first.occurred_at.isoformat(),
        "recorded_at": first.recorded_at.isoformat(), "ref": first.ref, "reversed": reversed_,
        "lines": [{"line_no": m.document_line, "sku": sku, "name": name, "qty": str(m.qty),
                   "uom": m.uom, "location": loc, "lot": m.lot, "from_status": m.from_status}
                  for m, sku, name, loc, _site, _name in rows],
    }


def list_scraps(uow: UnitOfWork, *, site: str | None = None, q: str | None = None,
                created_from: date | None = None, created_to: date | None = None,
                limit: int = 50, after: str | None = None, scope: frozenset[int] | None = None
                ) -> tuple[list[dict[str, Any]], str | None]:
    """Scrap documents, newest number first, keyset-paginated on the number; the dates are
    inclusive UTC days of when the stock was written off; ``scope``: the sites to show."""
    if created_from and created_to and created_from > created_to:
        raise ValidationFailed.single("created_to", "must not be before {start}", start=created_from)
    frm, site_loc = aliased(Location), aliased(Location)
    query = (select(StockMove.document_number, StockMove.reason, StockMove.operator,
                    StockMove.occurred_at, StockMove.from_status, site_loc.code)
             .join(frm, frm.id == StockMove.from_location_id)
             .join(site_loc, site_loc.id == frm.site_id)
             .where(StockMove.document_type == "scrap", StockMove.operation == Operation.SCRAP.value,
                    StockMove.document_line == 1))  # one row per document: its first line
    if site:
        query = query.where(site_loc.code == site)
    if scope is not None:
        query = query.where(site_loc.id.in_(scope))
    if q:
        query = query.where(StockMove.document_number.ilike(f"%{q.strip()}%"))
    if created_from:
        query = query.where(StockMove.occurred_at >= _day_start(created_from))
    if created_to:
        query = query.where(StockMove.occurred_at < _day_start(created_to + timedelta(days=1)))
    if after:
        query = query.where(StockMove.document_number < after)
    with uow:
        rows = uow.session.execute(query.order_by(StockMove.document_number.desc())
                                   .limit(limit + 1)).all()
    page = rows[:limit]
    items = [{"number": number, "site": site_code, "reason_code": _split_reason(reason)[0],
              "note": _split_reason(reason)[1], "from_status": status, "occurred_at": at,
              "operator": operator}
             for number, reason, operator, at, status, site_code in page]
    return items, (page[-1][0] if len(rows) > limit else None)


def _day_start(day: date) -> datetime:
    return datetime.combine(day, time.min, tzinfo=UTC)
