"""Ledger repository: writes moves and applies their balance deltas with guarded, ordered updates."""

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from sqlalchemy import insert, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from cangliu.core.ledger import BalanceKey, StockStatus
from cangliu.db.models import Location, Reservation, StockBalance, StockMove


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


def _upsert(session: Session):  # type: ignore[no-untyped-def]
    return (postgresql.insert if session.bind.dialect.name == "postgresql"  # type: ignore[union-attr]
            else sqlite.insert)(StockBalance)


def add_to_balance(session: Session, key: BalanceKey, delta: Decimal, loc: LocationInfo,
                   allow_negative: bool) -> None:
    sku_id, location_id, lot, status = key
    stmt = _upsert(session).values(
        sku_id=sku_id, location_id=location_id, site_id=loc.site_id, lot=lot, status=status,
        qty=delta, reserved=Decimal(0), allow_negative=allow_negative, version=1)
    stmt = stmt.on_conflict_do_update(
        index_elements=["sku_id", "location_id", "lot", "status"],
        set_={"qty": StockBalance.qty + stmt.excluded.qty, "version": StockBalance.version + 1})
    session.execute(stmt)


def take_from_balance(session: Session, key: BalanceKey, qty: Decimal, loc: LocationInfo,
                      allow_negative: bool) -> None:
    """Decrement only if the free quantity covers it: one conditional UPDATE, never read-then-write."""
    sku_id, location_id, lot, status = key
    result = session.execute(
        update(StockBalance)
        .where(StockBalance.sku_id == sku_id, StockBalance.location_id == location_id,
               StockBalance.lot == lot, StockBalance.status == status,
               or_(StockBalance.qty - StockBalance.reserved >= qty, StockBalance.allow_negative))
        .values(qty=StockBalance.qty - qty, version=StockBalance.version + 1)
        .execution_options(synchronize_session=False))
    if result.rowcount == 1:  # type: ignore[attr-defined]
        return
    if not allow_negative:
        raise Shortage(key, qty)
    add_to_balance(session, key, -qty, loc, allow_negative)


def apply_deltas(session: Session, deltas: Sequence[tuple[BalanceKey, Decimal]],
                 locations: dict[int, LocationInfo], negative_sites: set[int]) -> None:
    """Apply net changes in the given (sorted) key order so concurrent postings lock alike."""
    for key, delta in deltas:
        loc = locations[key[1]]
        allow_negative = loc.site_id in negative_sites
        if delta > 0:
            add_to_balance(session, key, delta, loc, allow_negative)
        else:
            take_from_balance(session, key, -delta, loc, allow_negative)


def insert_moves(session: Session, rows: list[dict[str, Any]]) -> None:
    session.execute(insert(StockMove), rows)


def free_at(session: Session, sku_id: int, location_ids: Sequence[int], lot: str | None = None
            ) -> Decimal:
    """Available-to-promise (on hand available − reserved) over some locations."""
    query = select(StockBalance.qty, StockBalance.reserved).where(
        StockBalance.sku_id == sku_id, StockBalance.location_id.in_(location_ids),
        StockBalance.status == StockStatus.AVAILABLE.value)
    if lot is not None:
        query = query.where(StockBalance.lot == lot)
    return sum((q - r for q, r in session.execute(query)), Decimal(0))


def reservable_balances(session: Session, sku_id: int, site_id: int, lot: str | None
                        ) -> list[tuple[int, str]]:
    """(location, lot) of the site's available balances with free stock, oldest first."""
    query = (select(StockBalance.location_id, StockBalance.lot)
             .where(StockBalance.sku_id == sku_id, StockBalance.site_id == site_id,
                    StockBalance.status == StockStatus.AVAILABLE.value,
                    StockBalance.qty > StockBalance.reserved)
             .order_by(StockBalance.id))
    if lot is not None:
        query = query.where(StockBalance.lot == lot)
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
    take = min(wanted, row.qty - row.reserved)
    if take <= 0:
        return Decimal(0)
    session.execute(update(StockBalance).where(*key)
                    .values(reserved=StockBalance.reserved + take, version=StockBalance.version + 1)
                    .execution_options(synchronize_session=False))
    return take


def unhold(session: Session, sku_id: int, location_id: int, lot: str, qty: Decimal) -> None:
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


def location_info(loc: Location) -> LocationInfo:
    return LocationInfo(loc.id, loc.code, loc.kind, loc.site_id, loc.allow_negative)
