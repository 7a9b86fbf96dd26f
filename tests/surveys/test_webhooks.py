import json
from typing import Any
from urllib.parse import urlencode

import pytest
from django.test import Client, override_settings
from twilio.request_validator import RequestValidator

from surveys.gateways.simulator_signature import HEADER, sign_body
from surveys.models import DeliveryReceipt, InboundMessage

pytestmark = pytest.mark.django_db
SIM_SECRET = "sim-dev-secret"
TWILIO = {
    "CLASS": "surveys.gateways.twilio.TwilioGateway",
    "ACCOUNT_SID": "AC123",
    "AUTH_TOKEN": "12345",
    "FROM": "+15005550006",
    "API_URL": "http://127.0.0.1:9",
}


def post_signed(client: Client, url: str, data: dict[str, Any], secret: str = SIM_SECRET) -> Any:
    body = json.dumps(data).encode()
    return client.post(
        url, body, content_type="application/json", headers={HEADER: sign_body(secret, body)}
    )


def reply(message_id: str = "MO1", text: str = "3") -> dict[str, str]:
    return {"message_id": message_id, "from": "+8613800138000", "text": text}


def test_signed_inbound_is_stored_for_the_relay(
    client: Client, django_capture_on_commit_callbacks: Any
) -> None:
    with django_capture_on_commit_callbacks() as callbacks:
        answer = post_signed(client, "/webhooks/simulator/inbound/", reply())
    assert answer.status_code == 200
    message = InboundMessage.objects.get()
    assert (message.phone, message.text, message.processed_at) == ("+8613800138000", "3", None)
    assert message.enqueued_at is None  # pending: the outbox relay hands it to a worker
    assert callbacks == []  # the request publishes nothing


def test_retried_inbound_is_a_no_op_that_still_answers_2xx(client: Client) -> None:
    post_signed(client, "/webhooks/simulator/inbound/", reply())
    again = post_signed(client, "/webhooks/simulator/inbound/", reply(text="changed"))
    assert again.status_code == 200
    assert InboundMessage.objects.get().text == "3"


def test_retried_status_receipt_is_a_no_op(client: Client) -> None:
    data = {"message_id": "SM1", "reference": "inv-1", "status": "delivered"}
    first = post_signed(client, "/webhooks/simulator/status/", data)
    again = post_signed(client, "/webhooks/simulator/status/", data)
    assert (first.status_code, again.status_code) == (200, 200)
    assert DeliveryReceipt.objects.count() == 1


@pytest.mark.parametrize("kind", ["inbound", "status"])
@pytest.mark.parametrize(
    "headers",
    [{}, {HEADER: "sha256=00"}, {HEADER: sign_body("wrong-secret", b"{}")}, {HEADER: "garbage"}],
)
def test_bad_signature_is_403_and_stores_nothing(client: Client, kind: str, headers: Any) -> None:
    body = json.dumps(reply() | {"status": "delivered"}).encode()
    answer = client.post(
        f"/webhooks/simulator/{kind}/", body, content_type="application/json", headers=headers
    )
    assert answer.status_code == 403
    assert InboundMessage.objects.count() == DeliveryReceipt.objects.count() == 0


def test_signature_over_a_changed_body_is_rejected(client: Client) -> None:
    signed = json.dumps(reply(text="9")).encode()
    forged = json.dumps(reply(text="0")).encode()
    answer = client.post(
        "/webhooks/simulator/inbound/",
        forged,
        content_type="application/json",
        headers={HEADER: sign_body(SIM_SECRET, signed)},
    )
    assert answer.status_code == 403
    assert not InboundMessage.objects.exists()


def test_signed_but_malformed_body_is_400_and_stores_nothing(client: Client) -> None:
    answer = post_signed(client, "/webhooks/simulator/inbound/", {"message_id": "MO1"})
    assert answer.status_code == 400
    assert "from" in answer.json()["error"]
    assert not InboundMessage.objects.exists()


def test_unknown_gateway_is_404(client: Client) -> None:
    assert post_signed(client, "/webhooks/nosuch/inbound/", reply()).status_code == 404


def test_console_gateway_needs_the_channel_token(client: Client) -> None:
    body = json.dumps(reply()).encode()
    denied = client.post("/webhooks/console/inbound/?token=nope", body, "application/json")
    allowed = client.post(
        "/webhooks/console/inbound/?token=console-dev-secret", body, "application/json"
    )
    assert (denied.status_code, allowed.status_code) == (403, 200)
    assert InboundMessage.objects.get().gateway == "console"


TWILIO_URL = "http://testserver/webhooks/twilio/inbound/"
TWILIO_FORM = {
    "MessageSid": "SM0123456789abcdef0123456789abcdef",
    "From": "+8613800138000",
    "To": "+15005550006",
    "Body": "九分",
}


def post_twilio(client: Client, form: dict[str, str], signature: str | None) -> Any:
    headers = {"X-Twilio-Signature": signature} if signature is not None else {}
    return client.post(
        "/webhooks/twilio/inbound/",
        urlencode(form),
        content_type="application/x-www-form-urlencoded",
        headers=headers,
    )


@override_settings(NPS_GATEWAYS={"twilio": TWILIO})
def test_twilio_reply_signed_by_the_official_validator_is_accepted(client: Client) -> None:
    signature = RequestValidator("12345").compute_signature(TWILIO_URL, TWILIO_FORM)
    answer = post_twilio(client, TWILIO_FORM, signature)
    assert answer.status_code == 200
    assert answer["Content-Type"].startswith("text/xml")
    assert InboundMessage.objects.get().text == "九分"


@override_settings(NPS_GATEWAYS={"twilio": TWILIO})
@pytest.mark.parametrize("tamper", ["param", "url", "missing", "malformed"])
def test_twilio_reply_with_a_bad_signature_is_403(client: Client, tamper: str) -> None:
    url = "http://testserver/other/" if tamper == "url" else TWILIO_URL
    signature: str | None = RequestValidator("12345").compute_signature(url, TWILIO_FORM)
    form = TWILIO_FORM | ({"Body": "10"} if tamper == "param" else {})
    signature = {"missing": None, "malformed": "%%%"}.get(tamper, signature)
    assert post_twilio(client, form, signature).status_code == 403
    assert not InboundMessage.objects.exists()


def test_twilio_signature_matches_twilios_published_example() -> None:
    """The example in Twilio's webhook-security documentation and library tests."""
    from surveys.gateways.twilio import twilio_signature

    params = {
        "CallSid": "CA1234567890ABCDE",
        "Caller": "+14158675309",
        "Digits": "1234",
        "From": "+14158675309",
        "To": "+18005551212",
    }
    url = "https://mycompany.com/myapp.php?foo=1&bar=2"
    assert twilio_signature("12345", url, params) == "RSOYDt4T1cUTdK1PDd93/VVr8B8="


@override_settings(NPS_GATEWAYS={"twilio": TWILIO})
@pytest.mark.parametrize("kind", ["inbound", "status"])
def test_twilio_multipart_signed_over_the_url_alone_is_refused_and_stores_nothing(
    client: Client, kind: str
) -> None:
    """Twilio's signature covers form parameters only: a multipart body would go unsigned."""
    url = f"http://testserver/webhooks/twilio/{kind}/"
    signature = RequestValidator("12345").compute_signature(url, {})
    form = TWILIO_FORM | {"MessageStatus": "delivered"}
    answer = client.post(url, form, headers={"X-Twilio-Signature": signature})  # multipart
    assert answer.status_code == 403
    assert InboundMessage.objects.count() == DeliveryReceipt.objects.count() == 0


@override_settings(NPS_GATEWAYS={"twilio": TWILIO})
@pytest.mark.parametrize("content_type", ["application/json", "text/plain", "multipart/mixed"])
def test_twilio_webhooks_accept_only_form_encoded_bodies(client: Client, content_type: str) -> None:
    signature = RequestValidator("12345").compute_signature(TWILIO_URL, {})
    answer = client.post(
        TWILIO_URL,
        urlencode(TWILIO_FORM),
        content_type=content_type,
        headers={"X-Twilio-Signature": signature},
    )
    assert answer.status_code == 403
    assert not InboundMessage.objects.exists()
