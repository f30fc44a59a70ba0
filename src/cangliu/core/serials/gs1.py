"""GS1 element strings: what a scanner reads from a GS1 QR, DataMatrix or GS1-128 symbol.

Parsed from the human-readable form ``(01)…(21)…`` or the raw form where a GS (ASCII 29, FNC1)
ends a variable-length field, with or without the symbology identifier (``]d2``, ``]Q3``,
``]C1``). Rules follow the GS1 General Specifications (sections 3 and 7.12).
"""

import calendar
import re
from dataclasses import dataclass
from datetime import date
from typing import Final

from cangliu.core.errors import ValidationFailed
from cangliu.core.serials.checkdigits import check_character

GS: Final = "\x1d"
# GS1 symbology identifiers (ISO/IEC 15424): DataMatrix, QR, GS1-128, DataBar, DotCode.
SYMBOLOGY_IDS: Final = ("]d2", "]Q3", "]C1", "]e0", "]J1")
# GS1 AI encodable character set 82 (General Specifications figure 7.11-1).
CSET82: Final = frozenset("!\"%&'()*+,-./0123456789:;<=>?ABCDEFGHIJKLMNOPQRSTUVWXYZ_"
                          "abcdefghijklmnopqrstuvwxyz")


@dataclass(frozen=True)
class AiSpec:
    name: str  # how messages call the field
    length: int  # the exact length, or the maximum when variable
    variable: bool
    numeric: bool


SPECS: Final[dict[str, AiSpec]] = {
    "00": AiSpec("SSCC", 18, variable=False, numeric=True),
    "01": AiSpec("GTIN", 14, variable=False, numeric=True),
    "02": AiSpec("GTIN of contained items", 14, variable=False, numeric=True),
    "10": AiSpec("lot", 20, variable=True, numeric=False),
    "11": AiSpec("production date", 6, variable=False, numeric=True),
    "15": AiSpec("best before date", 6, variable=False, numeric=True),
    "17": AiSpec("expiry date", 6, variable=False, numeric=True),
    "21": AiSpec("serial", 20, variable=True, numeric=False),
    "30": AiSpec("variable count", 8, variable=True, numeric=True),
    "37": AiSpec("count of contained items", 8, variable=True, numeric=True),
}
ORDER: Final = ("00", "01", "17", "10", "21")  # fixed-length first: fewer separators

# Length of an AI by its first two digits (General Specifications figure 3.2-1), so that an
# unknown AI is named whole in the error.
_AI_LENGTHS: Final[dict[str, int]] = {
    **{p: 3 for p in ("23", "24", "25", "40", "41", "42")},
    **{p: 4 for p in ("31", "32", "33", "34", "35", "36", "39", "43", "70", "71", "72",
                      "80", "81", "82")},
}
_HUMAN_AI: Final = re.compile(r"\((\d{2,4})\)")


@dataclass(frozen=True)
class Gs1Data:
    """The elements of one element string, in scanned order, and the ones we use by name."""

    elements: tuple[tuple[str, str], ...]
    sscc: str | None = None
    gtin: str | None = None
    lot: str | None = None
    expiry: date | None = None
    serial: str | None = None


def _fail(ai: str, message: str, **params: object) -> ValidationFailed:
    return ValidationFailed.single(f"ai_{ai}", message, ai=ai, **params)


def _strip_symbology(content: str) -> tuple[str, bool]:
    """The content without its symbology identifier, and whether it had a GS1 one."""
    for prefix in SYMBOLOGY_IDS:
        if content.startswith(prefix):
            return content[len(prefix):], True
    return content, False


def is_gs1(content: str) -> bool:
    """Whether the content presents itself as a GS1 element string (then ``parse`` reports what
    is wrong with it): a GS1 symbology identifier, a leading ``(AI)``, an FNC1 separator, or a
    raw string that parses and carries a GTIN or SSCC with a correct check digit."""
    if content.startswith(SYMBOLOGY_IDS) or GS in content or _HUMAN_AI.match(content):
        return True
    try:
        data = parse(content)
    except ValidationFailed:
        return False
    return data.gtin is not None or data.sscc is not None


def parse(content: str, *, today: date | None = None) -> Gs1Data:
    """Parse scanned content into its elements; ``today`` decides the century of dates."""
    body, _ = _strip_symbology(content)
    if not body.strip(GS):
        raise ValidationFailed.single("content", "the scanned content is empty")
    pairs = _split_human(body) if body.startswith("(") else _split_raw(body.lstrip(GS))
    return _collect(pairs, today or date.today())


def _split_human(body: str) -> list[tuple[str, str]]:
    parts = _HUMAN_AI.split(body)
    if parts[0]:
        raise ValidationFailed.single("content", "text before the first application identifier: "
                                      "{text}", text=parts[0])
    pairs = list(zip(parts[1::2], parts[2::2], strict=True))
    for ai, _ in pairs:
        if ai not in SPECS:
            raise _fail(ai, "unknown application identifier {ai}")
    return pairs


def _ai_at(body: str, at: int) -> str:
    """The AI starting at ``at``: two digits, or three or four by the GS1 prefix table."""
    prefix = body[at:at + 2]
    if len(prefix) < 2 or not prefix.isdigit():
        raise ValidationFailed.single("content", "no application identifier at position "
                                      "{position}", position=at + 1)
    ai = body[at:at + _AI_LENGTHS.get(prefix, 2)]
    if ai not in SPECS:
        raise _fail(ai, "unknown application identifier {ai}")
    return ai


def _split_raw(body: str) -> list[tuple[str, str]]:
    pairs: list[tuple[str, str]] = []
    at = 0
    while at < len(body):
        ai = _ai_at(body, at)
        spec, start = SPECS[ai], at + len(ai)
        if spec.variable:
            end = body.find(GS, start)
            end = len(body) if end < 0 else end
        else:
            end = start + spec.length
        pairs.append((ai, body[start:end]))
        at = end + 1 if body[end:end + 1] == GS else end  # GS after a fixed field is tolerated
    return pairs


def _collect(pairs: list[tuple[str, str]], today: date) -> Gs1Data:
    found: dict[str, str] = {}
    for ai, value in pairs:
        _check_value(ai, value)
        if found.get(ai, value) != value:
            raise _fail(ai, "application identifier {ai} appears twice with different values")
        found[ai] = value
    return Gs1Data(elements=tuple(pairs), sscc=found.get("00"), gtin=found.get("01"),
                   lot=found.get("10"), serial=found.get("21"),
                   expiry=expiry_date(found["17"], today) if "17" in found else None)


def _check_value(ai: str, value: str) -> None:
    spec = SPECS[ai]
    if not value:
        raise _fail(ai, "{label} is empty", label=spec.name)
    if spec.numeric and not (value.isascii() and value.isdigit()):
        raise _fail(ai, "{label} must be digits only: {value}", label=spec.name, value=value)
    if not spec.variable and len(value) != spec.length:
        raise _fail(ai, "{label} must have {length} digits, not {count}", label=spec.name,
                    length=spec.length, count=len(value))
    if spec.variable and len(value) > spec.length:
        raise _fail(ai, "{label} is longer than {length} characters", label=spec.name,
                    length=spec.length)
    bad = next((i for i, c in enumerate(value) if c not in CSET82), None)
    if bad is not None:
        raise _fail(ai, "character {character} at position {position} is not allowed in {label}",
                    character=value[bad], position=bad + 1, label=spec.name)
    if ai in ("00", "01", "02"):
        expected = check_character("gs1", value[:-1])
        if value[-1] != expected:
            raise _fail(ai, "{label} check digit mismatch: expected {expected}", label=spec.name,
                        expected=expected)


def expiry_date(value: str, today: date) -> date:
    """A YYMMDD date; day 00 is the month's last day. The century is the one that puts the year
    within 49 years before or 50 years after today (General Specifications 7.12)."""
    yy, month, day = int(value[:2]), int(value[2:4]), int(value[4:6])
    shift = yy - today.year % 100
    century = today.year // 100 + (1 if shift <= -50 else -1 if shift >= 51 else 0)
    year = century * 100 + yy
    if not 1 <= month <= 12:
        raise _fail("17", "invalid date {value}", value=value)
    last = calendar.monthrange(year, month)[1]
    if day > last:
        raise _fail("17", "invalid date {value}", value=value)
    return date(year, month, day or last)


def _fields(gtin: str | None, sscc: str | None, lot: str | None, expiry: date | None,
            serial: str | None) -> list[tuple[str, str]]:
    values = {"00": sscc, "01": _gtin14(gtin) if gtin else None, "10": lot,
              "17": expiry.strftime("%y%m%d") if expiry else None, "21": serial}
    pairs = [(ai, v) for ai in ORDER if (v := values[ai]) is not None]
    if not pairs:
        raise ValidationFailed.single("content", "an element string needs at least one element")
    for ai, value in pairs:
        _check_value(ai, value)
    return pairs


def _gtin14(gtin: str) -> str:
    """GTIN-8, -12 and -13 are carried in AI 01 padded with leading zeros to 14 digits."""
    return gtin.zfill(14) if len(gtin) in (8, 12, 13) else gtin


def element_string(*, gtin: str | None = None, sscc: str | None = None, lot: str | None = None,
                   expiry: date | None = None, serial: str | None = None) -> str:
    """The raw element string (no symbology identifier): fixed-length fields first, a GS after
    every variable-length field that is not the last."""
    pairs = _fields(gtin, sscc, lot, expiry, serial)
    text = ""
    for i, (ai, value) in enumerate(pairs):
        separator = GS if SPECS[ai].variable and i < len(pairs) - 1 else ""
        text += ai + value + separator
    return text


def human_readable(*, gtin: str | None = None, sscc: str | None = None, lot: str | None = None,
                   expiry: date | None = None, serial: str | None = None) -> str:
    """The same elements as printed under the barcode: ``(01)09506000134352(21)12345``."""
    return "".join(f"({ai}){value}" for ai, value in _fields(gtin, sscc, lot, expiry, serial))
