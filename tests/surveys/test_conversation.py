"""The conversation after a survey: clarification once, opt-out absolute, "why?", corrections."""

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import time_machine
from django.test import override_settings

from followups.models import Case, CaseStatus
from surveys.conversation import message_send
from surveys.dispatch import invitation_send
from surveys.gateways.base import InboundSMS
from surveys.interactions import interaction_record
from surveys.models import (
    Customer,
    InboundMessage,
    Invitation,
    OutboundKind,
    OutboundMessage,
    OutboundStatus,
    Response,
    Survey,
    SurveyText,
)
from surveys.replies import reply_process, reply_store
from surveys.texts import survey_text

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("console")]
NOW = datetime(2026, 11, 20, 4, 0, tzinfo=UTC)
PHONE = "+8613800138000"


@pytest.fixture
def console() -> Any:
    with override_settings(NPS_SEND_GATEWAY="console"):
        yield


def survey_sent(
    language: str = "zh-hans", phone: str = PHONE, external_id: str = "CRM-1"
) -> Invitation:
    with time_machine.travel(NOW, tick=False):
        recorded = interaction_record(
            external_id=external_id,
            customer={"phone": phone, "tier": "B", "region": "BJ", "language": language},
            touchpoint="hotline",
            occurred_at=NOW,
        )
        invitation = recorded.interaction.invitations.get()
        invitation_send(invitation_id=invitation.pk)
    invitation.refresh_from_db()
    return invitation


class Phone:
    """The customer's handset: each text is a new gateway message, processed at once."""

    def __init__(self, phone: str = PHONE) -> None:
        self.phone, self.count = phone, 0

    def text(self, body: str, minutes: int = 5) -> str:
        self.count += 1
        with time_machine.travel(NOW + timedelta(minutes=minutes + self.count), tick=False):
            sms = InboundSMS(f"MO-{self.phone}-{self.count}", self.phone, body)
            stored = reply_store(gateway="console", sms=sms)  # it answers where it was asked
            return reply_process(message_id=stored.message.pk)


def sent_kinds() -> list[str]:
    return list(OutboundMessage.objects.order_by("pk").values_list("kind", flat=True))


def test_unknown_reply_gets_one_clarification_and_a_second_is_left_alone(survey: Survey) -> None:
    survey_sent()
    phone = Phone()
    assert phone.text("你们好") == "clarification_sent"
    assert phone.text("还是不懂") == "not_understood"
    assert sent_kinds() == [OutboundKind.CLARIFICATION]


def test_clarification_is_in_the_customers_language(survey: Survey) -> None:
    survey_sent(language="en")
    Phone().text("hmm?")
    message = OutboundMessage.objects.get()
    assert message.language == "en"
    assert "0 to 10" in message.text


def test_words_before_the_score_become_the_comment(survey: Survey) -> None:
    survey_sent()
    phone = Phone()
    phone.text("排队太久了")
    assert phone.text("4") == "scored"
    assert Response.objects.get().comment == "排队太久了"


def test_opt_out_is_immediate_confirmed_once_and_blocks_every_later_send(survey: Survey) -> None:
    survey_sent()
    phone = Phone()
    assert phone.text("退订") == "opted_out"
    assert phone.text("TD") == "opted_out"
    assert Customer.objects.get().is_opted_out
    assert sent_kinds() == [OutboundKind.OPT_OUT_CONFIRMATION]
    # the confirmation itself goes out ...
    confirmation = OutboundMessage.objects.get()
    assert message_send(message_id=confirmation.pk).outcome == "sent"
    # ... but nothing else: no new survey, no queued conversation message
    later = survey_sent(external_id="CRM-2")
    assert later.suppressed_reason == "opted_out"
    assert phone.text("hello?") == "opted_out_customer"
    assert OutboundMessage.objects.count() == 1


def test_a_queued_message_is_skipped_when_the_customer_opts_out_before_it_goes(
    survey: Survey,
) -> None:
    survey_sent()
    phone = Phone()
    phone.text("嗯？")  # clarification queued
    phone.text("STOP")
    clarification = OutboundMessage.objects.get(kind=OutboundKind.CLARIFICATION)
    assert message_send(message_id=clarification.pk).outcome == "suppressed"
    clarification.refresh_from_db()
    assert clarification.status == OutboundStatus.SKIPPED


def test_start_opts_back_in(survey: Survey) -> None:
    survey_sent()
    phone = Phone()
    phone.text("STOP")
    assert phone.text("START") == "opted_in"
    assert not Customer.objects.get().is_opted_out
    assert sent_kinds() == [OutboundKind.OPT_OUT_CONFIRMATION, OutboundKind.OPT_IN_CONFIRMATION]


def test_detractor_is_asked_why_and_the_answer_becomes_the_comment(survey: Survey) -> None:
    survey_sent()
    phone = Phone()
    assert phone.text("3") == "scored"
    assert sent_kinds() == [OutboundKind.FOLLOWUP_QUESTION]
    assert phone.text("营业厅排队等了一个小时") == "commented"
    assert Response.objects.get().comment == "营业厅排队等了一个小时"


def test_a_score_with_a_comment_is_not_asked_why(survey: Survey) -> None:
    survey_sent()
    Phone().text("3 信号太差")
    assert Response.objects.get().comment == "信号太差"
    assert sent_kinds() == [OutboundKind.CALLBACK_PROMISE]  # told when we call, not asked why


def test_promoters_are_asked_why_only_where_the_survey_says_so(survey: Survey) -> None:
    survey_sent()
    Phone().text("10")
    assert OutboundKind.FOLLOWUP_QUESTION not in sent_kinds()
    Survey.objects.update(followup_categories=["detractor", "promoter"])
    survey_sent(phone="+8613800138001", external_id="CRM-2")
    Phone("+8613800138001").text("10")
    assert sent_kinds()[-1] == OutboundKind.FOLLOWUP_QUESTION


@pytest.mark.parametrize(("score", "playbook"), [("8", "care"), ("10", "thanks")])
def test_passives_get_a_care_message_and_promoters_a_thank_you(
    survey: Survey, score: str, playbook: str
) -> None:
    survey_sent(language="en")
    Phone().text(score)
    message = OutboundMessage.objects.get()
    assert message.kind == playbook
    assert message.language == "en"
    if playbook == "thanks":
        assert "friend" in message.text  # the referral invitation


def test_playbook_messages_can_be_switched_off_per_survey(survey: Survey) -> None:
    Survey.objects.update(passive_care=False, promoter_thanks=False)
    survey_sent()
    Phone().text("10")
    assert sent_kinds() == []


def test_a_promoter_asked_why_gets_the_thank_you_after_answering_once(survey: Survey) -> None:
    Survey.objects.update(followup_categories=["promoter"])
    survey_sent()
    phone = Phone()
    phone.text("9")
    phone.text("店员很专业")
    phone.text("真的很好")
    assert sent_kinds() == [OutboundKind.FOLLOWUP_QUESTION, OutboundKind.THANKS]


def test_corrected_score_updates_the_response_and_closes_the_untouched_case(
    survey: Survey,
) -> None:
    survey_sent()
    phone = Phone()
    phone.text("3")
    case = Case.objects.get()
    assert phone.text("sorry, I meant 8") == "rescored"
    response = Response.objects.get()
    assert (response.score, response.category) == (8, "passive")
    case.refresh_from_db()
    assert case.status == CaseStatus.CLOSED
    assert "8" in case.close_reason


def test_correction_to_a_detractor_opens_the_case(survey: Survey) -> None:
    survey_sent()
    phone = Phone()
    phone.text("9")
    assert not Case.objects.exists()
    phone.text("不对，应该是2分")
    assert Response.objects.get().category == "detractor"
    assert Case.objects.get().status == CaseStatus.NEW


def test_corrections_back_and_forth_reopen_the_same_case(survey: Survey) -> None:
    survey_sent()
    phone = Phone()
    phone.text("3")
    phone.text("8")
    phone.text("3")
    case = Case.objects.get()
    assert case.status == CaseStatus.NEW
    assert case.closed_at is None


def test_after_the_reply_window_a_correction_is_not_applied(survey: Survey) -> None:
    survey_sent()
    phone = Phone()
    phone.text("3")
    assert phone.text("8", minutes=60 * 49) == "no_open_survey"
    assert Response.objects.get().score == 3


def test_survey_text_follows_the_customers_language_then_the_survey_default(
    survey: Survey,
) -> None:
    SurveyText.objects.create(survey=survey, language="bo", question="BO QUESTION 0-10")
    survey.default_language = "zh-hans"
    for language, expected_language in [("bo", "bo"), ("en", "en"), ("zh-hans", "zh-hans")]:
        customer = Customer(phone="+8613800000000", language=language)
        _text, used = survey_text(survey=survey, customer=customer)
        assert used == expected_language
    bo_text, _ = survey_text(survey=survey, customer=Customer(language="bo"))
    assert bo_text.startswith("BO QUESTION")


@pytest.mark.parametrize(("language", "instruction"), [("zh-hans", "回复TD退订"), ("en", "STOP")])
def test_every_survey_message_carries_the_opt_out_instruction(
    survey: Survey, language: str, instruction: str
) -> None:
    SurveyText.objects.create(survey=survey, language=language, question="0-10?")
    text, _ = survey_text(survey=survey, customer=Customer(language=language))
    assert instruction in text


def test_a_reason_with_a_number_in_it_is_a_comment_not_a_new_score(survey: Survey) -> None:
    survey_sent()
    phone = Phone()
    phone.text("3")
    assert phone.text("在营业厅等了10分钟才有人理") == "commented"
    response = Response.objects.get()
    assert (response.score, response.comment) == (3, "在营业厅等了10分钟才有人理")


def test_a_delivery_receipt_for_a_conversation_message_moves_it_forward(survey: Survey) -> None:
    from surveys.gateways.base import StatusReport
    from surveys.receipts import receipt_apply, receipt_store

    survey_sent()
    Phone().text("？")
    message = OutboundMessage.objects.get()
    message_send(message_id=message.pk)
    message.refresh_from_db()
    report = StatusReport(message.provider_message_id, "delivered", reference=f"msg-{message.pk}")
    stored = receipt_store(gateway="console", report=report)
    assert receipt_apply(receipt_id=stored.receipt.pk) == "applied"
    message.refresh_from_db()
    assert message.status == OutboundStatus.DELIVERED


def test_playbook_messages_are_counted_per_survey_in_admin(
    survey: Survey, admin_client: Any
) -> None:
    survey_sent()
    Phone().text("10")
    survey_sent(phone="+8613800138001", external_id="CRM-2")
    Phone("+8613800138001").text("8")
    page = admin_client.get("/admin/surveys/survey/").content.decode()
    assert '<td class="field-care_sent">1</td>' in page
    assert '<td class="field-thanks_sent">1</td>' in page


def test_help_gets_the_help_text_in_the_customers_language(survey: Survey) -> None:
    survey_sent(language="en")
    assert Phone().text("HELP") == "help"
    message = OutboundMessage.objects.get()
    assert (message.kind, message.language) == (OutboundKind.HELP, "en")
    assert "STOP" in message.text


# --- corrections as people write them, through the real reply pipeline ---
@pytest.mark.parametrize(
    "correction",
    ["抱歉，是8分", "不好意思，我想打8分", "打错了，应该是8", "更正：8分", "oops 8", "make that 8"],
)
def test_a_correction_re_scores_closes_the_untouched_case_and_leaves_the_comment_alone(
    survey: Survey, correction: str
) -> None:
    survey_sent()
    phone = Phone()
    phone.text("4 排队太久")
    case = Case.objects.get()
    assert phone.text(correction) == "rescored"
    response = Response.objects.get()
    assert (response.score, response.category, response.comment) == (8, "passive", "排队太久")
    case.refresh_from_db()
    assert case.status == CaseStatus.CLOSED  # the loop followed response_classified


@pytest.mark.parametrize("look_alike", ["等了8分钟", "8点才开门", "花了80元", "抱歉，等了8分钟"])
def test_a_number_that_is_no_score_after_a_score_is_a_comment(
    survey: Survey, look_alike: str
) -> None:
    survey_sent()
    phone = Phone()
    phone.text("4")
    assert phone.text(look_alike) == "commented"
    response = Response.objects.get()
    assert (response.score, response.comment) == (4, look_alike)
    assert Case.objects.get().status == CaseStatus.NEW


@pytest.mark.parametrize(
    ("correction", "playbook"), [("抱歉，是8分", "care"), ("sorry, I meant 10", "thanks")]
)
def test_a_correction_out_of_the_detractor_band_sends_the_playbook_message_once(
    survey: Survey, correction: str, playbook: str
) -> None:
    survey_sent()
    phone = Phone()
    phone.text("3")  # asked "why?"
    phone.text(correction)
    phone.text(correction)  # the same correction again
    again = InboundMessage.objects.order_by("pk").last()
    InboundMessage.objects.filter(pk=again.pk).update(processed_at=None)
    reply_process(message_id=again.pk)  # a re-delivered message
    assert sent_kinds() == [OutboundKind.FOLLOWUP_QUESTION, playbook]


# --- opt-out as people write it, through the real reply pipeline ---
@pytest.mark.parametrize(
    "text",
    ["TD 谢谢", "退订，谢谢你们", "stop sending", "STOP NOW", "以后别发了", "不想再收到这种短信"],
)
def test_a_request_to_stop_in_a_sentence_opts_out_with_only_the_confirmation(
    survey: Survey, text: str
) -> None:
    survey_sent()
    assert Phone().text(text) == "opted_out"
    assert Customer.objects.get().is_opted_out
    assert sent_kinds() == [OutboundKind.OPT_OUT_CONFIRMATION]


def test_a_score_with_an_opt_out_word_opts_out_and_records_no_score(survey: Survey) -> None:
    survey_sent()
    assert Phone().text("8 TD") == "opted_out"
    assert not Response.objects.exists()
    assert sent_kinds() == [OutboundKind.OPT_OUT_CONFIRMATION]


def test_an_unclear_reply_with_an_opt_out_word_gets_nothing_but_the_confirmation(
    survey: Survey,
) -> None:
    survey_sent()
    phone = Phone()
    assert phone.text("取消吧") == "opted_out"
    assert phone.text("？？") == "opted_out_customer"
    assert sent_kinds() == [OutboundKind.OPT_OUT_CONFIRMATION]


@pytest.mark.parametrize("text", ["don't stop", "不可能给10分", "not a 10"])
def test_a_negated_stop_or_a_denied_score_is_unclear_and_asked_again(
    survey: Survey, text: str
) -> None:
    survey_sent()
    assert Phone().text(text) == "clarification_sent"
    assert not Customer.objects.get().is_opted_out
    assert not Response.objects.exists()


def test_a_tibetan_digit_reply_is_scored(survey: Survey) -> None:
    survey_sent(language="bo")
    assert Phone().text("༣") == "scored"
    assert (Response.objects.get().score, Case.objects.count()) == (3, 1)


def test_an_opt_out_word_in_a_comment_after_a_score_opts_out_and_keeps_the_score(
    survey: Survey,
) -> None:
    survey_sent()
    phone = Phone()
    phone.text("3 信号差")
    assert phone.text("服务差，TD") == "opted_out"
    response = Response.objects.get()
    assert (response.score, response.comment) == (3, "信号差")
    assert sent_kinds() == [OutboundKind.CALLBACK_PROMISE, OutboundKind.OPT_OUT_CONFIRMATION]
