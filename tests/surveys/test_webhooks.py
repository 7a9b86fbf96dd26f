import json
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlencode

import pytest
from django.conf import settings
from django.core.handlers.wsgi import WSGIRequest
from django.core.signals import request_finished, request_started
from django.db import close_old_connections
from django.test import Client, RequestFactory, override_settings
from django.urls import reverse
from twilio.request_validator import RequestValidator

from surveys.gateways.simulator_signature import HEADER, sign_body
from surveys.models import DeliveryReceipt, InboundMessage
from surveys.webhooks import WEBHOOK_PREFIX, WEBHOOK_SKIPS, webhook_middleware

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


# ---------------------------------------------------------------- the webhooks' own stack


@pytest.fixture
def keep_test_connection() -> Iterator[None]:
    """As Django's test client does: a finished request must not close the test database."""
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


def through_wsgi(request: WSGIRequest) -> tuple[int, dict[str, str]]:
    """The request through the project's WSGI application, as gunicorn serves it."""
    with override_settings(DEBUG=True):  # the tests' gateways have development secrets
        from nps.wsgi import application

    answer: list[Any] = []
    chunks = application(request.environ, lambda status, headers, *_: answer.append(
        (int(status.split()[0]), dict(headers))
    ))  # fmt: skip
    b"".join(chunks)
    getattr(chunks, "close", lambda: None)()
    return answer[0]


def test_the_webhook_urls_are_the_ones_served_by_their_own_stack() -> None:
    for name in ("webhook-inbound", "webhook-status"):
        assert reverse(name, kwargs={"gateway": "simulator"}).startswith(WEBHOOK_PREFIX)


def test_a_webhook_passes_the_security_middleware_and_none_of_the_sessions_or_pages() -> None:
    kept = webhook_middleware()
    assert kept[:2] == [
        "django.middleware.security.SecurityMiddleware",
        "django.middleware.common.CommonMiddleware",
    ]
    assert set(kept) | WEBHOOK_SKIPS == set(settings.MIDDLEWARE)
    assert set(settings.MIDDLEWARE) >= WEBHOOK_SKIPS  # no name in it is stale


@pytest.mark.usefixtures("keep_test_connection")
def test_a_webhook_through_the_wsgi_application_is_stored_without_the_site_stack() -> None:
    body = json.dumps(reply("MO-wsgi")).encode()
    request = RequestFactory().post(
        "/webhooks/simulator/inbound/", body, content_type="application/json",
        headers={HEADER: sign_body(SIM_SECRET, body)},
    )  # fmt: skip
    status, headers = through_wsgi(request)
    assert status == 200
    assert InboundMessage.objects.get().gateway_message_id == "MO-wsgi"
    assert "X-Frame-Options" not in headers  # the page middleware was not passed
    assert "Cookie" not in headers.get("Vary", "")  # nor sessions or languages
    assert headers["X-Content-Type-Options"] == "nosniff"  # the security middleware was
    assert "Content-Length" in headers  # the common middleware was


@pytest.mark.usefixtures("keep_test_connection")
def test_a_page_through_the_wsgi_application_passes_the_whole_site_stack() -> None:
    status, headers = through_wsgi(RequestFactory().get("/admin/login/"))
    assert status == 200
    assert headers["X-Frame-Options"] == "DENY"
    assert "csrftoken" in headers.get("Set-Cookie", "")
