"""The CRM's customer profile from a file: ARPU, its change, tier, region, preferences.

A CSV whose first row names the columns: `phone` (required), and any of `name`, `language`,
`tier`, `region`, `time_zone`, `arpu`, `arpu_trend_yuan`, and one `pref:<feature code>`
column per preference feature (a value from 0 to 1). An empty cell means "not sent": the
stored value stays. Files come as Chinese spreadsheets save them: UTF-8 (with or without a
byte-order mark) or GB18030 (which reads GBK and GB2312).

Each row is validated by the API's own customer serializer (one rule for what a customer
may carry) and stored by `customer_upsert` (one rule for the tier: the CRM's, else derived
from ARPU), so a file and the API cannot disagree. A bad row is reported with its number,
field and message and stored nothing; the others are stored. Importing a file again changes
nothing that is already so.
"""

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from django.db import transaction

from surveys.api.serializers import CustomerWriteSerializer
from surveys.interactions import customer_upsert
from surveys.models import Customer
from surveys.spreadsheets import csv_rows

PREFERENCE_PREFIX = "pref:"
COLUMNS = (
    "phone", "name", "language", "tier", "region", "time_zone", "arpu", "arpu_trend_yuan",
)  # fmt: skip
ENCODINGS = ("utf-8-sig", "gb18030")
CHUNK = 500  # rows per transaction


class ImportFileError(ValueError):
    """The file cannot be read as a customer list at all (encoding, header)."""


@dataclass(frozen=True)
class RowError:
    row: int  # 1 is the header; the first customer is row 2, as a spreadsheet numbers it
    field: str
    message: str


@dataclass
class ImportResult:
    created: int = 0
    updated: int = 0
    errors: list[RowError] = field(default_factory=list)

    @property
    def failed_rows(self) -> int:
        return len({error.row for error in self.errors})


def text_decode(data: bytes) -> str:
    """The file's text: UTF-8 (a BOM is dropped), else GB18030; else ImportFileError."""
    for encoding in ENCODINGS:
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            continue
    raise ImportFileError("The file is neither UTF-8 nor GB18030/GBK text.")


def rows_read(text: str) -> Iterator[tuple[int, dict[str, Any]]]:
    """(row number, the customer as the API takes it) for every row with a phone cell."""
    reader = csv_rows(text)
    header = [name.strip() for name in next(reader, [])]
    if "phone" not in header:
        raise ImportFileError("The first row must name the columns, one of them 'phone'.")
    unknown = [
        name for name in header if name not in COLUMNS and not name.startswith(PREFERENCE_PREFIX)
    ]
    if unknown:
        raise ImportFileError(f"Unknown column(s): {', '.join(unknown)}.")
    for number, cells in enumerate(reader, start=2):
        values = {name: cell.strip() for name, cell in zip(header, cells, strict=False)}
        if not any(values.values()):
            continue  # a blank line
        customer: dict[str, Any] = {}
        preferences = {}
        for name, value in values.items():
            if value == "":
                continue
            if name.startswith(PREFERENCE_PREFIX):
                preferences[name.removeprefix(PREFERENCE_PREFIX)] = value
            else:
                customer[name] = value
        if preferences:
            customer["preferences"] = preferences
        yield number, customer


def row_errors(number: int, detail: Any, prefix: str = "") -> list[RowError]:
    """A serializer's errors as (row, dotted field, message), as a person fixes them."""
    if isinstance(detail, dict):
        found = []
        for name, inner in detail.items():
            name = f"{prefix}.{name}" if prefix else name
            found += row_errors(number, inner, name)
        return found
    if isinstance(detail, list):
        return [RowError(number, prefix or "row", str(message)) for message in detail]
    return [RowError(number, prefix or "row", str(detail))]


def customers_import(data: bytes, *, dry_run: bool = False) -> ImportResult:
    """Validate and store every row; with dry_run, validate and count only."""
    result = ImportResult()
    rows = rows_read(text_decode(data))
    while True:
        chunk = [row for _, row in zip(range(CHUNK), rows, strict=False)]
        if not chunk:
            return result
        _chunk_import(chunk, result, dry_run=dry_run)


def _chunk_import(
    chunk: list[tuple[int, dict[str, Any]]], result: ImportResult, *, dry_run: bool
) -> None:
    valid = []
    for number, row in chunk:
        serializer = CustomerWriteSerializer(data=row)
        if serializer.is_valid():
            valid.append((number, serializer.validated_data))
        else:
            result.errors += row_errors(number, serializer.errors)
    known = set(
        Customer.objects.filter(phone__in=[data["phone"] for _, data in valid]).values_list(
            "phone", flat=True
        )
    )
    for _number, data in valid:
        if data["phone"] in known:
            result.updated += 1
        else:
            result.created += 1
            known.add(data["phone"])  # the same phone twice in a file: created once
    if dry_run:
        return
    with transaction.atomic():
        for _number, data in valid:
            customer_upsert(**data)
