"""Pick planning: FEFO across lots, fewest bins in walking order, and what happens when short."""

from datetime import date
from decimal import Decimal

from hypothesis import given
from hypothesis import strategies as st

from cangliu.core.picking import Stock, plan


def _picks(result):
    return [(p.code, p.lot, p.qty) for p in result.picks]


def test_lots_leave_first_expiry_first_out_across_bins():
    stock = [Stock(1, "A-01", "L-LATE", Decimal(10), date(2030, 3, 1), received=1),
             Stock(2, "B-01", "L-SOON", Decimal(4), date(2030, 1, 1), received=3),
             Stock(3, "C-01", "L-MID", Decimal(5), date(2030, 2, 1), received=2)]
    result = plan(Decimal(7), stock, by_lot=True)
    assert result.complete
    assert _picks(result) == [("B-01", "L-SOON", Decimal(4)), ("C-01", "L-MID", Decimal(3))]
    assert result.picks[0].expires_on == date(2030, 1, 1)


def test_lots_without_expiry_go_last_and_ties_go_by_first_receipt():
    stock = [Stock(1, "A-01", "L-NONE", Decimal(9), None, received=1),
             Stock(2, "A-02", "L-NEW", Decimal(2), date(2030, 1, 1), received=5),
             Stock(3, "A-03", "L-OLD", Decimal(2), date(2030, 1, 1), received=4)]
    result = plan(Decimal(6), stock, by_lot=True)
    assert _picks(result) == [("A-03", "L-OLD", Decimal(2)), ("A-02", "L-NEW", Decimal(2)),
                              ("A-01", "L-NONE", Decimal(2))]


def test_one_lot_spread_over_bins_is_taken_from_the_fewest_bins():
    stock = [Stock(1, "A-01", "L1", Decimal(2), date(2030, 1, 1)),
             Stock(2, "A-02", "L1", Decimal(8), date(2030, 1, 1)),
             Stock(3, "A-03", "L2", Decimal(50), date(2031, 1, 1))]
    assert _picks(plan(Decimal(6), stock, by_lot=True)) == [("A-02", "L1", Decimal(6))]


def test_without_lots_a_single_bin_that_covers_the_line_wins_in_walking_order():
    stock = [Stock(3, "C-01", "", Decimal(20)), Stock(1, "A-01", "", Decimal(3)),
             Stock(2, "B-01", "", Decimal(8)), Stock(4, "D-01", "", Decimal(8))]
    assert _picks(plan(Decimal(8), stock, by_lot=False)) == [("B-01", "", Decimal(8))]


def test_without_lots_a_split_uses_the_fewest_bins_listed_in_walking_order():
    stock = [Stock(1, "A-01", "", Decimal(3)), Stock(2, "B-01", "", Decimal(4)),
             Stock(3, "C-01", "", Decimal(6)), Stock(4, "D-01", "", Decimal(2))]
    result = plan(Decimal(9), stock, by_lot=False)
    # C-01 (the largest) plus the first bin in walking order that covers the rest: two bins.
    assert _picks(result) == [("A-01", "", Decimal(3)), ("C-01", "", Decimal(6))]


def test_insufficient_stock_takes_everything_and_reports_the_shortfall():
    stock = [Stock(1, "A-01", "L1", Decimal(2), date(2030, 1, 1)),
             Stock(2, "B-01", "L2", Decimal("1.5"), None)]
    result = plan(Decimal(5), stock, by_lot=True)
    assert not result.complete and result.short == Decimal("1.5")
    assert _picks(result) == [("A-01", "L1", Decimal(2)), ("B-01", "L2", Decimal("1.5"))]
    assert plan(Decimal(1), [], by_lot=False).short == Decimal(1)


def test_empty_or_negative_bins_are_never_picked():
    stock = [Stock(1, "A-01", "", Decimal(0)), Stock(2, "B-01", "", Decimal(-3)),
             Stock(3, "C-01", "", Decimal(1))]
    assert _picks(plan(Decimal(1), stock, by_lot=False)) == [("C-01", "", Decimal(1))]


quantities = st.integers(min_value=0, max_value=40).map(Decimal)


@given(st.lists(quantities, max_size=8), st.integers(min_value=1, max_value=120).map(Decimal),
       st.booleans())
def test_a_plan_takes_exactly_what_is_wanted_or_everything_there_is(qtys, wanted, by_lot):
    stock = [Stock(i, f"B-{i:02d}", f"L{i % 3}" if by_lot else "", q,
                   date(2030, 1, 1 + i % 3) if i % 2 else None, received=i)
             for i, q in enumerate(qtys)]
    result = plan(wanted, stock, by_lot=by_lot)
    taken = sum((p.qty for p in result.picks), Decimal(0))
    assert taken + result.short == wanted
    assert taken == min(wanted, sum(qtys, Decimal(0)))
    free = {s.location: s.qty for s in stock}
    assert all(0 < p.qty <= free[p.location] for p in result.picks)
    assert len({p.location for p in result.picks}) == len(result.picks)
