"""PDF documents with ReportLab: Chinese through its built-in CID font, the number as Code 128."""

from io import BytesIO
from typing import Any

from reportlab.graphics.barcode import code128
from reportlab.lib import colors
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.cidfonts import UnicodeCIDFont
from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

FONT = "STSong-Light"  # ships with ReportLab: no font files needed for Simplified Chinese
pdfmetrics.registerFont(UnicodeCIDFont(FONT))


def document_pdf(*, title: str, number: str, header: list[tuple[str, str]],
                 columns: list[str], rows: list[list[Any]]) -> bytes:
    """A one-document PDF: title, barcode of the number, header fields, then the lines."""
    buffer = BytesIO()
    doc = SimpleDocTemplate(buffer, pagesize=A4, title=f"{title} {number}",
                            leftMargin=15 * mm, rightMargin=15 * mm, topMargin=15 * mm)
    big = ParagraphStyle("title", fontName=FONT, fontSize=16, leading=20)
    body = ParagraphStyle("body", fontName=FONT, fontSize=9, leading=12)
    barcode = code128.Code128(number, barHeight=12 * mm, barWidth=0.35 * mm, humanReadable=True)
    head = Table([[Paragraph(f"{title}<br/>{number}", big), barcode]], colWidths=[100 * mm, 80 * mm])
    fields = Table([[Paragraph(k, body), Paragraph(v, body)] for k, v in header],
                   colWidths=[35 * mm, 145 * mm])
    if not columns:  # a document without lines still prints its header
        doc.build([head, Spacer(1, 4 * mm), fields])
        return buffer.getvalue()
    table = Table([[Paragraph(str(c), body) for c in columns]]
                  + [[Paragraph(str(v), body) for v in row] for row in rows], repeatRows=1)
    table.setStyle(TableStyle([
        ("GRID", (0, 0), (-1, -1), 0.4, colors.grey),
        ("BACKGROUND", (0, 0), (-1, 0), colors.whitesmoke),
        ("VALIGN", (0, 0), (-1, -1), "MIDDLE"),
    ]))
    doc.build([head, Spacer(1, 4 * mm), fields, Spacer(1, 6 * mm), table])
    return buffer.getvalue()
