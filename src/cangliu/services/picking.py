"""Picking for sales orders: reserve in the bins and lots a line will be picked from.

Confirming an order plans each line with ``core.picking`` (FEFO for lots, fewest bins in
walking order otherwise) and reserves exactly those bins and lots, so the reservation *is* the
pick list: other postings cannot take that stock, and shipping consumes it in pick order. A
picker who finds other goods in hand ships from a bin or lot of their choice instead (an
override): the line's reservation shrinks by what was taken elsewhere.

Expired lots are not sold: plans leave them out, and neither the pick list nor an override may
ship one unless the setting ``sell_expired_lots`` is "true" (then only a picker naming the lot
ships it; plans still leave expired lots out).
"""

from collections.abc import Iterable
from dataclasses import replace
from datetime import date
from decimal import Decimal

from sqlalchemy import and_, select

from cangliu.core import picking
from cangliu.core.errors import InsufficientStock, ValidationFailed
from cangliu.core.ledger import Free, StockStatus
from cangliu.core.picking import Pick, Stock
from cangliu.db.models import Location, Lot, Reservation, SalesLine, Setting, Sku, StockBalance
from cangliu.db.repositories import ledger as repo
from cangliu.db.repositories import masterdata as md
from cangliu.db.uow import UnitOfWork
from cangliu.services.postings import Meta, check_lot
from cangliu.services.reservations import consume, hold_at_site, shrink

NEVER_RECEIVED = 2**62  # a lot with no lot record sorts after every registered lot
SELL_EXPIRED = "sell_expired_lots"  # setting: "true" lets a picker ship an expired lot by name
_LOT = and_(Lot.sku_id == StockBalance.sku_id, Lot.code == StockBalance.lot)


def free_stock(uow: UnitOfWork, sku: Sku, site: Location, *, location: Location | None = None,
               lot: str | None = None) -> list[Stock]:
    """The site's free (available − reserved) stock of a SKU per bin and lot, with lot expiry."""
    return free_stock_of(uow, [sku.id], site, location=location, lot=lot).get(sku.id, [])


def free_stock_of(uow: UnitOfWork, sku_ids: list[int], site: Location, *,
                  location: Location | None = None, lot: str | None = None
                  ) -> dict[int, list[Stock]]:
    """``free_stock`` for several SKUs in one query, by SKU id."""
    query = (select(StockBalance.sku_id, StockBalance.location_id, Location.code, StockBalance.lot,
                    StockBalance.qty - StockBalance.reserved, Lot.expiry_date, Lot.id)
             .join(Location, Location.id == StockBalance.location_id)
             .outerjoin(Lot, _LOT)
             .where(StockBalance.sku_id.in_(sorted(set(sku_ids))), StockBalance.site_id == site.id,
                    StockBalance.status == StockStatus.AVAILABLE.value,
                    StockBalance.qty > StockBalance.reserved))
    if location is not None:
        query = query.where(StockBalance.location_id == location.id)
    if lot is not None:
        query = query.where(StockBalance.lot == lot)
    found: dict[int, list[Stock]] = {}
    for sku_id, loc, code, lt, free, expiry, rank in uow.session.execute(query):
        found.setdefault(sku_id, []).append(Stock(loc, code, lt, free, expiry, rank or NEVER_RECEIVED))
    return found


def hold_picked(uow: UnitOfWork, meta: Meta, sku: Sku, site: Location, qty: Decimal,
                stock: list[Stock] | None = None) -> str:
    """Reserve ``qty`` in the bins and lots it will be picked from (planned over ``stock``, the
    site's free stock of the SKU, read here unless given, and reduced by what this line takes
    so the order's next line of the SKU plans over the rest); returns the reservation. The new
    reservation rows are flushed by the caller."""
    if stock is None:
        stock = free_stock(uow, sku, site)
    today = uow.now().date()
    plan = picking.plan(qty, stock, by_lot=sku.tracking == "lot", today=today)
    if not plan.complete and not site.allow_negative and any(
            picking.expired(s, today) and s.qty > 0 for s in stock):
        # Only expired lots are left: the reservation would otherwise fall back on them.
        raise InsufficientStock(sku.code, site.code, qty, qty - plan.short)
    taken = {(p.location, p.lot): p.qty for p in plan.picks}
    stock[:] = [replace(s, qty=s.qty - taken.get((s.location, s.lot), 0)) for s in stock]
    ref, _parts = hold_at_site(uow, meta, sku, site, qty, None,
                               plan=[Free(p.location, p.lot, p.qty) for p in plan.picks], flush=False)
    return ref


def picked(uow: UnitOfWork, refs: list[str]) -> dict[str, list[Pick]]:
    """What is still to be picked per reservation, in pick order."""
    rows = uow.session.execute(
        select(Reservation.ref, Reservation.location_id, Location.code, Reservation.lot,
               Reservation.qty, Lot.expiry_date)
        .join(Location, Location.id == Reservation.location_id)
        .outerjoin(Lot, and_(Lot.sku_id == Reservation.sku_id, Lot.code == Reservation.lot))
        .where(Reservation.ref.in_(refs), Reservation.state == "open", Reservation.qty > 0)
        .order_by(Reservation.id))
    out: dict[str, list[Pick]] = {ref: [] for ref in refs}
    for ref, loc, code, lot, qty, expiry in rows:
        out[ref].append(Pick(loc, code, lot, qty, expiry))
    return out


def pick_list(uow: UnitOfWork, lines: list[SalesLine]) -> list[dict[str, object]]:
    """Per open order line, the bins and lots still to pick from, in pick order."""
    lines = [ln for ln in lines if ln.qty > ln.shipped_qty]
    skus = {s.id: s for s in uow.session.scalars(
        select(Sku).where(Sku.id.in_([ln.sku_id for ln in lines])))}
    picks = picked(uow, [ln.reservation or "" for ln in lines])
    return [{"line_no": ln.line_no, "sku": skus[ln.sku_id].code, "name": skus[ln.sku_id].name,
             "uom": skus[ln.sku_id].uom, "qty": str(ln.qty - ln.shipped_qty),
             "picks": [{"bin": p.code, "lot": p.lot, "qty": str(p.qty),
                        "expires_on": p.expires_on.isoformat() if p.expires_on else None}
                       for p in picks[ln.reservation or ""]]} for ln in lines]


def ship_parts(uow: UnitOfWork, ref: str, sku: Sku, site: Location, qty: Decimal,
               bin_code: str | None, lot: str | None, *, field: str,
               held: list[Reservation] | None = None) -> list[Free]:
    """Where a shipment of ``qty`` on one line comes from: the pick list (``held``: its open
    parts, when already locked), unless the picker names a bin and/or lot."""
    if bin_code or lot:
        return take_instead(uow, ref=ref, sku=sku, site=site, qty=qty, bin_code=bin_code,
                            lot=lot, field=field)
    parts = consume(uow, ref, sku=sku, site=site, qty=qty, parts=held)
    refuse_expired(uow, sku, (p.lot for p in parts), field=f"{field}.lot", named=False)
    return parts


def sells_expired(uow: UnitOfWork) -> bool:
    """The setting ``sell_expired_lots``: "true" lets a picker ship an expired lot by name."""
    row = uow.session.get(Setting, SELL_EXPIRED)
    return row is not None and row.value.strip().lower() == "true"


def refuse_expired(uow: UnitOfWork, sku: Sku, lots: Iterable[str], *, field: str,
                   named: bool) -> None:
    """Refuse to ship a lot of ``sku`` that has expired (unless a picker ``named`` it and the
    setting allows selling expired lots); the reason names the lot and its expiry date."""
    codes = sorted({lt for lt in lots if lt})
    if not codes or (named and sells_expired(uow)):
        return
    today = uow.now().date()
    found = uow.session.execute(
        select(Lot.code, Lot.expiry_date).where(Lot.sku_id == sku.id, Lot.code.in_(codes),
                                                Lot.expiry_date < today)
        .order_by(Lot.expiry_date, Lot.code)).first()
    if found is not None:
        raise ValidationFailed.single(field, "lot {lot} of {sku} expired on {expiry}",
                                      lot=found[0], sku=sku.code, expiry=found[1].isoformat())


def take_instead(uow: UnitOfWork, *, ref: str, sku: Sku, site: Location, qty: Decimal,
                 bin_code: str | None, lot: str | None, field: str) -> list[Free]:
    """Ship ``qty`` from the bin and/or lot the picker chose rather than from the pick list.

    The reservation shrinks by ``qty`` (at the chosen bin and lot first, then in pick order),
    then the quantity is planned over the chosen place's free stock (FEFO within a bin).
    """
    place = (md.place(uow.session, site.code, bin_code, bin_field=f"{field}.bin")[1]
             if bin_code else None)
    lot_code = check_lot(sku, lot, field=f"{field}.lot", required=False)
    if lot_code:
        refuse_expired(uow, sku, [lot_code], field=f"{field}.lot", named=True)
    _release(uow, ref, qty, place.id if place else None, lot_code, field=f"{field}.qty")
    stock = free_stock(uow, sku, site, location=place, lot=lot_code)
    today: date | None = None if lot_code else uow.now().date()
    plan = picking.plan(qty, stock, by_lot=sku.tracking == "lot", today=today)
    parts = [Free(p.location, p.lot, p.qty) for p in plan.picks]
    if plan.complete:
        return parts
    if site.allow_negative:  # the shortfall goes negative where the picker took it
        return [*parts, Free((place or site).id, lot_code or "", plan.short)]
    where, free = (place or site).code, qty - plan.short
    if lot_code:
        raise ValidationFailed.single(f"{field}.lot" if place is None else f"{field}.bin",
                                      "only {free} of {sku} lot {lot} is free at {location}",
                                      free=free, sku=sku.code, lot=lot_code, location=where)
    raise ValidationFailed.single(f"{field}.bin", "only {free} of {sku} is free at {location}",
                                  free=free, sku=sku.code, location=where)


def _release(uow: UnitOfWork, ref: str, qty: Decimal, location_id: int | None,
             lot: str | None, *, field: str) -> None:
    """Give ``qty`` of a reservation back, from the parts at the chosen place first."""
    def elsewhere(p: Reservation) -> bool:
        return not ((location_id is None or p.location_id == location_id)
                    and (lot is None or p.lot == lot))

    # Stable sort: pick order within each group.
    parts = sorted(repo.open_reservations(uow.session, ref), key=elsewhere)
    shrink(uow, parts, qty, field=field, emptied="released")
