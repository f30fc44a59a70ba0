"""Reading an uploaded file: XLSX (its first sheet, values only) or CSV (UTF-8 with or without a
BOM, else GB18030/GBK as Excel in Chinese saves it). Rows keep the number the user sees in the
sheet; blank rows are skipped."""

import csv
import io
import struct
import zipfile
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from python_calamine import CalamineWorkbook

from cangliu.core.errors import ValidationFailed

XLSX_MAGIC = b"PK\x03\x04"
OLE_MAGIC = b"\xd0\xcf\x11\xe0"  # the old binary .xls (and other Office 97 files)
# An XLSX is a zip of XML: a few MB can unpack to gigabytes (a "zip bomb"). Real sheets unpack to
# a few times their size; anything beyond this is refused before it is read.
MAX_UNPACKED_MB = 256
_CHUNK = 1 << 20


@dataclass
class Sheet:
    """The header row and the data rows as (row number, cell values)."""

    headers: list[str]
    rows: list[tuple[int, tuple[Any, ...]]]


def read(content: bytes, filename: str = "") -> Sheet:
    """The file as a sheet, or ValidationFailed on ``file`` saying why it cannot be read."""
    if not content.strip():
        raise ValidationFailed.single("file", "is empty")
    if content.startswith(OLE_MAGIC):
        raise ValidationFailed.single("file", "is an old Excel 97-2003 file: save it as .xlsx")
    if content.startswith(XLSX_MAGIC):
        _check_unpacked(content)
        return _xlsx(content)
    if filename.lower().endswith((".xlsx", ".xlsm")):
        raise ValidationFailed.single("file", "is not a valid XLSX file")
    return _csv(content)


def _xlsx(content: bytes) -> Sheet:
    """The first sheet, read by calamine (Rust; several times faster than openpyxl on a
    100,000-row sheet). Whole numbers come back as floats there and empty cells as "": they are
    given back as int and None, as a spreadsheet shows them."""
    try:
        sheet = CalamineWorkbook.from_filelike(io.BytesIO(content)).get_sheet_by_index(0)
        rows = sheet.to_python(skip_empty_area=False)
    except Exception:  # calamine raises its own error types for every kind of damage
        raise ValidationFailed.single("file", "is not a valid XLSX file") from None
    return _collect(enumerate((tuple(_cell(v) for v in row) for row in rows), start=1))


def _cell(value: Any) -> Any:
    if value == "":
        return None
    if isinstance(value, float) and value.is_integer() and abs(value) < 2**53:
        return int(value)
    return value


def _decode(content: bytes) -> str:
    if b"\x00" in content[:4096]:
        raise ValidationFailed.single("file", "is not a spreadsheet (XLSX or CSV)")
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            return content.decode(encoding)
        except UnicodeDecodeError:
            continue
    raise ValidationFailed.single("file", "is not a spreadsheet (XLSX or CSV)")


def _csv(content: bytes) -> Sheet:
    text = _decode(content)
    try:
        dialect: Any = csv.Sniffer().sniff(text[:4096], delimiters=",;\t")
    except csv.Error:
        dialect = csv.excel
    reader = csv.reader(io.StringIO(text, newline=""), dialect)
    try:
        return _collect(_numbered(reader))
    except csv.Error:
        raise ValidationFailed.single("file", "is not a spreadsheet (XLSX or CSV)") from None


def _numbered(reader: Any) -> Iterator[tuple[int, tuple[Any, ...]]]:
    """CSV rows numbered by the line they start on, as a spreadsheet opening the file shows
    them (a quoted value spanning lines still counts as one row there)."""
    for number, row in enumerate(reader, start=1):
        yield number, tuple(row)


def _blank(values: tuple[Any, ...]) -> bool:
    return all(v is None or (isinstance(v, str) and not v.strip()) for v in values)


def _collect(numbered: Iterator[tuple[int, tuple[Any, ...]]]) -> Sheet:
    headers: list[str] | None = None
    rows: list[tuple[int, tuple[Any, ...]]] = []
    for number, values in numbered:
        if _blank(values):
            continue
        if headers is None:
            headers = ["" if v is None else str(v).strip() for v in values]
            while headers and not headers[-1]:
                headers.pop()
            continue
        rows.append((number, values))
    if headers is None:
        raise ValidationFailed.single("file", "has no header row")
    return Sheet(headers, rows)


def sniff(content: bytes, filename: str = "") -> None:
    """A quick look before a file is kept: ValidationFailed on ``file`` if it is empty, not a
    spreadsheet or a damaged XLSX (the full read happens when the job runs)."""
    if not content.strip():
        raise ValidationFailed.single("file", "is empty")
    if content.startswith(OLE_MAGIC):
        raise ValidationFailed.single("file", "is an old Excel 97-2003 file: save it as .xlsx")
    if content.startswith(XLSX_MAGIC):
        _check_unpacked(content)
        return
    if filename.lower().endswith((".xlsx", ".xlsm")):
        raise ValidationFailed.single("file", "is not a valid XLSX file")
    _decode(content)


def _check_unpacked(content: bytes) -> None:
    """Refuse a damaged XLSX, and one that unpacks to more than MAX_UNPACKED_MB. The members are
    inflated here, counting what comes out rather than trusting the sizes the zip declares, and
    checked against their CRC and declared size."""
    limit, total = MAX_UNPACKED_MB << 20, 0
    try:
        with zipfile.ZipFile(io.BytesIO(content)) as book:
            if "xl/workbook.xml" not in book.namelist():
                raise zipfile.BadZipFile
            for info in book.infolist():
                crc, size = 0, 0
                for chunk in _inflated(content, info):
                    crc, size, total = zlib.crc32(chunk, crc), size + len(chunk), total + len(chunk)
                    if total > limit:
                        raise ValidationFailed.single(
                            "file", "unpacks to more than {mb} MB: split it into smaller files",
                            mb=MAX_UNPACKED_MB)
                if (crc, size) != (info.CRC, info.file_size):
                    raise zipfile.BadZipFile
    except (zipfile.BadZipFile, zlib.error, struct.error, OSError, ValueError, EOFError):
        raise ValidationFailed.single("file", "is not a valid XLSX file") from None


def _inflated(content: bytes, info: zipfile.ZipInfo) -> Iterator[bytes]:
    """A member's content, inflated one MB at most at a time."""
    name_len, extra_len = struct.unpack("<HH", content[info.header_offset + 26:
                                                       info.header_offset + 30])
    start = info.header_offset + 30 + name_len + extra_len
    data = content[start:start + info.compress_size]
    if info.compress_type == zipfile.ZIP_STORED:
        yield data
        return
    if info.compress_type != zipfile.ZIP_DEFLATED:
        raise zipfile.BadZipFile
    inflate = zlib.decompressobj(-zlib.MAX_WBITS)
    while data and not inflate.eof:
        yield inflate.decompress(data, _CHUNK)
        data = inflate.unconsumed_tail
