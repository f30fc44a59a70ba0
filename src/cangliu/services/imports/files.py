"""Files an import hands out: the error report (row, column, reason) as XLSX or CSV, and the
template of each entity.

A template is an XLSX workbook: the first sheet "数据 Data" has ONE header row whose cells read
``中文 / english`` (e.g. ``编码 / code``) — the form the importer reads back, as it reads either
half alone — and nothing else, so a filled-in template imports as it is; the sheet "示例
Example" shows the same header with one example row; the sheet "说明 Notes" explains each
column (required or not, type, allowed values). Text a spreadsheet would run as a formula is
written as text, as list exports do.
"""

import csv
import io
from collections.abc import Iterable
from typing import Any

from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.styles import Font, PatternFill

from cangliu.i18n import translate
from cangliu.services.imports.cells import RowError
from cangliu.services.imports.spec import Col, Entity

FORMULA = ("=", "+", "-", "@", "\t", "\r")
KIND_NAMES = {"text": "Text", "ref": "Code of another record", "code": "Code", "email": "E-mail",
              "currency": "Currency", "list": "List", "int": "Whole number", "decimal": "Decimal number",
              "money": "Decimal number", "qty": "Decimal number", "bool": "Yes/No", "enum": "Choice",
              "date": "Date"}


def report_rows(errors: Iterable[RowError], locale: str) -> list[tuple[int, str, str]]:
    return [(e.row, e.column, translate(locale, e.message, **e.params)) for e in errors]


def _headers(locale: str) -> list[str]:
    return [translate(locale, "Row"), translate(locale, "Column"), translate(locale, "Reason")]


def errors_csv(errors: Iterable[RowError], locale: str) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(_headers(locale))
    for row, column, reason in report_rows(errors, locale):
        writer.writerow([row, _csv_text(column), _csv_text(reason)])
    return ("\ufeff" + out.getvalue()).encode("utf-8")


def _csv_text(text: str) -> str:
    return "'" + text if text.startswith(FORMULA) else text


def _cell(sheet: Any, value: Any, *, bold: bool = False) -> Any:
    """A write-only cell; text stays text even when it starts like a formula."""
    cell = WriteOnlyCell(sheet, value=value)
    if isinstance(value, str) and value.startswith("="):
        cell.data_type = "s"
    if bold:
        cell.font = Font(bold=True)
    return cell


def errors_xlsx(errors: Iterable[RowError], locale: str) -> bytes:
    book = Workbook(write_only=True)
    sheet = book.create_sheet(translate(locale, "Errors")[:31])
    sheet.freeze_panes = "A2"
    for letter, width in (("A", 8), ("B", 24), ("C", 80)):
        sheet.column_dimensions[letter].width = width
    sheet.append([_cell(sheet, h, bold=True) for h in _headers(locale)])
    for row in report_rows(errors, locale):
        sheet.append([_cell(sheet, v) for v in row])
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def _describe(col: Col, locale: str) -> list[Any]:
    allowed = ", ".join(dict.fromkeys(col.choices.values())) if col.choices else ""
    if col.kind in ("decimal", "int") and col.low is not None and col.high is not None:
        allowed = f"{col.low:g} … {col.high:g}"
    return [col.header, translate(locale, "Yes") if col.required else translate(locale, "No"),
            translate(locale, KIND_NAMES[col.kind]), allowed,
            translate(locale, col.note) if col.note else "", col.example]


def template(entity: Entity, locale: str) -> bytes:
    book = Workbook()
    data = book.active
    assert data is not None
    data.title = "数据 Data"
    fill = PatternFill("solid", fgColor="FFF2CC")
    for i, col in enumerate(entity.columns, start=1):
        cell = data.cell(row=1, column=i, value=col.header)
        cell.font = Font(bold=True, color="C00000" if col.required else "000000")
        cell.fill = fill if col.required else PatternFill()
        data.column_dimensions[cell.column_letter].width = max(14, len(col.header) * 1.6)
    data.freeze_panes = "A2"
    example = book.create_sheet("示例 Example")
    example.append([col.header for col in entity.columns])
    example.append([col.example or None for col in entity.columns])
    notes = book.create_sheet("说明 Notes")
    notes.append([translate(locale, h) for h in
                  ("Column", "Required", "Type", "Allowed values", "Meaning", "Example")])
    for col in entity.columns:
        notes.append(_describe(col, locale))
    notes.append([])
    for line in ("Fill in the first sheet, one record per row, from row 2; keep the header row.",
                 "Headers may be Chinese, English or both as in this template.",
                 "Required columns are in red. Yes/No columns take 是/否, yes/no, 1/0.",
                 "The whole file is checked first: if any row is wrong, nothing is imported "
                 "and the error report names each row and column."):
        notes.append([translate(locale, line)])
    for sheet in (notes,):
        sheet.column_dimensions["A"].width = 28
        sheet.column_dimensions["E"].width = 60
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()
