"""A batch of invitations costs the database a handful of statements, however many it holds."""

from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.db import connection
from django.test import override_settings
from django.test.utils import CaptureQueriesContext

from surveys.dispatch import invitations_send
from surveys.models import Customer, Interaction, Invitation, InvitationStatus, Survey, SurveyText

pytestmark = pytest.mark.django_db
NOON_SHANGHAI = datetime(2026, 11, 20, 4, 0, tzinfo=UTC)


def due(survey: Survey, count: int, *, start: int = 0) -> list[int]:
    ids = []
    for n in range(start, start + count):
        customer = Customer.objects.create(
            phone=f"+86139{n:08d}", language="en" if n % 2 else "zh-hans"
        )
        interaction = Interaction.objects.create(
            external_id=f"BATCH-{n}",
            customer=customer,
            touchpoint="hotline",
            occurred_at=NOON_SHANGHAI - timedelta(minutes=5),
        )
        invitation = Invitation.objects.create(
            interaction=interaction, customer=customer, survey=survey, send_at=NOON_SHANGHAI
        )
        ids.append(invitation.pk)
    return ids


def statements(ids: list[int]) -> tuple[int, int, list[str]]:
    """(statements of the batch besides its records, record rounds, all statements)."""
    with CaptureQueriesContext(connection) as captured:
        outcomes = invitations_send(invitation_ids=ids)
    assert outcomes == ["sent"] * len(ids)
    sql = [q["sql"] for q in captured.captured_queries]
    # Each round of sends that came back is recorded in five statements, the last of them
    # the look for receipts that overtook the record.
    rounds = sum('FROM "surveys_deliveryreceipt"' in s for s in sql)
    return len(sql) - 5 * rounds, rounds, sql


@time_machine.travel(NOON_SHANGHAI, tick=False)
@override_settings(NPS_SEND_GATEWAY="console")
def test_a_batch_costs_the_same_statements_for_5_or_40_invitations(survey: Survey) -> None:
    SurveyText.objects.create(survey=survey, language="en", question="Would you recommend us?")
    statements(due(survey, 2, start=100))  # the first batch creates the contact policy
    few, _, _ = statements(due(survey, 5))
    many, rounds, sql = statements(due(survey, 40, start=5))
    assert many == few, "\n".join(sql)
    assert many <= 15, "\n".join(sql)  # the batch's surveys are one statement of them
    assert 1 <= rounds <= 40
    sent = Invitation.objects.filter(status=InvitationStatus.SENT)
    assert sent.count() == 47
    # What compose chose is kept on each row, its own text in its own language.
    kept = {(i.language, i.text[:8], i.gateway, i.segments) for i in sent}
    assert kept == {
        ("en", "Would yo", "console", 1),
        ("zh-hans", "您好！您有多大可", "console", 1),
    }
