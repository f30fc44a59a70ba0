"""The serial lifecycle table: the moves documents may make, and refusals that name the serial
and both states."""

from itertools import pairwise

import pytest
from hypothesis import given
from hypothesis import strategies as st

from cangliu.core.serials import lifecycle
from cangliu.core.serials.lifecycle import IllegalSerialTransition

STATES = st.sampled_from(lifecycle.STATES)


def test_the_main_journey_is_allowed_step_by_step():
    journey = ["generated", "in_stock", "reserved", "in_transit", "sold", "returned", "in_repair",
               "scrapped"]
    for state, target in pairwise(journey):
        lifecycle.check("SN1", state, target)


@pytest.mark.parametrize("state, target", [("reserved", "in_stock"), ("in_transit", "in_stock"),
                                           ("returned", "in_stock"), ("in_repair", "in_stock"),
                                           ("in_repair", "returned"), ("in_repair", "retired")])
def test_the_back_edges_are_allowed(state, target):
    assert lifecycle.allowed(state, target)


@pytest.mark.parametrize("state, target", [("generated", "sold"), ("sold", "in_stock"),
                                           ("scrapped", "in_stock"), ("retired", "sold"),
                                           ("generated", "in_transit")])
def test_a_forbidden_move_names_the_serial_and_both_states(state, target):
    with pytest.raises(IllegalSerialTransition) as refused:
        lifecycle.check("SN-0042", state, target)
    assert refused.value.params == {"code": "SN-0042", "state": state, "target": target}
    assert str(refused.value) == f"Serial SN-0042 is {state}: it cannot become {target}"


@given(STATES)
def test_scrapped_and_retired_units_never_come_back(target):
    for dead in ("scrapped", "retired"):
        assert not lifecycle.allowed(dead, target)


@given(STATES)
def test_no_state_moves_to_itself(state):
    """Receiving, reserving or selling a unit twice is refused."""
    assert not lifecycle.allowed(state, state)


@given(STATES, STATES)
def test_every_transition_leads_to_a_known_state(state, target):
    if lifecycle.allowed(state, target):
        assert target in lifecycle.STATES


def test_every_event_names_a_state_or_keeps_the_current_one():
    assert set(lifecycle.EVENT_STATES) == set(lifecycle.EVENTS)
    assert lifecycle.target_of("received", None) == "in_stock"
    assert lifecycle.target_of("installed", None) == "installed"
    assert lifecycle.target_of("part_installed", None) is None
    assert lifecycle.target_of("status_changed", "in_repair") == "in_repair"
