"""Scanned codes against their template: the regular expression a code must match, and the
reasons a code is refused (format first, then the check character)."""

import re

from cangliu.core.errors import FieldError
from cangliu.core.serials.checkdigits import MISMATCH, verify
from cangliu.core.serials.templates_syntax import (
    DIGIT_ALGORITHMS,
    Context,
    DateToken,
    FieldToken,
    Literal,
    Part,
    RandToken,
    SeqToken,
    Template,
)

ANY_CODE = r"[A-Za-z0-9][A-Za-z0-9._\-]*"  # a master-data code when the context is not known
CROCKFORD_CLASS = "[0-9A-HJKMNP-TV-Z]"
DATE_PATTERNS = {
    "YYYY": r"\d{4}",
    "YY": r"\d{2}",
    "MM": r"(?:0[1-9]|1[0-2])",
    "DD": r"(?:0[1-9]|[12]\d|3[01])",
    "WW": r"(?:0[1-9]|[1-4]\d|5[0-3])",
    "DDD": r"(?:00[1-9]|0[1-9]\d|[12]\d\d|3[0-5]\d|36[0-6])",
}


def pattern(template: Template, context: Context | None = None) -> re.Pattern[str]:
    """The regular expression every code of ``template`` matches (use ``fullmatch``); with a
    context, ``{cat}``/``{sku}``/``{site}``/``{line}`` must be that context's codes."""
    return re.compile("".join(_part_pattern(p, context) for p in template.parts))


def scan_problems(template: Template, code: str, context: Context | None = None) -> list[FieldError]:
    """Why a scanned ``code`` is refused (empty when it is fine), as msgids with params."""
    if not pattern(template, context).fullmatch(code):
        return [_format_problem(template, code, context)]
    if template.check is None:
        return []
    verdict = verify(template.check, code)
    return [] if verdict.valid else [FieldError("code", verdict.reason or MISMATCH, verdict.params)]


def validate_scan(template: Template, code: str, context: Context | None = None) -> list[str]:
    """:func:`scan_problems` as English sentences, e.g. ``["check digit mismatch: expected 7"]``."""
    return [p.message.format(**p.params) for p in scan_problems(template, code, context)]


def _part_pattern(part: Part, context: Context | None, lazy: bool = False) -> str:
    if isinstance(part, Literal):
        return re.escape(part.text)
    if isinstance(part, FieldToken):
        value: str = getattr(context, part.name) if context else ""
        return re.escape(value) if value else ANY_CODE + ("?" if lazy else "")
    if isinstance(part, DateToken):
        return "".join(DATE_PATTERNS[p] for p in part.parts)
    if isinstance(part, SeqToken):
        return rf"\d{{{part.width}}}"
    if isinstance(part, RandToken):
        return f"{CROCKFORD_CLASS}{{{part.width}}}"
    return r"\d" if part.algorithm in DIGIT_ALGORITHMS else "[0-9A-Z]"


def _format_problem(template: Template, code: str, context: Context | None) -> FieldError:
    """Where the code stops following the template: the longest run of leading parts that
    matches, and the part expected after it (positions are 1-based)."""
    parts = template.parts
    matched, end = 0, 0
    for count in range(1, len(parts) + 1):
        # Earlier fields stop at the first place the rest can follow, where a reader would; the
        # last part reaches as far as it can.
        found = re.match("".join(_part_pattern(p, context, lazy=True) for p in parts[:count - 1])
                         + _part_pattern(parts[count - 1], context), code)
        if found is None:
            break
        matched, end = count, found.end()
    if matched == len(parts):
        return FieldError("code", "unexpected {found} at position {position} after the end of the code",
                          {"found": _excerpt(code, end), "position": str(end + 1)})
    expected = _describe(parts[matched], context)
    if end >= len(code):
        return FieldError("code", "code ends at position {position}; expected {expected}",
                          {"position": str(end + 1), "expected": expected})
    return FieldError("code", "expected {expected} at position {position}, found {found}",
                      {"expected": expected, "position": str(end + 1), "found": _excerpt(code, end)})


def _describe(part: Part, context: Context | None) -> str:
    if isinstance(part, Literal):
        return f"“{part.text}”"
    if isinstance(part, FieldToken) and context and getattr(context, part.name):
        return f"{part.source} “{getattr(context, part.name)}”"
    return part.source


def _excerpt(code: str, start: int) -> str:
    rest = code[start:]
    return f"“{rest if len(rest) <= 12 else rest[:12] + '…'}”"
