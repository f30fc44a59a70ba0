"""A report as files: a workbook with one sheet per section, and a PDF of the same tables, both
with headings in the reader's language (Chinese through ReportLab's built-in CID font)."""

from decimal import Decimal
from io import BytesIO
from typing import Any

from openpyxl import Workbook
from reportlab.lib import colors
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.cidfonts import UnicodeCIDFont
from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

from cangliu.services.kpis import BY_CODE
from cangliu.services.reports.data import ReportData
from cangliu.services.reports.labels import label

FONT = "STSong-Light"  # ships with ReportLab: no font files needed for Simplified Chinese
pdfmetrics.registerFont(UnicodeCIDFont(FONT))
KIND_LABELS = {"daily": "Daily", "weekly": "Weekly", "monthly": "Monthly"}
Section = tuple[str, list[str], list[list[Any]], str]  # title, headers, rows, note when empty


def title(data: ReportData, locale: str) -> str:
    """E.g. "Daily Inventory report 2026-11-23" / "日报 库存报表 2026-11-23"."""
    period = str(data.period_start)
    if data.period_end != data.period_start:
        period += f" – {data.period_end}"
    return f"{label(KIND_LABELS[data.kind], locale)} {label('Inventory report', locale)} {period}"


def sections(data: ReportData, locale: str) -> list[Section]:
    """The report's tables, headers and vocabulary translated; money and quantities as
    Decimals, totals last."""
    def tr(msgid: str) -> str:
        return label(msgid, locale)

    moves = [[tr(m.operation), m.site, m.postings, m.qty, m.value] for m in data.movements]
    if moves:
        moves.append([tr("Total"), "", sum(m.postings for m in data.movements), "",
                      sum((m.value for m in data.movements), Decimal(0))])
    held = [[h.site, h.category, h.value] for h in data.inventory]
    if held:
        held.append([tr("Total"), "", sum((h.value for h in data.inventory), Decimal(0))])
    kpis = [[tr(BY_CODE[k].name if k in BY_CODE else k), "" if v is None else Decimal(v)]
            for k, v in (data.kpis or {}).items()]
    alerts = [[a.rule, tr(a.severity), a.opened, a.acknowledged, a.resolved] for a in data.alerts]
    return [
        (tr("Movements"), [tr(h) for h in ("Operation", "Site", "Postings", "Quantity", "Value")],
         moves, tr("No movements in this period.")),
        (tr("Inventory value"), [tr(h) for h in ("Site", "Category", "Value")], held,
         tr("No stock at the end of the period.")),
        (tr("KPIs"), [tr("Indicator"), tr("Value")], kpis, tr("KPIs not available")),
        (tr("Alerts handled"),
         [tr(h) for h in ("Rule", "Severity", "Opened in period", "Acknowledged", "Resolved")], alerts,
         tr("No alerts in this period.")),
    ]


def _heading(data: ReportData, locale: str) -> list[list[str]]:
    rows = [[title(data, locale)],
            [label("Generated at", locale), data.generated_at.strftime("%Y-%m-%d %H:%M UTC")]]
    if not data.complete:
        rows.append([label("Incomplete: the period had not ended when this report was "
                           "generated.", locale)])
    return rows


def plain_text(data: ReportData, locale: str, *, values: bool = True) -> str:
    """The report's totals in a few lines, for an e-mail (the files are on the reports page);
    ``values=False`` for a reader whose roles hide stock values."""
    def tr(msgid: str) -> str:
        return label(msgid, locale)

    lines = [title(data, locale), f"{tr('Postings')}: {sum(m.postings for m in data.movements)}"]
    if values:
        lines.append(f"{tr('Inventory value')}: "
                     f"{sum((h.value for h in data.inventory), Decimal(0))}")
    return "\n".join(lines)


def to_xlsx(data: ReportData, locale: str) -> bytes:
    """One sheet per section (the first also carries the title); numbers stay numbers."""
    book = Workbook()
    first = True
    for name, headers, rows, empty in sections(data, locale):
        sheet = book.active if first else book.create_sheet()
        assert sheet is not None
        sheet.title = name[:31]
        if first:
            for line in _heading(data, locale):
                sheet.append(line)
            sheet.append([])
            first = False
        sheet.append(headers)
        for row in rows or [[empty]]:
            sheet.append(row)
    out = BytesIO()
    book.save(out)
    return out.getvalue()


def to_pdf(data: ReportData, locale: str) -> bytes:
    """The title, then each section as a table (or a line saying it is empty)."""
    buffer = BytesIO()
    doc = SimpleDocTemplate(buffer, pagesize=A4, title=title(data, locale),
                            leftMargin=15 * mm, rightMargin=15 * mm, topMargin=15 * mm)
    big = ParagraphStyle("title", fontName=FONT, fontSize=16, leading=20)
    head = ParagraphStyle("head", fontName=FONT, fontSize=12, leading=16, spaceBefore=6)
    body = ParagraphStyle("body", fontName=FONT, fontSize=9, leading=12)
    story: list[Any] = [Paragraph(title(data, locale), big)]
    story += [Paragraph(" ".join(line), body) for line in _heading(data, locale)[1:]]
    for name, headers, rows, empty in sections(data, locale):
        story += [Spacer(1, 4 * mm), Paragraph(name, head)]
        story.append(_table(headers, rows, body) if rows else Paragraph(empty, body))
    doc.build(story)
    return buffer.getvalue()


def _table(headers: list[str], rows: list[list[Any]], style: ParagraphStyle) -> Table:
    table = Table([[Paragraph(str(v), style) for v in row] for row in [headers, *rows]],
                  repeatRows=1)
    table.setStyle(TableStyle([
        ("GRID", (0, 0), (-1, -1), 0.4, colors.grey),
        ("BACKGROUND", (0, 0), (-1, 0), colors.whitesmoke),
        ("VALIGN", (0, 0), (-1, -1), "MIDDLE"),
    ]))
    return table
