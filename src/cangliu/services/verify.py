"""Verify: replay the whole ledger and compare it with the balance projection and reservations."""

from dataclasses import dataclass
from decimal import Decimal

from sqlalchemy import func, select

from cangliu.core import ledger
from cangliu.core.ledger import BalanceDiff, BalanceKey, Move, StockStatus
from cangliu.core.locations import LocationKind, holds_stock
from cangliu.db.models import Location, Reservation, Sku, StockBalance, StockMove
from cangliu.db.uow import UnitOfWork


@dataclass(frozen=True)
class Report:
    moves: int
    balances: int
    differences: list[BalanceDiff]
    reservation_differences: list[BalanceDiff]
    sku_codes: dict[int, str]
    location_codes: dict[int, str]

    @property
    def consistent(self) -> bool:
        return not self.differences and not self.reservation_differences

    def describe(self, diff: BalanceDiff) -> str:
        sku, loc, lot, status = diff.key
        lot_part = f" lot {lot}" if lot else ""
        return (f"{self.sku_codes[sku]} @ {self.location_codes[loc]}{lot_part} [{status}]: "
                f"ledger {diff.expected}, balance {diff.actual}")


def verify(uow: UnitOfWork, *, batch: int = 50_000) -> Report:
    with uow:
        s = uow.session
        kinds = {lid: LocationKind(kind) for lid, kind in s.execute(select(Location.id, Location.kind))}
        expected: dict[BalanceKey, Decimal] = {}
        count = 0
        query = select(StockMove.sku_id, StockMove.qty, StockMove.from_location_id,
                       StockMove.to_location_id, StockMove.from_status, StockMove.to_status,
                       StockMove.lot).execution_options(yield_per=batch)
        for chunk in s.execute(query).partitions():
            moves = [Move(r[0], r[1], r[2], r[3], StockStatus(r[4]), StockStatus(r[5]), r[6])
                     for r in chunk]
            count += len(moves)
            for key, delta in ledger.balance_deltas(moves, lambda lid: holds_stock(kinds[lid])):
                expected[key] = expected.get(key, Decimal(0)) + delta
        actual: dict[BalanceKey, Decimal] = {}
        reserved: dict[BalanceKey, Decimal] = {}
        for r in s.execute(select(StockBalance.sku_id, StockBalance.location_id, StockBalance.lot,
                                  StockBalance.status, StockBalance.qty, StockBalance.reserved)):
            actual[(r[0], r[1], r[2], r[3])] = r[4]
            if r[5]:
                reserved[(r[0], r[1], r[2], r[3])] = r[5]
        held: dict[BalanceKey, Decimal] = {}
        for h in s.execute(select(Reservation.sku_id, Reservation.location_id, Reservation.lot,
                                  func.sum(Reservation.qty))
                           .where(Reservation.state == "open")
                           .group_by(Reservation.sku_id, Reservation.location_id, Reservation.lot)):
            if h[3]:
                held[(h[0], h[1], h[2], StockStatus.AVAILABLE.value)] = h[3]
        diffs = ledger.compare({k: v for k, v in expected.items() if v},
                               {k: v for k, v in actual.items() if v})
        skus = {i: c for i, c in s.execute(select(Sku.id, Sku.code))}
        locs = {i: c for i, c in s.execute(select(Location.id, Location.code))}
        return Report(count, len(actual), diffs, ledger.compare(held, reserved), skus, locs)
