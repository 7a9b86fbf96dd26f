"""Rows of a spreadsheet file, read one at a time: CSV as Chinese spreadsheets save it, or .xlsx.

A file of a million rows must not be held in memory, so nothing here reads a whole file:
the encoding is found by decoding the file block by block (UTF-8 first, a byte-order mark
dropped; else GB18030, which reads GBK and GB2312 too), then the CSV is read through the
one CSV home (surveys/spreadsheets.py); an .xlsx is read with openpyxl's read-only mode,
which streams the sheet's XML. Every cell comes out as text, as a CSV would give it, so the
rules after this do not care which kind of file it was.
"""

import codecs
import io
from collections.abc import Iterator
from datetime import date, datetime, time
from itertools import islice
from pathlib import Path

from openpyxl import load_workbook

from surveys.spreadsheets import csv_stream_rows

XLSX_MAGIC = b"PK\x03\x04"  # a zip archive; a CSV never starts so
BLOCK = 1 << 20


class ImportFileError(ValueError):
    """The file cannot be read as rows at all (encoding, format, no header)."""


def file_is_xlsx(path: Path) -> bool:
    with path.open("rb") as stream:
        return stream.read(4) == XLSX_MAGIC


def encoding_detect(path: Path) -> str:
    """utf-8-sig if the whole file decodes as UTF-8, else gb18030; else ImportFileError."""
    for encoding in ("utf-8-sig", "gb18030"):
        decoder = codecs.getincrementaldecoder(encoding)()
        try:
            with path.open("rb") as stream:
                while block := stream.read(BLOCK):
                    decoder.decode(block)
                decoder.decode(b"", final=True)
        except UnicodeDecodeError:
            continue
        return encoding
    raise ImportFileError("The file is neither UTF-8 nor GB18030/GBK text.")


def cell_text(value: object) -> str:
    """A spreadsheet cell as the text a CSV export would hold."""
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))  # a phone number typed into a number cell: 13800138000.0
    if isinstance(value, datetime | date | time):
        return value.isoformat()
    return str(value).strip()


def _csv_rows(path: Path) -> Iterator[list[str]]:
    with path.open(encoding=encoding_detect(path), newline="") as stream:
        for cells in csv_stream_rows(stream):
            yield [cell.strip() for cell in cells]


def _xlsx_rows(path: Path) -> Iterator[list[str]]:
    try:
        book = load_workbook(path, read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises many kinds for a damaged archive
        raise ImportFileError(f"The workbook cannot be read: {exc}") from exc
    try:
        sheet = book.worksheets[0]
        for values in sheet.iter_rows(values_only=True):
            yield [cell_text(value) for value in values]
    finally:
        book.close()  # read-only mode keeps the archive open until closed


def file_rows(path: Path) -> Iterator[tuple[int, list[str]]]:
    """(row number as a spreadsheet shows it, cells) for every row, the header first (row 1)."""
    rows = _xlsx_rows(path) if file_is_xlsx(path) else _csv_rows(path)
    yield from enumerate(rows, start=1)


def csv_lines_are_rows(path: Path) -> bool:
    """Whether each line of the CSV file is one row and no cell is quoted (no `"` at all,
    no carriage return but before a line feed), so any CSV reader reads it alike."""
    carry = b""
    with path.open("rb") as stream:
        while block := stream.read(BLOCK):
            if b'"' in block:
                return False
            data, carry = carry + block, b""
            if data.endswith(b"\r"):
                data, carry = data[:-1], b"\r"
            if b"\r" in data.replace(b"\r\n", b""):
                return False
    return not carry


def csv_line_blocks(path: Path, size: int) -> Iterator[tuple[int, bytes, int]]:
    """(row number of the first line, the lines, how many) for every `size` lines after the
    header, as the file holds them (for a file csv_lines_are_rows says is one row a line)."""
    with path.open("rb") as stream:
        stream.readline()  # the header, row 1
        number = 2
        while lines := list(islice(stream, size)):
            yield number, b"".join(lines), len(lines)
            number += len(lines)


def csv_block_rows(block: bytes, *, first: int, encoding: str) -> Iterator[tuple[int, list[str]]]:
    """The rows of such a block of lines as file_rows gives them, numbered from `first`."""
    text = block.decode("utf-8" if encoding == "utf-8-sig" else encoding)  # no BOM inside
    for number, cells in enumerate(csv_stream_rows(io.StringIO(text, newline="")), start=first):
        yield number, [cell.strip() for cell in cells]


def file_header(path: Path) -> list[str]:
    """The first row: the column names."""
    for _number, cells in file_rows(path):
        if any(cells):
            return cells
        break
    raise ImportFileError("The first row must name the columns.")
