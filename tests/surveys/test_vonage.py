"""The Vonage gateway against a loopback Vonage (tests/surveys/vonage_fake.py).

The SDK's REST host (VONAGE_API_URL) is a real HTTPS server on 127.0.0.1 that checks the
credentials and parameters as Vonage does; the webhooks are called as Vonage calls them
(GET, POST form, POST JSON), signed with the SDK's own signer.
"""

import hashlib
import time
from collections.abc import Iterator
from typing import Any

import pytest
from django.test import Client, override_settings
from django.utils import timezone
from vonage_http_client import Auth
from vonage_sms import PartialFailureError

from surveys.dispatch import invitation_send
from surveys.gateways.base import GatewayError, PermanentGatewayError
from surveys.gateways.vonage import VonageGateway, canonical_params, send_error, signature_valid
from surveys.interactions import interaction_record
from surveys.models import (
    DeliveryReceipt,
    InboundMessage,
    Invitation,
    InvitationStatus,
    Response,
)
from surveys.receipts import receipts_apply
from surveys.replies import replies_process
from tests.factories import SurveyFactory
from tests.surveys.vonage_fake import (
    API_KEY,
    FROM,
    SIGNATURE_SECRET,
    VonageFake,
    VonageWebhooks,
    vonage_sign,
)

pytestmark = pytest.mark.django_db
PHONE = "+8613800138000"


@pytest.fixture
def vonage(monkeypatch: pytest.MonkeyPatch) -> Iterator[VonageFake]:
    fake = VonageFake()
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(fake.ca_file))  # the fake's own certificate
    with override_settings(
        NPS_GATEWAYS={"vonage": fake.gateway()},
        NPS_ENABLED_GATEWAYS=["vonage"],
        NPS_SEND_GATEWAY="vonage",
    ):
        try:
            yield fake
        finally:
            fake.close()


def survey_for(phone: str = PHONE, language: str = "zh-hans") -> Invitation:
    """A survey invitation for a customer, scheduled now, not yet sent."""
    SurveyFactory()
    return interaction_record(
        external_id=f"CRM-VN-{phone}",
        customer={"phone": phone, "language": language},
        touchpoint="hotline",
        occurred_at=timezone.now(),
    ).interaction.invitations.get()


def gateway(vonage: VonageFake, **overrides: str) -> VonageGateway:
    return VonageGateway("vonage", vonage.gateway(**overrides))


# ---------------------------------------------------------------- sending


def test_a_chinese_survey_reaches_vonage_as_unicode_with_our_reference(
    vonage: VonageFake,
) -> None:
    invitation = survey_for()
    assert invitation_send(invitation_id=invitation.pk).outcome == "sent"
    invitation.refresh_from_db()
    (sent,) = vonage.sent
    assert sent.to == PHONE.lstrip("+")
    assert sent.fields["from"] == FROM
    assert sent.reference == f"inv-{invitation.pk}"
    assert sent.type == "unicode"
    assert any("\u4e00" <= c <= "\u9fff" for c in sent.text)  # the Chinese question
    assert sent.text == invitation.text
    assert (invitation.status, invitation.gateway) == (InvitationStatus.SENT, "vonage")
    assert invitation.provider_message_id == sent.message_ids[0]


def test_a_gsm_text_goes_as_text(vonage: VonageFake) -> None:
    result = gateway(vonage).send(to=PHONE, text="How did we do? Reply 0-10", reference="inv-1")
    (sent,) = vonage.sent
    assert (sent.type, result.provider_message_id) == ("text", sent.message_ids[0])


def test_a_long_text_keeps_the_first_parts_message_id(vonage: VonageFake) -> None:
    text = "请为我们的服务打分" * 10  # 90 characters of UCS-2: two parts
    result = gateway(vonage).send(to=PHONE, text=text, reference="inv-7")
    (sent,) = vonage.sent
    assert len(sent.message_ids) == 2
    assert result.provider_message_id == sent.message_ids[0]


def test_the_api_secret_is_checked_by_vonage(vonage: VonageFake) -> None:
    with pytest.raises(PermanentGatewayError, match="status 4"):
        gateway(vonage, API_SECRET="wrong").send(to=PHONE, text="hi", reference="inv-1")
    assert not vonage.sent


def test_throttling_is_retried_and_the_retry_sends(vonage: VonageFake) -> None:
    invitation = survey_for()
    vonage.answer_next.append(("1", "Throughput Rate Exceeded - please wait [ 1000 ] and retry"))
    first = invitation_send(invitation_id=invitation.pk)
    assert (first.outcome, first.next_attempt) == ("retry", 2)
    invitation.refresh_from_db()
    assert invitation.status == InvitationStatus.SENDING
    assert "status 1" in invitation.failure_reason
    assert invitation_send(invitation_id=invitation.pk, attempt=2).outcome == "sent"
    invitation.refresh_from_db()
    assert invitation.status == InvitationStatus.SENT
    assert (len(vonage.requests), len(vonage.sent)) == (2, 1)


def test_a_rejected_number_fails_the_survey_at_once(vonage: VonageFake) -> None:
    invitation = survey_for()
    vonage.answer_next.append(("29", "Non White-listed Destination"))
    assert invitation_send(invitation_id=invitation.pk).outcome == "failed"
    invitation.refresh_from_db()
    assert invitation.status == InvitationStatus.FAILED
    assert "status 29" in invitation.failure_reason
    assert len(vonage.requests) == 1  # not tried again


@pytest.mark.parametrize(
    ("status", "error"), [("1", GatewayError), ("5", GatewayError), ("15", PermanentGatewayError)]
)
def test_vonage_statuses_map_to_retryable_or_permanent(
    vonage: VonageFake, status: str, error: type[GatewayError]
) -> None:
    vonage.answer_next.append((status, "refused"))
    with pytest.raises(GatewayError) as raised:
        gateway(vonage).send(to=PHONE, text="hi", reference="inv-1")
    assert type(raised.value) is error


def test_a_long_sms_vonage_sent_only_in_part_is_not_sent_again() -> None:
    """Another try would send the customer the parts that went a second time."""
    parts = [{"status": "0", "message-id": "0A01"}, {"status": "1", "error-text": "Throttled"}]
    error = send_error(PartialFailureError({"message-count": "2", "messages": parts}))
    assert error.permanent


def test_a_long_sms_refused_whole_is_judged_by_its_status() -> None:
    parts = [{"status": "1", "error-text": "Throttled"}] * 2
    error = send_error(PartialFailureError({"message-count": "2", "messages": parts}))
    assert not error.permanent
    assert "status 1" in str(error)


def test_an_unreachable_vonage_is_worth_another_try(vonage: VonageFake) -> None:
    config = vonage.gateway(API_URL="https://127.0.0.1:9")  # nothing listens there
    with pytest.raises(GatewayError) as raised:
        VonageGateway("vonage", config).send(to=PHONE, text="hi", reference="inv-1")
    assert not raised.value.permanent


# ---------------------------------------------------------------- webhooks


def sent_survey(vonage: VonageFake) -> Invitation:
    invitation = survey_for()
    assert invitation_send(invitation_id=invitation.pk).outcome == "sent"
    invitation.refresh_from_db()
    return invitation


@pytest.mark.parametrize("how", ["get", "form", "json"])
def test_a_signed_receipt_is_stored_and_delivers_the_survey(
    vonage: VonageFake, client: Client, how: str
) -> None:
    invitation = sent_survey(vonage)
    hooks = VonageWebhooks(client, how=how)
    reference = f"inv-{invitation.pk}"
    message_id = invitation.provider_message_id
    assert hooks.receipt(message_id, "delivered", to=PHONE, reference=reference) == 200
    receipt = DeliveryReceipt.objects.get()
    assert (receipt.gateway, receipt.provider_message_id) == ("vonage", message_id)
    assert (receipt.status, receipt.reference) == (InvitationStatus.DELIVERED, reference)
    receipts_apply(receipt_ids=[receipt.pk])
    invitation.refresh_from_db()
    assert invitation.status == InvitationStatus.DELIVERED
    assert invitation.delivered_at is not None


def test_a_receipt_for_a_later_part_finds_the_survey_by_our_reference(
    vonage: VonageFake, client: Client
) -> None:
    invitation = survey_for()
    long_text = "请为我们的服务打分" * 10
    result = VonageGateway("vonage", vonage.gateway()).send(
        to=PHONE, text=long_text, reference=f"inv-{invitation.pk}"
    )
    second_part = vonage.sent[0].message_ids[1]
    Invitation.objects.filter(pk=invitation.pk).update(
        status=InvitationStatus.SENT,
        gateway="vonage",
        provider_message_id=result.provider_message_id,
    )
    hooks = VonageWebhooks(client)
    reference = f"inv-{invitation.pk}"
    assert hooks.receipt(second_part, "delivered", to=PHONE, reference=reference) == 200
    receipts_apply(receipt_ids=list(DeliveryReceipt.objects.values_list("pk", flat=True)))
    invitation.refresh_from_db()
    assert invitation.status == InvitationStatus.DELIVERED


def test_a_failed_receipt_fails_the_survey_with_the_error_code(
    vonage: VonageFake, client: Client
) -> None:
    invitation = sent_survey(vonage)
    hooks = VonageWebhooks(client)
    reference = f"inv-{invitation.pk}"
    assert (
        hooks.receipt(
            invitation.provider_message_id, "expired", to=PHONE, reference=reference, err="5"
        )
        == 200
    )
    receipts_apply(receipt_ids=list(DeliveryReceipt.objects.values_list("pk", flat=True)))
    invitation.refresh_from_db()
    assert invitation.status == InvitationStatus.FAILED
    assert "err-code 5" in invitation.failure_reason


@pytest.mark.parametrize("how", ["get", "form", "json"])
def test_a_signed_reply_is_stored_and_answers_the_survey(
    vonage: VonageFake, client: Client, how: str
) -> None:
    invitation = sent_survey(vonage)
    assert VonageWebhooks(client, how=how).inbound("0B00000012345678", PHONE, "9") == 200
    message = InboundMessage.objects.get()
    assert (message.gateway, message.gateway_message_id) == ("vonage", "0B00000012345678")
    assert (message.phone, message.text) == (PHONE, "9")
    replies_process(message_ids=[message.pk])
    response = Response.objects.get()
    assert (response.invitation_id, response.score) == (invitation.pk, 9)


def _reply_params(**changes: str) -> dict[str, str]:
    params = {"msisdn": PHONE[1:], "to": "447700900000", "messageId": "0B0000001", "text": "9"}
    return params | {"type": "text", "api-key": API_KEY, "nonce": "n-1"} | changes


@pytest.mark.parametrize(
    "tamper",
    [
        pytest.param(lambda p: p | {"text": "0"}, id="text changed after signing"),
        pytest.param(lambda p: p | {"sig": "0" * 64}, id="wrong signature"),
        pytest.param(lambda p: {k: v for k, v in p.items() if k != "sig"}, id="unsigned"),
        pytest.param(
            lambda p: vonage_sign(_reply_params(), secret="another-account"), id="other secret"
        ),
        pytest.param(
            lambda p: vonage_sign(_reply_params(timestamp=str(int(time.time()) - 600))),
            id="stale timestamp",
        ),
    ],
)
def test_a_bad_or_stale_signature_is_refused_and_nothing_is_stored(
    vonage: VonageFake, client: Client, tamper: Any
) -> None:
    params = tamper(vonage_sign(_reply_params()))
    hooks = VonageWebhooks(client)
    assert hooks.call("inbound", params, sign=False) == 403
    assert hooks.call("status", params | {"status": "delivered"}, sign=False) == 403
    assert not InboundMessage.objects.exists()
    assert not DeliveryReceipt.objects.exists()


def test_an_interim_receipt_is_answered_and_not_stored(vonage: VonageFake, client: Client) -> None:
    hooks = VonageWebhooks(client)
    assert hooks.receipt("0A0000001", "buffered", to=PHONE, reference="inv-1") == 200
    assert not DeliveryReceipt.objects.exists()


def test_other_gateways_still_refuse_a_get(vonage: VonageFake, client: Client) -> None:
    with override_settings(
        NPS_GATEWAYS={
            "vonage": vonage.gateway(),
            "console": {"CLASS": "surveys.gateways.console.ConsoleGateway", "SECRET": "s"},
        },
        NPS_ENABLED_GATEWAYS=["vonage", "console"],
    ):
        assert client.get("/webhooks/console/inbound/").status_code == 405


# ---------------------------------------------------------------- the signature rule


@pytest.mark.parametrize("method", ["md5", "sha1", "sha256", "sha512"])
def test_our_check_accepts_what_the_sdk_signs(method: str) -> None:
    params = _reply_params(timestamp="1767225600", text="a&b=c 你好")
    params["sig"] = Auth(
        API_KEY, signature_secret=SIGNATURE_SECRET, signature_method=method
    ).sign_params(dict(params))
    assert signature_valid(params, secret=SIGNATURE_SECRET, method=method)
    assert not signature_valid(params | {"text": "x"}, secret=SIGNATURE_SECRET, method=method)


def test_md5hash_is_the_md5_of_the_sorted_parameters_and_the_secret() -> None:
    """Vonage's documented rule, written out: `&name=value` sorted, & and = in values as _."""
    params = {"b": "x=y", "a": "1&2", "timestamp": "1767225600"}
    signed = "&a=1_2&b=x_y&timestamp=1767225600"
    assert canonical_params(params) == signed
    sig = hashlib.md5((signed + "s3cret").encode()).hexdigest()  # noqa: S324
    assert signature_valid(params | {"sig": sig.upper()}, secret="s3cret", method="md5hash")
    assert not signature_valid(params | {"sig": sig}, secret="other", method="md5hash")
