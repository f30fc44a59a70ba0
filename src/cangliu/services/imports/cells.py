"""Row validation that needs no database: headers matched to columns, then every cell parsed by
its column's type (text, code, whole number, decimal, yes/no, choice, date, list)."""

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from cangliu.core.errors import ValidationFailed
from cangliu.core.ledger import MAX_DECIMALS, MAX_QTY
from cangliu.services.imports.reader import Sheet
from cangliu.services.imports.spec import CODE_PATTERN, NO, YES, Col, Entity

EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
CODE = re.compile(CODE_PATTERN)
CURRENCY = re.compile(r"^[A-Z]{3}$")
LIST_SPLIT = re.compile(r"[,，;；\s]+")
PREVIEW = 20  # rows kept as written, for the preview


class CellError(Exception):
    def __init__(self, message: str, **params: object) -> None:
        super().__init__(message)
        self.message, self.params = message, {k: str(v) for k, v in params.items()}


@dataclass(frozen=True)
class RowError:
    row: int
    column: str  # the header as the file names it ("" for the whole row)
    message: str  # msgid
    params: dict[str, str] = field(default_factory=dict)


@dataclass
class Parsed:
    """The rows of a file as typed values by column key, with the errors found on the way."""

    entity: Entity
    headers: dict[str, str]  # column key → the header as the file writes it
    rows: list[tuple[int, dict[str, Any]]]
    errors: list[RowError]
    # The first rows as the file writes them (column key → text), for the preview.
    raw: list[dict[str, str]] = field(default_factory=list)


def normal(text: str) -> str:
    """Headers compare without case, spaces or underscores, full-width brackets as ASCII."""
    return re.sub(r"[\s_]+", "", text.replace("（", "(").replace("）", ")")).lower()


def match_headers(entity: Entity, headers: list[str]) -> dict[int, Col]:
    """Position → column; unknown, repeated or missing required headers refuse the file."""
    names: dict[str, Col] = {}
    for col in entity.columns:
        for name in (col.zh, col.en, col.header, *col.aliases):
            names[normal(name)] = col
    found: dict[int, Col] = {}
    unknown: list[str] = []
    repeated: list[str] = []
    for i, header in enumerate(headers):
        parts = [header, *header.split("/")] if "/" in header else [header]
        if not header:
            continue
        match: Col | None = next((names[normal(p)] for p in parts if normal(p) in names), None)
        if match is None:
            unknown.append(header)
        elif match in found.values():
            repeated.append(header)
        else:
            found[i] = match
    missing = [c.header for c in entity.columns if c.required and c not in found.values()]
    problems = [("unknown columns: {columns}", unknown), ("columns given twice: {columns}", repeated),
                ("missing required columns: {columns}", missing)]
    errors = [(message, ", ".join(cols)) for message, cols in problems if cols]
    if errors:
        raise ValidationFailed([ValidationFailed.single("columns", m, columns=c).errors[0]
                                for m, c in errors])
    return found


Parsers = list[tuple[int, Col, Callable[[Any], Any]]]


def parse(entity: Entity, sheet: Sheet, progress: Callable[[int], None] | None = None) -> Parsed:
    """Every cell of every row by its column's type; ``progress`` hears every 5,000 rows."""
    columns = match_headers(entity, sheet.headers)
    headers = {col.key: sheet.headers[i] for i, col in columns.items()}
    parsers = [(i, col, PARSERS[col.kind](col)) for i, col in columns.items()]
    parsed = Parsed(entity, headers, [], [])
    for n, (number, values) in enumerate(sheet.rows):
        parsed.rows.append((number, _row(parsed, parsers, number, values)))
        if n < PREVIEW:
            width = len(values)
            parsed.raw.append({col.key: "" if i >= width or values[i] is None
                               else _text_of(values[i]) for i, col, _ in parsers})
        if progress is not None and n % 5000 == 4999:
            progress(n + 1)
    return parsed


def _row(parsed: Parsed, parsers: Parsers, number: int, values: tuple[Any, ...]
         ) -> dict[str, Any]:
    row: dict[str, Any] = {}
    width = len(values)
    for i, col, parser in parsers:
        raw = values[i] if i < width else None
        if raw is None or (isinstance(raw, str) and not raw.strip()):
            if col.required:
                parsed.errors.append(RowError(number, parsed.headers[col.key], "is required"))
            continue
        try:
            row[col.key] = parser(raw)
        except CellError as exc:
            parsed.errors.append(RowError(number, parsed.headers[col.key], exc.message,
                                          exc.params))
    return row


def _text_of(raw: Any) -> str:
    if isinstance(raw, float) and raw.is_integer():
        return str(int(raw))  # a code or phone number Excel stored as a number
    if isinstance(raw, datetime):
        return raw.date().isoformat() if raw.time() == datetime.min.time() else raw.isoformat()
    return str(raw).strip()


def _text(col: Col) -> Callable[[Any], Any]:
    def parse_text(raw: Any) -> str:
        text = _text_of(raw)
        if len(text) > col.max_len:
            raise CellError("is too long (at most {max} characters)", max=col.max_len)
        return text
    return parse_text


def _code(col: Col) -> Callable[[Any], Any]:
    text = _text(col)

    def parse_code(raw: Any) -> str:
        value: str = text(raw)
        if not CODE.match(value):
            raise CellError("contains characters that are not allowed")
        return value
    return parse_code


def _email(col: Col) -> Callable[[Any], Any]:
    text = _text(col)

    def parse_email(raw: Any) -> str:
        value: str = text(raw)
        if not EMAIL.match(value):
            raise CellError("must be an e-mail address")
        return value
    return parse_email


def _currency(col: Col) -> Callable[[Any], Any]:
    def parse_currency(raw: Any) -> str:
        value = _text_of(raw).upper()
        if not CURRENCY.match(value):
            raise CellError("must be a 3-letter currency code, e.g. CNY")
        return value
    return parse_currency


def _list(col: Col) -> Callable[[Any], Any]:
    def parse_list(raw: Any) -> list[str]:
        items = [p for p in LIST_SPLIT.split(_text_of(raw)) if p]
        too_long = next((p for p in items if len(p) > col.max_len), None)
        if too_long:
            raise CellError("{value} is too long (at most {max} characters)", value=too_long,
                            max=col.max_len)
        return list(dict.fromkeys(items))
    return parse_list


def _int(col: Col) -> Callable[[Any], Any]:
    def parse_int(raw: Any) -> int:
        try:
            number = Decimal(_text_of(raw))
        except InvalidOperation:
            raise CellError("must be a whole number") from None
        if not number.is_finite() or number != number.to_integral_value():
            raise CellError("must be a whole number")
        if (col.low is not None and number < Decimal(str(col.low))) or (
                col.high is not None and number > Decimal(str(col.high))):
            raise CellError("must be between {low} and {high}", low=int(col.low or 0),
                            high=int(col.high or 0))
        return int(number)
    return parse_int


def decimal_of(raw: Any) -> Decimal:
    """A cell as a finite Decimal (Excel floats through their shortest text: 0.1 stays 0.1)."""
    if isinstance(raw, bool):
        raise CellError("must be a number")
    try:
        number = Decimal(repr(raw) if isinstance(raw, float) else _text_of(raw).replace(",", ""))
    except InvalidOperation:
        raise CellError("must be a number") from None
    if not number.is_finite():
        raise CellError("must be a number")
    return number


def places(value: Decimal) -> int:
    exponent = value.normalize().as_tuple().exponent
    return -exponent if isinstance(exponent, int) and exponent < 0 else 0


def _decimal(col: Col) -> Callable[[Any], Any]:
    low = None if col.low is None else Decimal(str(col.low))
    high = None if col.high is None else Decimal(str(col.high))

    def parse_decimal(raw: Any) -> Decimal:
        number = decimal_of(raw)
        if (low is not None and (number < low or (col.low_open and number == low))) or (
                high is not None and number > high):
            raise CellError("must be between {low} and {high}", low=low, high=high)
        if places(number) > MAX_DECIMALS:
            raise CellError("allows at most {decimals} decimal places", decimals=MAX_DECIMALS)
        return number
    return parse_decimal


def _money(col: Col, positive: bool = False) -> Callable[[Any], Any]:
    """Quantities and prices as the ledger takes them (parse_money / parse_qty)."""
    def parse_money(raw: Any) -> Decimal:
        number = decimal_of(raw)
        if positive and number <= 0:
            raise CellError("must be greater than 0")
        if number < 0:
            raise CellError("must be 0 or more")
        if number >= MAX_QTY:
            raise CellError("is too large")
        if places(number) > MAX_DECIMALS:
            raise CellError("allows at most {decimals} decimal places", decimals=MAX_DECIMALS)
        return number
    return parse_money


def _bool(col: Col) -> Callable[[Any], Any]:
    def parse_bool(raw: Any) -> bool:
        if isinstance(raw, bool):
            return raw
        text = _text_of(raw).lower()
        if text in YES:
            return True
        if text in NO:
            return False
        raise CellError("must be yes or no (是/否)")
    return parse_bool


def _enum(col: Col) -> Callable[[Any], Any]:
    expected = ", ".join(sorted(set(col.choices.values())))

    def parse_enum(raw: Any) -> str:
        value = col.choices.get(_text_of(raw).lower())
        if value is None:
            raise CellError("must be one of: {expected}", expected=expected)
        return value
    return parse_enum


def _date(col: Col) -> Callable[[Any], Any]:
    def parse_date(raw: Any) -> date:
        if isinstance(raw, datetime):
            return raw.date()
        if isinstance(raw, date):
            return raw
        text = _text_of(raw).replace("/", "-").replace(".", "-")
        try:
            return date.fromisoformat(text) if len(text) == 10 else datetime.strptime(
                text, "%Y-%m-%d").date()
        except ValueError:
            raise CellError("must be a date (YYYY-MM-DD)") from None
    return parse_date


PARSERS: dict[str, Callable[[Col], Callable[[Any], Any]]] = {
    "text": _text, "ref": _text, "code": _code, "email": _email, "currency": _currency,
    "list": _list, "int": _int, "decimal": _decimal, "money": _money,
    "qty": lambda col: _money(col, positive=True), "bool": _bool, "enum": _enum, "date": _date,
}
