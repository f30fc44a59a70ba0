"""Put-away planning by free bin capacity, without a database."""

from decimal import Decimal

from hypothesis import given
from hypothesis import strategies as st

from cangliu.core.putaway import BinLoad, Placement, Unit, plan_putaway, room

D = Decimal
BOX = Unit(volume=D("2"), weight=D("5"))


def test_the_bin_with_most_free_room_takes_everything_when_it_fits():
    bins = [BinLoad("A1", D("100"), None, used_volume=D("90")),
            BinLoad("A2", D("100"), None, used_volume=D("10")),
            BinLoad("A3", D("50"), None)]
    plan = plan_putaway(D("20"), BOX, bins)
    assert plan.placements == (Placement("A2", D("20")),) and plan.unplaced == 0


def test_bins_already_holding_the_sku_come_first_even_with_less_room():
    bins = [BinLoad("A1", D("100"), None), BinLoad("B7", D("20"), None, D("10"), holds_sku=True)]
    plan = plan_putaway(D("8"), BOX, bins)
    # B7 has room for 5 boxes of 2 l: the rest goes to the emptiest other bin.
    assert plan.placements == (Placement("B7", D("5")), Placement("A1", D("3")))


def test_weight_limits_a_bin_when_it_runs_out_before_volume():
    heavy = BinLoad("H1", capacity_volume=D("1000"), capacity_weight=D("50"), used_weight=D("30"))
    assert room(heavy, BOX) == D("4")  # 20 kg free / 5 kg a box
    plan = plan_putaway(D("6"), BOX, [heavy, BinLoad("H2", D("1000"), D("100"))])
    assert plan.placements == (Placement("H2", D("6")),)


def test_what_no_bin_can_take_is_left_unplaced():
    bins = [BinLoad("A1", D("4")), BinLoad("A2", D("7"), used_volume=D("1"))]
    plan = plan_putaway(D("10"), BOX, bins)
    assert plan.placements == (Placement("A2", D("3")), Placement("A1", D("2")))
    assert plan.unplaced == D("5")


def test_full_and_overfull_bins_take_nothing():
    bins = [BinLoad("A1", D("10"), used_volume=D("12")), BinLoad("A2", D("10"), used_volume=D("10"))]
    plan = plan_putaway(D("1"), Unit(), bins)
    assert plan.placements == () and plan.unplaced == D("1")


def test_bins_without_capacity_are_unlimited_only_when_no_bin_has_capacity():
    unsized = [BinLoad("Z9"), BinLoad("A1"), BinLoad("M2", holds_sku=True)]
    assert plan_putaway(D("500"), BOX, unsized).placements == (Placement("M2", D("500")),)
    assert plan_putaway(D("5"), BOX, unsized[:2]).placements == (Placement("A1", D("5")),)
    mixed = [BinLoad("Z9"), BinLoad("A1", D("6"))]
    plan = plan_putaway(D("5"), BOX, mixed)
    assert plan.placements == (Placement("A1", D("3")),) and plan.unplaced == D("2")


def test_a_sku_of_unknown_size_goes_to_the_emptiest_sized_bin():
    bins = [BinLoad("A1", D("100"), used_volume=D("60")), BinLoad("A2", D("100"), used_volume=D("5"))]
    assert plan_putaway(D("40"), Unit(), bins).placements == (Placement("A2", D("40")),)


def test_divisible_skus_fill_a_bin_to_their_decimal_places():
    rice = Unit(weight=D("1"), decimals=3)
    bins = [BinLoad("R1", capacity_weight=D("2.5")), BinLoad("R2", capacity_weight=D("1.2345"))]
    plan = plan_putaway(D("3.7"), rice, bins)
    assert plan.placements == (Placement("R1", D("2.500")), Placement("R2", D("1.2")))
    assert room(bins[1], rice) == D("1.234")


bin_strategy = st.builds(
    BinLoad, code=st.text("ABCDEFGH0123456789", min_size=1, max_size=4),
    capacity_volume=st.none() | st.decimals(0, 500, places=1),
    capacity_weight=st.none() | st.decimals(0, 500, places=1),
    used_volume=st.decimals(0, 600, places=1), used_weight=st.decimals(0, 600, places=1),
    holds_sku=st.booleans())


@given(qty=st.integers(1, 1000), bins=st.lists(bin_strategy, max_size=8, unique_by=lambda b: b.code),
       volume=st.none() | st.decimals("0.1", 20, places=1),
       weight=st.none() | st.decimals("0.1", 20, places=1))
def test_a_plan_never_overfills_a_bin_and_accounts_for_every_unit(qty, bins, volume, weight):
    unit = Unit(volume, weight)
    plan = plan_putaway(D(qty), unit, bins)
    assert sum((p.qty for p in plan.placements), D(0)) + plan.unplaced == qty
    assert plan.unplaced >= 0 and all(p.qty > 0 for p in plan.placements)
    by_code = {b.code: b for b in bins}
    for p in plan.placements:
        fits = room(by_code[p.bin], unit)
        assert fits is None or p.qty <= fits
    if any(b.capacity_volume is not None or b.capacity_weight is not None for b in bins):
        assert all(by_code[p.bin].sized for p in plan.placements)
