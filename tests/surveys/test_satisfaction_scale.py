"""A survey asked on the operators' 1-10 satisfaction scale: 0 is not an answer there."""

from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.test import override_settings

from surveys.dispatch import invitation_send
from surveys.gateways.base import InboundSMS
from surveys.interactions import interaction_record
from surveys.models import OutboundMessage, Response, Scale
from surveys.replies import replies_process, reply_process, reply_store
from tests.factories import SurveyFactory

pytestmark = pytest.mark.django_db
NOW = datetime(2026, 11, 20, 4, 0, tzinfo=UTC)


def _surveyed(phone: str, scale: str) -> None:
    SurveyFactory(scale=scale)
    with time_machine.travel(NOW, tick=False), override_settings(NPS_SEND_GATEWAY="console"):
        recorded = interaction_record(
            external_id=f"CRM-{phone}",
            customer={"phone": phone, "tier": "B", "region": "BJ"},
            touchpoint="hotline",
            occurred_at=NOW,
        )
        invitation_send(invitation_id=recorded.interaction.invitations.get().pk)


def _reply(phone: str, text: str, *, batch: bool) -> str:
    message = reply_store(gateway="simulator", sms=InboundSMS(f"k-{phone}-{text}", phone, text))
    with time_machine.travel(NOW + timedelta(minutes=5), tick=False):
        if batch:
            return replies_process(message_ids=[message.message.pk])[0]
        return reply_process(message_id=message.message.pk)


@pytest.mark.parametrize("batch", [False, True])
def test_zero_on_a_satisfaction_survey_is_asked_again_and_one_is_recorded(batch: bool) -> None:
    phone = "+8613800000001"
    _surveyed(phone, Scale.SATISFACTION)

    assert _reply(phone, "0", batch=batch) == "clarification_sent"
    assert not Response.objects.exists()
    assert OutboundMessage.objects.filter(kind="clarification").count() == 1

    assert _reply(phone, "1", batch=batch) == "scored"
    assert Response.objects.get().score == 1


@pytest.mark.parametrize("batch", [False, True])
def test_zero_on_an_nps_survey_is_an_answer(batch: bool) -> None:
    phone = "+8613800000002"
    _surveyed(phone, Scale.NPS)

    assert _reply(phone, "0", batch=batch) == "scored"
    assert Response.objects.get().score == 0
