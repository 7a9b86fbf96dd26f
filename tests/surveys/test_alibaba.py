"""Alibaba Cloud SMS: surveys sent through the sending kit and the real adapter, over the
official SDK, to a loopback fake that checks each request as Alibaba does (the
ACS3-HMAC-SHA256 signature recomputed from the secret, SendSms's parameters); and
Alibaba's recorded HTTP pushes (tests/fixtures/webhooks/alibaba/) posted to our webhooks
with and without the URL token, then stored and applied.

The templates are the kit's own (surveys.gatewaytemplates): the question's and the link
SMS's as each test needs them, and every conversation kind's (`conversation_templates`),
so no send waits for a template the survey needs.
"""

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from django.test import Client, override_settings
from django.utils import timezone

from surveys.dispatch import invitation_send
from surveys.gateways.base import GatewayError, PermanentGatewayError, TemplateCall, get_gateway
from surveys.gateways.registry import gateway_setting_problems
from surveys.interactions import interaction_record
from surveys.models import (
    Delivery,
    DeliveryReceipt,
    GatewayTemplate,
    InboundMessage,
    Invitation,
    InvitationStatus,
    Response,
    Survey,
)
from surveys.models.gateways import SURVEY_LINK_TEMPLATE, SURVEY_TEMPLATE
from surveys.receipts import receipts_apply
from surveys.replies import replies_process
from surveys.sending import send_claim
from surveys.sendstatus import INVITATIONS
from tests.factories import SurveyFactory
from tests.surveys.cloud_fakes import (
    ALIBABA_KEY_ID,
    CALLBACK_TOKEN,
    SIGN_NAME,
    AlibabaFake,
    conversation_templates,
)

pytestmark = pytest.mark.django_db
FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "webhooks" / "alibaba"
BASE = "https://nps.example.cn"
QUESTION, LINK = "SMS_460915001", "SMS_460915002"  # approved at the fake, each with its variables


@pytest.fixture
def alibaba(monkeypatch: pytest.MonkeyPatch) -> Iterator[AlibabaFake]:
    fake = AlibabaFake(templates={QUESTION: [], LINK: ["link"]})
    with override_settings(
        NPS_GATEWAYS={"alibaba": fake.gateway_config()},
        NPS_ENABLED_GATEWAYS=["alibaba"],
        NPS_SEND_GATEWAY="alibaba",
        NPS_PUBLIC_BASE_URL=BASE,
    ):
        try:
            yield fake
        finally:
            fake.close()


@pytest.fixture
def survey(alibaba: AlibabaFake) -> Survey:
    conversation_templates("alibaba", alibaba, "SMS_4609150")
    GatewayTemplate.objects.create(
        gateway="alibaba", kind=SURVEY_TEMPLATE, language="zh-hans", code=QUESTION
    )
    GatewayTemplate.objects.create(
        gateway="alibaba",
        kind=SURVEY_LINK_TEMPLATE,
        language="zh-hans",
        code=LINK,
        parameters=["link"],
    )
    return SurveyFactory()


def invited(phone: str = "+8613800138000", n: int = 1) -> Invitation:
    return interaction_record(
        external_id=f"CRM-ALI-{n}",
        customer={"phone": phone, "language": "zh-hans"},
        touchpoint="hotline",
        occurred_at=timezone.now(),
    ).interaction.invitations.get()


def fixture(name: str) -> Any:
    return json.loads((FIXTURES / f"{name}.json").read_text(encoding="utf-8"))


def push(client: Client, kind: str, payload: Any, token: str | None = CALLBACK_TOKEN) -> Any:
    """POST as Alibaba's HTTP batch push does, to the URL the operator entered."""
    path = f"/webhooks/alibaba/{kind}/" + (f"?token={token}" if token is not None else "")
    body = json.dumps(payload, ensure_ascii=False).encode()
    return client.post(path, body, content_type="application/json")


def test_a_survey_goes_out_as_its_approved_template_with_sign_and_reference(
    alibaba: AlibabaFake, survey: Survey
) -> None:
    invitation = invited()
    assert invitation_send(invitation_id=invitation.pk).outcome == "sent"
    [sent] = alibaba.sent  # accepted: the signature and the parameters passed Alibaba's checks
    assert (sent.phone, sent.sign, sent.template) == ("13800138000", SIGN_NAME, QUESTION)
    assert (sent.params, sent.reference) == ({}, f"inv-{invitation.pk}")
    assert alibaba.refused == []
    invitation.refresh_from_db()
    assert invitation.status == InvitationStatus.SENT
    assert (invitation.gateway, invitation.provider_message_id) == (
        "alibaba",
        sent.provider_message_id,
    )


def test_a_link_survey_carries_its_link_as_the_templates_parameter(
    alibaba: AlibabaFake, survey: Survey
) -> None:
    Survey.objects.filter(pk=survey.pk).update(delivery=Delivery.LINK)
    invitation = invited()
    assert invitation_send(invitation_id=invitation.pk).outcome == "sent"
    [sent] = alibaba.sent
    assert sent.template == LINK
    assert list(sent.params) == ["link"]
    assert sent.params["link"].startswith(f"{BASE}/s/")
    assert json.loads(sent.fields["TemplateParam"]) == sent.params  # JSON, as Alibaba reads it


def test_a_wrong_secret_is_refused_by_alibaba_and_fails_the_survey_for_good(
    alibaba: AlibabaFake, survey: Survey
) -> None:
    wrong = alibaba.gateway_config(ACCESS_KEY_SECRET="not-the-secret")
    invitation = invited()
    with override_settings(NPS_GATEWAYS={"alibaba": wrong}):
        assert invitation_send(invitation_id=invitation.pk).outcome == "failed"
    assert alibaba.sent == []
    assert [r.code for r in alibaba.refused] == ["SignatureDoesNotMatch"]
    invitation.refresh_from_db()
    assert invitation.status == InvitationStatus.FAILED
    assert "SignatureDoesNotMatch" in invitation.failure_reason


def test_an_unknown_access_key_is_permanent(alibaba: AlibabaFake) -> None:
    config = alibaba.gateway_config(ACCESS_KEY_ID=ALIBABA_KEY_ID + "X")
    with override_settings(NPS_GATEWAYS={"alibaba": config}):
        gateway = get_gateway("alibaba")
        assert gateway is not None
        with pytest.raises(PermanentGatewayError, match=re.escape("InvalidAccessKeyId.NotFound")):
            gateway.send(to="+8613800138000", text="", reference="inv-1", template=question())


def question() -> TemplateCall:
    return TemplateCall(QUESTION, {})


def test_throttling_comes_back_retryable_and_the_retry_goes_out(
    alibaba: AlibabaFake, survey: Survey
) -> None:
    alibaba.refuse_next("isv.BUSINESS_LIMIT_CONTROL", "触发号码分钟级流控Permits:1")
    invitation = invited()
    outcome = invitation_send(invitation_id=invitation.pk)
    assert (outcome.outcome, outcome.next_attempt) == ("retry", 2)
    invitation.refresh_from_db()
    assert invitation.status == InvitationStatus.SENDING
    assert "isv.BUSINESS_LIMIT_CONTROL" in invitation.failure_reason
    assert alibaba.sent == []

    assert invitation_send(invitation_id=invitation.pk, attempt=2).outcome == "sent"
    assert [s.reference for s in alibaba.sent] == [f"inv-{invitation.pk}"]


@pytest.mark.parametrize(
    ("code", "status"),
    [("ServiceUnavailable", 503), ("Throttling.User", 400), ("isp.SYSTEM_ERROR", 200)],
)
def test_alibabas_own_faults_and_limits_are_retryable(
    alibaba: AlibabaFake, code: str, status: int
) -> None:
    alibaba.refuse_next(code, status=status)
    gateway = get_gateway("alibaba")
    assert gateway is not None
    with pytest.raises(GatewayError, match=re.escape(code)) as raised:
        gateway.send(to="+8613800138000", text="", reference="inv-1", template=question())
    assert not raised.value.permanent


def test_an_unreachable_endpoint_is_retryable(alibaba: AlibabaFake) -> None:
    alibaba.close()
    gateway = get_gateway("alibaba")
    assert gateway is not None
    with pytest.raises(GatewayError, match="unreachable") as raised:
        gateway.send(to="+8613800138000", text="", reference="inv-1", template=question())
    assert not raised.value.permanent


@pytest.mark.parametrize(
    ("to", "template", "code"),
    [
        ("+86123", TemplateCall(QUESTION, {}), "isv.MOBILE_NUMBER_ILLEGAL"),
        ("+8613800138000", TemplateCall("SMS_000000001", {}), "isv.SMS_TEMPLATE_ILLEGAL"),
        ("+8613800138000", TemplateCall(LINK, {}), "isv.TEMPLATE_MISSING_PARAMETERS"),
    ],
)
def test_a_bad_number_or_template_is_permanent(
    alibaba: AlibabaFake, to: str, template: TemplateCall, code: str
) -> None:
    gateway = get_gateway("alibaba")
    assert gateway is not None
    with pytest.raises(PermanentGatewayError, match=re.escape(code)):
        gateway.send(to=to, text="", reference="inv-1", template=template)
    assert [r.code for r in alibaba.refused] == [code]


def test_a_sign_alibaba_has_not_approved_is_permanent(alibaba: AlibabaFake) -> None:
    with override_settings(NPS_GATEWAYS={"alibaba": alibaba.gateway_config(SIGN_NAME="别的")}):
        gateway = get_gateway("alibaba")
        assert gateway is not None
        with pytest.raises(PermanentGatewayError, match=re.escape("isv.SMS_SIGNATURE_ILLEGAL")):
            gateway.send(to="+8613800138000", text="", reference="inv-1", template=question())


def sent_as(invitation: Invitation, biz_id: str) -> None:
    """The survey was sent and Alibaba knows it by `biz_id` (the one the recorded push has)."""
    Invitation.objects.filter(pk=invitation.pk).update(
        status=InvitationStatus.SENT, gateway="alibaba", provider_message_id=biz_id
    )


@pytest.mark.parametrize(
    ("name", "status", "error"),
    [
        ("sms_report_delivered", InvitationStatus.DELIVERED, ""),
        ("sms_report_failed", InvitationStatus.FAILED, "DB:0102 用户停机"),
    ],
)
def test_a_recorded_report_is_stored_once_and_moves_the_survey_forward(
    alibaba: AlibabaFake, survey: Survey, client: Client, name: str, status: str, error: str
) -> None:
    payload = fixture(name)
    invitation = invited()
    sent_as(invitation, payload[0]["biz_id"])
    answer = push(client, "status", payload)
    assert answer.status_code == 200
    assert answer.json() == {"code": 0, "msg": "接收成功"}
    assert push(client, "status", payload).status_code == 200  # Alibaba pushes again
    [receipt] = DeliveryReceipt.objects.all()
    assert (receipt.gateway, receipt.provider_message_id) == ("alibaba", payload[0]["biz_id"])
    assert (receipt.status, receipt.error, receipt.payload) == (status, error, payload[0])

    receipts_apply(receipt_ids=[receipt.pk])
    invitation.refresh_from_db()
    assert invitation.status == status
    assert error in invitation.failure_reason


def test_every_report_of_a_batch_is_stored(
    alibaba: AlibabaFake, survey: Survey, client: Client
) -> None:
    payload = fixture("sms_report_batch")
    assert push(client, "status", payload).status_code == 200
    stored = DeliveryReceipt.objects.order_by("pk")
    assert [(r.provider_message_id, r.status, r.reference) for r in stored] == [
        (payload[0]["biz_id"], InvitationStatus.DELIVERED, "inv-1"),
        (payload[1]["biz_id"], InvitationStatus.FAILED, "inv-2"),
    ]


def test_a_report_that_overtakes_our_record_of_the_send_finds_it_by_out_id(
    alibaba: AlibabaFake, survey: Survey, client: Client
) -> None:
    invitation = invited()
    assert send_claim(INVITATIONS, pk=invitation.pk, attempt=1)  # sending, not yet recorded
    report = fixture("sms_report_delivered")[0] | {"out_id": f"inv-{invitation.pk}"}
    assert push(client, "status", [report]).status_code == 200
    receipts_apply(receipt_ids=list(DeliveryReceipt.objects.values_list("pk", flat=True)))
    invitation.refresh_from_db()
    assert invitation.status == InvitationStatus.DELIVERED


def test_a_report_without_its_biz_id_is_left_out_and_the_rest_stored(
    alibaba: AlibabaFake, client: Client
) -> None:
    payload = fixture("sms_report_batch")
    del payload[1]["biz_id"]
    assert push(client, "status", payload).status_code == 200
    assert list(DeliveryReceipt.objects.values_list("provider_message_id", flat=True)) == [
        payload[0]["biz_id"]
    ]


def test_a_body_that_is_not_json_is_refused(alibaba: AlibabaFake, client: Client) -> None:
    answer = client.post(
        f"/webhooks/alibaba/status/?token={CALLBACK_TOKEN}", b"[{", content_type="application/json"
    )
    assert answer.status_code == 400
    assert not DeliveryReceipt.objects.exists()


def test_a_recorded_reply_is_stored_raw_and_scores_the_survey(
    alibaba: AlibabaFake, survey: Survey, client: Client
) -> None:
    invitation = invited()
    assert invitation_send(invitation_id=invitation.pk).outcome == "sent"
    payload = fixture("sms_up")
    answer = push(client, "inbound", payload)
    assert answer.status_code == 200
    assert answer.json() == {"code": 0, "msg": "接收成功"}
    assert push(client, "inbound", payload).status_code == 200  # pushed again: stored once
    [message] = InboundMessage.objects.all()
    assert (message.gateway, message.gateway_message_id) == ("alibaba", "1887326450")
    assert (message.phone, message.text) == ("+8613800138000", payload[0]["content"])
    assert message.payload == payload[0]

    replies_process(message_ids=[message.pk])
    response = Response.objects.get()
    assert (response.invitation_id, response.score) == (invitation.pk, 9)


@pytest.mark.parametrize("kind", ["status", "inbound"])
@pytest.mark.parametrize("token", [None, "", "wrong-token", CALLBACK_TOKEN + "x", "令牌"])
def test_a_push_without_the_right_token_is_refused_and_nothing_stored(
    alibaba: AlibabaFake, client: Client, kind: str, token: str | None
) -> None:
    name = "sms_report_delivered" if kind == "status" else "sms_up"
    assert push(client, kind, fixture(name), token=token).status_code == 403
    assert not DeliveryReceipt.objects.exists()
    assert not InboundMessage.objects.exists()


def test_with_no_callback_token_set_every_push_is_refused(
    alibaba: AlibabaFake, client: Client
) -> None:
    with override_settings(NPS_GATEWAYS={"alibaba": alibaba.gateway_config(CALLBACK_TOKEN="")}):
        assert push(client, "inbound", fixture("sms_up"), token="").status_code == 403
    assert not InboundMessage.objects.exists()


def test_production_refuses_alibaba_without_its_secret_and_callback_token() -> None:
    from nps import settings as project

    config = project.NPS_GATEWAYS["alibaba"] | {"ACCESS_KEY_SECRET": "", "CALLBACK_TOKEN": ""}
    with override_settings(
        NPS_GATEWAYS={"alibaba": config},
        NPS_ENABLED_GATEWAYS=["alibaba"],
        NPS_SEND_GATEWAY="alibaba",
    ):
        problems = gateway_setting_problems()
    assert sorted(p.setting for p in problems) == [
        "ALIBABA_ACCESS_KEY_SECRET",
        "ALIBABA_CALLBACK_TOKEN",
    ]


def test_without_access_keys_nothing_is_sent_and_the_send_is_retried(alibaba: AlibabaFake) -> None:
    """The SDK would otherwise look for credentials in the environment or instance metadata."""
    with override_settings(NPS_GATEWAYS={"alibaba": alibaba.gateway_config(ACCESS_KEY_SECRET="")}):
        gateway = get_gateway("alibaba")
        assert gateway is not None
        with pytest.raises(GatewayError, match="ALIBABA_ACCESS_KEY_SECRET") as raised:
            gateway.send(to="+8613800138000", text="", reference="inv-1", template=question())
    assert not raised.value.permanent
    assert (alibaba.sent, alibaba.refused) == ([], [])
