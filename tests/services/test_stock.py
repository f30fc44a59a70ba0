"""Stock operations as a user sees them: what moves, what is refused, and that refusals write nothing.

Every test runs on SQLite and PostgreSQL (the ``db`` fixture) and ends with a ledger that
``verify`` finds consistent with the balances and reservations.
"""

from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from cangliu.core.errors import (
    Conflict,
    IdempotencyMismatch,
    InsufficientStock,
    NotFound,
    ValidationFailed,
)
from cangliu.core.ledger import StockStatus
from cangliu.db.models import Lot, Reservation, Sku, StockMove
from cangliu.db.queries import move_history, single_view
from cangliu.services import auth, masterdata, reservations, stock
from cangliu.services.postings import Meta
from cangliu.services.stock import Line
from cangliu.services.verify import verify

AVAILABLE, HOLD, DAMAGED = StockStatus.AVAILABLE, StockStatus.QUALITY_HOLD, StockStatus.DAMAGED
SKUS = ("SKU-1", "SKU-KG", "SKU-LOT")

@pytest.fixture(autouse=True)
def ledger_stays_consistent(db):
    """Whatever a test did or had refused, the balances still equal the ledger replay."""
    yield
    report = verify(db.uow())
    assert report.consistent, [report.describe(d) for d in
                               report.differences + report.reservation_differences]


def figures(db, sku: str, site: str) -> dict[str, Decimal]:
    with db.read() as s:
        rows = {r["site"]: r for r in single_view(s, sku)["sites"]}
    zero = Decimal(0)
    return rows.get(site, {"on_hand": zero, "reserved": zero, "available": zero,
                           "quality_hold": zero, "damaged": zero})


def available(db, sku: str, site: str) -> Decimal:
    return figures(db, sku, site)["available"]


def snapshot(db) -> tuple:
    """Everything a refused request must leave untouched."""
    report = verify(db.uow())
    with db.read() as s:
        views = [single_view(s, code) for code in SKUS]
        reservation_count = s.scalar(select(func.count()).select_from(Reservation))
        lot_count = s.scalar(select(func.count()).select_from(Lot))
    return report.moves, report.balances, views, reservation_count, lot_count


def postings(db) -> int:
    with db.read() as s:
        return s.scalar(select(func.count(func.distinct(StockMove.ref))))


def field_of(exc: pytest.ExceptionInfo[ValidationFailed]) -> str:
    assert len(exc.value.errors) == 1, exc.value.errors
    return exc.value.errors[0].field


def add_bin(db, actor, code: str, parent: str) -> None:
    masterdata.create(db.uow(), actor, "location", {"code": code, "name": code, "kind": "bin",
                                                     "parent": parent})


def receive(db, meta, qty, *, site="WH", sku="SKU-1", **line) -> dict:
    return stock.receive(db.uow(), meta, site=site, lines=[Line(sku, qty, **line)])


def issue(db, meta, qty, *, site="WH", sku="SKU-1", reservation=None, **line) -> dict:
    return stock.issue(db.uow(), meta, site=site, lines=[Line(sku, qty, **line)],
                       reservation=reservation)


def hold(db, meta, qty, *, site="WH", sku="SKU-1", frm=AVAILABLE, to=HOLD) -> dict:
    return stock.change_status(db.uow(), meta, site=site, from_status=frm, to_status=to,
                               lines=[Line(sku, qty)])


def reserve(db, meta, qty, *, site="WH", sku="SKU-1") -> dict:
    return reservations.reserve(db.uow(), meta, sku=sku, site=site, qty=qty)


# --- receive ---------------------------------------------------------------------------------


def test_a_receipt_puts_stock_on_hand_and_available_at_the_site(db, meta):
    result = receive(db, meta, "10")
    assert result["moves"] == [{"sku": "SKU-1", "qty": "10", "from": "@supplier", "to": "WH",
                                "from_status": "available", "to_status": "available", "lot": "",
                                "unit_cost": "0", "value": "0"}]
    row = figures(db, "SKU-1", "WH")
    assert (row["on_hand"], row["available"], row["reserved"]) == (10, 10, 0)


def test_stock_received_into_a_bin_counts_towards_its_site(db, meta):
    receive(db, meta, "4", bin="WH-A1")
    receive(db, meta, "6")
    assert figures(db, "SKU-1", "WH")["on_hand"] == 10
    assert available(db, "SKU-1", "S1") == 0


def test_a_receipt_with_several_lines_is_one_posting(db, meta):
    result = stock.receive(db.uow(), meta, site="WH", lines=[
        Line("SKU-1", "3"), Line("SKU-KG", "2.5"), Line("SKU-LOT", "4", lot="L1")])
    assert {m["sku"] for m in result["moves"]} == set(SKUS)
    assert postings(db) == 1
    assert available(db, "SKU-KG", "WH") == Decimal("2.5")


def test_a_new_lot_is_registered_with_its_expiry_from_the_shelf_life(db, network):
    meta = Meta(actor=network, reason="test", occurred_at=datetime(2026, 3, 1, 8, tzinfo=UTC))
    receive(db, meta, "5", sku="SKU-LOT", lot="L-0301")
    with db.read() as s:
        lot = s.scalars(select(Lot).where(Lot.code == "L-0301")).one()
    assert (lot.production_date, lot.expiry_date) == (date(2026, 3, 1), date(2026, 3, 15))


def test_an_explicit_expiry_date_wins_over_the_shelf_life(db, meta):
    stock.receive(db.uow(), meta, site="WH", lines=[Line("SKU-LOT", "5", lot="L9")],
                  expiry_date=date(2030, 1, 1))
    with db.read() as s:
        assert s.scalar(select(Lot.expiry_date).where(Lot.code == "L9")) == date(2030, 1, 1)


# --- issue ----------------------------------------------------------------------------------


def test_an_issue_ships_stock_to_the_customer(db, meta):
    receive(db, meta, "10")
    result = issue(db, meta, "3")
    assert [(m["from"], m["to"], m["qty"]) for m in result["moves"]] == [("WH", "@customer", "3")]
    assert figures(db, "SKU-1", "WH")["on_hand"] == 7


def test_an_issue_from_an_empty_site_fails_with_insufficient_stock(db, meta):
    receive(db, meta, "5", site="S1")
    before = snapshot(db)
    with pytest.raises(InsufficientStock) as exc:
        issue(db, meta, "1")
    assert (exc.value.sku, exc.value.location, exc.value.available) == ("SKU-1", "WH", 0)
    assert snapshot(db) == before


def test_an_issue_cannot_take_more_than_is_available_at_the_site(db, meta):
    receive(db, meta, "10")
    before = snapshot(db)
    with pytest.raises(InsufficientStock) as exc:
        issue(db, meta, "11")
    assert (exc.value.requested, exc.value.available) == (11, 10)
    assert snapshot(db) == before


def test_an_issue_from_a_site_gathers_stock_from_all_its_bins(db, meta):
    receive(db, meta, "5", bin="WH-A1")
    receive(db, meta, "5")
    issue(db, meta, "8")
    assert available(db, "SKU-1", "WH") == 2


def test_an_issue_from_a_named_bin_is_limited_to_that_bin(db, meta):
    receive(db, meta, "2", bin="WH-A1")
    receive(db, meta, "50")
    with pytest.raises(InsufficientStock) as exc:
        issue(db, meta, "5", bin="WH-A1")
    assert (exc.value.location, exc.value.available) == ("WH-A1", 2)


def test_a_fractional_issue_beyond_stock_is_refused(db, meta):
    receive(db, meta, "1.5", sku="SKU-KG")
    with pytest.raises(InsufficientStock):
        issue(db, meta, "1.501", sku="SKU-KG")
    assert available(db, "SKU-KG", "WH") == Decimal("1.5")


def test_an_issue_of_a_lot_tracked_sku_takes_the_oldest_lot_first(db, meta):
    receive(db, meta, "3", sku="SKU-LOT", lot="OLD")
    receive(db, meta, "3", sku="SKU-LOT", lot="NEW")
    result = issue(db, meta, "2", sku="SKU-LOT")
    assert [(m["lot"], m["qty"]) for m in result["moves"]] == [("OLD", "2")]


def test_an_issue_naming_a_lot_takes_only_that_lot(db, meta):
    receive(db, meta, "3", sku="SKU-LOT", lot="L1")
    receive(db, meta, "5", sku="SKU-LOT", lot="L2")
    with pytest.raises(InsufficientStock):
        issue(db, meta, "4", sku="SKU-LOT", lot="L1")
    result = issue(db, meta, "4", sku="SKU-LOT", lot="L2")
    assert [(m["lot"], m["qty"]) for m in result["moves"]] == [("L2", "4")]


def test_a_site_that_allows_negative_stock_ships_more_than_it_holds(db, meta):
    receive(db, meta, "3", site="S2")
    issue(db, meta, "5", site="S2")
    row = figures(db, "SKU-1", "S2")
    assert (row["on_hand"], row["available"]) == (-2, -2)


def test_a_site_that_allows_negative_stock_ships_with_nothing_on_hand(db, meta):
    issue(db, meta, "4", site="S2")
    assert available(db, "SKU-1", "S2") == -4
    receive(db, meta, "10", site="S2")
    assert available(db, "SKU-1", "S2") == 6


# --- move ----------------------------------------------------------------------------------


def test_a_move_between_sites_takes_stock_from_one_and_gives_it_to_the_other(db, meta):
    receive(db, meta, "10")
    result = stock.move(db.uow(), meta, from_site="WH", to_site="S1", lines=[Line("SKU-1", "4")])
    assert [(m["from"], m["to"]) for m in result["moves"]] == [("WH", "S1")]
    assert (available(db, "SKU-1", "WH"), available(db, "SKU-1", "S1")) == (6, 4)


def test_a_move_between_bins_of_one_site_leaves_the_site_total_alone(db, meta, network):
    add_bin(db, network, "WH-A2", "WH")
    receive(db, meta, "10", bin="WH-A1")
    result = stock.move(db.uow(), meta, from_site="WH", to_site="WH",
                        lines=[Line("SKU-1", "4", bin="WH-A1", to_bin="WH-A2")])
    assert [(m["from"], m["to"], m["qty"]) for m in result["moves"]] == [("WH-A1", "WH-A2", "4")]
    assert figures(db, "SKU-1", "WH")["on_hand"] == 10
    stock.move(db.uow(), meta, from_site="WH", to_site="WH",
               lines=[Line("SKU-1", "4", bin="WH-A2", to_bin="WH-A1")])
    with pytest.raises(InsufficientStock) as exc:  # A2 is empty again
        stock.move(db.uow(), meta, from_site="WH", to_site="WH",
                   lines=[Line("SKU-1", "1", bin="WH-A2", to_bin="WH-A1")])
    assert exc.value.location == "WH-A2"


def test_a_move_onto_the_same_location_is_refused(db, meta):
    receive(db, meta, "10", bin="WH-A1")
    before = snapshot(db)
    with pytest.raises(ValidationFailed) as exc:
        stock.move(db.uow(), meta, from_site="WH", to_site="WH",
                   lines=[Line("SKU-1", "1", bin="WH-A1", to_bin="WH-A1")])
    assert field_of(exc) == "to_bin"
    assert snapshot(db) == before


def test_a_move_cannot_ship_more_than_available(db, meta):
    receive(db, meta, "3")
    with pytest.raises(InsufficientStock):
        stock.move(db.uow(), meta, from_site="WH", to_site="S1", lines=[Line("SKU-1", "4")])
    assert (available(db, "SKU-1", "WH"), available(db, "SKU-1", "S1")) == (3, 0)


def test_a_move_into_a_bin_of_another_site_is_refused_naming_the_target_bin(db, meta, network):
    add_bin(db, network, "S1-B1", "S1")
    receive(db, meta, "3")
    with pytest.raises(ValidationFailed) as exc:
        stock.move(db.uow(), meta, from_site="WH", to_site="WH",
                   lines=[Line("SKU-1", "1", to_bin="S1-B1")])
    assert field_of(exc) == "to_bin"


# --- adjust --------------------------------------------------------------------------------


def test_a_counted_gain_and_loss_are_booked_against_the_adjustment_location(db, network):
    meta = Meta(actor=network, reason="cycle count")
    gain = stock.adjust(db.uow(), meta, site="WH", gain=True, lines=[Line("SKU-1", "7")])
    loss = stock.adjust(db.uow(), meta, site="WH", gain=False, lines=[Line("SKU-1", "2")])
    assert (gain["moves"][0]["from"], loss["moves"][0]["to"]) == ("@adjustment", "@adjustment")
    assert available(db, "SKU-1", "WH") == 5
    with db.read() as s:
        assert {h["reason"] for h in move_history(s, "SKU-1")} == {"cycle count"}


@pytest.mark.parametrize("reason", ["", "   "])
def test_an_adjustment_without_a_reason_is_refused(db, network, reason):
    before = snapshot(db)
    with pytest.raises(ValidationFailed) as exc:
        stock.adjust(db.uow(), Meta(actor=network, reason=reason), site="WH", gain=True,
                     lines=[Line("SKU-1", "1")])
    assert field_of(exc) == "reason"
    assert snapshot(db) == before


def test_a_loss_from_an_empty_site_is_refused(db, meta):
    with pytest.raises(InsufficientStock):
        stock.adjust(db.uow(), meta, site="S1", gain=False, lines=[Line("SKU-1", "1")])


def test_a_gain_of_a_lot_tracked_sku_must_name_the_lot(db, meta):
    with pytest.raises(ValidationFailed) as exc:
        stock.adjust(db.uow(), meta, site="WH", gain=True, lines=[Line("SKU-LOT", "1")])
    assert field_of(exc) == "lot"


# --- status ----------------------------------------------------------------------------------


def test_stock_goes_from_available_to_quality_hold_to_damaged(db, meta):
    receive(db, meta, "10")
    hold(db, meta, "4")
    row = figures(db, "SKU-1", "WH")
    assert (row["on_hand"], row["available"], row["quality_hold"]) == (10, 6, 4)
    hold(db, meta, "3", frm=HOLD, to=DAMAGED)
    row = figures(db, "SKU-1", "WH")
    assert (row["on_hand"], row["available"], row["quality_hold"], row["damaged"]) == (10, 6, 1, 3)


def test_stock_on_hold_can_be_released_back_to_available(db, meta):
    receive(db, meta, "10")
    hold(db, meta, "10")
    hold(db, meta, "10", frm=HOLD, to=AVAILABLE)
    assert available(db, "SKU-1", "WH") == 10


def test_stock_on_quality_hold_cannot_be_issued(db, meta):
    receive(db, meta, "10")
    hold(db, meta, "10")
    with pytest.raises(InsufficientStock):
        issue(db, meta, "1")


def test_only_the_stock_not_on_hold_can_be_issued(db, meta):
    receive(db, meta, "10")
    hold(db, meta, "4")
    with pytest.raises(InsufficientStock):
        issue(db, meta, "7")
    issue(db, meta, "6")
    assert figures(db, "SKU-1", "WH")["quality_hold"] == 4


def test_nothing_can_be_marked_damaged_from_hold_when_nothing_is_on_hold(db, meta):
    receive(db, meta, "10")
    with pytest.raises(InsufficientStock):
        hold(db, meta, "1", frm=HOLD, to=DAMAGED)


def test_reserved_stock_cannot_be_put_on_hold(db, meta):
    receive(db, meta, "10")
    reserve(db, meta, "8")
    with pytest.raises(InsufficientStock):
        hold(db, meta, "5")
    assert figures(db, "SKU-1", "WH")["quality_hold"] == 0


def test_a_status_change_to_the_same_status_is_refused(db, meta):
    receive(db, meta, "10")
    with pytest.raises(ValidationFailed) as exc:
        hold(db, meta, "1", frm=AVAILABLE, to=AVAILABLE)
    assert field_of(exc) == "to_status"


# --- reservations ----------------------------------------------------------------------------


def test_a_reservation_holds_stock_without_moving_it_and_release_gives_it_back(db, meta):
    receive(db, meta, "10")
    res = reserve(db, meta, "6")
    assert (res["qty"], res["state"], res["site"]) == ("6", "open", "WH")
    row = figures(db, "SKU-1", "WH")
    assert (row["on_hand"], row["reserved"], row["available"]) == (10, 6, 4)
    released = reservations.release(db.uow(), meta, ref=res["ref"])
    assert released["state"] == "released"
    assert available(db, "SKU-1", "WH") == 10


def test_a_reservation_cannot_hold_more_than_is_free(db, meta):
    receive(db, meta, "10")
    reserve(db, meta, "7")
    before = snapshot(db)
    with pytest.raises(InsufficientStock) as exc:
        reserve(db, meta, "4")
    assert (exc.value.requested, exc.value.available) == (4, 3)
    assert snapshot(db) == before


def test_a_reservation_spans_the_bins_of_its_site(db, meta):
    receive(db, meta, "3", bin="WH-A1")
    receive(db, meta, "3")
    reserve(db, meta, "5")
    assert available(db, "SKU-1", "WH") == 1


def test_reserved_stock_cannot_be_issued_as_free_stock(db, meta):
    receive(db, meta, "10")
    reserve(db, meta, "10")
    with pytest.raises(InsufficientStock):
        issue(db, meta, "1")


def test_an_issue_against_a_reservation_ships_the_reserved_stock(db, meta):
    receive(db, meta, "10")
    res = reserve(db, meta, "6")
    issue(db, meta, "4", reservation=res["ref"])
    row = figures(db, "SKU-1", "WH")
    assert (row["on_hand"], row["reserved"], row["available"]) == (6, 2, 4)
    issue(db, meta, "2", reservation=res["ref"])
    assert figures(db, "SKU-1", "WH")["reserved"] == 0
    with pytest.raises(Conflict):  # fully consumed
        issue(db, meta, "1", reservation=res["ref"])


def test_an_issue_against_a_reservation_cannot_exceed_what_it_holds(db, meta):
    receive(db, meta, "10")
    res = reserve(db, meta, "3")
    with pytest.raises(ValidationFailed) as exc:
        issue(db, meta, "4", reservation=res["ref"])
    assert field_of(exc) == "qty"
    assert figures(db, "SKU-1", "WH")["reserved"] == 3


def test_an_issue_against_a_reservation_of_another_site_is_refused(db, meta):
    receive(db, meta, "10")
    receive(db, meta, "10", site="S1")
    res = reserve(db, meta, "3")
    with pytest.raises(ValidationFailed) as exc:
        issue(db, meta, "1", site="S1", reservation=res["ref"])
    assert field_of(exc) == "reservation"


def test_a_released_reservation_cannot_be_released_or_issued_again(db, meta):
    receive(db, meta, "10")
    res = reserve(db, meta, "3")
    reservations.release(db.uow(), meta, ref=res["ref"])
    with pytest.raises(Conflict):
        reservations.release(db.uow(), meta, ref=res["ref"])
    with pytest.raises(Conflict):
        issue(db, meta, "1", reservation=res["ref"])
    assert available(db, "SKU-1", "WH") == 10


def test_an_unknown_reservation_is_not_found(db, meta):
    with pytest.raises(NotFound):
        reservations.release(db.uow(), meta, ref="no-such-ref")


def test_a_site_that_allows_negative_stock_can_reserve_more_than_it_holds(db, meta):
    receive(db, meta, "2", site="S2")
    reserve(db, meta, "5", site="S2")
    assert available(db, "SKU-1", "S2") == -3


# --- reversals -------------------------------------------------------------------------------


def test_reversing_a_receipt_removes_the_stock_and_keeps_both_entries(db, meta):
    ref = receive(db, meta, "10")["ref"]
    reversal = stock.reverse_posting(db.uow(), meta, ref=ref)
    assert [(m["from"], m["to"]) for m in reversal["moves"]] == [("WH", "@supplier")]
    assert figures(db, "SKU-1", "WH")["on_hand"] == 0
    with db.read() as s:
        assert [h["operation"] for h in move_history(s, "SKU-1")] == ["reversal", "receive"]


def test_a_posting_cannot_be_reversed_twice(db, meta):
    receive(db, meta, "10")
    ref = receive(db, meta, "10")["ref"]
    stock.reverse_posting(db.uow(), meta, ref=ref)
    before = snapshot(db)
    with pytest.raises(Conflict):
        stock.reverse_posting(db.uow(), meta, ref=ref)
    assert snapshot(db) == before
    assert available(db, "SKU-1", "WH") == 10


def test_a_reversal_cannot_itself_be_reversed(db, meta):
    ref = receive(db, meta, "10")["ref"]
    reversal = stock.reverse_posting(db.uow(), meta, ref=ref)
    with pytest.raises(Conflict):
        stock.reverse_posting(db.uow(), meta, ref=reversal["ref"])


def test_reversing_a_receipt_whose_stock_was_issued_fails(db, meta):
    ref = receive(db, meta, "10")["ref"]
    issue(db, meta, "10")
    with pytest.raises(InsufficientStock):
        stock.reverse_posting(db.uow(), meta, ref=ref)
    assert figures(db, "SKU-1", "WH")["on_hand"] == 0


def test_reversing_a_receipt_whose_stock_was_partly_issued_fails(db, meta):
    ref = receive(db, meta, "10")["ref"]
    issue(db, meta, "3")
    with pytest.raises(InsufficientStock):
        stock.reverse_posting(db.uow(), meta, ref=ref)
    assert figures(db, "SKU-1", "WH")["on_hand"] == 7


def test_reversing_a_receipt_whose_stock_is_reserved_fails(db, meta):
    ref = receive(db, meta, "10")["ref"]
    reserve(db, meta, "4")
    before = snapshot(db)
    with pytest.raises(InsufficientStock):
        stock.reverse_posting(db.uow(), meta, ref=ref)
    assert snapshot(db) == before


def test_reversing_an_issue_puts_the_stock_back(db, meta):
    receive(db, meta, "10")
    ref = issue(db, meta, "4")["ref"]
    stock.reverse_posting(db.uow(), meta, ref=ref)
    assert available(db, "SKU-1", "WH") == 10


def test_reversing_a_status_change_returns_the_stock_to_its_old_status(db, meta):
    receive(db, meta, "10")
    ref = hold(db, meta, "4")["ref"]
    stock.reverse_posting(db.uow(), meta, ref=ref)
    row = figures(db, "SKU-1", "WH")
    assert (row["available"], row["quality_hold"]) == (10, 0)


def test_reversing_an_unknown_posting_is_not_found(db, meta):
    with pytest.raises(NotFound):
        stock.reverse_posting(db.uow(), meta, ref="nope")


# --- bad input writes nothing ------------------------------------------------------------------


@pytest.mark.parametrize(("sku", "qty"), [
    ("SKU-1", "0"), ("SKU-1", "-1"), ("SKU-1", "abc"), ("SKU-1", ""), ("SKU-1", "NaN"),
    ("SKU-1", "1.5"), ("SKU-KG", "1.0005"), ("SKU-KG", "-0.001"),
])
def test_a_bad_quantity_is_refused_naming_the_field_and_writes_nothing(db, meta, sku, qty):
    receive(db, meta, "5", sku=sku)
    before = snapshot(db)
    for call in (lambda: receive(db, meta, qty, sku=sku),
                 lambda: issue(db, meta, qty, sku=sku),
                 lambda: stock.move(db.uow(), meta, from_site="WH", to_site="S1",
                                    lines=[Line(sku, qty)]),
                 lambda: hold(db, meta, qty, sku=sku),
                 lambda: reserve(db, meta, qty, sku=sku)):
        with pytest.raises(ValidationFailed) as exc:
            call()
        assert field_of(exc) == "qty"
    assert snapshot(db) == before


def test_a_kilogram_sku_takes_three_decimal_places(db, meta):
    receive(db, meta, "1.005", sku="SKU-KG")
    issue(db, meta, "0.002", sku="SKU-KG")
    assert available(db, "SKU-KG", "WH") == Decimal("1.003")


def test_the_bad_line_of_a_multi_line_receipt_is_named_and_no_line_is_written(db, meta):
    before = snapshot(db)
    with pytest.raises(ValidationFailed) as exc:
        stock.receive(db.uow(), meta, site="WH", lines=[
            Line("SKU-1", "5"), Line("SKU-KG", "1.5"), Line("SKU-1", "2.5")])
    assert field_of(exc) == "lines[2].qty"
    assert snapshot(db) == before


@pytest.mark.parametrize(("kwargs", "line", "field"), [
    ({"site": "WH"}, Line("NOPE", "1"), "sku"),
    ({"site": "NOPE"}, Line("SKU-1", "1"), "site"),
    ({"site": "WH-A1"}, Line("SKU-1", "1"), "site"),  # a bin is not a site
    ({"site": "@supplier"}, Line("SKU-1", "1"), "site"),
    ({"site": "S1"}, Line("SKU-1", "1", bin="WH-A1"), "bin"),
    ({"site": "WH"}, Line("SKU-1", "1", bin="NOPE"), "bin"),
    ({"site": "WH"}, Line("SKU-LOT", "1"), "lot"),
    ({"site": "WH"}, Line("SKU-LOT", "1", lot=""), "lot"),
    ({"site": "WH"}, Line("SKU-1", "1", lot="L1"), "lot"),
    ({"site": "WH"}, Line("SKU-1", "1", unit_cost="cheap"), "unit_cost"),
    ({"site": "WH"}, Line("SKU-1", "1", unit_cost="-2"), "unit_cost"),
    ({"site": "WH"}, Line("SKU-1", "1", unit_cost="NaN"), "unit_cost"),
])
def test_a_receipt_with_bad_references_is_refused_naming_the_field(db, meta, kwargs, line, field):
    before = snapshot(db)
    with pytest.raises(ValidationFailed) as exc:
        stock.receive(db.uow(), meta, lines=[line], **kwargs)
    assert field_of(exc) == field
    assert snapshot(db) == before


def test_a_unit_cost_finer_than_the_ledger_keeps_is_refused_not_truncated(db, meta):
    try:
        receive(db, meta, "1", unit_cost="0.1234567")
    except ValidationFailed as exc:
        assert [e.field for e in exc.errors] == ["unit_cost"]
        return
    with db.read() as s:
        stored = s.scalar(select(StockMove.unit_cost))
    assert stored == Decimal("0.1234567"), f"stored {stored}"


@pytest.mark.parametrize(("kwargs", "line", "field"), [
    ({"from_site": "NOPE", "to_site": "S1"}, Line("SKU-1", "1"), "from_site"),
    ({"from_site": "WH", "to_site": "NOPE"}, Line("SKU-1", "1"), "to_site"),
    ({"from_site": "S1", "to_site": "WH"}, Line("SKU-1", "1", bin="WH-A1"), "bin"),
    ({"from_site": "WH", "to_site": "S1"}, Line("SKU-1", "1", lot="L1"), "lot"),
    ({"from_site": "WH", "to_site": "S1"}, Line("NOPE", "1"), "sku"),
])
def test_a_move_with_bad_references_is_refused_naming_the_field(db, meta, kwargs, line, field):
    receive(db, meta, "5")
    before = snapshot(db)
    with pytest.raises(ValidationFailed) as exc:
        stock.move(db.uow(), meta, lines=[line], **kwargs)
    assert field_of(exc) == field
    assert snapshot(db) == before


def test_an_issue_or_reservation_of_an_unknown_sku_or_site_is_refused(db, meta):
    receive(db, meta, "5")
    before = snapshot(db)
    for call, field in [(lambda: issue(db, meta, "1", sku="NOPE"), "sku"),
                        (lambda: issue(db, meta, "1", site="NOPE"), "site"),
                        (lambda: reserve(db, meta, "1", sku="NOPE"), "sku"),
                        (lambda: reserve(db, meta, "1", site="NOPE"), "site"),
                        (lambda: issue(db, meta, "1", lot="L1"), "lot")]:
        with pytest.raises(ValidationFailed) as exc:
            call()
        assert field_of(exc) == field
    assert snapshot(db) == before


def test_an_inactive_sku_cannot_be_received(db, meta, network):
    with db.read() as s:
        version = s.scalar(select(Sku.version).where(Sku.code == "SKU-1"))
    masterdata.update_record(db.uow(), network, "sku", "SKU-1", version, {"active": False})
    with pytest.raises(ValidationFailed) as exc:
        receive(db, meta, "1")
    assert field_of(exc) == "sku"


# --- idempotency -----------------------------------------------------------------------------


def test_a_retried_request_with_the_same_key_returns_the_same_answer_and_posts_once(db, network):
    meta = Meta(actor=network, reason="po 1", idempotency_key="k-1")
    first = receive(db, meta, "10")
    again = receive(db, meta, "10")
    assert again == first
    assert postings(db) == 1
    assert available(db, "SKU-1", "WH") == 10


def test_a_key_reused_for_a_different_request_is_refused_and_writes_nothing(db, network):
    meta = Meta(actor=network, reason="po 1", idempotency_key="k-1")
    receive(db, meta, "10")
    before = snapshot(db)
    with pytest.raises(IdempotencyMismatch):
        receive(db, meta, "11")
    with pytest.raises(IdempotencyMismatch):
        issue(db, meta, "10")
    assert snapshot(db) == before


def test_a_failed_request_does_not_use_up_its_key(db, network):
    meta = Meta(actor=network, reason="so 1", idempotency_key="k-2")
    with pytest.raises(InsufficientStock):
        issue(db, meta, "3")
    receive(db, Meta(actor=network, reason="po"), "5")
    issue(db, meta, "3")
    issue(db, meta, "3")
    assert available(db, "SKU-1", "WH") == 2


def test_a_retried_reservation_holds_the_stock_once(db, network):
    receive(db, Meta(actor=network), "10")
    meta = Meta(actor=network, idempotency_key="r-1")
    assert reserve(db, meta, "4") == reserve(db, meta, "4")
    assert figures(db, "SKU-1", "WH")["reserved"] == 4


def test_idempotency_keys_belong_to_the_user_who_sent_them(db, network):
    other = auth.create_user(db.uow(), username="clerk", password="another-long-password")
    receive(db, Meta(actor=network, idempotency_key="same"), "1")
    receive(db, Meta(actor=other, idempotency_key="same"), "1")
    assert postings(db) == 2
