"""Ledger repository: writes moves and applies balance deltas with guarded, ordered updates."""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any, cast

from sqlalchemy import Table, and_, bindparam, insert, or_, select, text, update
from sqlalchemy.orm import Session

from cangliu.core.ledger import BalanceKey, StockStatus
from cangliu.db import outbox
from cangliu.db.models import Location, Lot, Reservation, StockBalance, StockMove
from cangliu.db.types import Exact


@dataclass(frozen=True)
class LocationInfo:
    id: int
    code: str
    kind: str
    site_id: int | None
    allow_negative: bool


class Shortage(Exception):
    """A guarded decrement found too little stock; the service turns it into InsufficientStock."""

    def __init__(self, key: BalanceKey, requested: Decimal) -> None:
        self.key = key
        self.requested = requested


BALANCE = cast(Table, StockBalance.__table__)
MOVE = cast(Table, StockMove.__table__)


# Add to a balance, creating the row on first use. Plain text because SQLAlchemy cannot cache
# its ON CONFLICT construct and recompiling it on every call cost more than the round trip;
# PostgreSQL and SQLite accept the same statement.
_UPSERT = text(
    "INSERT INTO stock_balance (sku_id, location_id, site_id, lot, status, qty, reserved,"
    " allow_negative, version) VALUES (:sku_id, :location_id, :site_id, :lot, :status, :qty,"
    " 0, :allow_negative, 1) ON CONFLICT (sku_id, location_id, lot, status) DO UPDATE"
    " SET qty = stock_balance.qty + excluded.qty, version = stock_balance.version + 1"
).bindparams(bindparam("qty", type_=Exact()))
_TAKE_QTY = bindparam("take_qty", type_=Exact())
_TAKE = (update(BALANCE)
         .where(BALANCE.c.sku_id == bindparam("key_sku"),
                BALANCE.c.location_id == bindparam("key_location"),
                BALANCE.c.lot == bindparam("key_lot"), BALANCE.c.status == bindparam("key_status"),
                or_(BALANCE.c.qty - BALANCE.c.reserved >= _TAKE_QTY, BALANCE.c.allow_negative))
         .values(qty=BALANCE.c.qty - _TAKE_QTY, version=BALANCE.c.version + 1))


_HOLD_QTY = bindparam("hold_qty", type_=Exact())
_HOLD = (update(BALANCE)
         .where(BALANCE.c.sku_id == bindparam("key_sku"),
                BALANCE.c.location_id == bindparam("key_location"),
                BALANCE.c.lot == bindparam("key_lot"),
                BALANCE.c.status == StockStatus.AVAILABLE.value,
                BALANCE.c.qty - BALANCE.c.reserved >= _HOLD_QTY)
         .values(reserved=BALANCE.c.reserved + _HOLD_QTY, version=BALANCE.c.version + 1))


def _balance_row(key: BalanceKey, delta: Decimal, loc: LocationInfo, allow_negative: bool
                 ) -> dict[str, Any]:
    sku_id, location_id, lot, status = key
    return {"sku_id": sku_id, "location_id": location_id, "site_id": loc.site_id, "lot": lot,
            "status": status, "qty": delta, "allow_negative": allow_negative}


def _add_rows(session: Session, rows: list[dict[str, Any]]) -> None:
    """Upsert the rows in list order (one executemany: psycopg pipelines it) and clear the list."""
    if rows:
        session.execute(_UPSERT, rows if len(rows) > 1 else rows[0])
        rows.clear()


def add_to_balance(session: Session, key: BalanceKey, delta: Decimal, loc: LocationInfo,
                   allow_negative: bool) -> None:
    _add_rows(session, [_balance_row(key, delta, loc, allow_negative)])


def take_from_balance(session: Session, key: BalanceKey, qty: Decimal, loc: LocationInfo,
                      allow_negative: bool) -> None:
    """Decrement only if the free quantity covers it: one conditional UPDATE, never read-then-write.
    """
    sku_id, location_id, lot, status = key
    result = session.execute(_TAKE, {"key_sku": sku_id, "key_location": location_id,
                                     "key_lot": lot, "key_status": status, "take_qty": qty})
    if result.rowcount == 1:  # type: ignore[attr-defined]
        return
    if not allow_negative:
        raise Shortage(key, qty)
    add_to_balance(session, key, -qty, loc, allow_negative)


def touched(session: Session, sku_id: int, site_id: int | None) -> None:
    """Note a changed balance of a site for the transaction's ``stock.changed`` event."""
    if site_id is not None:
        session.info.setdefault(outbox.TOUCHED, set()).add((sku_id, site_id))


def apply_deltas(session: Session, deltas: Sequence[tuple[BalanceKey, Decimal]],
                 locations: dict[int, LocationInfo], negative_sites: set[int]) -> None:
    """Apply net changes in the given (sorted) key order so concurrent postings lock alike.

    Consecutive additions go to the database as one batch, still in key order; each decrement
    is its own guarded UPDATE because its row count says whether the stock was there.
    """
    adds: list[dict[str, Any]] = []
    for key, delta in deltas:
        loc = locations[key[1]]
        touched(session, key[0], loc.site_id)
        allow_negative = loc.site_id in negative_sites
        if delta > 0:
            adds.append(_balance_row(key, delta, loc, allow_negative))
            continue
        _add_rows(session, adds)
        take_from_balance(session, key, -delta, loc, allow_negative)
    _add_rows(session, adds)


def insert_moves(session: Session, rows: list[dict[str, Any]]) -> None:
    session.execute(insert(MOVE), rows if len(rows) > 1 else rows[0])


def free_at(session: Session, sku_id: int, location_ids: Sequence[int], lot: str | None = None
            ) -> Decimal:
    """Available-to-promise (on hand available − reserved) over some locations."""
    query = select(StockBalance.qty, StockBalance.reserved).where(
        StockBalance.sku_id == sku_id, StockBalance.location_id.in_(location_ids),
        StockBalance.status == StockStatus.AVAILABLE.value)
    if lot is not None:
        query = query.where(StockBalance.lot == lot)
    return sum((q - r for q, r in session.execute(query)), Decimal(0))


def reservable_balances(session: Session, sku_id: int, site_id: int, lot: str | None,
                        today: date | None = None) -> list[tuple[int, str]]:
    """(location, lot) of the site's available balances with free stock, oldest first; with
    ``today``, lots expired by then are left out."""
    query = (select(StockBalance.location_id, StockBalance.lot)
             .where(StockBalance.sku_id == sku_id, StockBalance.site_id == site_id,
                    StockBalance.status == StockStatus.AVAILABLE.value,
                    StockBalance.qty > StockBalance.reserved)
             .order_by(StockBalance.id))
    if lot is not None:
        query = query.where(StockBalance.lot == lot)
    if today is not None:
        query = query.outerjoin(Lot, and_(Lot.sku_id == StockBalance.sku_id,
                                          Lot.code == StockBalance.lot)).where(
            or_(Lot.expiry_date.is_(None), Lot.expiry_date >= today))
    return [(loc, lt) for loc, lt in session.execute(query)]


def hold(session: Session, sku_id: int, location_id: int, lot: str, wanted: Decimal) -> Decimal:
    """Reserve up to ``wanted`` at one balance; returns what was reserved.

    The row is locked first (FOR UPDATE on PostgreSQL; SQLite writers are already serialised
    by BEGIN IMMEDIATE), so the free quantity read cannot change before the update.
    """
    key = (StockBalance.sku_id == sku_id, StockBalance.location_id == location_id,
           StockBalance.lot == lot, StockBalance.status == StockStatus.AVAILABLE.value)
    row = session.execute(select(StockBalance.qty, StockBalance.reserved).where(*key)
                          .with_for_update()).first()
    if row is None:
        return Decimal(0)
    take: Decimal = min(wanted, row.qty - row.reserved)
    if take <= 0:
        return Decimal(0)
    _touched_at(session, sku_id, location_id)
    session.execute(update(StockBalance).where(*key)
                    .values(reserved=StockBalance.reserved + take, version=StockBalance.version + 1)
                    .execution_options(synchronize_session=False))
    return take


def hold_exactly(session: Session, sku_id: int, location_id: int, lot: str, qty: Decimal) -> bool:
    """Reserve exactly ``qty`` at one balance if that much is free: one guarded UPDATE."""
    result = session.execute(_HOLD, {"key_sku": sku_id, "key_location": location_id,
                                     "key_lot": lot, "hold_qty": qty})
    if result.rowcount != 1:  # type: ignore[attr-defined]
        return False
    _touched_at(session, sku_id, location_id)
    return True


def _touched_at(session: Session, sku_id: int, location_id: int) -> None:
    location = session.get(Location, location_id)
    touched(session, sku_id, location.site_id if location else None)


def unhold(session: Session, sku_id: int, location_id: int, lot: str, qty: Decimal) -> None:
    _touched_at(session, sku_id, location_id)
    session.execute(
        update(StockBalance)
        .where(StockBalance.sku_id == sku_id, StockBalance.location_id == location_id,
               StockBalance.lot == lot, StockBalance.status == StockStatus.AVAILABLE.value)
        .values(reserved=StockBalance.reserved - qty, version=StockBalance.version + 1)
        .execution_options(synchronize_session=False))


def open_reservations(session: Session, ref: str) -> list[Reservation]:
    return list(session.scalars(
        select(Reservation).where(Reservation.ref == ref, Reservation.state == "open")
        .order_by(Reservation.id).with_for_update()))


def open_reservations_of(session: Session, refs: Sequence[str]) -> dict[str, list[Reservation]]:
    """The open parts of several reservations at once (one locking read for a whole document)."""
    found: dict[str, list[Reservation]] = {ref: [] for ref in refs}
    for part in session.scalars(select(Reservation).where(Reservation.ref.in_(sorted(set(refs))),
                                                          Reservation.state == "open")
                                .order_by(Reservation.id).with_for_update()):
        found[part.ref].append(part)
    return found


def location_info(loc: Location) -> LocationInfo:
    return LocationInfo(loc.id, loc.code, loc.kind, loc.site_id, loc.allow_negative)
