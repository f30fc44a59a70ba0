"""Picking never plans an expired lot once it knows the day; on its expiry date a lot is still
good."""

from datetime import date
from decimal import Decimal

from cangliu.core.picking import Pick, Stock, expired, plan

TODAY = date(2030, 3, 1)


def _stock() -> list[Stock]:
    return [Stock(1, "A1", "OLD", Decimal(5), date(2030, 2, 28), 1),
            Stock(2, "B1", "EDGE", Decimal(3), date(2030, 3, 1), 2),
            Stock(3, "C1", "LATE", Decimal(10), date(2030, 9, 1), 3)]


def test_a_plan_for_a_day_skips_lots_expired_before_it():
    got = plan(Decimal(6), _stock(), by_lot=True, today=TODAY)
    assert [(p.lot, p.qty) for p in got.picks] == [("EDGE", Decimal(3)), ("LATE", Decimal(3))]
    assert got.complete


def test_without_a_day_the_expired_lot_still_goes_first():
    got = plan(Decimal(6), _stock(), by_lot=True)
    assert [(p.lot, p.qty) for p in got.picks] == [("OLD", Decimal(5)), ("EDGE", Decimal(1))]


def test_only_expired_stock_leaves_the_plan_short():
    got = plan(Decimal(4), _stock()[:1], by_lot=True, today=TODAY)
    assert got.picks == () and got.short == Decimal(4) and not got.complete


def test_stock_without_expiry_never_expires():
    never = Stock(4, "D1", "", Decimal(2))
    assert not expired(never, TODAY)
    assert plan(Decimal(2), [never], by_lot=False, today=TODAY).complete


def test_expired_means_before_the_day():
    assert expired(Pick(1, "A1", "X", Decimal(1), date(2030, 2, 28)), TODAY)
    assert not expired(Pick(1, "A1", "X", Decimal(1), TODAY), TODAY)
