"""A serial's lifecycle (一物一码): the states a unit passes through and which moves between them
documents may make. Anything else is refused naming the serial and both states."""

from typing import Final

from cangliu.core.errors import Conflict

STATES: Final = ("generated", "in_stock", "reserved", "in_transit", "sold", "returned",
                 "in_repair", "installed", "scrapped", "retired")
EVENTS: Final = ("generated", "received", "reserved", "shipped", "transfer_out", "transfer_in",
                 "sold", "returned", "repair_opened", "repair_closed", "scrapped", "retired",
                 "installed", "removed", "part_installed", "part_removed", "status_changed")
# Forward along the life of a unit, plus the back edges a cancelled reservation, a transfer
# received back, a return put back on the shelf or a repair finished make. An installed unit is
# a component inside another one (its parent): it goes where the parent goes until removed.
TRANSITIONS: Final[dict[str, frozenset[str]]] = {
    "generated": frozenset({"in_stock", "installed", "scrapped", "retired"}),
    "in_stock": frozenset({"reserved", "in_transit", "sold", "in_repair", "installed", "scrapped",
                           "retired"}),
    "reserved": frozenset({"in_stock", "in_transit", "sold"}),
    "in_transit": frozenset({"in_stock", "sold"}),
    "sold": frozenset({"returned", "in_repair"}),
    "returned": frozenset({"in_stock", "in_repair", "installed", "scrapped", "retired"}),
    "in_repair": frozenset({"in_stock", "returned", "sold", "scrapped", "retired"}),
    "installed": frozenset({"in_stock", "returned", "scrapped", "retired"}),
    "scrapped": frozenset(),
    "retired": frozenset(),
}
# The state an event leaves a unit in when the caller names none; None: the state is unchanged.
EVENT_STATES: Final[dict[str, str | None]] = {
    "generated": "generated", "received": "in_stock", "reserved": "reserved",
    "shipped": "sold", "transfer_out": "in_transit", "transfer_in": "in_stock", "sold": "sold",
    "returned": "returned", "repair_opened": "in_repair", "repair_closed": "in_stock",
    "scrapped": "scrapped", "retired": "retired", "installed": "installed", "removed": "in_stock",
    "part_installed": None, "part_removed": None, "status_changed": None,
}


class IllegalSerialTransition(Conflict):
    def __init__(self, code: str, state: str, target: str) -> None:
        super().__init__("Serial {code} is {state}: it cannot become {target}", code=code,
                         state=state, target=target)
        self.code, self.state, self.target = code, state, target


def allowed(state: str, target: str) -> bool:
    """Whether a unit in ``state`` may move to ``target``. Staying put is not a move: a unit
    received, reserved or sold twice is a mistake (events that keep the state name no target)."""
    return target in TRANSITIONS.get(state, frozenset())


def check(code: str, state: str, target: str) -> None:
    """Raise :class:`IllegalSerialTransition` unless ``state`` → ``target`` is allowed."""
    if not allowed(state, target):
        raise IllegalSerialTransition(code, state, target)


def target_of(event: str, status: str | None) -> str | None:
    """The state ``event`` moves to: ``status`` when given, else the event's own state."""
    return status if status is not None else EVENT_STATES[event]
