"""Tencent Cloud SMS: surveys sent through the sending kit and the real adapter, over the
official SDK, to a loopback fake that checks each request as Tencent does (the
TC3-HMAC-SHA256 signature recomputed from the secret key, SendSms's parameters); and
Tencent's recorded callbacks (tests/fixtures/webhooks/tencent/) posted to our webhooks
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
from tests.factories import SurveyFactory
from tests.surveys.cloud_fakes import (
    CALLBACK_TOKEN,
    SIGN_NAME,
    TENCENT_APP_ID,
    TencentFake,
    conversation_templates,
)

pytestmark = pytest.mark.django_db
FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "webhooks" / "tencent"
BASE = "https://nps.example.cn"
QUESTION, LINK, TWO = "2016571", "2016572", "2016573"  # approved: 0, 1 and 2 variables


@pytest.fixture
def tencent(monkeypatch: pytest.MonkeyPatch) -> Iterator[TencentFake]:
    fake = TencentFake(templates={QUESTION: 0, LINK: 1, TWO: 2})
    with override_settings(
        NPS_GATEWAYS={"tencent": fake.gateway_config()},
        NPS_ENABLED_GATEWAYS=["tencent"],
        NPS_SEND_GATEWAY="tencent",
        NPS_PUBLIC_BASE_URL=BASE,
    ):
        try:
            yield fake
        finally:
            fake.close()


@pytest.fixture
def survey(tencent: TencentFake) -> Survey:
    conversation_templates("tencent", tencent, "20165")
    GatewayTemplate.objects.create(
        gateway="tencent", kind=SURVEY_TEMPLATE, language="zh-hans", code=QUESTION
    )
    GatewayTemplate.objects.create(
        gateway="tencent",
        kind=SURVEY_LINK_TEMPLATE,
        language="zh-hans",
        code=LINK,
        parameters=["link"],
    )
    return SurveyFactory()


def invited(phone: str = "+8613800138000") -> Invitation:
    return interaction_record(
        external_id="CRM-TC-1",
        customer={"phone": phone, "language": "zh-hans"},
        touchpoint="hotline",
        occurred_at=timezone.now(),
    ).interaction.invitations.get()


def fixture(name: str) -> Any:
    return json.loads((FIXTURES / f"{name}.json").read_text(encoding="utf-8"))


def post(client: Client, kind: str, payload: Any, token: str | None = CALLBACK_TOKEN) -> Any:
    """POST as Tencent's callback does, to the URL the operator entered."""
    path = f"/webhooks/tencent/{kind}/" + (f"?token={token}" if token is not None else "")
    body = json.dumps(payload, ensure_ascii=False).encode()
    return client.post(path, body, content_type="application/json")


def question() -> TemplateCall:
    return TemplateCall(QUESTION, {})


def test_a_survey_goes_out_as_its_approved_template_with_app_sign_and_reference(
    tencent: TencentFake, survey: Survey
) -> None:
    invitation = invited()
    assert invitation_send(invitation_id=invitation.pk).outcome == "sent"
    [sent] = tencent.sent  # accepted: the signature and the parameters passed Tencent's checks
    assert (sent.phone, sent.sign, sent.template) == ("+8613800138000", SIGN_NAME, QUESTION)
    assert (sent.params, sent.reference) == ([], f"inv-{invitation.pk}")
    assert sent.fields["SmsSdkAppId"] == TENCENT_APP_ID
    assert tencent.refused == []
    invitation.refresh_from_db()
    assert invitation.status == InvitationStatus.SENT
    assert (invitation.gateway, invitation.provider_message_id) == (
        "tencent",
        sent.provider_message_id,
    )


def test_a_link_survey_carries_its_link_as_the_templates_first_parameter(
    tencent: TencentFake, survey: Survey
) -> None:
    Survey.objects.filter(pk=survey.pk).update(delivery=Delivery.LINK)
    invitation = invited()
    assert invitation_send(invitation_id=invitation.pk).outcome == "sent"
    [sent] = tencent.sent
    assert sent.template == LINK
    assert len(sent.params) == 1
    assert sent.params[0].startswith(f"{BASE}/s/")


def test_parameters_go_in_the_templates_order(tencent: TencentFake) -> None:
    """TemplateParamSet is positional: {1} is the first name the template row lists."""
    gateway = get_gateway("tencent")
    assert gateway is not None
    template = TemplateCall(TWO, {"hours": "2", "link": "https://nps.example.cn/s/x"})
    gateway.send(to="+8613800138000", text="", reference="msg-7", template=template)
    assert tencent.sent[0].params == ["2", "https://nps.example.cn/s/x"]


def test_a_wrong_secret_key_is_refused_by_tencent_and_fails_the_survey_for_good(
    tencent: TencentFake, survey: Survey
) -> None:
    wrong = tencent.gateway_config(SECRET_KEY="not-the-key")
    invitation = invited()
    with override_settings(NPS_GATEWAYS={"tencent": wrong}):
        assert invitation_send(invitation_id=invitation.pk).outcome == "failed"
    assert tencent.sent == []
    assert [r.code for r in tencent.refused] == ["AuthFailure.SignatureFailure"]
    invitation.refresh_from_db()
    assert invitation.status == InvitationStatus.FAILED
    assert "AuthFailure.SignatureFailure" in invitation.failure_reason


def test_throttling_comes_back_retryable_and_the_retry_goes_out(
    tencent: TencentFake, survey: Survey
) -> None:
    tencent.refuse_next(
        "LimitExceeded.PhoneNumberThirtySecondLimit", "单个手机号30秒内下发短信条数超过设定的上限"
    )
    invitation = invited()
    outcome = invitation_send(invitation_id=invitation.pk)
    assert (outcome.outcome, outcome.next_attempt) == ("retry", 2)
    invitation.refresh_from_db()
    assert invitation.status == InvitationStatus.SENDING
    assert "LimitExceeded.PhoneNumberThirtySecondLimit" in invitation.failure_reason

    assert invitation_send(invitation_id=invitation.pk, attempt=2).outcome == "sent"
    assert [s.reference for s in tencent.sent] == [f"inv-{invitation.pk}"]


def test_an_unreachable_endpoint_is_retryable(tencent: TencentFake) -> None:
    tencent.close()
    gateway = get_gateway("tencent")
    assert gateway is not None
    with pytest.raises(GatewayError, match="ClientNetworkError") as raised:
        gateway.send(to="+8613800138000", text="", reference="inv-1", template=question())
    assert not raised.value.permanent


@pytest.mark.parametrize(
    ("to", "template", "config", "code"),
    [
        ("+86123", question(), {}, "InvalidParameterValue.IncorrectPhoneNumber"),
        (
            "+8613800138000",
            TemplateCall("99", {}),
            {},
            "FailedOperation.TemplateIncorrectOrUnapproved",
        ),
        (
            "+8613800138000",
            TemplateCall(LINK, {}),
            {},
            "FailedOperation.TemplateParamSetNotMatchApprovedTemplate",
        ),
        (
            "+8613800138000",
            question(),
            {"SIGN_NAME": "别的"},
            "FailedOperation.SignatureIncorrectOrUnapproved",
        ),
        (
            "+8613800138000",
            question(),
            {"SDK_APP_ID": "1400999999"},
            "InvalidParameterValue.SdkAppIdNotExist",
        ),
        (
            "+8613800138000",
            question(),
            {"SECRET_ID": "AKIDunknown"},
            "AuthFailure.SecretIdNotFound",
        ),
    ],
)
def test_a_bad_number_template_sign_app_or_key_is_permanent(
    tencent: TencentFake, to: str, template: TemplateCall, config: dict[str, str], code: str
) -> None:
    with override_settings(NPS_GATEWAYS={"tencent": tencent.gateway_config(**config)}):
        gateway = get_gateway("tencent")
        assert gateway is not None
        with pytest.raises(PermanentGatewayError, match=re.escape(code)):
            gateway.send(to=to, text="", reference="inv-1", template=template)
    assert [r.code for r in tencent.refused] == [code]


def sent_as(invitation: Invitation, serial_no: str) -> None:
    """The survey was sent and Tencent knows it by `serial_no` (the recorded callback's sid)."""
    Invitation.objects.filter(pk=invitation.pk).update(
        status=InvitationStatus.SENT, gateway="tencent", provider_message_id=serial_no
    )


@pytest.mark.parametrize(
    ("name", "status", "error"),
    [
        ("status_delivered", InvitationStatus.DELIVERED, ""),
        ("status_failed", InvitationStatus.FAILED, "UNDELIV 用户短信未送达"),
    ],
)
def test_a_recorded_status_report_is_stored_once_and_moves_the_survey_forward(
    tencent: TencentFake, survey: Survey, client: Client, name: str, status: str, error: str
) -> None:
    payload = fixture(name)
    invitation = invited()
    sent_as(invitation, payload[0]["sid"])
    answer = post(client, "status", payload)
    assert answer.status_code == 200
    assert answer.json() == {"result": 0, "errmsg": "OK"}
    assert post(client, "status", payload).status_code == 200  # Tencent calls back again
    [receipt] = DeliveryReceipt.objects.all()
    assert (receipt.gateway, receipt.provider_message_id) == ("tencent", payload[0]["sid"])
    assert (receipt.status, receipt.error, receipt.payload) == (status, error, payload[0])

    receipts_apply(receipt_ids=[receipt.pk])
    invitation.refresh_from_db()
    assert invitation.status == status
    assert error in invitation.failure_reason


def test_a_status_word_tencent_does_not_document_is_answered_and_not_stored(
    tencent: TencentFake, client: Client
) -> None:
    payload = [fixture("status_delivered")[0] | {"report_status": "PENDING"}]
    assert post(client, "status", payload).status_code == 200
    assert not DeliveryReceipt.objects.exists()


def test_a_recorded_reply_is_stored_once_with_its_international_number_and_scores_the_survey(
    tencent: TencentFake, survey: Survey, client: Client
) -> None:
    invitation = invited()
    assert invitation_send(invitation_id=invitation.pk).outcome == "sent"
    payload = fixture("reply")
    answer = post(client, "inbound", payload)
    assert answer.status_code == 200
    assert answer.json() == {"result": 0, "errmsg": "OK"}
    assert post(client, "inbound", payload).status_code == 200  # called back again: stored once
    [message] = InboundMessage.objects.all()
    assert message.gateway == "tencent"
    assert (message.phone, message.text, message.payload) == (
        "+8613800138000",
        payload["text"],
        payload,
    )

    replies_process(message_ids=[message.pk])
    response = Response.objects.get()
    assert (response.invitation_id, response.score) == (invitation.pk, 3)


def test_two_different_replies_are_two_messages(tencent: TencentFake, client: Client) -> None:
    first = fixture("reply")
    second = first | {"text": "补充：营业厅人太多", "time": first["time"] + 40}
    assert post(client, "inbound", first).status_code == 200
    assert post(client, "inbound", second).status_code == 200
    assert sorted(InboundMessage.objects.values_list("text", flat=True)) == sorted(
        [first["text"], second["text"]]
    )


@pytest.mark.parametrize("kind", ["status", "inbound"])
@pytest.mark.parametrize("token", [None, "", "wrong-token", CALLBACK_TOKEN[:-1]])
def test_a_callback_without_the_right_token_is_refused_and_nothing_stored(
    tencent: TencentFake, client: Client, kind: str, token: str | None
) -> None:
    payload = fixture("status_delivered" if kind == "status" else "reply")
    assert post(client, kind, payload, token=token).status_code == 403
    assert not DeliveryReceipt.objects.exists()
    assert not InboundMessage.objects.exists()


def test_production_refuses_tencent_without_its_secret_key_and_callback_token() -> None:
    from nps import settings as project

    config = project.NPS_GATEWAYS["tencent"] | {"SECRET_KEY": "", "CALLBACK_TOKEN": ""}
    with override_settings(
        NPS_GATEWAYS={"tencent": config},
        NPS_ENABLED_GATEWAYS=["tencent"],
        NPS_SEND_GATEWAY="tencent",
    ):
        problems = gateway_setting_problems()
    assert sorted(p.setting for p in problems) == ["TENCENT_CALLBACK_TOKEN", "TENCENT_SECRET_KEY"]


def test_without_secret_keys_nothing_is_sent_and_the_send_is_retried(tencent: TencentFake) -> None:
    with override_settings(NPS_GATEWAYS={"tencent": tencent.gateway_config(SECRET_KEY="")}):
        gateway = get_gateway("tencent")
        assert gateway is not None
        with pytest.raises(GatewayError, match="TENCENT_SECRET_KEY") as raised:
            gateway.send(to="+8613800138000", text="", reference="inv-1", template=question())
    assert not raised.value.permanent
    assert (tencent.sent, tencent.refused) == ([], [])
