"""Delivery receipts land for every kind of SMS through every gateway's real webhook.

One rule matches a receipt to its send (surveys/receipts.py): the gateway's message id,
then our reference where the gateway echoes one (only the simulator does). A receipt
that overtakes our record of the send is applied as soon as that record is written.
"""

import threading
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from django.db import connections
from django.test import Client, override_settings
from django.utils import timezone

from surveys import tasks
from surveys.conversation import message_queue, message_send
from surveys.dispatch import invitation_send
from surveys.interactions import interaction_record
from surveys.models import (
    DeliveryReceipt,
    InboundMessage,
    Invitation,
    InvitationStatus,
    OutboundKind,
    OutboundMessage,
    OutboundStatus,
)
from surveys.receipts import receipts_apply
from surveys.replies import replies_process
from tests.factories import SurveyFactory
from tests.surveys.loopback import PUBLIC_BASE, LoopbackProvider, Webhooks

GATEWAYS = ["simulator", "console", "twilio"]


@pytest.fixture
def provider() -> Iterator[LoopbackProvider]:
    provider = LoopbackProvider()
    try:
        yield provider
    finally:
        provider.close()


@pytest.fixture(params=GATEWAYS)
def gateway(request: pytest.FixtureRequest, provider: LoopbackProvider) -> Iterator[str]:
    """Every gateway sends and reports; the HTTP ones send to the loopback provider."""
    slug = str(request.param)
    with override_settings(
        NPS_GATEWAYS=provider.gateways(),
        NPS_ENABLED_GATEWAYS=GATEWAYS,
        NPS_SEND_GATEWAY=slug,
        NPS_PUBLIC_BASE_URL=PUBLIC_BASE,
    ):
        yield slug


@pytest.fixture
def queued(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, int]]:
    """Sends handed to the broker (the outside world here); the tests run them."""
    handed: list[tuple[str, int]] = []
    monkeypatch.setattr(tasks.send_invitation, "delay", lambda pk, n: handed.append(("inv", pk)))
    monkeypatch.setattr(tasks.send_message, "delay", lambda pk, n: handed.append(("msg", pk)))
    return handed


def surveyed(phone: str, external_id: str) -> Invitation:
    recorded = interaction_record(
        external_id=external_id,
        customer={"phone": phone, "tier": "B", "region": "BJ"},
        touchpoint="hotline",
        occurred_at=timezone.now(),
    )
    invitation = recorded.interaction.invitations.get()
    assert invitation_send(invitation_id=invitation.pk).outcome == "sent"
    return invitation


def pending_receipts() -> list[int]:
    return list(
        DeliveryReceipt.objects.filter(processed_at__isnull=True)
        .order_by("pk")
        .values_list("pk", flat=True)
    )


def relay_receipts() -> list[str]:
    """What one relay pass and its worker do with the stored receipts."""
    return receipts_apply(receipt_ids=pending_receipts())


def report_delivered(webhooks: Webhooks, sent: list[Invitation] | list[OutboundMessage]) -> None:
    for row in sent:
        row.refresh_from_db()
        prefix = "inv" if isinstance(row, Invitation) else "msg"
        for status in ("sent", "delivered"):
            answer = webhooks.receipt(row.provider_message_id, status, f"{prefix}-{row.pk}")
            assert answer == 200


@pytest.mark.django_db
def test_receipts_for_surveys_and_every_conversation_sms_land_by_the_gateways_message_id(
    gateway: str, client: Client, queued: list[tuple[str, int]]
) -> None:
    SurveyFactory()
    phones = {kind: f"+861380013800{n}" for n, kind in enumerate(["why", "clar", "care", "stop"])}
    invitations = [surveyed(phone, f"CRM-{kind}") for kind, phone in phones.items()]
    webhooks = Webhooks(client, gateway)
    report_delivered(webhooks, invitations)
    # "sent" finds each already sent by our own record: ignored, and done with.
    assert relay_receipts() == ["ignored", "applied"] * 4

    replies = [("why", "3"), ("clar", "你好"), ("care", "8"), ("stop", "TD"), ("why", "排队太久")]
    replies += [("clar", "10 服务很好")]
    for n, (kind, text) in enumerate(replies):
        assert webhooks.inbound(f"MO{n}", phones[kind], text) == 200
    unprocessed = InboundMessage.objects.filter(processed_at__isnull=True).order_by("pk")
    replies_process(message_ids=list(unprocessed.values_list("pk", flat=True)))
    messages = list(OutboundMessage.objects.order_by("pk"))
    assert sorted(m.kind for m in messages) == sorted(
        [
            OutboundKind.FOLLOWUP_QUESTION,
            OutboundKind.CLARIFICATION,
            OutboundKind.CARE,
            OutboundKind.OPT_OUT_CONFIRMATION,
            OutboundKind.THANKS,
            OutboundKind.CALLBACK_PROMISE,  # the detractor gave a reason
        ]
    )
    for message in messages:
        assert message_send(message_id=message.pk).outcome == "sent"
    report_delivered(webhooks, messages)

    assert relay_receipts() == ["ignored", "applied"] * len(messages)
    assert pending_receipts() == []
    statuses = OutboundMessage.objects.values_list("kind", "status")
    assert dict(statuses) == {m.kind: OutboundStatus.DELIVERED for m in messages}
    for invitation in Invitation.objects.all():
        assert invitation.delivered_at is not None, invitation.pk


@pytest.mark.django_db
def test_a_receipt_for_a_message_we_never_sent_waits(gateway: str, client: Client) -> None:
    webhooks = Webhooks(client, gateway)
    assert webhooks.receipt("SM-not-ours", "delivered") == 200
    assert relay_receipts() == ["unmatched"]
    assert pending_receipts() != []


def send_in_another_worker(send: Callable[[], Any]) -> threading.Thread:
    def run() -> None:
        try:
            send()
        finally:
            connections.close_all()

    worker = threading.Thread(target=run)
    worker.start()
    return worker


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("kind", ["survey", "clarification"])
def test_a_receipt_that_overtakes_our_record_of_the_send_lands_when_the_send_is_recorded(
    gateway: str, provider: LoopbackProvider, queued: list[tuple[str, int]], kind: str
) -> None:
    """The gateway reports "delivered" while our send call is still waiting for its answer.

    Applied by the relay then if the receipt names our reference (simulator), else as
    soon as our record of the send is written: never left for the relay's requeue. Twilio
    posts here to the bare status URL, as a callback set on a Messaging Service does
    (no reference of ours); with our StatusCallback see the next test.
    """
    SurveyFactory()
    recorded = interaction_record(
        external_id="CRM-1",
        customer={"phone": "+8613800138000"},
        touchpoint="hotline",
        occurred_at=timezone.now(),
    )
    invitation = recorded.interaction.invitations.get()
    if kind == "survey":
        row: Invitation | OutboundMessage = invitation
        send: Callable[[], Any] = lambda: invitation_send(invitation_id=invitation.pk)  # noqa: E731
    else:
        invitation_send(invitation_id=invitation.pk)
        invitation.refresh_from_db()
        queued_message = message_queue(
            customer=invitation.customer, kind=OutboundKind.CLARIFICATION, invitation=invitation
        )
        assert queued_message is not None
        row = queued_message
        send = lambda: message_send(message_id=queued_message.pk)  # noqa: E731
    provider.hold_next = True
    worker = send_in_another_worker(send)
    try:
        assert provider.holding.wait(timeout=15), "the send never reached the gateway"
        held = provider.sent[-1]
        webhooks = Webhooks(Client(), gateway)
        for status in ("sent", "delivered"):
            assert webhooks.receipt(held.provider_message_id, status, held.reference) == 200
        relayed = relay_receipts()  # the relay is quicker than our send's record
        assert relayed == ["applied" if gateway == "simulator" else "unmatched"] * 2
    finally:
        provider.release.set()
        worker.join(timeout=15)
    # No relay pass since: the send's own record applied what was waiting.
    assert pending_receipts() == []
    row.refresh_from_db()
    assert row.status == (
        InvitationStatus.DELIVERED if kind == "survey" else OutboundStatus.DELIVERED
    )
    assert (row.gateway, row.provider_message_id) == (gateway, held.provider_message_id)
    assert row.sent_at is not None
    if isinstance(row, Invitation):
        assert row.expires_at is not None
        assert row.delivered_at is not None


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("gateway", ["twilio"], indirect=True)  # no reference of ours in it
def test_a_receipt_not_handed_out_yet_is_left_to_the_relay_by_the_send_record(
    gateway: str, provider: LoopbackProvider
) -> None:
    """The receipts arrive while our send call waits for its answer, and no relay pass
    runs before our record: the record leaves them (the sender applying receipts a
    round of a few sends at a time was most of its work), and the relay's first pass
    matches them to the send recorded meanwhile."""
    SurveyFactory()
    invitation = interaction_record(
        external_id="CRM-1",
        customer={"phone": "+8613800138000"},
        touchpoint="hotline",
        occurred_at=timezone.now(),
    ).interaction.invitations.get()
    invitation_send(invitation_id=invitation.pk)
    invitation.refresh_from_db()
    message = message_queue(
        customer=invitation.customer, kind=OutboundKind.CLARIFICATION, invitation=invitation
    )
    assert message is not None
    provider.hold_next = True
    worker = send_in_another_worker(lambda: message_send(message_id=message.pk))
    try:
        assert provider.holding.wait(timeout=15), "the send never reached the gateway"
        held = provider.sent[-1]
        webhooks = Webhooks(Client(), gateway)
        for status in ("sent", "delivered"):
            assert webhooks.receipt(held.provider_message_id, status, held.reference) == 200
    finally:
        provider.release.set()
        worker.join(timeout=15)
    message.refresh_from_db()
    assert (message.status, message.provider_message_id) == ("sent", held.provider_message_id)
    waiting = pending_receipts()
    assert len(waiting) == 2
    assert relay_receipts() == ["ignored", "applied"]  # "sent" it is already, by our record
    message.refresh_from_db()
    assert message.status == OutboundStatus.DELIVERED


@pytest.mark.django_db
@pytest.mark.parametrize("gateway", ["simulator", "twilio"], indirect=True)  # console: a log line
@pytest.mark.parametrize("kind", ["survey", "why-question"])
def test_a_send_whose_answer_was_lost_is_finished_by_its_receipt_and_not_sent_again(
    gateway: str, provider: LoopbackProvider, client: Client, kind: str
) -> None:
    """The gateway took the SMS but our worker never heard (a 502 after accepting): the
    send waits for its retry. The gateway's receipt names our reference (the simulator
    echoes it; Twilio posts to the StatusCallback URL that carries it), so it records the
    send, and the retry finds it done instead of sending a second SMS."""
    SurveyFactory()
    invitation = interaction_record(
        external_id="CRM-1",
        customer={"phone": "+8613800138000"},
        touchpoint="hotline",
        occurred_at=timezone.now(),
    ).interaction.invitations.get()
    provider.fail_next_answer = kind == "survey"
    first = invitation_send(invitation_id=invitation.pk)
    row: Invitation | OutboundMessage = invitation
    retry: Callable[[], Any] = lambda: invitation_send(invitation_id=invitation.pk, attempt=2)  # noqa: E731
    if kind == "why-question":
        invitation.refresh_from_db()
        message = message_queue(
            customer=invitation.customer, kind=OutboundKind.FOLLOWUP_QUESTION, invitation=invitation
        )
        assert message is not None
        provider.fail_next_answer = True
        first = message_send(message_id=message.pk)
        row = message
        retry = lambda: message_send(message_id=message.pk, attempt=2)  # noqa: E731
    assert first.outcome == "retry"
    lost = provider.sent[-1]
    assert lost.reference == f"{'inv' if kind == 'survey' else 'msg'}-{row.pk}"
    webhooks = Webhooks(client, gateway)
    for status in ("sent", "delivered"):
        posted = webhooks.receipt(
            lost.provider_message_id, status, lost.reference, callback=lost.status_callback
        )
        assert posted == 200
    assert relay_receipts() == ["applied", "applied"]

    assert retry().outcome == "taken"
    assert [s.provider_message_id for s in provider.sent].count(lost.provider_message_id) == 1
    assert len(provider.sent) == (1 if kind == "survey" else 2)
    row.refresh_from_db()
    assert row.provider_message_id == lost.provider_message_id
    assert row.status == "delivered"
