"""Water levels: how a stock figure is coloured (out, low, normal, over).

Fixed thresholds for now; planning will replace them with safety stock and max per SKU × site.
"""

from decimal import Decimal
from enum import StrEnum

LOW = Decimal(10)
HIGH = Decimal(500)


class Level(StrEnum):
    OUT = "out"
    LOW = "low"
    OK = "ok"
    HIGH = "high"


def water_level(available: Decimal, *, low: Decimal = LOW, high: Decimal = HIGH) -> Level:
    if available <= 0:
        return Level.OUT
    if available < low:
        return Level.LOW
    if available > high:
        return Level.HIGH
    return Level.OK
