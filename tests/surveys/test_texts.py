"""Built-in texts per language: Tibetan is complete, and a bo+zh customer gets both."""

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import time_machine
from django.test import override_settings
from rest_framework.test import APIClient

from surveys.dispatch import invitation_send
from surveys.gateways.base import InboundSMS
from surveys.interactions import interaction_record
from surveys.models import Customer, Invitation, OutboundKind, OutboundMessage, Survey
from surveys.parsing import ReplyKind, parse_reply
from surveys.replies import reply_process, reply_store
from surveys.smslength import sms_length
from surveys.texts import DEFAULT_QUESTIONS, DEFAULTS, survey_text, with_opt_out_instruction
from tests.conftest import interaction_payload

pytestmark = pytest.mark.django_db
NOW = datetime(2026, 11, 20, 4, 0, tzinfo=UTC)
PHONE = "+8613800138000"


def tibetan(text: str) -> bool:
    return any("\u0f40" <= ch <= "\u0fbc" for ch in text)


def chinese(text: str) -> bool:
    return any("\u4e00" <= ch <= "\u9fff" for ch in text)


BUILT_IN = {"question": with_opt_out_instruction(DEFAULT_QUESTIONS["bo"], "bo")} | {
    kind: texts["bo"] for kind, texts in DEFAULTS.items()
}


@pytest.mark.parametrize("kind", sorted(BUILT_IN))
def test_every_built_in_text_exists_in_tibetan_and_fits_two_sms(kind: str) -> None:
    text = BUILT_IN[kind]
    assert tibetan(text)
    assert not chinese(text)
    assert sms_length(text)[2] <= 2


def test_the_tibetan_texts_name_keywords_the_parser_reads() -> None:
    assert "TD" in BUILT_IN["question"]
    assert "TD" in BUILT_IN[OutboundKind.HELP]
    assert "START" in BUILT_IN[OutboundKind.OPT_OUT_CONFIRMATION]
    assert parse_reply("TD").kind == ReplyKind.OPT_OUT
    assert parse_reply("START").kind == ReplyKind.OPT_IN


def test_a_tibetan_customer_gets_the_built_in_tibetan_survey(survey: Survey) -> None:
    text, language = survey_text(survey=survey, customer=Customer(language="bo"))
    assert language == "bo"
    assert tibetan(text)
    assert "TD" in text


def survey_sent(language: str) -> Invitation:
    with time_machine.travel(NOW, tick=False), override_settings(NPS_SEND_GATEWAY="console"):
        recorded = interaction_record(
            external_id="CRM-1",
            customer={"phone": PHONE, "tier": "B", "region": "BJ", "language": language},
            touchpoint="hotline",
            occurred_at=NOW,
        )
        invitation = recorded.interaction.invitations.get()
        invitation_send(invitation_id=invitation.pk)
    invitation.refresh_from_db()
    return invitation


def receive(text: str) -> str:
    with time_machine.travel(NOW + timedelta(minutes=5), tick=False):
        stored = reply_store(gateway="simulator", sms=InboundSMS("MO-1", PHONE, text))
        return reply_process(message_id=stored.message.pk)


def test_a_bilingual_customer_gets_the_survey_in_tibetan_then_chinese_in_one_sms(
    survey: Survey,
) -> None:
    invitation = survey_sent("bo-zh")
    tibetan_part, chinese_part = invitation.text.split("\n")
    assert tibetan(tibetan_part)
    assert not chinese(tibetan_part)
    assert chinese(chinese_part)
    assert "TD" in tibetan_part
    assert "回复TD退订" in chinese_part
    assert invitation.language == "bo"
    assert sms_length(invitation.text)[2] <= 3


@pytest.mark.parametrize(("reply", "kind"), [("嗯？", "clarification"), ("༨", "care")])
def test_a_bilingual_customers_conversation_message_is_one_sms_in_both_languages(
    survey: Survey, reply: str, kind: str
) -> None:
    survey_sent("bo-zh")
    receive(reply)
    message = OutboundMessage.objects.get()
    assert message.kind == kind
    assert tibetan(message.text)
    assert chinese(message.text)
    assert sms_length(message.text)[2] <= 3


def test_a_bilingual_customer_is_accepted_by_the_api(crm_client: APIClient, survey: Any) -> None:
    payload = interaction_payload(customer={"phone": PHONE, "language": "bo-zh"})
    answer = crm_client.post("/api/v1/interactions/", payload, format="json")
    assert answer.status_code == 201, answer.content
    customer = Customer.objects.get()
    assert customer.languages == ("bo", "zh-hans")
