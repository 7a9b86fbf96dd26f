"""Approved templates (surveys/gatewaytemplates.py): a template gateway gets the template of
the SMS's kind in its language, parameters filled from the SMS's values; what the active
surveys need and the gateway lacks is listed by the system check and the admin, and while
it is missing the dispatcher and the conversation sends wait: nothing sent, nothing lost."""

import logging
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from django.core.checks import Error
from django.core.management import call_command
from django.core.management.base import SystemCheckError
from django.http import HttpRequest
from django.test import Client, override_settings
from django.utils import timezone

from care.models import Campaign, Segment
from surveys.checks import check_gateway_templates
from surveys.conversation import message_queue, message_send, messages_send
from surveys.dispatch import invitation_send, invitations_dispatch_due
from surveys.gateways.base import (
    Composed,
    Gateway,
    InboundSMS,
    SendResult,
    StatusReport,
    TemplateCall,
)
from surveys.gatewaytemplates import (
    TemplateMissing,
    TemplateUnfit,
    template_call,
    templates_missing,
)
from surveys.interactions import interaction_record
from surveys.models import (
    Customer,
    Delivery,
    GatewayPrice,
    GatewayTemplate,
    Invitation,
    InvitationStatus,
    OutboundKind,
    OutboundMessage,
    OutboundStatus,
    Survey,
)
from tests.factories import SurveyFactory

pytestmark = pytest.mark.django_db

K = OutboundKind
# What a survey with the default settings may send: its question, "why?", the playbook's
# three messages, the clarification, and the answers to STOP, START and HELP.
DEFAULT_SURVEY_KINDS = {
    "survey", "followup_question", "care", "thanks", "callback_promise",
    "clarification", "opt_out_confirmation", "opt_in_confirmation", "help",
}  # fmt: skip
sent: list[tuple[str, str, TemplateCall | None]] = []  # (to, reference, template) taken


class TemplateGateway(Gateway):
    """The outside world: a provider that sends only approved templates, recording each."""

    uses_templates = True

    def send(
        self, *, to: str, text: str, reference: str, template: TemplateCall | None = None
    ) -> SendResult:
        sent.append((to, reference, template))
        return SendResult(provider_message_id=f"T-{len(sent)}")

    def verify(self, request: HttpRequest) -> bool:
        return False

    def parse_inbound(self, request: HttpRequest) -> list[InboundSMS]:
        return []

    def parse_status(self, request: HttpRequest) -> list[StatusReport]:
        return []


class FreeTextGateway(TemplateGateway):
    uses_templates = False


@pytest.fixture(autouse=True)
def template_gateway() -> Iterator[None]:
    sent.clear()
    with override_settings(
        NPS_GATEWAYS={
            "tmpl": {"CLASS": f"{__name__}.TemplateGateway"},
            "free": {"CLASS": f"{__name__}.FreeTextGateway"},
        },
        NPS_ENABLED_GATEWAYS=["tmpl", "free"],
        NPS_SEND_GATEWAY="tmpl",
        NPS_PUBLIC_BASE_URL="https://nps.example.cn",
    ):
        yield


def approve(kinds: set[str], language: str = "zh-hans", **fields: Any) -> None:
    for kind in kinds:
        GatewayTemplate.objects.create(
            gateway="tmpl", kind=kind, language=language, code=f"SMS_{kind}_{language}", **fields
        )


def gateway(slug: str = "tmpl") -> Gateway:
    cls = TemplateGateway if slug == "tmpl" else FreeTextGateway
    return cls(slug, {})


def planned_invitation(phone: str = "+8613800138000", language: str = "zh-hans") -> Invitation:
    """A survey due now, never queued (as if its task was lost): the dispatcher's to send."""
    invitation = interaction_record(
        external_id=f"CRM-{phone}",
        customer={"phone": phone, "language": language},
        touchpoint="hotline",
        occurred_at=timezone.now(),
    ).interaction.invitations.get()
    Invitation.objects.filter(pk=invitation.pk).update(
        enqueued_at=None, send_at=timezone.now() - timedelta(minutes=1)
    )
    return invitation


# ---------------------------------------------------------------- the lookup


def test_a_gateway_that_sends_free_text_gets_no_template() -> None:
    approve({"survey"})
    assert template_call(gateway("free"), Composed("text", "survey", "zh-hans")) is None


def test_the_approved_template_of_the_kind_and_language_is_sent_with_its_values() -> None:
    approve({"survey_link"}, parameters=["link"])
    approve({"survey_link"}, language="en", parameters=["link"])
    composed = Composed("…", "survey_link", "en", {"link": "https://nps.example.cn/s/abc"})
    call = template_call(gateway(), composed)
    assert call == TemplateCall("SMS_survey_link_en", {"link": "https://nps.example.cn/s/abc"})


def test_parameters_follow_the_templates_order_and_leave_out_values_it_does_not_name() -> None:
    GatewayTemplate.objects.create(
        gateway="tmpl", kind="callback_promise", language="bo", code="77", parameters=["hours"]
    )
    values = {"link": "https://nps.example.cn/s/x", "hours": "4"}
    call = template_call(gateway(), Composed("…", "callback_promise", "bo", values))
    assert call is not None
    assert list(call.params.items()) == [("hours", "4")]


def test_a_template_in_another_language_is_never_sent_in_its_place() -> None:
    approve({"survey"}, language="zh-hans")
    with pytest.raises(TemplateMissing) as missing:
        template_call(gateway(), Composed("…", "survey", "bo"))
    assert str(missing.value) == "tmpl: no approved template for survey (bo)"
    assert not missing.value.permanent  # staff add it, and the retry goes


def test_a_template_not_approved_is_missing() -> None:
    approve({"help"}, approved=False)
    with pytest.raises(TemplateMissing, match=r"tmpl: no approved template for help \(zh-hans\)"):
        template_call(gateway(), Composed("…", "help", "zh-hans"))


def test_a_parameter_naming_a_value_the_sms_does_not_carry_is_a_clear_error() -> None:
    approve({"help"}, parameters=["link"])
    with pytest.raises(TemplateUnfit) as unfit:
        template_call(gateway(), Composed("…", "help", "zh-hans"))
    assert "SMS_help_zh-hans" in str(unfit.value)
    assert "names link, which this SMS does not carry" in str(unfit.value)


def test_a_link_survey_goes_out_as_its_template_with_the_invitations_own_link(
    survey: Survey,
) -> None:
    Survey.objects.filter(pk=survey.pk).update(delivery=Delivery.LINK)
    approve(DEFAULT_SURVEY_KINDS - {"survey"} | {"survey_link"})
    GatewayTemplate.objects.filter(kind="survey_link").update(parameters=["link"])
    invitation = planned_invitation()

    assert invitation_send(invitation_id=invitation.pk).outcome == "sent"

    [(to, reference, call)] = sent
    assert (to, reference) == ("+8613800138000", f"inv-{invitation.pk}")
    assert call is not None
    assert call.code == "SMS_survey_link_zh-hans"
    assert call.params["link"].startswith("https://nps.example.cn/s/")
    invitation.refresh_from_db()
    assert invitation.status == InvitationStatus.SENT
    assert invitation.gateway == "tmpl"


# ---------------------------------------------------------------- what is missing


def needs(kinds: set[str], languages: set[str]) -> set[tuple[str, str]]:
    return {(kind, language) for kind in kinds for language in languages}


def missing_pairs() -> set[tuple[str, str]]:
    return {(m.kind, m.language) for m in templates_missing()}


def test_each_kind_a_survey_may_send_is_needed_in_its_language_and_its_customers(
    survey: Survey,
) -> None:
    Customer.objects.create(phone="+8613800138001", language="en")
    approve({"survey", "help"})
    expected = needs(DEFAULT_SURVEY_KINDS, {"zh-hans", "en"}) - needs(
        {"survey", "help"}, {"zh-hans"}
    )
    assert missing_pairs() == expected
    assert {m.surveys for m in templates_missing()} == {(survey.name,)}


def test_a_bilingual_customer_needs_the_template_of_their_first_language(survey: Survey) -> None:
    Survey.objects.filter(pk=survey.pk).update(default_language="en")
    Customer.objects.create(phone="+8613800138001", language="bo-zh")
    assert missing_pairs() == needs(DEFAULT_SURVEY_KINDS, {"en", "bo"})


def test_what_a_survey_never_sends_is_not_needed(survey: Survey) -> None:
    Survey.objects.filter(pk=survey.pk).update(
        delivery=Delivery.LINK,
        followup_categories=[],
        passive_care=False,
        promoter_thanks=False,
        callback_promise=False,
    )
    wanted = {"survey_link", "clarification", "opt_out_confirmation", "opt_in_confirmation"}
    assert missing_pairs() == needs(wanted | {"help"}, {"zh-hans"})


def test_a_care_campaigns_survey_needs_the_campaign_offer(survey: Survey) -> None:
    segment = Segment.objects.create(name="Detractors")
    Campaign.objects.create(name="Data pack", segment=segment, post_survey=survey)
    assert ("campaign", "zh-hans") in missing_pairs()


def test_inactive_surveys_and_free_text_gateways_need_nothing(survey: Survey) -> None:
    assert templates_missing(gateway="free") == []
    Survey.objects.filter(pk=survey.pk).update(is_active=False)
    assert templates_missing() == []


def test_the_system_check_names_the_gateway_the_kind_the_language_and_the_survey(
    survey: Survey,
) -> None:
    approve(DEFAULT_SURVEY_KINDS - {"survey"})
    errors = check_gateway_templates()
    assert errors == [
        Error(
            f"tmpl: no approved template for survey (zh-hans), needed by {survey.name}",
            hint="Add the provider's approved template in the admin (Gateway templates); "
            "until then its surveys and messages wait, unsent.",
            id="surveys.E020",
        )
    ]


def test_check_deploy_refuses_until_the_template_is_added(survey: Survey) -> None:
    approve(DEFAULT_SURVEY_KINDS - {"help"})
    with pytest.raises(SystemCheckError, match=r"no approved template for help \(zh-hans\)"):
        call_command("check", deploy=True, tags=["gateway_templates"])
    approve({"help"})
    call_command("check", deploy=True, tags=["gateway_templates"])  # raises on any error


# ---------------------------------------------------------------- sends wait


def test_the_dispatcher_holds_surveys_while_a_template_is_missing_then_sends_them(
    survey: Survey, caplog: pytest.LogCaptureFixture
) -> None:
    approve(DEFAULT_SURVEY_KINDS - {"thanks"})
    waiting = planned_invitation()
    with caplog.at_level(logging.ERROR, logger="surveys.dispatch"):
        assert invitations_dispatch_due() == 0
    assert [r.getMessage() for r in caplog.records] == [
        "1 due invitations wait for approved templates: tmpl: no approved template for "
        f"thanks (zh-hans), needed by {survey.name}"
    ]
    waiting.refresh_from_db()
    assert (waiting.status, waiting.enqueued_at, waiting.attempts) == ("scheduled", None, 0)

    approve({"thanks"})
    assert invitations_dispatch_due() == 1
    waiting.refresh_from_db()
    assert waiting.enqueued_at is not None
    assert invitation_send(invitation_id=waiting.pk).outcome == "sent"
    assert [call.code for _, _, call in sent if call] == ["SMS_survey_zh-hans"]


def test_only_the_customers_whose_language_lacks_a_template_wait(survey: Survey) -> None:
    approve(DEFAULT_SURVEY_KINDS)
    chinese = planned_invitation("+8613800138001", "zh-hans")
    english = planned_invitation("+8613800138002", "en")
    assert invitations_dispatch_due() == 1
    assert Invitation.objects.filter(enqueued_at__isnull=False).get() == chinese
    approve(DEFAULT_SURVEY_KINDS, language="en")
    assert invitations_dispatch_due() == 1
    english.refresh_from_db()
    assert english.enqueued_at is not None


def test_a_queued_survey_task_that_finds_a_template_missing_goes_back_unclaimed(
    survey: Survey,
) -> None:
    approve(DEFAULT_SURVEY_KINDS - {"care"})
    invitation = planned_invitation()
    Invitation.objects.filter(pk=invitation.pk).update(enqueued_at=timezone.now())

    assert invitation_send(invitation_id=invitation.pk).outcome == "deferred"

    invitation.refresh_from_db()
    assert (invitation.status, invitation.attempts, invitation.enqueued_at) == (
        "scheduled",
        0,
        None,
    )
    assert sent == []
    approve({"care"})
    assert invitation_send(invitation_id=invitation.pk).outcome == "sent"
    assert len(sent) == 1


def test_a_retry_that_finds_a_template_missing_waits_claimed_for_the_stuck_send_sweep(
    survey: Survey,
) -> None:
    invitation = planned_invitation()
    Invitation.objects.filter(pk=invitation.pk).update(
        status=InvitationStatus.SENDING, attempts=1, claimed_at=timezone.now()
    )
    assert invitation_send(invitation_id=invitation.pk, attempt=2).outcome == "deferred"
    invitation.refresh_from_db()
    assert (invitation.status, invitation.attempts) == (InvitationStatus.SENDING, 1)
    assert invitation.failure_reason == ""
    assert sent == []


def test_a_conversation_message_waits_queued_for_its_template_then_goes(
    survey: Survey, caplog: pytest.LogCaptureFixture
) -> None:
    customer = Customer.objects.create(phone="+8613800138009", language="bo")
    message = message_queue(customer=customer, kind=K.HELP)
    assert message is not None
    with caplog.at_level(logging.ERROR, logger="surveys.conversation"):
        assert message_send(message_id=message.pk).outcome == "deferred"
        assert messages_send(message_ids=[message.pk]) == ["deferred"]
    assert [r.getMessage() for r in caplog.records] == [
        "1 conversation messages wait: tmpl has no approved template for help (bo)"
    ] * 2
    message.refresh_from_db()
    assert (message.status, message.attempts) == (OutboundStatus.QUEUED, 0)
    assert sent == []

    approve({"help"}, language="bo")
    assert message_send(message_id=message.pk).outcome == "sent"
    assert [call.code for _, _, call in sent if call] == ["SMS_help_bo"]
    assert OutboundMessage.objects.get().status == OutboundStatus.SENT


@pytest.mark.django_db(transaction=True)
def test_a_batch_sends_the_messages_whose_template_exists_and_holds_the_others() -> None:
    SurveyFactory()
    approve({"help"})
    chinese = Customer.objects.create(phone="+8613800138010", language="zh-hans")
    english = Customer.objects.create(phone="+8613800138011", language="en")
    first = message_queue(customer=chinese, kind=K.HELP)
    second = message_queue(customer=english, kind=K.HELP)
    assert first is not None
    assert second is not None

    assert messages_send(message_ids=[first.pk, second.pk]) == ["sent", "deferred"]
    assert [call.code for _, _, call in sent if call] == ["SMS_help_zh-hans"]
    second.refresh_from_db()
    assert second.status == OutboundStatus.QUEUED


def test_a_free_text_gateway_never_waits(survey: Survey) -> None:
    with override_settings(NPS_SEND_GATEWAY="free"):
        invitation = planned_invitation()
        assert invitations_dispatch_due() == 1
        assert invitation_send(invitation_id=invitation.pk).outcome == "sent"
    assert sent[0][2] is None


# ---------------------------------------------------------------- the admin


def changelist(client: Client, language: str) -> str:
    client.cookies["django_language"] = language
    page = client.get("/admin/surveys/gatewaytemplate/")
    assert page.status_code == 200
    return page.content.decode()


def test_the_template_list_shows_what_the_sending_gateway_still_lacks_in_both_languages(
    admin_client: Client, survey: Survey
) -> None:
    approve(DEFAULT_SURVEY_KINDS - {"survey", "help"})
    english = changelist(admin_client, "en")
    assert "Still missing on the sending gateway tmpl: 2 approved templates." in english
    assert "<td>Survey question</td><td>Chinese (simplified)</td>" in english
    assert f"<td>Help</td><td>Chinese (simplified)</td><td>{survey.name}</td>" in english
    chinese = changelist(admin_client, "zh-hans")
    assert "<td>调查问题</td><td>简体中文</td>" in chinese
    assert "<td>帮助</td><td>简体中文</td>" in chinese
    assert "网关短信模板" in chinese  # the list's title, in Chinese

    approve({"survey", "help"})
    assert "Every text the active surveys need has an approved template" in changelist(
        admin_client, "en"
    )


def test_the_template_page_shows_the_wordings_length_with_a_typical_link(
    admin_client: Client,
) -> None:
    template = GatewayTemplate.objects.create(
        gateway="tmpl", kind="survey_link", language="zh-hans", code="SMS_1",
        parameters=["link"], text="您好！请点击链接为我们的服务打分：${link}",
    )  # fmt: skip
    # 17 Chinese characters and a link of 47 (https://nps.example.cn/s/ and a 22-place token).
    for language, words in (("en", "UCS-2 · 64 characters · 1 SMS"), ("zh-hans", "UCS-2")):
        admin_client.cookies["django_language"] = language
        page = admin_client.get(f"/admin/surveys/gatewaytemplate/{template.pk}/change/")
        assert page.status_code == 200
        assert words in page.content.decode()
        assert 'value="link"' in page.content.decode()  # the parameters, as a list typed


def template_form(**changes: str) -> dict[str, str]:
    return {
        "gateway": "tmpl", "kind": "callback_promise", "language": "zh-hans",
        "code": "SMS_9", "parameters": "hours", "text": "我们会在${hours}小时内联系您。",
        "approved": "on",
    } | changes  # fmt: skip


def test_a_template_is_saved_with_its_parameters_as_a_list(admin_client: Client) -> None:
    page = admin_client.post("/admin/surveys/gatewaytemplate/add/", template_form())
    assert page.status_code == 302
    saved = GatewayTemplate.objects.get()
    assert (saved.gateway, saved.code, saved.parameters) == ("tmpl", "SMS_9", ["hours"])


@pytest.mark.parametrize(
    ("changes", "problem"),
    [
        ({"parameters": "hours, code"}, "code is not one of our values (link, hours)."),
        ({"kind": "help"}, "This kind of SMS does not carry hours."),
        ({"gateway": "free"}, "Select a valid choice."),  # sends free text: no template
    ],
)
def test_a_template_that_cannot_be_filled_is_refused(
    admin_client: Client, changes: dict[str, str], problem: str
) -> None:
    admin_client.cookies["django_language"] = "en"
    page = admin_client.post("/admin/surveys/gatewaytemplate/add/", template_form(**changes))
    assert page.status_code == 200
    assert problem in page.content.decode()
    assert not GatewayTemplate.objects.exists()


def test_a_second_template_for_the_same_text_is_refused(admin_client: Client) -> None:
    admin_client.post("/admin/surveys/gatewaytemplate/add/", template_form())
    page = admin_client.post("/admin/surveys/gatewaytemplate/add/", template_form(code="SMS_10"))
    assert page.status_code == 200
    assert GatewayTemplate.objects.get().code == "SMS_9"


def test_a_price_is_kept_per_configured_gateway(admin_client: Client) -> None:
    add = "/admin/surveys/gatewayprice/add/"
    data = {"gateway": "tmpl", "price_per_segment": "0.0450", "currency": "cny"}
    assert admin_client.post(add, data).status_code == 302
    price = GatewayPrice.objects.get()
    assert (price.gateway, str(price.price_per_segment), price.currency) == (
        "tmpl",
        "0.0450",
        "CNY",
    )
    refused = admin_client.post(add, data | {"gateway": "nowhere"})
    assert refused.status_code == 200
    assert GatewayPrice.objects.count() == 1
    for language in ("en", "zh-hans"):
        admin_client.cookies["django_language"] = language
        assert "0.0450" in admin_client.get("/admin/surveys/gatewayprice/").content.decode()
