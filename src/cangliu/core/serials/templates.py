"""Serial and lot number templates: rendering codes from a parsed template.

``{cat}{date:YYMMDD}{seq:6:daily}{check:mod37_36}`` renders to e.g. ``PH261123000042X``.
The counter value and the random source are passed in: a service keeps one counter row per
(rule, :func:`seq_period`) and hands out ranges of it.
"""

import random
import re
import secrets
from collections.abc import Callable, Iterable, Iterator
from datetime import date
from itertools import repeat

from cangliu.core.errors import ValidationFailed
from cangliu.core.serials.checkdigits import check_character
from cangliu.core.serials.templates_scan import pattern, scan_problems, validate_scan
from cangliu.core.serials.templates_syntax import (
    CROCKFORD,
    MAX_LENGTH,
    CheckToken,
    Context,
    DateToken,
    FieldToken,
    Literal,
    Part,
    RandToken,
    SeqToken,
    Template,
    parse_template,
)

__all__ = [
    "CROCKFORD", "Context", "RandSource", "Template", "parse_template", "pattern", "preview",
    "render", "render_batch", "scan_problems", "seq_period", "validate_scan",
]

RandSource = Callable[[int], str] | random.Random | None
# Master-data codes as the master-data API accepts them.
_CODE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._\-]*")
_ALPHANUMERIC = re.compile(r"[0-9A-Z]*")
_CROCKFORD_SET = frozenset(CROCKFORD)
_CROCKFORD_PAIRS = tuple(a + b for a in CROCKFORD for b in CROCKFORD)  # 10 random bits -> 2 chars


def seq_period(template: Template, day: date) -> str:
    """The counter's key on ``day``: '' (never), '2026-11-23', '2026-11' or '2026'."""
    return {
        "never": "",
        "daily": day.isoformat(),
        "monthly": day.isoformat()[:7],
        "yearly": day.isoformat()[:4],
    }[template.seq_reset]


def render(template: Template, context: Context, seq: int, rand: RandSource = None) -> str:
    """One code for counter value ``seq``; ``rand`` feeds ``{rand:N}`` (system randomness if None)."""
    chunks = _constant_chunks(template, context)
    draw = _drawer(rand)
    payload = "".join(_render_part(part, seq, draw) for part in chunks)
    return payload + check_character(template.check, payload) if template.check else payload


def render_batch(template: Template, context: Context, first_seq: int, count: int,
                 rng: RandSource = None) -> list[str]:
    """``count`` codes for counters ``first_seq``…; the same as :func:`render` one by one with
    the same random source. Random-only templates redraw a code already in the batch."""
    if count <= 0:
        return []
    chunks = _constant_chunks(template, context)
    _check_seq_range(chunks, first_seq)
    _check_seq_range(chunks, first_seq + count - 1)
    if not template.has_seq:
        _check_rand_space(chunks, count)
    draw = _drawer(rng)
    columns = [_column(part, first_seq, count, draw) for part in chunks]
    payloads = list(map("".join, zip(*columns, strict=False))) if len(columns) > 1 else list(columns[0])
    if not template.has_seq:
        payloads = _redraw_duplicates(payloads, chunks, draw)
    if template.check:
        algorithm = template.check
        return [p + check_character(algorithm, p) for p in payloads]
    return payloads


def preview(text: str, context: Context, count: int = 5, seed: int = 0) -> list[str]:
    """The first ``count`` codes of a template being edited, reproducible for ``seed``."""
    return render_batch(parse_template(text), context, 1, count, random.Random(seed))


Chunk = str | SeqToken | RandToken


def _constant_chunks(template: Template, context: Context) -> list[Chunk]:
    """The template with everything fixed for ``context`` rendered and merged: e.g.
    ``["PH-261123-", SeqToken(6)]``; the check token is left out."""
    chunks: list[Chunk] = []
    for part in template.parts:
        if isinstance(part, CheckToken):
            continue
        value = part if isinstance(part, (SeqToken, RandToken)) else _constant(part, context)
        if isinstance(value, str) and chunks and isinstance(chunks[-1], str):
            chunks[-1] += value
        else:
            chunks.append(value)
    length = sum(len(c) if isinstance(c, str) else c.width for c in chunks) + bool(template.check)
    if length > MAX_LENGTH:
        raise ValidationFailed.single("template", "codes from this template are {length} characters, "
                                      "more than {max}", length=length, max=MAX_LENGTH)
    if template.check == "mod37_36":
        _check_alphanumeric(chunks, template)
    return chunks


def _constant(part: Part, context: Context) -> str:
    if isinstance(part, Literal):
        return part.text
    if isinstance(part, DateToken):
        return "".join(_date_part(p, context.day) for p in part.parts)
    assert isinstance(part, FieldToken)
    value: str = getattr(context, part.name)
    if not value:
        raise ValidationFailed.single(part.name, "the template uses {token} but no code was given",
                                      token=part.source)
    if not _CODE.fullmatch(value):
        raise ValidationFailed.single(part.name, "{token} needs a code of letters, digits, '.', '_' or "
                                      "'-', not {value}", token=part.source, value=repr(value))
    return value


def _date_part(part: str, day: date) -> str:
    if part == "YYYY":
        return f"{day.year:04d}"
    if part == "YY":
        return f"{day.year % 100:02d}"
    if part == "MM":
        return f"{day.month:02d}"
    if part == "DD":
        return f"{day.day:02d}"
    if part == "WW":
        return f"{day.isocalendar().week:02d}"
    return f"{day.timetuple().tm_yday:03d}"  # DDD


def _check_alphanumeric(chunks: list[Chunk], template: Template) -> None:
    for chunk in chunks:
        if isinstance(chunk, str) and not _ALPHANUMERIC.fullmatch(chunk):
            token = next(p.source for p in template.parts if isinstance(p, CheckToken))
            raise ValidationFailed.single("template", "{token} accepts only {charset} before it, "
                                          "but {value} is part of the code",
                                          token=token, charset="0-9 A-Z", value=chunk)


def _check_seq_range(chunks: list[Chunk], last: int) -> None:
    for chunk in chunks:
        if isinstance(chunk, SeqToken) and not 0 <= last < 10 ** chunk.width:
            raise ValidationFailed.single("template", "counter {token} cannot show {seq}",
                                          token=chunk.source, seq=last)


def _check_rand_space(chunks: list[Chunk], count: int) -> None:
    space = 32 ** sum(c.width for c in chunks if isinstance(c, RandToken))
    if count > space:
        raise ValidationFailed.single("template", "this template gives at most {space} different codes",
                                      space=space)


Draw = Callable[[int], str]


def _drawer(rand: RandSource) -> Draw:
    if rand is None:
        rand = secrets.SystemRandom()
    if isinstance(rand, random.Random):
        return _crockford_from(rand)
    source = rand

    def checked(width: int) -> str:
        value = source(width)
        if len(value) != width or not _CROCKFORD_SET.issuperset(value):
            raise ValueError(f"random source gave {value!r}, not {width} Crockford base32 characters")
        return value
    return checked


def _crockford_from(rng: random.Random) -> Draw:
    pairs = _CROCKFORD_PAIRS

    def draw(width: int) -> str:
        bits = rng.getrandbits(5 * width)
        text = ""
        if width % 2:
            text = CROCKFORD[bits & 31]
            bits >>= 5
        for _ in range(width // 2):
            text = pairs[bits & 1023] + text
            bits >>= 10
        return text
    return draw


def _render_part(chunk: Chunk, seq: int, draw: Draw) -> str:
    if isinstance(chunk, str):
        return chunk
    if isinstance(chunk, SeqToken):
        _check_seq_range([chunk], seq)
        return f"{seq:0{chunk.width}d}"
    return draw(chunk.width)


def _column(chunk: Chunk, first_seq: int, count: int, draw: Draw) -> Iterable[str]:
    """One column of the batch: constants repeat; counters format once per code."""
    if isinstance(chunk, str):
        return repeat(chunk, count)
    if isinstance(chunk, SeqToken):
        return map(f"{{:0{chunk.width}d}}".format, range(first_seq, first_seq + count))
    return _draws(draw, chunk.width, count)


def _draws(draw: Draw, width: int, count: int) -> Iterator[str]:
    return (draw(width) for _ in range(count))


def _redraw_duplicates(payloads: list[str], chunks: list[Chunk], draw: Draw) -> list[str]:
    seen: set[str] = set()
    unique: list[str] = []
    for payload in payloads:
        while payload in seen:
            payload = "".join(_render_part(c, 0, draw) for c in chunks)
        seen.add(payload)
        unique.append(payload)
    return unique
