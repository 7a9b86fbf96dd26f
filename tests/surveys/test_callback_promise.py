"""A detractor who gives a reason is told within how many hours we will call.

The hours are those until the case's first-contact due time (followups.sla.callback_hours,
reached through settings.NPS_CALLBACK_HOURS). The surveys below answer at 12:00 in
Shanghai, inside the default business hours (08:00-20:00), so a tier-A customer scoring
0-3 (priority P1) is due within 1 business hour, a tier-B one (P2) within 8.
"""

import pytest
import time_machine

from followups.models import Case
from surveys.dispatch import invitation_send
from surveys.interactions import interaction_record
from surveys.models import OutboundKind, OutboundMessage, Survey, SurveyText
from tests.surveys.test_conversation import NOW, PHONE, Phone, console, sent_kinds

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("console")]
__all__ = ["console"]  # the fixture, imported to be used here


def survey_sent(*, language: str, tier: str) -> None:
    with time_machine.travel(NOW, tick=False):
        recorded = interaction_record(
            external_id="CRM-1",
            customer={"phone": PHONE, "tier": tier, "region": "BJ", "language": language},
            touchpoint="hotline",
            occurred_at=NOW,
        )
        invitation_send(invitation_id=recorded.interaction.invitations.get().pk)


def promise() -> str:
    return OutboundMessage.objects.get(kind=OutboundKind.CALLBACK_PROMISE).text


def test_a_chinese_detractor_who_says_why_is_told_the_hours_until_the_call(
    survey: Survey,
) -> None:
    survey_sent(language="zh-hans", tier="A")
    phone = Phone()
    assert phone.text("2") == "scored"
    assert sent_kinds() == [OutboundKind.FOLLOWUP_QUESTION]  # no promise before the reason
    assert phone.text("排队等了一个小时") == "commented"
    assert "我们会在1小时内联系您" in promise()
    assert phone.text("而且态度也不好") == "commented"
    assert sent_kinds() == [OutboundKind.FOLLOWUP_QUESTION, OutboundKind.CALLBACK_PROMISE]


def test_an_english_detractor_is_told_the_real_hours_when_the_due_time_is_tomorrow(
    survey: Survey,
) -> None:
    survey_sent(language="en", tier="B")
    Phone().text("3 no signal at home")  # at 12:06: 7 h 54 min today, 6 min from 08:00
    assert Case.objects.get().priority == "P2"  # 8 business hours: due tomorrow 08:06
    assert promise() == "Thank you for telling us why. We will call you within 20 hours."


def test_the_promise_can_be_switched_off_per_survey(survey: Survey) -> None:
    survey.callback_promise = False
    survey.save()
    survey_sent(language="zh-hans", tier="A")
    Phone().text("2 信号太差")
    assert Case.objects.exists()
    assert sent_kinds() == []


def test_no_promise_once_the_customer_has_been_reached(survey: Survey) -> None:
    survey_sent(language="zh-hans", tier="A")
    phone = Phone()
    phone.text("2")
    Case.objects.update(first_contact_at=NOW)  # an agent reached them before the reason came
    assert phone.text("信号太差") == "commented"
    assert sent_kinds() == [OutboundKind.FOLLOWUP_QUESTION]


def test_a_surveys_own_text_is_sent_with_the_hours_filled_in(survey: Survey) -> None:
    SurveyText.objects.create(
        survey=survey,
        language="en",
        question="How likely, 0-10?",
        callback_promise="Sorry {name}: an agent calls within {hours}.",
    )
    survey_sent(language="en", tier="A")
    Phone().text("2 the bill is wrong")
    assert promise() == "Sorry {name}: an agent calls within 1 hour."
