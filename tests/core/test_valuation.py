"""Moving-average and FIFO valuation, checked against published worked examples."""

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from cangliu.core.valuation import (
    EMPTY,
    Layer,
    Layers,
    NotHeld,
    Position,
    enter,
    fifo_enter,
    fifo_leave,
    fifo_peek,
    fifo_position,
    fifo_reconcile,
    leave,
)

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


def test_a_reversal_enters_at_exactly_the_value_it_is_given():
    pos, cost = enter(EMPTY, D(3), D("3.333333"), D(10))
    assert cost == D("3.333333") and pos == Position(D(3), D(10))


# --- FIFO ----------------------------------------------------------------------------------------


def _receive(layers: Layers, *lots: tuple[int, str]) -> Layers:
    for qty, cost in lots:
        layers, _cost, _value = fifo_enter(layers, D(qty), D(cost), f"R{len(layers)}")
    return layers


def test_fifo_follows_the_simplestudies_perpetual_example():
    # simplestudies.com, "Accounting for inventories", §3.1 "Example of FIFO cost flow method
    # under perpetual system": 50 units at $10, buy 100 at $12, sell 120 → COGS 50×10 + 70×12 =
    # $1,340; buy 60 at $14, sell 70 → COGS 30×12 + 40×14 = $920; ending 20 units at $14 = $280.
    layers = _receive((), (50, "10"), (100, "12"))
    layers, cost, value = fifo_leave(layers, D(120))
    assert value == D(1340) and cost == D("11.166667")
    layers = _receive(layers, (60, "14"))
    layers, _cost, value = fifo_leave(layers, D(70))
    assert value == D(920)
    assert fifo_position(layers) == Position(D(20), D(280))
    assert [la.unit_cost for la in layers if la.qty] == [D(14)]


def test_fifo_follows_the_warren_reeve_duchac_perpetual_exercise():
    # Warren, Reeve & Duchac, Accounting, ch. "Inventories", exercise "Perpetual inventory using
    # FIFO" (as posted on solutioninn.com, question 9170511): 4,000 units at $40; sell 2,300;
    # buy 4,400 at $45; sell 4,900; buy 1,900 at $48. COGS 2,300×40 = $92,000, then
    # 1,700×40 + 3,200×45 = $212,000; ending 1,200×45 + 1,900×48 = $145,200 for 3,100 units.
    layers = _receive((), (4000, "40"))
    layers, _cost, first = fifo_leave(layers, D(2300))
    layers = _receive(layers, (4400, "45"))
    layers, _cost, second = fifo_leave(layers, D(4900))
    layers = _receive(layers, (1900, "48"))
    assert (first, second) == (D(92000), D(212000))
    assert fifo_position(layers) == Position(D(3100), D(145200))


def test_a_sale_spanning_three_layers_carries_the_sum_of_its_slices():
    # qammunity.org/11461975 (a worked FIFO answer): 10 units at $14, 10 at $26, 6 at $21;
    # selling 23 takes 10×14 + 10×26 + 3×21 = $463.
    layers = _receive((), (10, "14"), (10, "26"), (6, "21"))
    layers, cost, value = fifo_leave(layers, D(23))
    assert value == D(463) and cost == D("20.130435")  # 463 / 23, rounded to the millionth
    assert fifo_position(layers) == Position(D(3), D(63))


def test_fifo_follows_the_chocolate_inc_example():
    # "Chocolate Inc." FIFO perpetual question (smartsolve.ai): 3 @ $12, buy 17 @ $15, sell 12
    # → 3×12 + 9×15 = $171.
    layers = _receive((), (3, "12"), (17, "15"))
    _layers, _cost, value = fifo_leave(layers, D(12))
    assert value == D(171)


def test_the_last_unit_of_a_layer_takes_exactly_what_is_left():
    layers, cost, value = fifo_enter((), D(3), None, "R0", None)
    assert (cost, value) == (D(0), D(0))
    layers, cost, _value = fifo_enter((), D(3), D("3.333333"), "R1", D(10))  # a reversal
    values = []
    for _ in range(3):
        layers, _cost, value = fifo_leave(layers, D(1))
        values.append(value)
    assert values == [D("3.333333"), D("3.333333"), D("3.333334")]
    assert fifo_position(layers) == EMPTY


def test_a_slice_never_takes_more_value_than_its_layer_holds():
    # 1,000 units worth 0.0006 cost 0.000001 each once rounded: 999 of them would be 0.000999.
    layers, cost, _value = fifo_enter((), D(1000), D("0.0000006"), "R0", D("0.0006"))
    layers, _cost, value = fifo_leave(layers, D(999))
    assert cost == D("0.000001") and value == D("0.0006")
    assert fifo_position(layers) == Position(D(1), D(0))


def test_a_return_to_the_supplier_leaves_from_its_own_receipt_then_oldest_first():
    layers = _receive((), (10, "2"), (10, "3"), (10, "5"))
    layers, cost, value = fifo_leave(layers, D(4), source="R1")
    assert (cost, value) == (D(3), D(12))
    layers, _cost, value = fifo_leave(layers, D(8), source="R1")  # 6 left in R1, then R0
    assert value == D(6 * 3 + 2 * 2)
    assert [la.qty for la in layers] == [D(8), D(0), D(10)]


def test_stock_entering_without_a_cost_under_fifo_enters_at_the_average_held():
    layers = _receive((), (1, "2"), (1, "4"))
    layers, cost, value = fifo_enter(layers, D(2), None, "R9")
    assert (cost, value) == (D(3), D(6))


def test_moving_inside_the_company_costs_the_oldest_layers_and_consumes_nothing():
    layers = _receive((), (2, "1"), (2, "4"))
    assert fifo_peek(layers, D(3)) == (D(2), D(6))  # 2×1 + 1×4
    assert fifo_peek(layers, D(6)) == (D(3), D(18))  # beyond the layers at the newest cost: +2×4
    assert fifo_peek((), D(1)) == (D(0), D(0))
    assert fifo_position(layers) == Position(D(4), D(10))


def test_leaving_more_than_the_layers_hold_is_refused():
    layers = _receive((), (2, "1"))
    with pytest.raises(NotHeld) as short:
        fifo_leave(layers, D(3))
    assert short.value.held == D(2)


def test_layers_that_disagree_with_the_position_become_one_opening_layer():
    layers = _receive((), (2, "1"))
    assert fifo_reconcile(layers, Position(D(2), D(2))) == layers
    stored = tuple(Layer(la.source, la.qty, la.value, la.unit_cost, la.entered, 7) for la in layers)
    healed = fifo_reconcile(stored, Position(D(5), D(20)))
    assert [(la.id, la.qty, la.value) for la in healed] == [(7, D(0), D(0)), (None, D(5), D(20))]
    assert healed[1].unit_cost == D(4) and healed[1].source is None
    assert fifo_position(fifo_reconcile(stored, EMPTY)) == EMPTY


_FIFO_OPS = st.lists(st.tuples(st.sampled_from(["in", "in_at_value", "out", "return"]),
                               st.integers(1, 50), st.integers(0, 99_999), st.integers(1, 7)),
                     max_size=40)


@given(_FIFO_OPS)
def test_fifo_values_never_go_negative_empty_to_zero_and_add_up(ops):
    layers: Layers = ()
    put_in = taken_out = D(0)
    for kind, qty, cents, divisor in ops:
        held = fifo_position(layers).qty
        if kind == "in":
            # odd unit costs (e.g. 7/3 cents) make the rounding of every slice count
            cost = (D(cents) / 100 / divisor).quantize(D("0.000001"))
            layers, _cost, value = fifo_enter(layers, D(qty), cost, f"R{len(layers)}")
            put_in += value
        elif kind == "in_at_value":  # a reversal: an exact value that qty × unit cost misses
            value = D(cents) / 100
            cost = (value / qty).quantize(D("0.000001"))
            layers, _cost, entered = fifo_enter(layers, D(qty), cost, f"R{len(layers)}", value)
            assert entered == value
            put_in += value
        elif held >= qty:
            source = f"R{cents % (len(layers) or 1)}" if kind == "return" else None
            peeked = fifo_peek(layers, D(qty))
            layers, cost, value = fifo_leave(layers, D(qty), source)
            assert source is not None or (cost, value) == peeked
            assert value >= 0
            taken_out += value
        pos = fifo_position(layers)
        assert all(la.value >= 0 and la.qty >= 0 for la in layers)
        assert pos.qty > 0 or pos.value == 0
        assert taken_out + pos.value == put_in
    if fifo_position(layers).qty:
        layers, _cost, _value = fifo_leave(layers, fifo_position(layers).qty)
    assert fifo_position(layers) == EMPTY and all(la.value == 0 for la in layers)
