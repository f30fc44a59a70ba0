"""The pure ledger: quantities, allowed flows, reversing entries, allocation and balance replay."""

from collections import defaultdict
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from cangliu.core.errors import ValidationFailed
from cangliu.core.ledger import (
    BalanceDiff,
    Free,
    Move,
    Operation,
    StockStatus,
    allocate,
    balance_deltas,
    check_flow,
    compare,
    parse_qty,
    replay,
    reverse,
)
from cangliu.core.locations import LocationKind

K = LocationKind


def fields_of(exc: pytest.ExceptionInfo[ValidationFailed]) -> list[str]:
    return [e.field for e in exc.value.errors]


# --- parse_qty -------------------------------------------------------------------------------


@pytest.mark.parametrize("raw", ["0", 0, "0.000", "-0", Decimal("0E-6")])
def test_zero_quantity_is_refused(raw):
    with pytest.raises(ValidationFailed) as exc:
        parse_qty(raw, field="qty")
    assert fields_of(exc) == ["qty"]
    assert exc.value.errors[0].message == "must be greater than 0"


@pytest.mark.parametrize("raw", ["-1", -3, "-0.5", Decimal("-0.000001")])
def test_negative_quantity_is_refused(raw):
    with pytest.raises(ValidationFailed) as exc:
        parse_qty(raw, field="qty")
    assert exc.value.errors[0].message == "must be greater than 0"


@pytest.mark.parametrize("raw", ["abc", "", "  ", None, "1,5", "五", "1.2.3", "0x10", True])
def test_non_numeric_quantity_is_refused(raw):
    with pytest.raises(ValidationFailed) as exc:
        parse_qty(raw, field="qty")
    assert fields_of(exc) == ["qty"]
    assert exc.value.errors[0].message == "must be a number"


@pytest.mark.parametrize("raw", ["NaN", "-nan", "sNaN", "Infinity", "-inf", Decimal("NaN"),
                                 float("nan"), float("inf")])
def test_nan_and_infinity_are_not_quantities(raw):
    with pytest.raises(ValidationFailed) as exc:
        parse_qty(raw, field="qty")
    assert exc.value.errors[0].message == "must be a number"


@pytest.mark.parametrize(("raw", "decimals"), [("1.5", 0), ("0.1", 0), ("1.0005", 3),
                                               ("2.25", 1), ("1.0000001", 6)])
def test_more_decimal_places_than_the_sku_allows_are_refused(raw, decimals):
    with pytest.raises(ValidationFailed) as exc:
        parse_qty(raw, field="qty", decimals=decimals)
    assert exc.value.errors[0].params == {"decimals": str(decimals)}


def test_seven_decimal_places_are_refused_even_without_a_sku_limit():
    with pytest.raises(ValidationFailed):
        parse_qty("0.0000001", field="qty")


def test_absurdly_large_quantity_is_refused():
    with pytest.raises(ValidationFailed) as exc:
        parse_qty("1000000000000", field="qty")
    assert exc.value.errors[0].message == "is too large"


@pytest.mark.parametrize(("raw", "decimals", "expected"), [
    ("10", 0, Decimal(10)), (7, 0, Decimal(7)), (" 12 ", 0, Decimal(12)),
    ("10.000", 0, Decimal(10)),  # trailing zeros are not decimal places
    ("1.005", 3, Decimal("1.005")), ("0.001", 3, Decimal("0.001")),
    (Decimal("2.5"), 1, Decimal("2.5")), ("0.000001", 6, Decimal("0.000001")),
    ("999999999999", 0, Decimal("999999999999")),
])
def test_valid_quantities_are_accepted_as_exact_decimals(raw, decimals, expected):
    qty = parse_qty(raw, field="qty", decimals=decimals)
    assert isinstance(qty, Decimal)
    assert qty == expected


def test_the_error_names_the_field_the_caller_gave():
    with pytest.raises(ValidationFailed) as exc:
        parse_qty("x", field="lines[2].qty")
    assert fields_of(exc) == ["lines[2].qty"]


@given(units=st.integers(min_value=1, max_value=10**9), decimals=st.integers(0, 6))
def test_any_positive_quantity_within_the_sku_precision_round_trips(units, decimals):
    qty = Decimal(units).scaleb(-decimals)
    assert parse_qty(str(qty), field="qty", decimals=decimals) == qty


@given(units=st.integers(min_value=1, max_value=10**6), decimals=st.integers(0, 5))
def test_one_place_more_than_allowed_is_always_refused(units, decimals):
    qty = Decimal(units * 10 + 1).scaleb(-(decimals + 1))  # last digit non-zero
    with pytest.raises(ValidationFailed):
        parse_qty(str(qty), field="qty", decimals=decimals)


# --- check_flow --------------------------------------------------------------------------------


def test_issuing_from_a_supplier_is_refused_naming_the_source_field():
    with pytest.raises(ValidationFailed) as exc:
        check_flow(Operation.ISSUE, K.SUPPLIER, K.CUSTOMER)
    assert fields_of(exc) == ["from"]
    assert exc.value.errors[0].params == {"kind": "supplier"}


def test_issuing_into_a_supplier_is_refused_naming_the_target_field():
    with pytest.raises(ValidationFailed) as exc:
        check_flow(Operation.ISSUE, K.SITE, K.SUPPLIER, dst_field="customer")
    assert fields_of(exc) == ["customer"]


def test_a_receipt_from_a_customer_into_a_supplier_reports_both_ends():
    with pytest.raises(ValidationFailed) as exc:
        check_flow(Operation.RECEIVE, K.CUSTOMER, K.SUPPLIER, src_field="source",
                   dst_field="site")
    assert fields_of(exc) == ["source", "site"]


@pytest.mark.parametrize(("operation", "src", "dst"), [
    (Operation.RECEIVE, K.TRANSIT, K.SITE), (Operation.RECEIVE, K.SUPPLIER, K.CUSTOMER),
    (Operation.MOVE, K.BIN, K.CUSTOMER), (Operation.MOVE, K.SUPPLIER, K.BIN),
    (Operation.MOVE, K.BIN, K.TRANSIT), (Operation.STATUS, K.SCRAP, K.SITE),
    (Operation.ISSUE, K.ADJUSTMENT, K.CUSTOMER), (Operation.ISSUE, K.ZONE, K.SCRAP),
])
def test_flows_outside_the_operation_are_refused(operation, src, dst):
    with pytest.raises(ValidationFailed):
        check_flow(operation, src, dst)


@pytest.mark.parametrize(("operation", "src", "dst"), [
    (Operation.RECEIVE, K.SUPPLIER, K.SITE), (Operation.RECEIVE, K.SUPPLIER, K.BIN),
    (Operation.ISSUE, K.BIN, K.CUSTOMER), (Operation.ISSUE, K.ZONE, K.CUSTOMER),
    (Operation.MOVE, K.SITE, K.BIN), (Operation.MOVE, K.BIN, K.SITE),
    (Operation.STATUS, K.BIN, K.BIN),
    # a reversal runs an operation backwards, so it must not be held to the forward flows
    (Operation.REVERSAL, K.SITE, K.SUPPLIER), (Operation.REVERSAL, K.CUSTOMER, K.BIN),
])
def test_flows_the_operation_allows_pass(operation, src, dst):
    check_flow(operation, src, dst)


# --- reverse ------------------------------------------------------------------------------------


def test_the_reversing_entry_swaps_locations_and_statuses_and_keeps_the_rest():
    m = Move(3, Decimal("2.5"), 10, 11, StockStatus.AVAILABLE, StockStatus.QUALITY_HOLD,
             lot="L1", serial="SN1", unit_cost=Decimal("4.20"))
    r = reverse(m)
    assert (r.from_location, r.to_location) == (11, 10)
    assert (r.from_status, r.to_status) == (StockStatus.QUALITY_HOLD, StockStatus.AVAILABLE)
    assert (r.sku_id, r.qty, r.lot, r.serial, r.unit_cost) == (3, Decimal("2.5"), "L1", "SN1",
                                                                Decimal("4.20"))
    assert reverse(r) == m


# --- allocate -----------------------------------------------------------------------------------


def test_allocation_takes_from_the_candidates_in_their_order():
    picked = allocate(Decimal(7), [Free(1, "", Decimal(5)), Free(2, "", Decimal(5)),
                                   Free(3, "", Decimal(5))])
    assert picked == [Free(1, "", Decimal(5)), Free(2, "", Decimal(2))]


def test_allocation_of_exactly_what_is_free_takes_everything():
    picked = allocate(Decimal("1.5"), [Free(1, "A", Decimal("1")), Free(1, "B", Decimal("0.5"))])
    assert picked == [Free(1, "A", Decimal("1")), Free(1, "B", Decimal("0.5"))]


def test_allocation_returns_none_when_the_candidates_hold_too_little():
    assert allocate(Decimal(11), [Free(1, "", Decimal(5)), Free(2, "", Decimal(5))]) is None
    assert allocate(Decimal(1), []) is None


def test_allocation_skips_empty_and_negative_candidates():
    picked = allocate(Decimal(3), [Free(1, "", Decimal(0)), Free(2, "", Decimal(-4)),
                                   Free(3, "", Decimal(3))])
    assert picked == [Free(3, "", Decimal(3))]


@given(wanted=st.integers(1, 200), frees=st.lists(st.integers(-5, 50), max_size=8))
def test_allocation_takes_exactly_the_wanted_quantity_or_nothing(wanted, frees):
    candidates = [Free(i, "", Decimal(q)) for i, q in enumerate(frees)]
    picked = allocate(Decimal(wanted), candidates)
    if sum(q for q in frees if q > 0) < wanted:
        assert picked is None
    else:
        assert picked is not None
        assert sum(p.qty for p in picked) == wanted
        assert all(0 < p.qty <= Decimal(frees[p.location]) for p in picked)


# --- balance_deltas and replay -----------------------------------------------------------------

SUPPLIER, CUSTOMER = 1, 2  # virtual: no balances
STOCKED = {5, 6, 7}


def stocked(lid: int) -> bool:
    return lid in STOCKED


def test_balance_deltas_come_in_key_order_whatever_the_move_order():
    moves = [Move(2, Decimal(1), SUPPLIER, 7), Move(1, Decimal(1), SUPPLIER, 6),
             Move(1, Decimal(1), SUPPLIER, 5, lot="B"), Move(1, Decimal(1), SUPPLIER, 5, lot="A")]
    keys = [k for k, _ in balance_deltas(moves, stocked)]
    assert keys == [(1, 5, "A", "available"), (1, 5, "B", "available"), (1, 6, "", "available"),
                    (2, 7, "", "available")]


def test_balance_deltas_net_out_within_one_posting_and_skip_virtual_locations():
    moves = [Move(1, Decimal(4), SUPPLIER, 5), Move(1, Decimal(4), 5, 6),
             Move(1, Decimal(1), 6, CUSTOMER)]
    assert balance_deltas(moves, stocked) == [((1, 6, "", "available"), Decimal(3))]


def test_a_status_change_moves_stock_between_two_balances_of_one_location():
    m = Move(1, Decimal(2), 5, 5, StockStatus.AVAILABLE, StockStatus.DAMAGED)
    assert balance_deltas([m], stocked) == [((1, 5, "", "available"), Decimal(-2)),
                                            ((1, 5, "", "damaged"), Decimal(2))]


def test_compare_lists_only_the_balances_that_differ_in_key_order():
    expected = {(1, 5, "", "available"): Decimal(3), (1, 6, "", "available"): Decimal(1)}
    actual = {(1, 5, "", "available"): Decimal(3), (1, 7, "", "damaged"): Decimal(2),
              (1, 6, "", "available"): Decimal(2)}
    assert compare(expected, actual) == [
        BalanceDiff((1, 6, "", "available"), Decimal(1), Decimal(2)),
        BalanceDiff((1, 7, "", "damaged"), Decimal(0), Decimal(2)),
    ]


quantities = st.decimals(min_value=Decimal("0.000001"), max_value=Decimal(10**6), places=6)
statuses = st.sampled_from(list(StockStatus))


@st.composite
def moves(draw: st.DrawFn) -> Move:
    src = draw(st.integers(1, 7))
    dst = draw(st.integers(1, 7))
    from_status, to_status = draw(statuses), draw(statuses)
    if src == dst and from_status == to_status:
        to_status = next(s for s in StockStatus if s != from_status)
    return Move(draw(st.integers(1, 3)), draw(quantities), src, dst, from_status, to_status,
                lot=draw(st.sampled_from(["", "L1", "L2"])))


@given(st.lists(moves(), max_size=40))
def test_every_skus_moves_sum_to_zero_across_all_locations(ms):
    per_sku: dict[int, Decimal] = defaultdict(Decimal)
    for (sku_id, _loc, _lot, _status), qty in replay(ms, lambda _: True).items():
        per_sku[sku_id] += qty
    assert all(total == 0 for total in per_sku.values())


@given(st.lists(moves(), max_size=40))
def test_a_ledger_followed_by_all_its_reversals_leaves_no_balance(ms):
    assert replay(ms + [reverse(m) for m in ms], lambda _: True) == {}
    assert replay(ms + [reverse(m) for m in reversed(ms)], stocked) == {}


@given(st.lists(moves(), max_size=40))
def test_replay_keeps_no_zero_balances_and_only_stocked_locations(ms):
    balances = replay(ms, stocked)
    assert all(qty != 0 and key[1] in STOCKED for key, qty in balances.items())


@given(st.lists(moves(), max_size=20), st.lists(moves(), max_size=20))
def test_replaying_in_two_batches_gives_the_same_balances_as_one(first, second):
    merged: dict = defaultdict(Decimal)
    for part in (first, second):
        for key, qty in replay(part, stocked).items():
            merged[key] += qty
    assert {k: v for k, v in merged.items() if v} == replay(first + second, stocked)
