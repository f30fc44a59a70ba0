"""Column types: exact decimals on every database.

SQLite has no exact decimal type and would do ``qty - :q`` in floating point, so quantities and
money are stored as integers of millionths and converted back to ``Decimal`` on the way out.
"""

from decimal import Decimal

from sqlalchemy import BigInteger
from sqlalchemy.types import TypeDecorator

SCALE = Decimal(10) ** 6


class Exact(TypeDecorator[Decimal]):
    """A Decimal with up to six places, stored as a BIGINT of millionths."""

    impl = BigInteger
    cache_ok = True

    def process_bind_param(self, value: Decimal | int | str | None, dialect: object) -> int | None:
        if value is None:
            return None
        return int(Decimal(value) * SCALE)

    def process_result_value(self, value: int | None, dialect: object) -> Decimal | None:
        if value is None:
            return None
        exact = Decimal(value).scaleb(-6)
        # Drop trailing zeros but never switch to exponent notation ("100", not "1E+2").
        return exact.quantize(Decimal(1)) if exact == exact.to_integral_value() else exact.normalize()

    @property
    def python_type(self) -> type:
        return Decimal


def to_units(value: Decimal) -> int:
    """The stored integer for a Decimal, for raw SQL that bypasses the column type."""
    return int(value * SCALE)
