"""Labels (标签): a label template's size and layout, the content of one label, and whether a
sheet of labels fits an A4 page. Pure values; the PDF is drawn in ``web/labels``."""

import re
from dataclasses import dataclass
from datetime import date
from typing import Any, Final

from cangliu.core.errors import FieldError, ValidationFailed
from cangliu.core.serials import gs1
from cangliu.core.serials.checkdigits import verify

A4_MM: Final = (210.0, 297.0)
SHEETS: Final = ("single", "a4")
FIELDS: Final = ("name", "sku", "serial", "lot", "expiry", "qr", "code128", "site")
MAX_LABELS: Final = 5000
CODE: Final = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._\-]{0,39}$")


@dataclass(frozen=True)
class LabelSpec:
    """A label template: the label's size, how labels sit on a page, what each one shows."""

    code: str
    name: str
    width_mm: float
    height_mm: float
    sheet: str = "single"  # single: one label per page of the label's size; a4: a grid on A4
    columns: int = 1
    rows: int = 1
    margin_mm: float = 0.0
    gap_mm: float = 0.0
    fields: tuple[str, ...] = FIELDS
    font_size: float = 8.0

    @property
    def per_page(self) -> int:
        return self.columns * self.rows if self.sheet == "a4" else 1


@dataclass(frozen=True)
class LabelItem:
    """What one label says: the unit's serial, or its lot (and expiry), or just the SKU."""

    title: str
    sku: str
    gtin: str | None = None
    serial: str | None = None
    lot: str | None = None
    expiry: date | None = None
    site: str | None = None


@dataclass(frozen=True)
class LabelContent:
    """The symbols of one label: the QR payload, the text printed under the QR (the GS1
    element string in brackets; "" for a plain code) and the Code 128 value."""

    qr: str
    qr_text: str
    code128: str


BUILTINS: Final[tuple[LabelSpec, ...]] = (
    LabelSpec("50x30", "50 × 30 mm 热敏标签", 50, 30, font_size=7),
    # A 3 × 8 sheet of 70 × 37 mm labels spans the A4 width edge to edge.
    LabelSpec("A4-3x8", "A4 标签纸 3 × 8（70 × 37 mm）", 70, 37, sheet="a4", columns=3, rows=8,
              font_size=7),
)


def gtin_of(barcodes: list[str]) -> str | None:
    """The first barcode that is a valid GTIN-8/12/13/14, as 14 digits."""
    for code in barcodes:
        if len(code) in (8, 12, 13, 14) and code.isascii() and code.isdigit() \
                and verify("gs1", code).valid:
            return code.zfill(14)
    return None


def content_of(item: LabelItem) -> LabelContent:
    """The QR holds the GS1 element string (01 + 21 for a serial, 01 + 10 + 17 for a lot) when the
    SKU has a GTIN and the values are GS1-encodable; otherwise the plain serial, lot or SKU code."""
    plain = item.serial or item.lot or item.sku
    if item.gtin:
        values: dict[str, Any] = ({"serial": item.serial} if item.serial else
                                  {"lot": item.lot, "expiry": item.expiry} if item.lot else {})
        try:
            return LabelContent(gs1.element_string(gtin=item.gtin, **values),
                                gs1.human_readable(gtin=item.gtin, **values), plain)
        except ValidationFailed:
            pass  # e.g. a serial longer than 20 characters: the plain code still scans
    return LabelContent(plain, "", plain)


def _number(errors: list[FieldError], values: dict[str, Any], name: str, low: float,
            high: float, *, whole: bool = False) -> float:
    raw = values.get(name)
    try:
        number = float(raw) if not isinstance(raw, bool) and raw not in (None, "") else None
    except (TypeError, ValueError):
        number = None
    if number is None or (whole and number != int(number)):
        message = ("must be a whole number from {low} to {high}" if whole else
                   "must be a number from {low} to {high}")
        errors.append(FieldError(name, message,
                                 {"low": f"{low:g}", "high": f"{high:g}"}))
        return low
    if not low <= number <= high:
        errors.append(FieldError(name, "must be from {low} to {high}",
                                 {"low": f"{low:g}", "high": f"{high:g}"}))
    return number


def _fields(errors: list[FieldError], raw: Any) -> tuple[str, ...]:
    if not isinstance(raw, list | tuple) or not raw or not all(isinstance(f, str) for f in raw):
        errors.append(FieldError("fields", "must list at least one of: {choices}",
                                 {"choices": ", ".join(FIELDS)}))
        return ()
    unknown = [f for f in raw if f not in FIELDS]
    if unknown:
        errors.append(FieldError("fields", "unknown field {field}; choose from: {choices}",
                                 {"field": unknown[0], "choices": ", ".join(FIELDS)}))
    return tuple(dict.fromkeys(f for f in raw if f in FIELDS))


def check_spec(values: dict[str, Any]) -> LabelSpec:
    """A template from its fields, or every reason it is refused, by field."""
    errors: list[FieldError] = []
    code, name = str(values.get("code") or ""), str(values.get("name") or "").strip()
    if not CODE.match(code):
        errors.append(FieldError("code", "must be 1 to 40 letters, digits, '.', '_' or '-'"))
    if not 1 <= len(name) <= 100:
        errors.append(FieldError("name", "must be 1 to 100 characters"))
    sheet = values.get("sheet", "single")
    if sheet not in SHEETS:
        errors.append(FieldError("sheet", "must be one of: {expected}",
                                 {"expected": ", ".join(SHEETS)}))
    width = _number(errors, values, "width_mm", 10, 300)
    height = _number(errors, values, "height_mm", 10, 300)
    columns = int(_number(errors, values | {"columns": values.get("columns", 1)}, "columns",
                          1, 20, whole=True))
    rows = int(_number(errors, values | {"rows": values.get("rows", 1)}, "rows", 1, 20, whole=True))
    margin = _number(errors, values | {"margin_mm": values.get("margin_mm", 0)}, "margin_mm", 0, 50)
    gap = _number(errors, values | {"gap_mm": values.get("gap_mm", 0)}, "gap_mm", 0, 50)
    font = _number(errors, values | {"font_size": values.get("font_size", 8)}, "font_size", 4, 36)
    fields = _fields(errors, values.get("fields", list(FIELDS)))
    spec = LabelSpec(code, name, width, height, str(sheet), columns, rows, margin, gap, fields, font)
    if not errors:
        errors += fit_errors(spec)
    if errors:
        raise ValidationFailed(errors)
    return spec


def fit_errors(spec: LabelSpec) -> list[FieldError]:
    """Why the labels do not fit their page: a single label is its own page (one column, one
    row); a sheet's columns and rows, with the margins and gaps, must fit A4 (210 × 297 mm)."""
    if spec.sheet == "single":
        return [FieldError(f, "must be 1 for a single label") for f, n in
                (("columns", spec.columns), ("rows", spec.rows)) if n != 1]
    errors = []
    for field, size, count, page in (("width_mm", spec.width_mm, spec.columns, A4_MM[0]),
                                     ("height_mm", spec.height_mm, spec.rows, A4_MM[1])):
        need = 2 * spec.margin_mm + count * size + (count - 1) * spec.gap_mm
        if need > page + 1e-9:
            errors.append(FieldError(field, "the labels do not fit A4: {need} mm needed, "
                                     "{page} mm available", {"need": f"{need:g}",
                                                             "page": f"{page:g}"}))
    return errors
