"""objects_update: a chunk's rows written in one statement, as bulk_update would write them."""

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from django.db import connection

from surveys import rowsupdate
from surveys.models import InboundMessage, Invitation
from surveys.rowsupdate import objects_update
from tests.factories import CustomerFactory, InteractionFactory, SurveyFactory

pytestmark = pytest.mark.django_db
AT = datetime(2026, 11, 20, 4, 0, tzinfo=UTC)


def _inbound(n: int, invitation: Invitation | None = None) -> InboundMessage:
    return InboundMessage.objects.create(
        gateway="simulator",
        gateway_message_id=f"MO-{n}",
        phone=f"+8613800000{n:03d}",
        text="9",
        payload={"n": n},
        invitation=invitation,
    )


@pytest.mark.parametrize("old_sqlite", [False, True])
def test_each_row_gets_its_own_values_and_nothing_else_changes(
    django_assert_num_queries: Any, monkeypatch: pytest.MonkeyPatch, old_sqlite: bool
) -> None:
    if old_sqlite:  # an SQLite without UPDATE ... FROM: one update per row, same result
        if connection.vendor != "sqlite":
            pytest.skip("the fallback is SQLite's")
        monkeypatch.setattr(rowsupdate, "UPDATE_FROM_SQLITE", (99, 0, 0))
    customer = CustomerFactory()
    interaction = InteractionFactory(customer=customer)
    invitation = Invitation.objects.create(
        interaction=interaction, customer=customer, survey=SurveyFactory()
    )
    rows = [_inbound(0), _inbound(1, invitation), _inbound(2), _inbound(3)]
    rows[0].processed_at, rows[0].outcome, rows[0].invitation = AT, "scored", invitation
    rows[1].processed_at, rows[1].outcome, rows[1].invitation = AT, "opted_out", None
    rows[2].processed_at, rows[2].outcome = AT + timedelta(seconds=1), "unknown_sender"
    for row in rows[:3]:
        row.text = "not written: not a listed field"

    with django_assert_num_queries(3 if old_sqlite else 1):
        objects_update(InboundMessage, rows[:3], ["processed_at", "outcome", "invitation"])

    stored = {
        row.gateway_message_id: (row.processed_at, row.outcome, row.invitation_id, row.text)
        for row in InboundMessage.objects.all()
    }
    assert stored == {
        "MO-0": (AT, "scored", invitation.pk, "9"),
        "MO-1": (AT, "opted_out", None, "9"),
        "MO-2": (AT + timedelta(seconds=1), "unknown_sender", None, "9"),
        "MO-3": (None, "", None, "9"),
    }


def test_no_rows_no_statement(django_assert_num_queries: Any) -> None:
    with django_assert_num_queries(0):
        objects_update(InboundMessage, [], ["outcome"])
