"""Document state tables and numbering, without a database."""

from datetime import date

import pytest

from cangliu.core.documents import (
    HELD,
    PURCHASE_ORDER,
    SALES_ORDER,
    STOCK_COUNT,
    TRANSFER,
    IllegalTransition,
    Reset,
    Series,
    aging_bucket,
)

ACTIONS = {"edit", "submit", "approve", "reject", "ship", "receive_part", "receive_all",
           "cancel", "close", "confirm", "ship_part", "ship_all", "return", "count", "post",
           "reopen"}
EXPECTED = {
    ("draft", "edit"): "draft", ("draft", "submit"): "pending_approval",
    ("draft", "cancel"): "cancelled", ("pending_approval", "approve"): "approved",
    ("pending_approval", "reject"): "draft", ("pending_approval", "cancel"): "cancelled",
    ("approved", "ship"): "shipped", ("approved", "cancel"): "cancelled",
    ("shipped", "receive_part"): "partially_received", ("shipped", "receive_all"): "received",
    ("shipped", "cancel"): "cancelled", ("partially_received", "receive_part"): "partially_received",
    ("partially_received", "receive_all"): "received", ("received", "close"): "closed",
}


PURCHASE = {
    ("draft", "edit"): "draft", ("draft", "submit"): "submitted", ("draft", "cancel"): "cancelled",
    ("submitted", "approve"): "approved", ("submitted", "reject"): "draft",
    ("submitted", "cancel"): "cancelled", ("approved", "receive_part"): "partially_received",
    ("approved", "receive_all"): "received", ("approved", "cancel"): "cancelled",
    ("partially_received", "receive_part"): "partially_received",
    ("partially_received", "receive_all"): "received", ("partially_received", "close"): "closed",
    ("received", "close"): "closed",
}
SALES = {
    ("draft", "edit"): "draft", ("draft", "confirm"): "confirmed", ("draft", "cancel"): "cancelled",
    ("confirmed", "ship_part"): "partially_shipped", ("confirmed", "ship_all"): "shipped",
    ("confirmed", "cancel"): "cancelled", ("partially_shipped", "ship_part"): "partially_shipped",
    ("partially_shipped", "ship_all"): "shipped", ("partially_shipped", "close"): "closed",
    ("shipped", "return"): "shipped", ("shipped", "close"): "closed", ("closed", "return"): "closed",
}
COUNT = {
    ("counting", "count"): "counting", ("counting", "submit"): "review",
    ("counting", "cancel"): "cancelled", ("review", "reopen"): "counting",
    ("review", "post"): "posted", ("review", "cancel"): "cancelled",
    ("pending_approval", "approve"): "posted", ("pending_approval", "reject"): "review",
    ("pending_approval", "cancel"): "cancelled",
}
HELD_POSTING = {
    ("pending_approval", "approve"): "posted", ("pending_approval", "reject"): "rejected",
    ("pending_approval", "cancel"): "cancelled",
}
TABLES = [(TRANSFER, EXPECTED), (PURCHASE_ORDER, PURCHASE), (SALES_ORDER, SALES),
          (STOCK_COUNT, COUNT), (HELD, HELD_POSTING)]
CASES = [(table, expected, state, action) for table, expected in TABLES
         for state in sorted(table.states) for action in sorted(ACTIONS)]


@pytest.mark.parametrize(("table", "expected", "state", "action"), CASES,
                         ids=[f"{t.name}:{s}:{a}" for t, _e, s, a in CASES])
def test_every_state_table_allows_exactly_the_documented_steps(table, expected, state, action):
    target = expected.get((state, action))
    if target is None:
        with pytest.raises(IllegalTransition) as err:
            table.next("D-1", state, action)
        assert err.value.params == {"number": "D-1", "state": state, "action": action}
    else:
        assert table.next("D-1", state, action) == target


def test_aging_buckets_follow_the_day_ranges():
    assert [aging_bucket(d) for d in (0, 30, 31, 60, 61, 90, 91, 400)] == [
        "0-30", "0-30", "31-60", "31-60", "61-90", "61-90", "90+", "90+"]


def test_series_formats_and_resets_by_period():
    series = Series("TO")
    day = date(2026, 11, 23)
    assert series.format(day, 7) == "TO-20261123-0007"
    assert series.period(day) == "20261123"
    monthly = Series("PO", date_format="%Y%m", width=5, reset=Reset.MONTHLY)
    assert (monthly.format(day, 12), monthly.period(day)) == ("PO-202611-00012", "202611")
    assert Series("X", date_format="", reset=Reset.NEVER).format(day, 3) == "X-0003"
