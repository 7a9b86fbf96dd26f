"""The one CSV writer: text that a spreadsheet would run is written as text; numbers stay."""

import csv
import io
from datetime import date
from decimal import Decimal

import pytest
from django.utils.translation import gettext_lazy as _

from surveys.spreadsheets import SpreadsheetWriter, cell_neutralise, csv_download


def written(row: list[object]) -> list[str]:
    out = io.StringIO()
    SpreadsheetWriter(out).writerow(row)
    return next(csv.reader(io.StringIO(out.getvalue())))


@pytest.mark.parametrize("text", ["=1+1", "+1", "-1+A1", "@SUM(A1)", "\t=1", "\r=1", "-12"])
def test_text_starting_a_formula_gets_a_leading_quote(text: str) -> None:
    assert written([text]) == ["'" + text]


@pytest.mark.parametrize("number", [-12, -60.0, Decimal("-3.5"), 0, 7])
def test_numbers_we_write_stay_numbers_even_when_negative(number: object) -> None:
    assert written([number]) == [str(number)]


def test_ordinary_text_dates_lazy_text_and_none_are_written_as_they_are() -> None:
    row = ["信号差 =(", date(2026, 3, 2), _("Promoter"), None, " =1+1"]

    assert written(row) == ["信号差 =(", "2026-03-02", "Promoter", "", " =1+1"]


def test_a_boolean_is_text_not_a_number() -> None:
    assert cell_neutralise(True) == "True"


def test_the_download_has_a_bom_a_filename_and_neutralised_cells() -> None:
    answer = csv_download("x.csv", ["comment"], [["=cmd"], [-1]])

    assert answer["Content-Disposition"] == 'attachment; filename="x.csv"'
    assert answer.content.decode("utf-8").startswith("\ufeff")
    assert answer.content.decode("utf-8-sig").splitlines() == ["comment", "'=cmd", "-1"]
