"""Vonage's payloads, kept in tests/fixtures/webhooks/vonage/, through the real webhook views.

As tests/surveys/test_webhook_fixtures.py does for the other gateways: each recorded
payload is signed as Vonage signs it (the SDK's signer over the parameters, which carry
their signing time), called at the time it was signed (time-machine: the signature's
freshness check), then what is stored and what it does once processed. The fields are
those Vonage's SMS API documents for an inbound message and a delivery receipt.
"""

import json
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import pytest
import time_machine
from django.test import Client, override_settings
from django.utils import timezone

from surveys.dispatch import invitation_send
from surveys.interactions import interaction_record
from surveys.models import DeliveryReceipt, InboundMessage, Invitation, InvitationStatus, Response
from surveys.receipts import receipts_apply
from surveys.replies import replies_process
from tests.factories import SurveyFactory
from tests.surveys.vonage_fake import vonage_sign

pytestmark = pytest.mark.django_db
FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "webhooks" / "vonage"
GATEWAYS = {
    "vonage": {
        "CLASS": "surveys.gateways.vonage.VonageGateway",
        "API_KEY": "a1b2c3d4",
        "API_SECRET": "fixture-secret",
        "SIGNATURE_SECRET": "loopback-vonage-signature-secret",  # vonage_sign's
        "SIGNATURE_METHOD": "sha256",
        "FROM": "NPSCare",
        "API_URL": "https://127.0.0.1:9",
    },
    "console": {"CLASS": "surveys.gateways.console.ConsoleGateway", "SECRET": "fixture-console"},
}


@pytest.fixture(autouse=True)
def gateways() -> Any:
    with override_settings(
        NPS_GATEWAYS=GATEWAYS, NPS_ENABLED_GATEWAYS=list(GATEWAYS), NPS_SEND_GATEWAY="console"
    ):
        yield


def fixture(name: str) -> dict[str, str]:
    return json.loads((FIXTURES / f"{name}.json").read_text(encoding="utf-8"))


def call(client: Client, kind: str, payload: dict[str, str], *, how: str = "get") -> Any:
    """Call our webhook as Vonage would, at the time the payload says it was signed."""
    path, signed = f"/webhooks/vonage/{kind}/", vonage_sign(payload)
    with time_machine.travel(int(payload["timestamp"]), tick=False):
        if how == "get":
            return client.get(f"{path}?{urlencode(signed)}")
        if how == "json":
            return client.post(path, json.dumps(signed, ensure_ascii=False), "application/json")
        return client.post(path, urlencode(signed), "application/x-www-form-urlencoded")


def surveyed(provider_message_id: str = "") -> Invitation:
    """A survey sent to +8613800138000; Vonage knows it by `provider_message_id`."""
    SurveyFactory()
    invitation = interaction_record(
        external_id="CRM-VFX-1",
        customer={"phone": "+8613800138000", "language": "zh-hans"},
        touchpoint="hotline",
        occurred_at=timezone.now(),
    ).interaction.invitations.get()
    assert invitation_send(invitation_id=invitation.pk).outcome == "sent"
    if provider_message_id:  # the id the recorded payloads carry, in place of the console's
        Invitation.objects.filter(pk=invitation.pk).update(
            gateway="vonage", provider_message_id=provider_message_id
        )
    invitation.refresh_from_db()
    return invitation


@pytest.mark.parametrize("how", ["get", "form", "json"])
def test_a_recorded_reply_is_stored_raw_and_scores_the_survey(client: Client, how: str) -> None:
    invitation = surveyed()
    payload = fixture("inbound")
    assert call(client, "inbound", payload, how=how).status_code == 200
    message = InboundMessage.objects.get()
    assert (message.gateway, message.gateway_message_id) == ("vonage", payload["messageId"])
    assert (message.phone, message.text) == ("+8613800138000", payload["text"])
    assert {k: v for k, v in message.payload.items() if k != "sig"} == payload
    replies_process(message_ids=[message.pk])
    response = Response.objects.get()
    assert (response.invitation_id, response.score) == (invitation.pk, 3)


FINAL = [
    (["status_accepted", "status_delivered"], InvitationStatus.DELIVERED, ""),
    (["status_accepted", "status_expired"], InvitationStatus.FAILED, "err-code 2"),
    (["status_failed"], InvitationStatus.FAILED, "err-code 3"),
    (["status_rejected"], InvitationStatus.FAILED, "err-code 6"),
]


@pytest.mark.parametrize(("names", "status", "error"), FINAL)
def test_recorded_receipts_are_stored_once_and_move_the_survey_forward(
    client: Client, names: list[str], status: str, error: str
) -> None:
    payloads = [fixture(name) for name in names]
    invitation = surveyed(provider_message_id=payloads[0]["messageId"])
    for payload in payloads:
        assert call(client, "status", payload).status_code == 200
        assert call(client, "status", payload).status_code == 200  # a retry
    receipts = list(DeliveryReceipt.objects.order_by("pk"))
    assert [(r.gateway, r.provider_message_id, r.reference) for r in receipts] == [
        ("vonage", invitation.provider_message_id, "inv-917")
    ] * len(payloads)
    assert [{k: v for k, v in r.payload.items() if k != "sig"} for r in receipts] == payloads
    assert receipts[-1].error == error

    receipts_apply(receipt_ids=[r.pk for r in receipts])
    invitation.refresh_from_db()
    assert invitation.status == status
    if status == InvitationStatus.FAILED:
        assert error in invitation.failure_reason
    else:
        assert invitation.delivered_at is not None


def test_a_recorded_buffered_receipt_is_answered_200_and_not_stored(client: Client) -> None:
    assert call(client, "status", fixture("status_buffered")).status_code == 200
    assert not DeliveryReceipt.objects.exists()


def test_a_recorded_receipt_called_later_than_five_minutes_is_refused(client: Client) -> None:
    payload = fixture("status_delivered")
    late = int(payload["timestamp"]) + 301
    with time_machine.travel(late, tick=False):
        answer = client.get(f"/webhooks/vonage/status/?{urlencode(vonage_sign(payload))}")
    assert answer.status_code == 403
    assert not DeliveryReceipt.objects.exists()


def test_a_receipt_without_a_message_id_is_malformed(client: Client) -> None:
    payload = {k: v for k, v in fixture("status_delivered").items() if k != "messageId"}
    assert call(client, "status", payload).status_code == 400
    assert not DeliveryReceipt.objects.exists()
