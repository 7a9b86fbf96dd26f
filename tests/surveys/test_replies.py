from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import time_machine
from django.test import override_settings

from followups.models import Case
from surveys.dispatch import invitation_send
from surveys.gateways.base import InboundSMS, StatusReport
from surveys.interactions import interaction_record
from surveys.models import Customer, Invitation, InvitationStatus, Response
from surveys.receipts import receipt_apply, receipt_store
from surveys.replies import reply_process, reply_store

pytestmark = pytest.mark.django_db
NOW = datetime(2026, 11, 20, 4, 0, tzinfo=UTC)
PHONE = "+8613800138000"


@pytest.fixture
def sent(survey: Any) -> Invitation:
    """A survey sent to a B-tier customer in Beijing (console gateway)."""
    with time_machine.travel(NOW, tick=False), override_settings(NPS_SEND_GATEWAY="console"):
        recorded = interaction_record(
            external_id="CRM-1",
            customer={"phone": PHONE, "tier": "B", "region": "BJ"},
            touchpoint="hotline",
            occurred_at=NOW,
        )
        invitation = recorded.interaction.invitations.get()
        invitation_send(invitation_id=invitation.pk)
    invitation.refresh_from_db()
    return invitation


def receive(text: str, message_id: str = "MO1", at: datetime = NOW) -> str:
    with time_machine.travel(at + timedelta(minutes=5), tick=False):
        stored = reply_store(gateway="simulator", sms=InboundSMS(message_id, PHONE, text))
        return reply_process(message_id=stored.message.pk)


@pytest.mark.parametrize(
    ("text", "category"), [("3", "detractor"), ("７", "passive"), ("10 great", "promoter")]
)
def test_score_reply_is_classified(sent: Invitation, text: str, category: str) -> None:
    assert receive(text) == "scored"
    response = Response.objects.get()
    assert response.category == category
    sent.refresh_from_db()
    assert sent.status == InvitationStatus.RESPONDED


def test_detractor_reply_opens_one_case(sent: Invitation) -> None:
    receive("3")
    case = Case.objects.get()
    assert case.response.score == 3
    assert case.priority == "P2"  # tier B, score 0-3


def test_processing_a_message_twice_records_one_response(sent: Invitation) -> None:
    receive("3")
    message_id = sent.inbound.get().pk
    assert reply_process(message_id=message_id) == "scored"
    assert Response.objects.count() == Case.objects.count() == 1


def test_stop_opts_out_immediately(sent: Invitation) -> None:
    assert receive("STOP") == "opted_out"
    assert Customer.objects.get().is_opted_out
    assert not Response.objects.exists()


def test_reply_after_the_window_is_not_matched(sent: Invitation) -> None:
    late = NOW + timedelta(hours=49)
    assert receive("9", at=late) == "no_open_survey"
    assert not Response.objects.exists()


def test_reply_from_an_unknown_number_is_kept_and_marked(survey: Any) -> None:
    assert receive("9") == "unknown_sender"


def test_receipts_only_move_status_forward(sent: Invitation) -> None:
    """Fault 5. Catches a receipt handler that writes each receipt's status as it comes
    (a late "sent" or a "failed" after "delivered" would move the invitation back)."""

    def apply(status: str) -> str:
        report = StatusReport(sent.provider_message_id, status)
        return receipt_apply(receipt_id=receipt_store(gateway="console", report=report).receipt.pk)

    assert apply("delivered") == "applied"
    assert apply("sent") == "ignored"  # late "sent" after "delivered"
    assert apply("failed") == "ignored"  # "failed" after "delivered"
    sent.refresh_from_db()
    assert sent.status == InvitationStatus.DELIVERED
