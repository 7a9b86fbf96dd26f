"""Each gateway's payloads, kept in tests/fixtures/webhooks/<gateway>/, posted through the
real webhook views signed as that gateway signs (Twilio: X-Twilio-Signature over the URL
and form; the simulator: HMAC of the JSON body; the console: the channel token), then
what is stored and what it does once processed.

Twilio's are form posts with the parameters its documentation lists for an incoming
message and for a status callback; the simulator's are what devtools/simulator/server.py
posts (checked against the simulator itself below); the console speaks the same JSON
format.
"""

import json
import threading
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import pytest
from django.test import Client, override_settings
from django.utils import timezone
from twilio.request_validator import RequestValidator

from devtools.simulator.server import Simulator, SimulatorConfig
from surveys.dispatch import invitation_send
from surveys.gateways.simulator_signature import HEADER, sign_body
from surveys.interactions import interaction_record
from surveys.models import DeliveryReceipt, InboundMessage, Invitation, InvitationStatus, Response
from surveys.receipts import receipts_apply
from surveys.replies import replies_process
from tests.factories import SurveyFactory

pytestmark = pytest.mark.django_db
FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "webhooks"
TWILIO_TOKEN, SIM_SECRET, CONSOLE_SECRET = "fixture-token", "fixture-sim", "fixture-console"
GATEWAYS = {
    "twilio": {
        "CLASS": "surveys.gateways.twilio.TwilioGateway",
        "ACCOUNT_SID": "AC3f7a9c1e5b2d4f6a8c0e2b4d6f8a0c2e",
        "AUTH_TOKEN": TWILIO_TOKEN,
        "FROM": "+15005550006",
        "API_URL": "http://127.0.0.1:9",
    },
    "simulator": {
        "CLASS": "surveys.gateways.simulator.SimulatorGateway",
        "URL": "http://127.0.0.1:9",
        "API_KEY": "k",
        "SECRET": SIM_SECRET,
    },
    "console": {"CLASS": "surveys.gateways.console.ConsoleGateway", "SECRET": CONSOLE_SECRET},
}


@pytest.fixture(autouse=True)
def gateways() -> Any:
    with override_settings(
        NPS_GATEWAYS=GATEWAYS,
        NPS_ENABLED_GATEWAYS=list(GATEWAYS),
        NPS_SEND_GATEWAY="console",
        NPS_PUBLIC_BASE_URL="",
    ):
        yield


def fixture(gateway: str, name: str) -> dict[str, str]:
    return json.loads((FIXTURES / gateway / f"{name}.json").read_text(encoding="utf-8"))


def post(client: Client, gateway: str, kind: str, payload: dict[str, str]) -> Any:
    """POST the payload to our webhook exactly as the gateway would, validly signed."""
    path = f"/webhooks/{gateway}/{kind}/"
    if gateway == "twilio":
        url = f"http://testserver{path}"
        signature = RequestValidator(TWILIO_TOKEN).compute_signature(url, payload)
        return client.post(
            path,
            urlencode(payload),
            content_type="application/x-www-form-urlencoded",
            headers={"X-Twilio-Signature": signature},
        )
    body = json.dumps(payload, ensure_ascii=False).encode()
    if gateway == "console":
        return client.post(f"{path}?token={CONSOLE_SECRET}", body, "application/json")
    headers = {HEADER: sign_body(SIM_SECRET, body)}
    return client.post(path, body, content_type="application/json", headers=headers)


def surveyed(gateway: str, provider_message_id: str = "") -> Invitation:
    """A survey sent to +8613800138000; the gateway knows it by `provider_message_id`."""
    SurveyFactory()
    invitation = interaction_record(
        external_id="CRM-FX-1",
        customer={"phone": "+8613800138000", "language": "zh-hans"},
        touchpoint="hotline",
        occurred_at=timezone.now(),
    ).interaction.invitations.get()
    assert invitation_send(invitation_id=invitation.pk).outcome == "sent"
    if provider_message_id:  # the id the recorded payloads carry, in place of the console's
        Invitation.objects.filter(pk=invitation.pk).update(
            gateway=gateway, provider_message_id=provider_message_id
        )
    invitation.refresh_from_db()
    return invitation


INBOUND = [
    ("twilio", "inbound_sms", "Body", "MessageSid", 9),
    ("simulator", "inbound", "text", "message_id", 3),
    ("console", "inbound", "text", "message_id", 10),
]


@pytest.mark.parametrize(("gateway", "name", "text_field", "id_field", "score"), INBOUND)
def test_a_recorded_reply_is_stored_raw_and_scores_the_survey(
    client: Client, gateway: str, name: str, text_field: str, id_field: str, score: int
) -> None:
    invitation = surveyed(gateway)
    payload = fixture(gateway, name)
    answer = post(client, gateway, "inbound", payload)
    assert answer.status_code == 200
    message = InboundMessage.objects.get()
    assert (message.gateway, message.gateway_message_id) == (gateway, payload[id_field])
    assert message.phone == "+8613800138000"  # the console's national number made E.164
    assert (message.text, message.payload) == (payload[text_field], payload)
    assert message.processed_at is None

    replies_process(message_ids=[message.pk])
    response = Response.objects.get()
    assert (response.invitation_id, response.score) == (invitation.pk, score)


def test_twilio_answers_a_recorded_reply_with_empty_twiml(client: Client) -> None:
    answer = post(client, "twilio", "inbound", fixture("twilio", "inbound_sms"))
    assert answer["Content-Type"].startswith("text/xml")
    assert answer.content == b"<Response/>"


FINAL = [
    ("twilio", ["status_sent", "status_delivered"], InvitationStatus.DELIVERED, ""),
    ("twilio", ["status_sent", "status_undelivered"], InvitationStatus.FAILED, "30003"),
    ("simulator", ["status_sent", "status_delivered"], InvitationStatus.DELIVERED, ""),
    ("console", ["status_delivered"], InvitationStatus.DELIVERED, ""),
    ("console", ["status_failed"], InvitationStatus.FAILED, "handset unreachable"),
]


@pytest.mark.parametrize(("gateway", "names", "status", "error"), FINAL)
def test_recorded_status_callbacks_are_stored_once_and_move_the_survey_forward(
    client: Client, gateway: str, names: list[str], status: str, error: str
) -> None:
    payloads = [fixture(gateway, name) for name in names]
    sid_field = "MessageSid" if gateway == "twilio" else "message_id"
    invitation = surveyed(gateway, provider_message_id=payloads[0][sid_field])
    for payload in payloads:
        assert post(client, gateway, "status", payload).status_code == 200
        assert post(client, gateway, "status", payload).status_code == 200  # a retry
    receipts = DeliveryReceipt.objects.order_by("pk")
    assert [(r.gateway, r.provider_message_id) for r in receipts] == [
        (gateway, invitation.provider_message_id)
    ] * len(payloads)
    assert [r.payload for r in receipts] == payloads
    assert list(receipts)[-1].error == error

    receipts_apply(receipt_ids=[r.pk for r in receipts])
    invitation.refresh_from_db()
    assert invitation.status == status
    if status == InvitationStatus.FAILED:
        assert invitation.failed_at is not None
        assert error in invitation.failure_reason
    else:
        assert invitation.delivered_at is not None


INTERIM = [
    ("twilio", "status_queued"),
    ("twilio", "status_sending"),
    ("simulator", "status_accepted"),
    ("console", "status_queued"),
]


@pytest.mark.parametrize(("gateway", "name"), INTERIM)
def test_a_recorded_interim_status_is_answered_200_and_not_stored(
    client: Client, gateway: str, name: str
) -> None:
    answer = post(client, gateway, "status", fixture(gateway, name))
    assert answer.status_code == 200
    assert not DeliveryReceipt.objects.exists()


@pytest.mark.parametrize("gateway", ["twilio", "simulator", "console"])
def test_a_status_word_we_do_not_know_is_answered_200_and_not_stored(
    client: Client, gateway: str
) -> None:
    """A 4xx would only make the gateway post it again; the JSON format answered 400."""
    if gateway == "twilio":
        payload = fixture("twilio", "status_sent") | {"MessageStatus": "read", "SmsStatus": "read"}
    else:
        payload = fixture(gateway, "status_delivered") | {"status": "handset_busy"}
    answer = post(client, gateway, "status", payload)
    assert answer.status_code == 200
    assert not DeliveryReceipt.objects.exists()


@pytest.mark.parametrize("gateway", ["simulator", "console"])
def test_a_json_status_without_a_message_id_is_still_malformed(
    client: Client, gateway: str
) -> None:
    payload = {k: v for k, v in fixture(gateway, "status_delivered").items() if k != "message_id"}
    assert post(client, gateway, "status", payload).status_code == 400
    assert not DeliveryReceipt.objects.exists()


class WebhookRecorder:
    """Stands in for the simulator's webhook client: keeps what it would post to us."""

    def __init__(self, expected: int) -> None:
        self.posts: list[tuple[str, dict[str, Any]]] = []
        self.expected, self.done = expected, threading.Event()

    def post(self, path: str, payload: dict[str, Any]) -> int:
        self.posts.append((path, dict(payload)))
        if len(self.posts) == self.expected:
            self.done.set()
        return 200


@pytest.mark.django_db(False)
def test_the_simulator_fixtures_have_the_fields_the_simulator_posts(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    simulator = Simulator(SimulatorConfig(api_key="k", secret="s", auto_reply=False))
    recorder = WebhookRecorder(expected=2)
    monkeypatch.setattr(simulator, "webhooks", recorder)
    simulator.send("+8613800138000", "请为我们的服务打分", "inv-917")
    assert recorder.done.wait(timeout=10)
    simulator.receive("+8613800138000", "3 等了半个小时")
    posted = [(path, sorted(payload)) for path, payload in recorder.posts]
    names = ["status_sent", "status_delivered", "inbound"]
    paths = ["/webhooks/simulator/status/"] * 2 + ["/webhooks/simulator/inbound/"]
    kept = [(path, sorted(fixture("simulator", n))) for path, n in zip(paths, names, strict=True)]
    assert posted == kept
    statuses = [payload["status"] for _, payload in recorder.posts[:2]]
    assert statuses == [fixture("simulator", n)["status"] for n in names[:2]]
