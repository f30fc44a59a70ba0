"""Moving-average valuation, checked against published worked examples."""

from decimal import Decimal

from hypothesis import given
from hypothesis import strategies as st

from cangliu.core.valuation import EMPTY, enter, leave

D = Decimal


def test_moving_average_follows_the_instantcert_perpetual_example():
    # InstantCert Academy, Accounting lesson 318 "average cost method ... perpetual system"
    # (instantcertcredit.com/courses/5/lesson/318): 500 units worth $1,200 → $2.40 average;
    # sell 300 → COGS $720; buy 100 at $3.50 → $830 for 300 units; sell 250; buy 300 at $4.
    # The lesson rounds the average to $2.77 (COGS $692.50, ending $1,338.50); unrounded the
    # average is 2.766667, COGS $691.67 and ending inventory $1,338.33.
    pos, _ = enter(EMPTY, D(500), D("2.40"))
    pos, cost = leave(pos, D(300))
    assert cost * 300 == D("720.00") and pos.value == D("480.00")
    pos, _ = enter(pos, D(100), D("3.50"))
    assert pos.value == D("830.00") and pos.average == D("2.766667")
    pos, cost = leave(pos, D(250))
    assert (cost * 250).quantize(D("0.01")) == D("691.67")
    pos, _ = enter(pos, D(300), D(4))
    assert pos.qty == 350 and pos.value.quantize(D("0.01")) == D("1338.33")


def test_moving_average_follows_the_waterway_industries_exercise():
    # Kieso, Weygandt & Warfield, Intermediate Accounting, ch. 8 exercise "Waterway Industries"
    # (worked on quizlet.com/634164174): 9,200 at $9.71, buy 6,300 at $10.23, sell 7,400,
    # buy 8,200 at $10.69, sell 11,100 → ending inventory $53,602 under moving average.
    pos, _ = enter(EMPTY, D(9200), D("9.71"))
    pos, _ = enter(pos, D(6300), D("10.23"))
    pos, _ = leave(pos, D(7400))
    pos, _ = enter(pos, D(8200), D("10.69"))
    pos, _ = leave(pos, D(11100))
    assert pos.qty == 5200 and pos.value.quantize(D(1)) == D(53602)


def test_value_is_exactly_zero_when_the_last_unit_leaves():
    pos, _ = enter(EMPTY, D(3), D(1))
    pos, _ = enter(pos, D(3), D(2))  # average 1.5
    pos, _ = leave(pos, D(1))
    pos, _ = leave(pos, D(1))
    pos, last = leave(pos, D(4))
    assert pos == EMPTY and last == D("1.5")


def test_stock_entering_without_a_cost_enters_at_the_average():
    pos, _ = enter(EMPTY, D(10), D(4))
    pos, cost = enter(pos, D(2), None)
    assert cost == D(4) and pos.average == D(4)


@given(st.lists(st.tuples(st.booleans(), st.integers(1, 50), st.integers(1, 999)), max_size=40))
def test_value_never_goes_negative_and_empties_to_zero(ops):
    pos = EMPTY
    for incoming, qty, cents in ops:
        if incoming:
            pos, _ = enter(pos, D(qty), D(cents) / 100)
        elif pos.qty >= qty:
            pos, _ = leave(pos, D(qty))
        assert pos.value >= 0 and (pos.qty > 0 or pos.value == 0)
    if pos.qty:
        pos, _ = leave(pos, pos.qty)
    assert pos == EMPTY
