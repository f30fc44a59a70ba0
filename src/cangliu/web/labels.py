"""Labels as PDF with ReportLab: each label shows its title (Chinese through the CID font), a QR
with the GS1 element string (or the plain code), the element string in brackets under the QR and
a Code 128 of the serial or lot. Single labels get a page of their own size; sheets fill A4."""

from collections.abc import Iterator
from functools import lru_cache
from io import BytesIO
from itertools import groupby

from reportlab.graphics.barcode import code128
from reportlab.graphics.barcode.qr import QrCodeWidget
from reportlab.lib.units import mm
from reportlab.pdfbase.pdfmetrics import stringWidth
from reportlab.pdfgen.canvas import Canvas

from cangliu.core.errors import ValidationFailed
from cangliu.core.labels import A4_MM, MAX_LABELS, LabelContent, LabelItem, LabelSpec, content_of
from cangliu.web.pdf import FONT  # registers the Chinese CID font

__all__ = ["LabelItem", "LabelSpec", "render_labels"]

PAD = 1.5 * mm
MONO = "Helvetica"  # GS1 text, codes and dates are ASCII


def render_labels(template: LabelSpec, items: list[LabelItem]) -> bytes:
    """The labels as one PDF: a page per label for single labels, columns × rows per A4 page
    for a sheet (the grid centred on the page within its margins)."""
    if not items:
        raise ValidationFailed.single("items", "there is nothing to print")
    if len(items) > MAX_LABELS:
        raise ValidationFailed.single("items", "at most {max} labels at a time", max=MAX_LABELS)
    buffer = BytesIO()
    width, height = template.width_mm * mm, template.height_mm * mm
    page = (width, height) if template.sheet == "single" else (A4_MM[0] * mm, A4_MM[1] * mm)
    canvas = Canvas(buffer, pagesize=page, pageCompression=1)
    canvas.setTitle(f"{template.name} × {len(items)}")
    slots = list(_slots(template))
    for i, item in enumerate(items):
        if i and i % len(slots) == 0:
            canvas.showPage()
        x, y = slots[i % len(slots)]
        _draw_label(canvas, template, item, x, y)
    canvas.showPage()
    canvas.save()
    return buffer.getvalue()


def _slots(spec: LabelSpec) -> Iterator[tuple[float, float]]:
    """Bottom-left corners of the labels on one page, left to right, top to bottom."""
    if spec.sheet == "single":
        yield 0.0, 0.0
        return
    gap = spec.gap_mm * mm
    grid_w = spec.columns * spec.width_mm * mm + (spec.columns - 1) * gap
    grid_h = spec.rows * spec.height_mm * mm + (spec.rows - 1) * gap
    left = (A4_MM[0] * mm - grid_w) / 2
    top = A4_MM[1] * mm - (A4_MM[1] * mm - grid_h) / 2
    for row in range(spec.rows):
        for column in range(spec.columns):
            yield (left + column * (spec.width_mm * mm + gap),
                   top - (row + 1) * spec.height_mm * mm - row * gap)


def _fit(text: str, font: str, size: float, width: float) -> str:
    """``text`` cut (with an ellipsis) to ``width`` points."""
    if stringWidth(text, font, size) <= width:
        return text
    while text and stringWidth(text + "…", font, size) > width:
        text = text[:-1]
    return text + "…"


def _draw_label(canvas: Canvas, spec: LabelSpec, item: LabelItem, x: float, y: float) -> None:
    w, h, size = spec.width_mm * mm, spec.height_mm * mm, spec.font_size
    show = set(spec.fields)
    content = content_of(item)
    top = y + h - PAD
    if "name" in show:
        top -= size
        canvas.setFont(FONT, size)
        canvas.drawString(x + PAD, top, _fit(item.title, FONT, size, w - 2 * PAD))
        top -= size * 0.3
    bottom = y + PAD
    small = size * 0.8
    if "qr" in show and content.qr_text:
        text_size = min(small, (w - 2 * PAD) / max(stringWidth(content.qr_text, MONO, 1), 1))
        canvas.setFont(MONO, text_size)
        canvas.drawString(x + PAD, bottom, content.qr_text)
        bottom += text_size * 1.3
    left = x + PAD
    if "qr" in show:
        side = max(min(top - bottom, (w - 2 * PAD) * 0.5), 0)
        _draw_qr(canvas, content.qr, left, top - side, side)
        left += side + PAD
    _draw_text_column(canvas, spec, item, content, left, x + w - PAD, bottom, top)


@lru_cache(maxsize=64)  # the labels of one lot are alike: encode their QR once
def qr_modules(value: str) -> tuple[tuple[bool, ...], ...]:
    """The QR's dark modules, row by row from the top, as ReportLab's QR widget encodes ``value``
    (error correction M, the mask chosen by the ISO/IEC 18004 penalty rules)."""
    widget = QrCodeWidget(value, barLevel="M")
    widget.qr.make()
    return tuple(tuple(bool(m) for m in row) for row in widget.qr.modules)


def _draw_qr(canvas: Canvas, value: str, x: float, y: float, side: float) -> None:
    """The modules as one filled path of horizontal runs: the widget's own drawing builds a
    shape object per run, which makes thousands of labels slow."""
    modules = qr_modules(value)
    border = 2  # quiet zone in modules, the label's padding adds to it
    box = side / (len(modules) + 2 * border)
    path = canvas.beginPath()
    for r, row in enumerate(modules):
        c = 0
        for dark, run in groupby(row):
            count = len(list(run))
            if dark:
                path.rect(x + (c + border) * box, y + side - (r + border + 1) * box,
                          count * box, box)
            c += count
    canvas.drawPath(path, stroke=0, fill=1)


def _draw_text_column(canvas: Canvas, spec: LabelSpec, item: LabelItem, content: LabelContent,
                      left: float, right: float, bottom: float, top: float) -> None:
    """SKU, serial, lot, expiry and site lines from the top; the Code 128 at the bottom."""
    show, size = set(spec.fields), spec.font_size * 0.85
    lines = [(f, text) for f, text in (
        ("sku", item.sku), ("serial", f"SN {item.serial}" if item.serial else ""),
        ("lot", f"LOT {item.lot}" if item.lot else ""),
        ("expiry", f"EXP {item.expiry.isoformat()}" if item.expiry else ""),
        ("site", item.site or "")) if f in show and text]
    for _field, text in lines:
        if top - size < bottom:
            break
        top -= size * 1.15
        font = MONO if text.isascii() else FONT
        canvas.setFont(font, size)
        canvas.drawString(left, top, _fit(text, font, size, right - left))
    if "code128" in show:
        _draw_code128(canvas, content.code128, left, right, bottom, top - PAD / 2, size)


def _draw_code128(canvas: Canvas, value: str, left: float, right: float, bottom: float,
                  top: float, size: float) -> None:
    """The Code 128 as wide as the column allows (quiet zones included), its text underneath."""
    text_h = size * 1.2
    bar_h = min(top - bottom - text_h, 12 * mm)
    if bar_h < 3 * mm or right - left < 10 * mm:
        return  # no room left on this label for bars a scanner could read
    probe = code128.Code128(value, barWidth=1, barHeight=bar_h)
    bar_w = min((right - left) / probe.width, 0.5 * mm)
    barcode = code128.Code128(value, barWidth=bar_w, barHeight=bar_h, humanReadable=False)
    barcode.drawOn(canvas, left, bottom + text_h)
    canvas.setFont(MONO, size)
    canvas.drawCentredString(left + barcode.width / 2, bottom + size * 0.25,
                             _fit(value, MONO, size, right - left))
