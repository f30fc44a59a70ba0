"""List exports: any list page answers ``?format=csv`` or ``?format=xlsx`` with every matching row.

An export drops the columns the user's field rules hide (as the API redacts them), translates
the headers into the user's language and needs the resource's ``export`` permission where the
resource has one. Excel is the reader in mind: CSV carries a BOM so Chinese opens correctly,
XLSX keeps numbers and dates as numbers and dates.
"""

import csv
import io
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import UTC, date, datetime
from decimal import Decimal
from enum import Enum
from typing import Any
from urllib.parse import quote

from fastapi import Request
from fastapi.responses import Response
from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.styles import Font
from openpyxl.utils import get_column_letter

from cangliu.core.custom_fields import Definition, FieldType, display
from cangliu.core.errors import ValidationFailed
from cangliu.core.permissions import RESOURCES, Actor
from cangliu.i18n import translate
from cangliu.web.deps import Forbidden, deny
from cangliu.web.problems import locale_of

FORMATS = ("csv", "xlsx")
MAX_ROWS = 100_000
MEDIA = {"csv": "text/csv; charset=utf-8",
         "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"}
# Text a spreadsheet would run as a formula (CSV injection): written as text instead.
FORMULA = ("=", "+", "-", "@", "\t", "\r")
Columns = Sequence[tuple[str, str]]  # (row key, header msgid)
Labels = Mapping[str, Mapping[Any, str]]  # column → its codes' msgids
Fetch = Callable[[Any], tuple[Sequence[Mapping[str, Any]], Any]]  # cursor → page, next cursor
# Columns whose values are vocabulary (a state, a reason code): in the user's language, as on
# the pages.
WORDS = frozenset({"state", "status", "reason_code", "from_status", "action", "kind", "site_kind",
                   "channel", "tracking"})


def custom_columns(definitions: Sequence[Definition], locale: str) -> list[tuple[str, str]]:
    """The columns of a record's active custom fields, headed by their label in ``locale``
    (labels are the administrator's words, not msgids: translation leaves them as they are)."""
    return [(f"custom.{d.key}", d.label(locale)) for d in definitions if d.active]


def with_custom(rows: Iterable[Mapping[str, Any]], definitions: Sequence[Definition],
                locale: str) -> list[dict[str, Any]]:
    """Rows with a ``custom.<key>`` cell per custom field, options by their label."""
    out = []
    for row in rows:
        values = row.get("custom") or {}
        out.append({**row, **{f"custom.{d.key}": _custom_cell(d, values.get(d.key), locale)
                              for d in definitions}})
    return out


def _custom_cell(d: Definition, value: Any, locale: str) -> Any:
    """Numbers and dates stay numbers and dates for Excel; the rest as the pages show it."""
    if value is None or value == "":
        return None
    if d.type == FieldType.NUMBER:
        return Decimal(str(value))
    if d.type == FieldType.DATE:
        return date.fromisoformat(str(value))
    return display(d, value, locale)


def wants_export(request: Request) -> str | None:
    """The export format asked for (``format=csv|xlsx``), None for the page itself."""
    fmt = request.query_params.get("format")
    if not fmt:
        return None
    if fmt not in FORMATS:
        raise ValidationFailed.single("format", "must be one of: {expected}",
                                      expected=", ".join(FORMATS))
    return fmt


def permission(resource: str) -> str:
    """What exporting a resource's list needs: its ``export`` action, else sight of it."""
    return f"{resource}.export" if "export" in RESOURCES.get(resource, ()) else f"{resource}.view"


def sites(actor: Actor, resource: str) -> frozenset[int] | None:
    """The sites whose rows a user may export: where they both see and export the resource
    (None: every site)."""
    seen, exported = actor.sites(f"{resource}.view"), actor.sites(permission(resource))
    if seen is None or exported is None:
        return exported if seen is None else seen
    return seen & exported


def check_export(request: Request, actor: Actor, resource: str) -> None:
    """403 unless the user may export this resource's lists (somewhere in their scope)."""
    if not actor.can(permission(resource)):
        raise deny(request, Forbidden("Your role may not export this list"), actor)


def too_many(limit: int = MAX_ROWS) -> ValidationFailed:
    return ValidationFailed.single("format", "more than {limit} rows: narrow the filters to export",
                                   limit=limit)


def collect(fetch: Fetch, limit: int = MAX_ROWS) -> list[Mapping[str, Any]]:
    """Every row of a cursor-paged list: ``fetch(cursor)`` answers a page and the next cursor."""
    rows: list[Mapping[str, Any]] = []
    cursor: Any = None
    while True:
        page, cursor = fetch(cursor)
        rows.extend(page)
        if len(rows) > limit:
            raise too_many(limit)
        if not cursor or not page:
            return rows


def shown(columns: Columns, actor: Actor) -> list[tuple[str, str]]:
    """The columns without those the user's field rules hide."""
    hidden = actor.hidden_keys
    return [(key, label) for key, label in columns if key not in hidden]


def export(rows: Iterable[Mapping[str, Any]], columns: Columns, *, fmt: str, filename: str,
           actor: Actor, locale: str, labels: Labels | None = None) -> Response:
    """The rows as a CSV or XLSX attachment, with translated headers and only the columns the
    user may see. ``labels`` maps a column's codes to the msgids the page shows for them."""
    cols = shown(columns, actor)
    headers = [translate(locale, label) for _key, label in cols]
    words = {key: (labels or {}).get(key, {}) for key, _label in cols
             if key in WORDS or key in (labels or {})}
    table = [[_word(locale, words[key], row.get(key)) if key in words else row.get(key)
              for key, _label in cols] for row in rows]
    if len(table) > MAX_ROWS:
        raise too_many()
    body = _csv(headers, table) if fmt == "csv" else _xlsx(headers, table)
    stamp = datetime.now(UTC).strftime("%Y%m%d")
    return Response(body, media_type=MEDIA[fmt],
                    headers={"Content-Disposition": disposition(f"{filename}-{stamp}.{fmt}")})


def answer(request: Request, actor: Actor, resource: str, fetch: Fetch, columns: Columns, *,
           fmt: str, filename: str, labels: Labels | None = None) -> Response:
    """A list page's export: the permission check, every page of ``fetch``, the file."""
    check_export(request, actor, resource)
    return export(collect(fetch), columns, fmt=fmt, filename=filename, actor=actor,
                  locale=locale_of(request), labels=labels)


def _word(locale: str, labels: Mapping[Any, str], value: Any) -> Any:
    if value is None or value == "":
        return value
    return translate(locale, labels.get(value, str(value)))


def disposition(name: str) -> str:
    """An attachment header every browser reads: an ASCII fallback and the UTF-8 name."""
    ascii_name = re.sub(r"[^A-Za-z0-9._-]+", "_", name).strip("_-") or "export"
    return f"attachment; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(name, safe='')}"


def plain(value: Any) -> Any:
    """A cell's value as Excel should hold it: numbers, dates, booleans and text."""
    if value is None:
        return None
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, datetime):
        # Excel knows no time zones: times are written in UTC, as the pages show them.
        return value.astimezone(UTC).replace(tzinfo=None) if value.tzinfo else value
    if isinstance(value, bool | int | float | Decimal | date):
        return value
    if isinstance(value, list | tuple | set | frozenset):
        return ", ".join(str(plain(v)) for v in value)
    return str(value)


def _text(value: Any) -> str:
    value = plain(value)
    if value is None:
        return ""
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, Decimal):
        return f"{value:f}"
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M:%S")
    if isinstance(value, date):
        return value.isoformat()
    return str(value)


def _csv_cell(value: Any) -> str:
    text = _text(value)
    return "'" + text if isinstance(plain(value), str) and text.startswith(FORMULA) else text


def _csv(headers: list[str], table: list[list[Any]]) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(headers)
    writer.writerows([_csv_cell(v) for v in row] for row in table)
    return ("\ufeff" + out.getvalue()).encode("utf-8")


def _width(value: Any) -> int:
    """Display width: CJK characters take two columns."""
    text = _text(value)
    return sum(2 if ord(ch) > 0x2E80 else 1 for ch in text)


def _xlsx_cell(sheet: Any, value: Any) -> Any:
    """The value, or for text starting with "=" a cell that holds it as text, not a formula."""
    value = plain(value)
    if not (isinstance(value, str) and value.startswith("=")):
        return value
    cell = WriteOnlyCell(sheet, value=value)
    cell.data_type = "s"
    return cell


def _xlsx(headers: list[str], table: list[list[Any]]) -> bytes:
    book = Workbook(write_only=True)
    sheet = book.create_sheet()
    sheet.freeze_panes = "A2"
    sample = table[:200]
    for i, header in enumerate(headers):
        widest = max([_width(header), *(_width(row[i]) for row in sample)])
        sheet.column_dimensions[get_column_letter(i + 1)].width = min(max(widest + 2, 8), 60)
    bold = Font(bold=True)
    head = []
    for header in headers:
        cell = WriteOnlyCell(sheet, value=header)
        cell.font = bold
        head.append(cell)
    sheet.append(head)
    for row in table:
        sheet.append([_xlsx_cell(sheet, v) for v in row])
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()
