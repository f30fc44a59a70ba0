"""Document state tables and numbering, without a database."""

from datetime import date

import pytest

from cangliu.core.documents import TRANSFER, IllegalTransition, Reset, Series

ACTIONS = {"edit", "submit", "approve", "reject", "ship", "receive_part", "receive_all",
           "cancel", "close"}
EXPECTED = {
    ("draft", "edit"): "draft", ("draft", "submit"): "pending_approval",
    ("draft", "cancel"): "cancelled", ("pending_approval", "approve"): "approved",
    ("pending_approval", "reject"): "draft", ("pending_approval", "cancel"): "cancelled",
    ("approved", "ship"): "shipped", ("approved", "cancel"): "cancelled",
    ("shipped", "receive_part"): "partially_received", ("shipped", "receive_all"): "received",
    ("shipped", "cancel"): "cancelled", ("partially_received", "receive_part"): "partially_received",
    ("partially_received", "receive_all"): "received", ("received", "close"): "closed",
}


@pytest.mark.parametrize("state", sorted(TRANSFER.states))
@pytest.mark.parametrize("action", sorted(ACTIONS))
def test_transfer_state_table_allows_exactly_the_documented_steps(state, action):
    expected = EXPECTED.get((state, action))
    if expected is None:
        with pytest.raises(IllegalTransition) as err:
            TRANSFER.next("TO-1", state, action)
        assert err.value.params == {"number": "TO-1", "state": state, "action": action}
    else:
        assert TRANSFER.next("TO-1", state, action) == expected


def test_series_formats_and_resets_by_period():
    series = Series("TO")
    day = date(2026, 11, 23)
    assert series.format(day, 7) == "TO-20261123-0007"
    assert series.period(day) == "20261123"
    monthly = Series("PO", date_format="%Y%m", width=5, reset=Reset.MONTHLY)
    assert (monthly.format(day, 12), monthly.period(day)) == ("PO-202611-00012", "202611")
    assert Series("X", date_format="", reset=Reset.NEVER).format(day, 3) == "X-0003"
