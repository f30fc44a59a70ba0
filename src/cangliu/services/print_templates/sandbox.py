"""The sandbox print templates run in: Jinja2's immutable sandbox with autoescaping, no file
access (a body is a string; the one name it may extend or include is the built-in ``layout``),
a few formatting filters, and guards on time, loop ranges and output size, so a careless or
hostile template can neither reach Python internals nor hang the server.

Every failure is a ``ValidationFailed`` on the field ``body`` naming the template line."""

import time
import traceback
from collections.abc import Iterator
from contextvars import ContextVar
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from functools import lru_cache
from itertools import groupby
from typing import Any

from jinja2 import DictLoader, Template, TemplateNotFound, TemplateSyntaxError
from jinja2.runtime import Context
from jinja2.sandbox import ImmutableSandboxedEnvironment
from markupsafe import Markup, escape
from reportlab.graphics.barcode import code128
from reportlab.graphics.barcode.qr import QrCodeWidget

from cangliu.core.errors import DomainError, ValidationFailed

MAX_BODY = 100_000  # characters of template source
MAX_OUTPUT = 2_000_000  # characters of rendered HTML
MAX_SECONDS = 2.0
MAX_RANGE = 20_000  # items all range() calls of one rendering may produce together
TEMPLATE_FILE = "<template>"

_deadline: ContextVar[float] = ContextVar("print_deadline", default=0.0)
_range_left: ContextVar[int] = ContextVar("print_range_left", default=MAX_RANGE)


class Overrun(Exception):
    """The rendering went past one of its limits."""


def _tick() -> None:
    deadline = _deadline.get()
    if deadline and time.monotonic() > deadline:
        raise Overrun(f"took longer than {MAX_SECONDS:g} s")


def _range(*args: int) -> range:
    numbers = range(*args)
    left = _range_left.get() - len(numbers)
    if left < 0:
        raise Overrun(f"loops over more than {MAX_RANGE} numbers")
    _range_left.set(left)
    return numbers


def _too_long(value: Any, times: Any) -> bool:
    sized = isinstance(value, str | list | tuple) and isinstance(times, int)
    return sized and len(value) * times > MAX_OUTPUT


class GuardedEnvironment(ImmutableSandboxedEnvironment):
    """The sandbox, with a clock check on every call and attribute access and bounded
    ``*`` / ``**`` (a template cannot build a gigabyte string or a huge power)."""

    intercepted_binops = frozenset({"*", "**"})

    def call_binop(self, context: Context, operator: str, left: Any, right: Any) -> Any:
        _tick()
        if operator == "**" and isinstance(right, int | float) and abs(right) > 64:
            raise Overrun("exponent too large")
        if operator == "*" and (_too_long(left, right) or _too_long(right, left)):
            raise Overrun("repeats a value past the output limit")
        return super().call_binop(context, operator, left, right)

    def call(__self, __context: Context, __obj: Any, *args: Any, **kwargs: Any) -> Any:
        _tick()
        return super().call(__context, __obj, *args, **kwargs)

    def getattr(self, obj: Any, attribute: str) -> Any:
        _tick()
        return super().getattr(obj, attribute)


# --- filters ---------------------------------------------------------------------------------------

def _decimal(value: Any) -> Decimal | None:
    if value is None or value == "":
        return None
    try:
        return Decimal(str(value))
    except InvalidOperation:
        return None


def money(value: Any, places: int = 2) -> str:
    """12345.5 → "12,345.50"; blank for nothing."""
    d = _decimal(value)
    if d is None:
        return ""
    places = max(0, min(int(places), 6))
    return f"{d.quantize(Decimal(1).scaleb(-places)):,.{places}f}"


def qty(value: Any) -> str:
    """A quantity without trailing zeros: "12.500" → "12.5"."""
    d = _decimal(value)
    if d is None:
        return "" if value is None else str(value)
    text = f"{d:f}"
    return text.rstrip("0").rstrip(".") if "." in text else text


def date_filter(value: Any, fmt: str = "%Y-%m-%d") -> str:
    """An ISO 8601 date or time (as the documents carry them) in ``fmt`` (strftime)."""
    if value is None or value == "":
        return ""
    when = value
    if isinstance(value, str):
        try:
            when = datetime.fromisoformat(value)
        except ValueError:
            return value
    if not isinstance(when, date):
        return str(value)
    return when.strftime(str(fmt)[:40])


@lru_cache(maxsize=128)
def barcode_svg(value: Any, height: int = 40, bar: float = 1.2) -> Markup:
    """A Code 128 of ``value`` as an inline SVG (bars only; print the text beside it)."""
    text = str(value)[:80]
    if not text:
        return Markup("")
    code = code128.Code128(text, humanReadable=False)
    code.validate()
    code.encode()
    code.decompose()
    x, rects = 10 * bar, []  # quiet zones of ten modules either side
    for ch in code.decomposed:
        width = (ord(ch.lower()) - ord("a") + 1) * bar
        if ch.isupper():
            rects.append(f'<rect x="{x:g}" y="0" width="{width:g}" height="{height}"/>')
        x += width
    return Markup(f'<svg class="barcode" xmlns="http://www.w3.org/2000/svg" width="{x + 10 * bar:g}" '
                  f'height="{height}" viewBox="0 0 {x + 10 * bar:g} {height}" role="img" '
                  f'aria-label="{escape(text)}"><g fill="#000">{"".join(rects)}</g></svg>')


@lru_cache(maxsize=128)
def qr_svg(value: Any, size: int = 96) -> Markup:
    """A QR code of ``value`` as an inline SVG, ``size`` pixels square."""
    widget = QrCodeWidget(str(value)[:500], barLevel="M")
    widget.qr.make()
    modules = widget.qr.modules
    n, rects = len(modules), []
    for r, row in enumerate(modules):
        c = 0
        for dark, run in groupby(bool(m) for m in row):
            count = len(list(run))
            if dark:
                rects.append(f'<rect x="{c + 2}" y="{r + 2}" width="{count}" height="1"/>')
            c += count
    return Markup(f'<svg class="qr" xmlns="http://www.w3.org/2000/svg" width="{size}" '
                  f'height="{size}" viewBox="0 0 {n + 4} {n + 4}" shape-rendering="crispEdges">'
                  f'<g fill="#000">{"".join(rects)}</g></svg>')


FILTERS = {"money": money, "qty": qty, "date": date_filter, "barcode_svg": barcode_svg,
           "qr_svg": qr_svg}


def environment(layout: str) -> GuardedEnvironment:
    env = GuardedEnvironment(loader=DictLoader({"layout": layout}), autoescape=True,
                             trim_blocks=True, lstrip_blocks=True)
    env.filters.update(FILTERS)
    env.globals = {"range": _range}  # nothing else: no lipsum, cycler, joiner, namespace
    return env


# --- compile and render ----------------------------------------------------------------------------

def _failed(exc: BaseException, line: int | None) -> ValidationFailed:
    error = str(getattr(exc, "message", None) or exc) or type(exc).__name__
    if isinstance(exc, TemplateNotFound):
        error = f"no template {exc.name!r}: the only one is 'layout'"
    if line is None:
        return ValidationFailed.single("body", "{error}", error=error)
    return ValidationFailed.single("body", "line {line}: {error}", line=line, error=error)


def _line_of(exc: BaseException) -> int | None:
    """The line of the body the error arose on (the innermost frame of the template itself)."""
    lines = [f.lineno for f in traceback.extract_tb(exc.__traceback__)
             if f.filename == TEMPLATE_FILE]
    return lines[-1] if lines else None


@lru_cache(maxsize=64)  # a print run renders the same body again and again
def compile_body(env: GuardedEnvironment, body: str) -> Template:
    if len(body) > MAX_BODY:
        raise ValidationFailed.single("body", "at most {max} characters", max=MAX_BODY)
    try:
        return env.from_string(body)
    except TemplateSyntaxError as exc:
        raise _failed(exc, exc.lineno) from None


def render_body(env: GuardedEnvironment, body: str, context: dict[str, Any]) -> str:
    """The HTML, or ``ValidationFailed`` on ``body`` naming the line and what went wrong."""
    template = compile_body(env, body)
    deadline = _deadline.set(time.monotonic() + MAX_SECONDS)
    budget = _range_left.set(MAX_RANGE)
    try:
        return "".join(_bounded(template.generate(context)))
    except DomainError:
        raise
    except Exception as exc:
        raise _failed(exc, _line_of(exc)) from None
    finally:
        _deadline.reset(deadline)
        _range_left.reset(budget)


def _bounded(chunks: Iterator[str]) -> Iterator[str]:
    size = 0
    for chunk in chunks:
        size += len(chunk)
        if size > MAX_OUTPUT:
            raise Overrun(f"renders more than {MAX_OUTPUT} characters")
        _tick()
        yield chunk
