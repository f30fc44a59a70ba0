"""Serial template syntax: the parts of a template and the parser that refuses bad ones.

A template is literal text and ``{tokens}``; positions in messages are 1-based character
positions in the template text, as the settings page shows them.
"""

from dataclasses import dataclass
from datetime import date

from cangliu.core.errors import ValidationFailed
from cangliu.core.serials.checkdigits import ALGORITHMS

MAX_LENGTH = 60  # longest rendered code; labels and scanners handle this comfortably
CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
FIELDS = ("cat", "sku", "site", "line")
RESETS = ("never", "daily", "monthly", "yearly")
DIGIT_ALGORITHMS = frozenset({"gs1", "luhn", "mod11_10", "damm"})
# Longest first, so "YYYY" is not read as "YY" "YY" and "DDD" not as "DD" "D".
DATE_PARTS = ("YYYY", "DDD", "YY", "MM", "DD", "WW")
DATE_WIDTHS = {"YYYY": 4, "DDD": 3, "YY": 2, "MM": 2, "DD": 2, "WW": 2}
SEQ_WIDTHS = (1, 12)
RAND_WIDTHS = (1, 16)
# GS1 character set 82: what AI 21 (serial) and AI 10 (lot) may carry in the label's QR code.
LITERAL_CHARS = frozenset("!\"%&'()*+,-./0123456789:;<=>?ABCDEFGHIJKLMNOPQRSTUVWXYZ_"
                          "abcdefghijklmnopqrstuvwxyz")


@dataclass(frozen=True)
class Literal:
    text: str
    position: int


@dataclass(frozen=True)
class FieldToken:
    name: str  # cat | sku | site | line
    source: str
    position: int


@dataclass(frozen=True)
class DateToken:
    parts: tuple[str, ...]  # e.g. ("YY", "MM", "DD")
    source: str
    position: int


@dataclass(frozen=True)
class SeqToken:
    width: int
    reset: str
    source: str
    position: int


@dataclass(frozen=True)
class RandToken:
    width: int
    source: str
    position: int


@dataclass(frozen=True)
class CheckToken:
    algorithm: str
    source: str
    position: int


Token = FieldToken | DateToken | SeqToken | RandToken | CheckToken
Part = Literal | Token


@dataclass(frozen=True)
class Template:
    text: str
    parts: tuple[Part, ...]
    seq_reset: str  # never | daily | monthly | yearly
    has_seq: bool
    has_rand: bool
    check: str | None
    seq_width: int = 0  # digits of the counter; 0 without {seq:N}


@dataclass(frozen=True, kw_only=True)
class Context:
    """What a code is generated for: master-data codes and the production day."""

    cat: str = ""
    sku: str = ""
    site: str = ""
    line: str = ""
    day: date


def _refuse(message: str, **params: object) -> ValidationFailed:
    return ValidationFailed.single("template", message, **params)


def parse_template(text: str) -> Template:
    """Parse ``text`` into a :class:`Template`, or raise ``ValidationFailed`` (field ``template``)."""
    parts = tuple(_split(text))
    seqs = [p for p in parts if isinstance(p, SeqToken)]
    if len(seqs) > 1:
        raise _refuse("second counter {token} at position {position}; a template has one counter",
                      token=seqs[1].source, position=seqs[1].position)
    rands = [p for p in parts if isinstance(p, RandToken)]
    if not seqs and not rands:
        raise _refuse("a template needs {seq} or {rand} to give unique codes",
                      seq="{seq:N}", rand="{rand:N}")
    check = _check_token(parts)
    seq = seqs[0] if seqs else None
    if seq is not None:
        _check_reset(seq, parts)
    length = sum(_min_width(p) for p in parts)
    if length > MAX_LENGTH:
        raise _refuse("codes from this template are at least {length} characters, more than {max}",
                      length=length, max=MAX_LENGTH)
    return Template(text=text, parts=parts, seq_reset=seq.reset if seq else "never",
                    has_seq=seq is not None, has_rand=bool(rands),
                    check=check.algorithm if check else None, seq_width=seq.width if seq else 0)


def _split(text: str) -> list[Part]:
    parts: list[Part] = []
    start = 0  # start of the pending literal
    i = 0
    while i < len(text):
        char = text[i]
        if char == "}":
            raise _refuse("closing brace without an opening one at position {position}", position=i + 1)
        if char == "{":
            end = text.find("}", i)
            nested = text.find("{", i + 1)
            if end < 0 or 0 <= nested < end:
                raise _refuse("brace at position {position} is not closed", position=i + 1)
            if start < i:
                parts.append(Literal(text[start:i], start + 1))
            parts.append(_token(text[i:end + 1], i + 1))
            i = start = end + 1
            continue
        if char not in LITERAL_CHARS:
            raise _refuse("character {char} at position {position} cannot appear in a code",
                          char=repr(char), position=i + 1)
        i += 1
    if start < len(text):
        parts.append(Literal(text[start:], start + 1))
    return parts


def _token(source: str, position: int) -> Token:
    name, *args = source[1:-1].split(":")
    if name in FIELDS:
        if args:
            raise _refuse("token {token} at position {position} takes no argument",
                          token=source, position=position)
        return FieldToken(name, source, position)
    if name == "date" and len(args) == 1:
        return DateToken(_date_parts(args[0], source, position), source, position)
    if name == "seq" and len(args) in (1, 2):
        width = _width(args[0], SEQ_WIDTHS, source, position)
        reset = args[1] if len(args) == 2 else "never"
        if reset not in RESETS:
            raise _refuse("reset in {token} at position {position} must be one of {choices}",
                          token=source, position=position, choices=", ".join(RESETS))
        return SeqToken(width, reset, source, position)
    if name == "rand" and len(args) == 1:
        return RandToken(_width(args[0], RAND_WIDTHS, source, position), source, position)
    if name == "check" and len(args) == 1:
        if args[0] not in ALGORITHMS:
            raise _refuse("unknown check algorithm in {token} at position {position}; use one of {choices}",
                          token=source, position=position, choices=", ".join(ALGORITHMS))
        return CheckToken(args[0], source, position)
    if name in ("date", "seq", "rand", "check"):
        raise _refuse("wrong arguments in {token} at position {position}", token=source, position=position)
    raise _refuse("unknown token {token} at position {position}", token=source, position=position)


def _date_parts(fmt: str, source: str, position: int) -> tuple[str, ...]:
    parts: list[str] = []
    rest = fmt
    while rest and (part := next((p for p in DATE_PARTS if rest.startswith(p)), None)):
        parts.append(part)
        rest = rest[len(part):]
    if rest or not parts:
        raise _refuse("date format in {token} at position {position} is not made of {choices}",
                      token=source, position=position, choices=", ".join(DATE_PARTS))
    return tuple(parts)


def _width(arg: str, bounds: tuple[int, int], source: str, position: int) -> int:
    low, high = bounds
    if not arg.isascii() or not arg.isdigit() or not low <= int(arg) <= high:
        raise _refuse("length in {token} at position {position} must be a whole number from {min} to {max}",
                      token=source, position=position, min=low, max=high)
    return int(arg)


def _check_token(parts: tuple[Part, ...]) -> CheckToken | None:
    checks = [(i, p) for i, p in enumerate(parts) if isinstance(p, CheckToken)]
    if not checks:
        return None
    index, check = checks[0]
    if index != len(parts) - 1:
        raise _refuse("{token} at position {position} must be the last part of the template",
                      token=check.source, position=check.position)
    digits_only = check.algorithm in DIGIT_ALGORITHMS
    for part in parts[:index]:
        if not _fits(part, digits_only):
            raise _refuse("{token} at position {position} accepts only {charset} before it, but {part} at "
                          "position {part_position} can put other characters there",
                          token=check.source, position=check.position,
                          charset="0-9" if digits_only else "0-9 A-Z",
                          part=part.text if isinstance(part, Literal) else part.source,
                          part_position=part.position)
    return check


def _fits(part: Part, digits_only: bool) -> bool:
    """Whether ``part`` renders only characters the check algorithm accepts.

    Master-data codes are not known here: digit-only algorithms refuse them, MOD 37-36 accepts
    them and the render checks their characters."""
    if isinstance(part, Literal):
        allowed = "0123456789" if digits_only else "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"
        return all(c in allowed for c in part.text)
    if isinstance(part, (FieldToken, RandToken)):
        return not digits_only
    return True


# The date must tell the counter's periods apart, or a restarted counter repeats old codes.
_PERIOD_DATES = {
    "daily": (("YYYY", "YY"), ("DDD",), ("MM", "DD")),
    "monthly": (("YYYY", "YY"), ("DDD",), ("MM",)),
    "yearly": (("YYYY", "YY"),),
}
_PERIOD_HINTS = {"daily": "{date:YYMMDD}", "monthly": "{date:YYMM}", "yearly": "{date:YY}"}


def _check_reset(seq: SeqToken, parts: tuple[Part, ...]) -> None:
    if seq.reset == "never":
        return
    present = {d for p in parts if isinstance(p, DateToken) for d in p.parts}
    year, *within = _PERIOD_DATES[seq.reset]
    has_year = any(y in present for y in year)
    has_within = not within or any(all(d in present for d in option) for option in within)
    if not (has_year and has_within):
        raise _refuse("{token} at position {position} restarts its count, so the template needs a date "
                      "such as {date} to keep codes unique",
                      token=seq.source, position=seq.position, date=_PERIOD_HINTS[seq.reset])


def _min_width(part: Part) -> int:
    if isinstance(part, Literal):
        return len(part.text)
    if isinstance(part, DateToken):
        return sum(DATE_WIDTHS[p] for p in part.parts)
    if isinstance(part, (SeqToken, RandToken)):
        return part.width
    return 1  # a master-data code (at least one character) or the check character
