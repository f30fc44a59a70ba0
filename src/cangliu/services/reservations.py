"""Reservations: hold available stock at a site for a document until it ships or is released."""

from collections.abc import Iterator, Sequence
from decimal import Decimal

from sqlalchemy import func, select, update

from cangliu.core.errors import Conflict, InsufficientStock, NotFound, ValidationFailed
from cangliu.core.ledger import Free, parse_qty
from cangliu.db.models import Location, Reservation, Sku, StockBalance
from cangliu.db.repositories import ledger as repo
from cangliu.db.repositories import masterdata as md
from cangliu.db.repositories.ledger import LocationInfo
from cangliu.db.uow import UnitOfWork, retrying
from cangliu.services.idempotency import Result
from cangliu.services.postings import Meta, check_lot, transact


def _answer(ref: str, sku: Sku, site: Location, parts: list[Reservation]) -> Result:
    return {"ref": ref, "sku": sku.code, "site": site.code,
            "qty": str(sum((p.qty for p in parts), Decimal(0))),
            "state": "open" if any(p.state == "open" for p in parts) else parts[0].state}


def hold_at_site(uow: UnitOfWork, meta: Meta, sku: Sku, site: Location, amount: Decimal,
                 lot: str | None, plan: Sequence[Free] = (), *, flush: bool = True
                 ) -> tuple[str, list[Reservation]]:
    """Reserve inside the caller's transaction; InsufficientStock names what other sites have.

    ``plan`` (a pick plan) names the balances to hold first, in order; whatever it does not
    cover (stock taken meanwhile) is held from the site's balances oldest first. A caller
    reserving many lines may leave the flush of the new reservations to its own end.
    """
    ref, parts, remaining = uow.new_ref(), [], amount
    for location_id, lot_here, cap in _targets(uow, sku, site, lot, plan):
        wanted = remaining if cap is None else min(cap, remaining)
        if cap is not None and repo.hold_exactly(uow.session, sku.id, location_id, lot_here, wanted):
            took = wanted  # the plan was read in this transaction: usually still all there
        else:
            took = repo.hold(uow.session, sku.id, location_id, lot_here, wanted)
        if took > 0:
            parts.append(Reservation(
                ref=ref, sku_id=sku.id, location_id=location_id, lot=lot_here, qty=took,
                document_type=meta.document_type, document_number=meta.document_number,
                reason=meta.reason, operator=meta.actor.username, created_at=uow.now()))
            remaining -= took
        if remaining <= 0:
            break
    if remaining > 0 and site.allow_negative:
        # Sites that allow negative stock may promise more than they hold.
        _hold_beyond(uow, sku, site, lot or "", remaining)
        parts.append(Reservation(
            ref=ref, sku_id=sku.id, location_id=site.id, lot=lot or "", qty=remaining,
            document_type=meta.document_type, document_number=meta.document_number,
            reason=meta.reason, operator=meta.actor.username, created_at=uow.now()))
        remaining = Decimal(0)
    if remaining > 0:
        # What this call already held counts as available: it is released with the rollback.
        free = repo.free_at(uow.session, sku.id, _site_locations(uow, site), lot) + amount - remaining
        raise InsufficientStock(sku.code, site.code, amount, max(free, Decimal(0)),
                                elsewhere=_elsewhere(uow, sku, site))
    uow.session.add_all(parts)
    if flush:
        uow.session.flush()
    return ref, parts


def _targets(uow: UnitOfWork, sku: Sku, site: Location, lot: str | None, plan: Sequence[Free]
             ) -> Iterator[tuple[int, str, Decimal | None]]:
    yield from ((p.location, p.lot, p.qty) for p in plan)
    # Expired lots are not promised unless the lot is named.
    today = uow.now().date() if lot is None and sku.tracking == "lot" else None
    for location_id, lot_here in repo.reservable_balances(uow.session, sku.id, site.id, lot,
                                                          today):
        yield location_id, lot_here, None


def _hold_beyond(uow: UnitOfWork, sku: Sku, site: Location, lot: str, qty: Decimal) -> None:
    key = (sku.id, site.id, lot, "available")
    info = LocationInfo(site.id, site.code, site.kind, site.id, True)
    repo.add_to_balance(uow.session, key, Decimal(0), info, allow_negative=True)
    uow.session.execute(update(StockBalance).where(
        StockBalance.sku_id == sku.id, StockBalance.location_id == site.id, StockBalance.lot == lot,
        StockBalance.status == "available").values(reserved=StockBalance.reserved + qty)
        .execution_options(synchronize_session=False))


def _elsewhere(uow: UnitOfWork, sku: Sku, site: Location) -> str:
    """Available-to-promise at the other sites, largest first, e.g. "WH 40, S2 3"."""
    free = func.sum(StockBalance.qty - StockBalance.reserved)
    rows = uow.session.execute(
        select(Location.code, free).join(Location, Location.id == StockBalance.site_id)
        .where(StockBalance.sku_id == sku.id, StockBalance.site_id != site.id,
               StockBalance.status == "available")
        .group_by(Location.code).having(free > 0).order_by(free.desc()).limit(5))
    return ", ".join(f"{code} {qty}" for code, qty in rows)


@retrying
def reserve(uow: UnitOfWork, meta: Meta, *, sku: str, site: str, qty: Decimal | str,
            lot: str | None = None) -> Result:
    """Hold ``qty`` of a SKU at a site; fails with InsufficientStock when not enough is free."""
    def work() -> Result:
        sku_row = md.sku_by_code(uow.session, sku)
        amount = parse_qty(qty, field="qty", decimals=sku_row.decimals)
        site_row = md.site_by_code(uow.session, site)
        lot_code = check_lot(sku_row, lot, field="lot", required=False)
        ref, parts = hold_at_site(uow, meta, sku_row, site_row, amount, lot_code)
        return _answer(ref, sku_row, site_row, parts)

    request = {"sku": sku, "site": site, "qty": str(qty), "lot": lot, "reason": meta.reason}
    return transact(uow, meta, "reserve", request, work)


@retrying
def release(uow: UnitOfWork, meta: Meta, *, ref: str) -> Result:
    """Give reserved stock back to available."""
    def work() -> Result:
        parts = repo.open_reservations(uow.session, ref)
        if not parts:
            _missing_or_closed(uow, ref)
        for part in parts:
            repo.unhold(uow.session, part.sku_id, part.location_id, part.lot, part.qty)
            part.state = "released"
        uow.session.flush()
        site = uow.session.get_one(Location, uow.session.get_one(Location, parts[0].location_id).site_id)
        return _answer(ref, uow.session.get_one(Sku, parts[0].sku_id), site, parts)

    return transact(uow, meta, "release", {"ref": ref, "reason": meta.reason}, work)


def consume(uow: UnitOfWork, ref: str, *, sku: Sku, site: Location, qty: Decimal,
            parts: list[Reservation] | None = None) -> list[Free]:
    """Turn (part of) a reservation into the places an issue takes stock from; ``parts`` are its
    open parts when the caller has already locked them (``repo.open_reservations_of``)."""
    parts = repo.open_reservations(uow.session, ref) if parts is None else parts
    if not parts:
        _missing_or_closed(uow, ref)
    if parts[0].sku_id != sku.id or uow.session.get_one(Location, parts[0].location_id).site_id != site.id:
        raise ValidationFailed.single("reservation", "reservation {ref} is for another SKU or site",
                                      ref=ref)
    return shrink(uow, parts, qty, field="qty", emptied="consumed")


def shrink(uow: UnitOfWork, parts: Sequence[Reservation], qty: Decimal, *, field: str,
           emptied: str) -> list[Free]:
    """Give ``qty`` of a reservation's open parts back to free stock, in the parts' order; a
    part left empty takes the state ``emptied``. Returns where the quantity was held."""
    held = sum((p.qty for p in parts), Decimal(0))
    if qty > held:
        raise ValidationFailed.single(field, "exceeds the reserved quantity {held}", held=held)
    taken, remaining = [], qty
    for part in parts:
        take = min(part.qty, remaining)
        if take <= 0:
            break
        repo.unhold(uow.session, part.sku_id, part.location_id, part.lot, take)
        part.qty -= take
        part.state = "open" if part.qty > 0 else emptied
        taken.append(Free(part.location_id, part.lot, take))
        remaining -= take
    return taken


def _site_locations(uow: UnitOfWork, site: Location) -> list[int]:
    return list(uow.session.scalars(select(StockBalance.location_id).distinct()
                                    .where(StockBalance.site_id == site.id)))


def _missing_or_closed(uow: UnitOfWork, ref: str) -> None:
    if uow.session.scalar(select(Reservation.id).where(Reservation.ref == ref)) is None:
        raise NotFound("No reservation {ref}", ref=ref)
    raise Conflict("Reservation {ref} is no longer open", ref=ref)
