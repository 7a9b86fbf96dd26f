"""A batch of conversation SMS learns where each customer answered in one query."""

from typing import Any

import pytest

from surveys.conversation import _messages_to_send, answered_on
from surveys.models import InboundMessage, Invitation, OutboundKind, OutboundMessage
from tests.factories import CustomerFactory, InteractionFactory

pytestmark = pytest.mark.django_db


def _message(n: int, sent_on: str, replies_on: list[str]) -> int:
    customer = CustomerFactory(phone=f"+8613900000{n:03d}")
    invitation = Invitation.objects.create(
        interaction=InteractionFactory(customer=customer), customer=customer, gateway=sent_on
    )
    for k, gateway in enumerate(replies_on):
        InboundMessage.objects.create(
            gateway=gateway, gateway_message_id=f"MO-{n}-{k}", phone=customer.phone, text="8",
            payload={}, invitation=invitation,
        )  # fmt: skip
    message = OutboundMessage.objects.create(
        customer=customer, invitation=invitation, kind=OutboundKind.THANKS, text="谢谢"
    )
    return message.pk


def test_the_latest_reply_of_each_survey_comes_with_the_batch(
    django_assert_num_queries: Any,
) -> None:
    ids = [
        _message(0, "twilio", []),
        _message(1, "twilio", ["console", "simulator"]),
        _message(2, "simulator", ["twilio"]),
    ]
    with django_assert_num_queries(2):  # the messages, then every survey's replies
        messages = sorted(_messages_to_send().filter(pk__in=ids), key=lambda m: m.pk)
    with django_assert_num_queries(0):
        assert [answered_on(m) for m in messages] == ["twilio", "simulator", "twilio"]
