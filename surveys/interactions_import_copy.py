"""A CSV file straight into the interaction import's raw table by COPY (PostgreSQL).

A file COPY reads exactly as Python's csv module reads it (importfiles.csv_lines_are_rows:
no quote at all, every line ending in a line feed, so a line is a row) goes to RAW in
blocks of lines by COPY ... (FORMAT csv, ENCODING ...): PostgreSQL parses the cells, no
Python object is made per row. A block COPY refuses (a blank line, a row with other than
the header's number of cells, a byte the server's decoder refuses, a backslash-dot line
that would end COPY's input) is rolled back to its savepoint and read by Python as every
other file is (surveys/interactions_import.py). The cells are as the file has them
(Python strips them): CLASSIFY (surveys/interactions_import_pg.py) takes no cell with
white space around it, and the rows left for the serializer are stripped before their
payloads are built.
"""

from typing import Any

import psycopg
from django.db import DataError, connection, transaction

from surveys.interactions_import_pg import (
    RAW,
    RAW_COLUMNS,
    STAGING,
    WHITE,
    raw_classify,
    raw_ready,
)

PG_ENCODINGS = {"utf-8-sig": "UTF8", "gb18030": "GB18030"}
ROWS_SEQUENCE = "interaction_import_rows"


def copy_columns(header: list[str], mapping: dict[str, str]) -> list[str] | None:
    """RAW's column for each of the file's columns in order (an unmapped one: a column of
    its own), or None when two columns share a name (Python's reading joins them)."""
    if len(set(header)) < len(header):
        return None
    return [
        mapping[name].removeprefix("customer.") if name in mapping else f"cell_{n}"
        for n, name in enumerate(header)
    ]


def copy_ready(columns: list[str]) -> None:
    """RAW with a column for each of the file's cells, numbered by a sequence as COPY puts them."""
    with connection.cursor() as cursor:
        raw_ready(cursor)
        cursor.execute(f"CREATE TEMPORARY SEQUENCE IF NOT EXISTS {ROWS_SEQUENCE}")
        cursor.execute(
            f"ALTER TABLE {RAW} ALTER COLUMN row_number SET DEFAULT nextval('{ROWS_SEQUENCE}')"
        )
        for name in columns:
            cursor.execute(f"ALTER TABLE {RAW} ADD COLUMN IF NOT EXISTS {name} text")


def chunk_copy_take(
    block: bytes, *, first: int, lines: int, columns: list[str], encoding: str
) -> tuple[list[tuple[int, dict[str, Any]]], int, int, int] | None:
    """COPY `lines` lines of a CSV file (row numbers from `first` on) into RAW and take its
    common-shape rows as chunk_take_set does; (the rows left for the serializer, stripped
    and without empty cells, how many taken new, how many known, how many rows were not
    blank), or None when COPY refuses the block (nothing of it stays)."""
    with connection.cursor() as cursor:
        cursor.execute(f"TRUNCATE {STAGING}, {RAW}")
        cursor.execute("SELECT setval(%s, %s, false)", [ROWS_SEQUENCE, first])
        try:
            with transaction.atomic():
                copy_sql = (
                    f"COPY {RAW} ({', '.join(columns)}) FROM STDIN "
                    f"(FORMAT csv, ENCODING '{PG_ENCODINGS[encoding]}')"
                )
                with cursor.copy(copy_sql) as copy:
                    copy.write(block)
                if cursor.rowcount != lines:  # a "\." line ends COPY's input
                    raise DataError(f"COPY read {cursor.rowcount} of {lines} lines")
        except (DataError, psycopg.DataError):  # COPY's own errors are not Django's
            return None
        cells = " || ".join(f"COALESCE({name}, '')" for name in columns)
        blank_sql = f"DELETE FROM {RAW} WHERE btrim({cells}, %s) = ''"  # noqa: S608
        cursor.execute(blank_sql, [WHITE])  # a row of empty cells is not a row (file_rows')
        blank = cursor.rowcount
    taken = raw_classify()
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT row_number, {', '.join(RAW_COLUMNS)} FROM {RAW} "  # noqa: S608
            "LEFT JOIN unnest(%s::integer[]) AS taken (n) ON n = row_number "
            "WHERE n IS NULL ORDER BY row_number",
            [list(taken)],
        )
        left = [(number, _payload(values)) for number, *values in cursor.fetchall()]
    known = sum(taken.values())
    return left, len(taken) - known, known, lines - blank


CUSTOMER_CELLS = frozenset({"phone", "name", "language", "tier", "region", "arpu"})


def _payload(values: list[str | None]) -> dict[str, Any]:
    """A RAW row as payload_build makes it from the file's cells: stripped, empty ones left out."""
    payload: dict[str, Any] = {}
    for name, value in zip(RAW_COLUMNS, values, strict=True):
        if value is None or not (value := value.strip()):
            continue
        if name in CUSTOMER_CELLS:
            payload.setdefault("customer", {})[name] = value
        else:
            payload[name] = value
    return payload
