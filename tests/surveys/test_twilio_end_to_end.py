"""The conversation end to end through the Twilio adapter, Twilio being a loopback fake.

`TWILIO_API_URL` (NPS_GATEWAYS["twilio"]["API_URL"]) points at a real HTTP server on
127.0.0.1 that answers `POST /2010-04-01/Accounts/<sid>/Messages.json` as Twilio does.
Everything of ours is real: the CRM API, the send tasks and TwilioGateway.send over
HTTP, Twilio's form-encoded webhooks signed with the official library's
RequestValidator, the outbox relay, reply processing, the case. The broker is the one
stand-in: tasks are handed to a list after commit and run in order by `Worker`.
"""

from collections.abc import Callable, Iterator
from typing import Any
from urllib.parse import urlsplit

import pytest
from celery.app.task import Task
from django.test import Client, override_settings
from django.utils import timezone
from rest_framework.test import APIClient

from followups.models import Case
from surveys.models import (
    DeliveryReceipt,
    Invitation,
    InvitationStatus,
    OutboundKind,
    OutboundMessage,
    OutboundStatus,
)
from surveys.relay import outbox_relay
from tests.factories import AgentFactory, SurveyFactory, TeamFactory
from tests.surveys.loopback import PUBLIC_BASE, LoopbackProvider, Sent, Webhooks

pytestmark = pytest.mark.django_db
DETRACTOR, PASSIVE, PROMOTER, LEAVER = (f"+86138001380{n:02d}" for n in range(4))


class Worker:
    """Tasks published after commit, run one at a time in order, as one worker would."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch, capture: Callable[..., Any]) -> None:
        self.queue: list[tuple[Task, tuple[Any, ...], dict[str, Any]]] = []
        self.capture = capture

        def publish(task: Task, args: Any = None, kwargs: Any = None, **options: Any) -> None:
            self.queue.append((task, tuple(args or ()), dict(kwargs or {})))

        monkeypatch.setattr(Task, "apply_async", publish)

    def committed(self, action: Callable[[], Any]) -> Any:
        with self.capture(execute=True):  # the on-commit callbacks publish
            return action()

    def work(self) -> None:
        """Relay the outbox and run every task until nothing is left to do."""
        while self.committed(outbox_relay) or self.queue:
            while self.queue:
                task, args, kwargs = self.queue.pop(0)
                self.committed(lambda: task(*args, **kwargs))  # noqa: B023 (called at once)


@pytest.fixture
def twilio() -> Iterator[LoopbackProvider]:
    provider = LoopbackProvider()
    with override_settings(
        NPS_GATEWAYS=provider.gateways(),  # twilio's API_URL is TWILIO_API_URL
        NPS_ENABLED_GATEWAYS=["twilio"],
        NPS_SEND_GATEWAY="twilio",
        NPS_PUBLIC_BASE_URL=PUBLIC_BASE,
    ):
        try:
            yield provider
        finally:
            provider.close()


class Handsets:
    """The customers' phones and Twilio's callbacks, both as Twilio posts them."""

    def __init__(self, twilio: LoopbackProvider, worker: Worker) -> None:
        self.twilio, self.worker = twilio, worker
        self.webhooks = Webhooks(Client(), "twilio")
        self.reported: set[str] = set()
        self.count = 0

    def sms_to(self, phone: str) -> list[str]:
        return [sent.text for sent in self.twilio.sent if sent.to == phone]

    def text(self, phone: str, body: str) -> None:
        self.count += 1
        sid = f"SM{self.count:032x}"
        assert self.worker.committed(lambda: self.webhooks.inbound(sid, phone, body)) == 200
        self.worker.work()

    def deliver_everything(self) -> None:
        """Twilio calls each message's StatusCallback: sending, sent, delivered."""
        for sent in [s for s in self.twilio.sent if s.provider_message_id not in self.reported]:
            self.reported.add(sent.provider_message_id)
            assert self._status_url(sent) == f"{PUBLIC_BASE}/webhooks/twilio/status/"
            for status in ("sending", "sent", "delivered"):
                posted = self.webhooks.receipt(
                    sent.provider_message_id, status, to=sent.to, callback=sent.status_callback
                )
                assert posted == 200
        self.worker.work()

    @staticmethod
    def _status_url(sent: Sent) -> str:
        parts = urlsplit(sent.status_callback)
        return f"{parts.scheme}://{parts.netloc}{parts.path}"


def test_a_whole_conversation_through_twilio_ends_with_every_sms_delivered(
    twilio: LoopbackProvider,
    crm_client: APIClient,
    monkeypatch: pytest.MonkeyPatch,
    django_capture_on_commit_callbacks: Callable[..., Any],
) -> None:
    SurveyFactory()
    agent = AgentFactory(team=TeamFactory(name="North", regions=["BJ"]))
    worker = Worker(monkeypatch, django_capture_on_commit_callbacks)
    phones = Handsets(twilio, worker)
    for n, phone in enumerate([DETRACTOR, PASSIVE, PROMOTER, LEAVER]):
        payload = {
            "external_id": f"CRM-TW-{n}",
            "customer": {"phone": phone, "tier": "A", "region": "BJ", "language": "zh-hans"},
            "touchpoint": "hotline",
            "occurred_at": timezone.now().isoformat(),
        }
        posted = worker.committed(
            lambda p=payload: crm_client.post("/api/v1/interactions/", p, format="json")
        )
        assert posted.status_code == 201, posted.content
    worker.work()
    assert all(len(phones.sms_to(phone)) == 1 for phone in (DETRACTOR, PASSIVE, PROMOTER, LEAVER))
    assert {s.fields["From"] for s in twilio.sent} == {twilio.gateways()["twilio"]["FROM"]}
    phones.deliver_everything()
    assert set(Invitation.objects.values_list("status", flat=True)) == {InvitationStatus.DELIVERED}

    phones.text(DETRACTOR, "3")  # a detractor: asked why
    phones.text(PASSIVE, "你好")  # not understood: one clarification
    phones.text(LEAVER, "TD")  # opted out: one confirmation
    phones.deliver_everything()
    phones.text(DETRACTOR, "网络信号太差，电话老是断")  # the reason
    phones.text(PASSIVE, "8")  # a passive: the care message
    phones.text(PROMOTER, "10")  # a promoter: the thank-you
    phones.deliver_everything()

    kinds = dict(OutboundMessage.objects.values_list("customer__phone", "kind").order_by("pk"))
    assert sorted(OutboundMessage.objects.values_list("kind", flat=True)) == sorted(
        [
            OutboundKind.FOLLOWUP_QUESTION,
            OutboundKind.CLARIFICATION,
            OutboundKind.OPT_OUT_CONFIRMATION,
            OutboundKind.CARE,
            OutboundKind.THANKS,
            OutboundKind.CALLBACK_PROMISE,  # the detractor gave a reason
        ]
    )
    assert kinds[PROMOTER] == OutboundKind.THANKS
    # Every SMS Twilio took is one of ours, once, and every one of ours ends delivered.
    ours = [
        (f"inv-{pk}", sid)
        for pk, sid in Invitation.objects.values_list("pk", "provider_message_id")
    ]
    ours += [
        (f"msg-{pk}", sid)
        for pk, sid in OutboundMessage.objects.values_list("pk", "provider_message_id")
    ]
    assert sorted(ours) == sorted((s.reference, s.provider_message_id) for s in twilio.sent)
    assert len(twilio.sent) == 4 + 6  # four surveys, six conversation SMS
    assert set(OutboundMessage.objects.values_list("status", flat=True)) == {
        OutboundStatus.DELIVERED
    }
    for invitation in Invitation.objects.all():
        assert invitation.delivered_at is not None, invitation.pk
    assert Invitation.objects.get(customer__phone=LEAVER).status == InvitationStatus.DELIVERED
    assert not DeliveryReceipt.objects.filter(processed_at__isnull=True).exists()
    assert set(DeliveryReceipt.objects.values_list("outcome", flat=True)) <= {"applied", "ignored"}
    # And the loop closed: the detractor's case, with the reason, is with the agent.
    case = Case.objects.get()
    assert (case.response.customer.phone, case.agent) == (DETRACTOR, agent)
    assert "信号" in case.response.comment
