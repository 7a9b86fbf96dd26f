"""Every SMS sent records its segments (GSM-7 160/153, UCS-2 70/67) and its cost at the
gateway's price per segment (surveys/sendcost.py through the sending kit); no price, no cost."""

from collections.abc import Iterator
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any, ClassVar

import pytest
import time_machine
from django.db import connection
from django.http import HttpRequest
from django.test import override_settings
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from surveys.conversation import message_queue, message_send, messages_send
from surveys.dispatch import invitation_send
from surveys.gateways.base import (
    Composed,
    Gateway,
    InboundSMS,
    SendResult,
    StatusReport,
    TemplateCall,
)
from surveys.interactions import interaction_record
from surveys.models import GatewayPrice, GatewayTemplate, Invitation, OutboundKind, OutboundMessage
from surveys.sendcost import sms_charge, tariff_read

pytestmark = pytest.mark.django_db
NOON_SHANGHAI = datetime(2026, 11, 20, 4, 0, tzinfo=UTC)
received: dict[str, str] = {}  # reference -> the text the gateway was given


class RecordingGateway(Gateway):
    """The outside world: a gateway that takes every SMS and keeps what it was given."""

    def send(
        self, *, to: str, text: str, reference: str, template: TemplateCall | None = None
    ) -> SendResult:
        received[reference] = text
        return SendResult(provider_message_id=f"REC-{len(received)}")

    def verify(self, request: HttpRequest) -> bool:
        return False

    def parse_inbound(self, request: HttpRequest) -> list[InboundSMS]:
        return []

    def parse_status(self, request: HttpRequest) -> list[StatusReport]:
        return []


class TemplateOnlyGateway(RecordingGateway):
    uses_templates: ClassVar[bool] = True


@pytest.fixture(autouse=True)
def recording(survey: Any) -> Iterator[None]:
    received.clear()
    with (
        override_settings(
            NPS_GATEWAYS={"recording": {"CLASS": f"{__name__}.RecordingGateway"}},
            NPS_ENABLED_GATEWAYS=["recording"],
            NPS_SEND_GATEWAY="recording",
        ),
        time_machine.travel(NOON_SHANGHAI, tick=False),
    ):
        yield


def priced(per_segment: str = "0.0450") -> None:
    GatewayPrice.objects.create(
        gateway="recording", price_per_segment=Decimal(per_segment), currency="CNY"
    )


def queued_messages(texts: list[str]) -> list[OutboundMessage]:
    """Conversation messages waiting to go, saying `texts` (one customer, any kind)."""
    invitation = interaction_record(
        external_id="CRM-C1",
        customer={"phone": "+8613800138000"},
        touchpoint="hotline",
        occurred_at=timezone.now(),
    ).interaction.invitations.get()
    messages = []
    for text in texts:
        message = message_queue(
            customer=invitation.customer, kind=OutboundKind.HELP, invitation=invitation
        )
        assert message is not None
        OutboundMessage.objects.filter(pk=message.pk).update(text=text)
        messages.append(message)
    return messages


@pytest.mark.parametrize(
    ("text", "segments"),
    [
        ("您" * 70, 1),  # UCS-2: 70 in one SMS
        ("您" * 71, 2),  # then 67 per part
        ("您" * 134, 2),
        ("您" * 135, 3),
        ("a" * 160, 1),  # GSM-7: 160 in one SMS
        ("a" * 161, 2),  # then 153 per part
    ],
    ids=["zh70", "zh71", "zh134", "zh135", "gsm160", "gsm161"],
)
def test_a_sent_sms_records_its_segments_and_their_cost(text: str, segments: int) -> None:
    priced("0.0450")
    (message,) = queued_messages([text])
    assert message_send(message_id=message.pk).outcome == "sent"
    message.refresh_from_db()
    assert received[f"msg-{message.pk}"] == text
    assert message.segments == segments
    assert message.cost == Decimal("0.0450") * segments


def test_without_a_price_the_cost_stays_empty_not_zero() -> None:
    (message,) = queued_messages(["您" * 71])
    assert message_send(message_id=message.pk).outcome == "sent"
    message.refresh_from_db()
    assert (message.segments, message.cost) == (2, None)


def test_a_survey_records_the_segments_of_the_text_the_gateway_sent() -> None:
    priced("0.0500")
    invitation = interaction_record(
        external_id="CRM-S1",
        customer={"phone": "+8613800138001"},
        touchpoint="hotline",
        occurred_at=timezone.now(),
    ).interaction.invitations.get()
    Invitation.objects.filter(pk=invitation.pk).update(text="")
    assert invitation_send(invitation_id=invitation.pk).outcome == "sent"
    invitation.refresh_from_db()
    sent = received[f"inv-{invitation.pk}"]
    assert sent == invitation.text
    # Counted by hand: 70 places in one UCS-2 SMS, 67 per part beyond; any Chinese is UCS-2.
    assert any(ord(c) > 0x7F for c in sent)
    expected = 1 if len(sent) <= 70 else -(-len(sent) // 67)
    assert invitation.segments == expected
    assert invitation.cost == Decimal("0.0500") * expected


def price_reads(queries: CaptureQueriesContext) -> list[str]:
    table = GatewayPrice._meta.db_table
    return [q["sql"] for q in queries.captured_queries if table in q["sql"]]


def test_a_batch_send_records_each_row_and_reads_the_price_once() -> None:
    priced("0.1000")
    messages = queued_messages(["您" * 10, "您" * 71, "a" * 161, "您" * 135])
    with CaptureQueriesContext(connection) as queries:
        outcomes = messages_send(message_ids=[m.pk for m in messages])
    assert outcomes == ["sent"] * 4
    assert len(price_reads(queries)) == 1
    recorded = dict(OutboundMessage.objects.values_list("pk", "segments"))
    costs = dict(OutboundMessage.objects.values_list("pk", "cost"))
    assert [recorded[m.pk] for m in messages] == [1, 2, 2, 3]
    assert [costs[m.pk] for m in messages] == [Decimal(c) for c in ("0.1", "0.2", "0.2", "0.3")]


def template_gateway() -> Gateway:
    return TemplateOnlyGateway("templated", {})


def test_a_template_gateway_is_charged_for_its_approved_wording_with_the_values_filled() -> None:
    GatewayPrice.objects.create(gateway="templated", price_per_segment=Decimal("0.0400"))
    GatewayTemplate.objects.create(
        gateway="templated",
        kind="survey_link",
        language="zh-hans",
        code="SMS_1",
        parameters=["link"],
        # 66 characters and the link: more than one UCS-2 SMS only with the link filled.
        text="您" * 66 + "${link}",
    )
    composed = Composed("短", "survey_link", "zh-hans", {"link": "https://x.cn/abc"})
    charge = sms_charge(tariff_read(template_gateway()), composed)
    assert (charge.segments, charge.cost) == (2, Decimal("0.0800"))  # 82 places: 67 + 15


def test_numbered_placeholders_take_the_parameters_in_the_templates_order() -> None:
    GatewayTemplate.objects.create(
        gateway="templated",
        kind=OutboundKind.CALLBACK_PROMISE,
        language="en",
        code="1234",
        parameters=["hours"],
        text="We will call you within {1} hours." + "." * 128,  # 160 with "2" in place of {1}
    )
    tariff = tariff_read(template_gateway())
    short = Composed("x", OutboundKind.CALLBACK_PROMISE, "en", {"hours": "2"})
    longer = Composed("x", OutboundKind.CALLBACK_PROMISE, "en", {"hours": "24"})
    assert (sms_charge(tariff, short).segments, sms_charge(tariff, longer).segments) == (1, 2)
    assert sms_charge(tariff, short).cost is None  # no price for this gateway


def test_without_a_recorded_wording_a_template_gateway_is_charged_for_the_composed_text() -> None:
    GatewayTemplate.objects.create(
        gateway="templated", kind="survey", language="zh-hans", code="SMS_2", text=""
    )
    composed = Composed("您" * 71, "survey", "zh-hans")
    assert sms_charge(tariff_read(template_gateway()), composed).segments == 2
