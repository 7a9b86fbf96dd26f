"""Fail-over between two gateways (surveys/gateways/routing.py, breaker.py).

Two simulator gateways, each a loopback HTTP server: "simulator" sends (the primary),
"simulator2" takes over (NPS_SEND_GATEWAY_SECONDARY). The breakers live in the shared
Redis. The primary answers 503 for longer than NPS_FAILOVER_SECONDS: its breaker
opens and the sends (retries and new ones, one by one and in a batch) go through the
secondary; it recovers, and after the cool-down one probe goes back to it and closes
the breaker. A customer who answers on the secondary hears back through it, the
primary healthy or not. Every SMS reaches exactly one gateway, once.
"""

import logging
import time
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from django.test import Client, override_settings
from django.utils import timezone

from surveys.conversation import message_send, messages_send
from surveys.dispatch import invitation_send
from surveys.gateways.breaker import CLOSED, OPEN, breaker_observe, breaker_state
from surveys.gateways.routing import gateway_state_forget
from surveys.interactions import interaction_record
from surveys.models import (
    InboundMessage,
    Invitation,
    OutboundKind,
    OutboundMessage,
    OutboundStatus,
    Survey,
)
from surveys.replies import reply_process
from tests.factories import CustomerFactory
from tests.surveys.gatewaystate import shared_state_url
from tests.surveys.loopback import LoopbackProvider, Webhooks

pytestmark = pytest.mark.django_db
FAILING_FOR, COOL_DOWN = 0.5, 3.0  # seconds


@dataclass
class Gateways:
    primary: LoopbackProvider
    secondary: LoopbackProvider

    def references(self) -> dict[str, list[str]]:
        """Which of our SMS each gateway took (only those it accepted)."""
        return {
            "simulator": [sent.reference for sent in self.primary.sent],
            "simulator2": [sent.reference for sent in self.secondary.sent],
        }


@pytest.fixture
def gateways(caplog: pytest.LogCaptureFixture) -> Iterator[Gateways]:
    primary, secondary = LoopbackProvider(), LoopbackProvider()
    configured = {
        "simulator": primary.gateways()["simulator"],
        "simulator2": secondary.gateways()["simulator"],  # the same adapter, its own server
    }
    caplog.set_level(logging.WARNING, logger="surveys.gateways.breaker")
    with override_settings(
        NPS_GATEWAYS=configured,
        NPS_ENABLED_GATEWAYS=["simulator", "simulator2"],
        NPS_SEND_GATEWAY="simulator",
        NPS_SEND_GATEWAY_SECONDARY="simulator2",
        NPS_GATEWAY_STATE_URL=shared_state_url(),
        NPS_FAILOVER_FAILURES=100,  # the time rule is the one tested here
        NPS_FAILOVER_SECONDS=FAILING_FOR,
        NPS_FAILOVER_COOLDOWN_SECONDS=COOL_DOWN,
    ):
        gateway_state_forget()
        try:
            yield Gateways(primary, secondary)
        finally:
            gateway_state_forget()
            primary.close()
            secondary.close()


def queued(count: int) -> list[OutboundMessage]:
    return [
        OutboundMessage.objects.create(
            customer=CustomerFactory(), kind=OutboundKind.HELP, language="zh-hans", text="帮助"
        )
        for _ in range(count)
    ]


def went_through(message: OutboundMessage) -> tuple[str, str]:
    message.refresh_from_db()
    return message.status, message.gateway


def breaker_changes(caplog: pytest.LogCaptureFixture) -> list[str]:
    """The state each logged change of the primary's breaker went to."""
    return [
        record.getMessage().split(": breaker ")[1].split(" ")[0].rstrip(",")
        for record in caplog.records
        if record.getMessage().startswith("gateway simulator: breaker")
    ]


def test_the_secondary_takes_over_while_the_primary_fails_and_a_probe_brings_it_back(
    gateways: Gateways, caplog: pytest.LogCaptureFixture
) -> None:
    first, second, *batch, during, probe, after = queued(7)
    gateways.primary.answer_status = 503  # the outage begins
    assert message_send(message_id=first.pk).outcome == "retry"
    time.sleep(FAILING_FOR + 0.1)
    assert breaker_state("simulator") == CLOSED  # one failure is not an outage yet
    assert message_send(message_id=second.pk).outcome == "retry"
    opened_at = time.monotonic()
    assert breaker_state("simulator") == OPEN  # failing for longer than FAILING_FOR
    tried_on_primary = len(gateways.primary.received)

    # While open: the retries and new sends, one by one and in a batch, go to the secondary.
    assert message_send(message_id=first.pk, attempt=2).outcome == "sent"
    assert message_send(message_id=second.pk, attempt=2).outcome == "sent"
    assert messages_send(message_ids=[m.pk for m in batch]) == ["sent", "sent"]
    gateways.primary.answer_status = None  # it recovers, but the cool-down is not over
    assert message_send(message_id=during.pk).outcome == "sent"
    assert time.monotonic() - opened_at < COOL_DOWN, "too slow to test the cool-down"
    assert len(gateways.primary.received) == tried_on_primary  # nothing tried it meanwhile
    for message in (first, second, *batch, during):
        assert went_through(message) == (OutboundStatus.SENT, "simulator2")

    # After the cool-down one probe goes to the primary; its success closes the breaker.
    time.sleep(max(0.0, COOL_DOWN - (time.monotonic() - opened_at)) + 0.1)
    assert message_send(message_id=probe.pk).outcome == "sent"
    assert breaker_state("simulator") == CLOSED
    assert message_send(message_id=after.pk).outcome == "sent"
    assert went_through(probe) == went_through(after) == (OutboundStatus.SENT, "simulator")
    assert breaker_changes(caplog) == ["open", "half-open", "closed"]

    # Every SMS reached one gateway, once: the 503s took none.
    references = gateways.references()
    assert sorted(references["simulator"]) == [f"msg-{probe.pk}", f"msg-{after.pk}"]
    assert sorted(references["simulator2"]) == sorted(
        f"msg-{m.pk}" for m in (first, second, *batch, during)
    )


def test_a_refused_number_is_no_outage(gateways: Gateways) -> None:
    gateways.primary.answer_status = 400  # each number refused: the gateway works
    messages = queued(4)
    for message in messages[:3]:
        assert message_send(message_id=message.pk).outcome == "failed"
    time.sleep(FAILING_FOR + 0.1)
    assert message_send(message_id=messages[3].pk).outcome == "failed"
    assert breaker_state("simulator") == CLOSED
    assert len(gateways.primary.received) == 4
    assert gateways.secondary.received == []


def survey_sent(survey: Survey, phone: str) -> Invitation:
    recorded = interaction_record(
        external_id=f"CRM-{phone}",
        customer={"phone": phone, "tier": "B", "region": "BJ", "language": "zh-hans"},
        touchpoint="hotline",
        occurred_at=timezone.now(),
    )
    invitation = recorded.interaction.invitations.get()
    assert invitation_send(invitation_id=invitation.pk).outcome == "sent"
    invitation.refresh_from_db()
    return invitation


def answered(gateway: str, message_id: str, phone: str, text: str) -> InboundMessage:
    """The customer's SMS as `gateway` posts it to its webhook, then processed."""
    assert Webhooks(Client(), gateway).inbound(message_id, phone, text) == 200
    inbound = InboundMessage.objects.get(gateway=gateway, gateway_message_id=message_id)
    reply_process(message_id=inbound.pk)
    return inbound


def test_a_customer_who_answered_on_the_secondary_hears_back_through_it(
    gateways: Gateways, survey: Survey
) -> None:
    on_secondary, on_primary, later = "+8613900000001", "+8613900000002", "+8613900000003"
    invitations = [survey_sent(survey, phone) for phone in (on_secondary, on_primary, later)]
    assert {i.gateway for i in invitations} == {"simulator"}  # the primary is healthy
    answered("simulator2", "MO-1", on_secondary, "3")  # a detractor, on the secondary
    answered("simulator", "MO-2", on_primary, "3")
    whys = {m.customer.phone: m for m in OutboundMessage.objects.select_related("customer")}
    assert messages_send(message_ids=[m.pk for m in whys.values()]) == ["sent", "sent"]
    # "Why?" goes where the customer answered its survey.
    assert went_through(whys[on_secondary]) == (OutboundStatus.SENT, "simulator2")
    assert went_through(whys[on_primary]) == (OutboundStatus.SENT, "simulator")
    # A message answering an SMS goes where that SMS came from (here an opt-out).
    answered("simulator2", "MO-3", on_primary, "TD")
    confirmation = OutboundMessage.objects.get(kind=OutboundKind.OPT_OUT_CONFIRMATION)
    assert message_send(message_id=confirmation.pk).outcome == "sent"
    assert went_through(confirmation) == (OutboundStatus.SENT, "simulator2")
    assert breaker_state("simulator") == CLOSED  # the primary was healthy throughout

    # While the secondary's own breaker is open, its customers hear back like anyone else.
    with override_settings(NPS_FAILOVER_FAILURES=2):
        for _ in range(2):
            breaker_observe("simulator2", ok=False)
    assert breaker_state("simulator2") == OPEN
    answered("simulator2", "MO-4", later, "2")
    why_later = OutboundMessage.objects.get(customer__phone=later)
    assert message_send(message_id=why_later.pk).outcome == "sent"
    assert went_through(why_later) == (OutboundStatus.SENT, "simulator")

    # Each SMS through one gateway, once.
    references = gateways.references()
    assert sorted(references["simulator2"]) == sorted(
        f"msg-{m.pk}" for m in (whys[on_secondary], confirmation)
    )
    expected_primary = [f"inv-{i.pk}" for i in invitations]
    expected_primary += [f"msg-{m.pk}" for m in (whys[on_primary], why_later)]
    assert sorted(references["simulator"]) == sorted(expected_primary)


def test_replies_are_accepted_from_every_enabled_gateway_and_no_other(
    gateways: Gateways, caplog: pytest.LogCaptureFixture
) -> None:
    customer = CustomerFactory()
    for gateway in ("simulator", "simulator2"):
        assert Webhooks(Client(), gateway).inbound(f"MO-{gateway}", customer.phone, "8") == 200
    stored = InboundMessage.objects.values_list("gateway", "gateway_message_id")
    assert sorted(stored) == [("simulator", "MO-simulator"), ("simulator2", "MO-simulator2")]
    with override_settings(NPS_ENABLED_GATEWAYS=["simulator"]):
        assert Webhooks(Client(), "simulator2").inbound("MO-x", customer.phone, "8") == 404
