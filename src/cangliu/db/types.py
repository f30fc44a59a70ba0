"""Column types: exact decimals on every database.

SQLite has no exact decimal type and would do ``qty - :q`` in floating point, so quantities and
money are stored as integers of millionths and converted back to ``Decimal`` on the way out.
"""

import operator
from datetime import UTC, datetime
from decimal import Decimal

from sqlalchemy import BigInteger, DateTime
from sqlalchemy.types import TypeDecorator

SCALE = Decimal(10) ** 6


class Exact(TypeDecorator[Decimal]):
    """A Decimal with up to six places, stored as a BIGINT of millionths."""

    impl = BigInteger
    cache_ok = True

    class comparator_factory(TypeDecorator.Comparator[Decimal]):
        """``qty - reserved`` stays Exact, so its results and the values compared with it are scaled."""

        def _adapt_expression(self, op, other_comparator):  # type: ignore[no-untyped-def]
            if op in (operator.add, operator.sub):
                return op, self.type
            return super()._adapt_expression(op, other_comparator)

    def process_bind_param(self, value: Decimal | int | str | None, dialect: object) -> int | None:
        if value is None:
            return None
        scaled = Decimal(value) * SCALE
        if scaled != scaled.to_integral_value():
            # Never truncate silently: inputs are validated to six places before they get here.
            raise ValueError(f"{value} has more than six decimal places")
        return int(scaled)

    def process_result_value(self, value: int | None, dialect: object) -> Decimal | None:
        return None if value is None else from_units(value)

    @property
    def python_type(self) -> type:
        return Decimal


def from_units(value: int | Decimal) -> Decimal:
    """The Decimal for a stored integer of millionths ("100", "1.5"; never "1E+2")."""
    if not value % 1_000_000:  # whole units, the usual case: skip the Decimal arithmetic
        return Decimal(int(value) // 1_000_000)
    return Decimal(value).scaleb(-6).normalize()


def to_units(value: Decimal) -> int:
    """The stored integer for a Decimal, for raw SQL that bypasses the column type."""
    return int(value * SCALE)


class UtcDateTime(TypeDecorator[datetime]):
    """Timezone-aware UTC datetimes on every database (SQLite would hand back naive ones)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: object) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime: pass times in UTC with tzinfo")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: object) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
