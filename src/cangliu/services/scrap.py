"""Scrap (报废): stock written off to the scrap location under a numbered document with a reason code."""

from dataclasses import replace

from cangliu.core.errors import ValidationFailed
from cangliu.core.ledger import Move, Operation, ScrapReason, StockStatus, parse_qty
from cangliu.core.locations import LocationKind
from cangliu.db.models import Location
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
