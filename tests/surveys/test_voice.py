"""The voice of the customer: praise, problems and suggestions, as customers write them."""

from io import StringIO
from typing import Any

import pytest
from django.core.management import call_command
from django.utils import timezone

from surveys.models import Category, Invitation, InvitationStatus, Response, Voice
from surveys.responses import response_comment, response_record, response_rescore, responses_record
from surveys.voice import voice_of
from tests.factories import CustomerFactory, InteractionFactory

P, N, D = Category.PROMOTER, Category.PASSIVE, Category.DETRACTOR
S = Voice.SUGGESTION


@pytest.mark.parametrize(
    ("comment", "category", "voice"),
    [
        # Chinese
        ("营业员态度很好，办得很快，点赞！", P, Voice.PRAISE),
        ("信号太差了，在家里经常没有信号", D, Voice.PROBLEM),
        ("还行吧，就是排队时间有点长", N, Voice.PROBLEM),
        ("建议营业厅周末多开几个窗口", D, S),
        ("服务不错，希望流量套餐再便宜一点", P, S),
        ("能不能把话费账单发得清楚一些？", N, S),
        ("最好能在APP上直接办理携号转网", D, S),
        ("要是晚上也能打通人工客服就好了", D, S),
        ("营业厅应该增加藏语服务窗口", N, S),
        ("你们不应该乱扣我的话费", D, Voice.PROBLEM),  # a complaint, not a proposal
        # Tibetan
        ("ཞབས་ཞུ་ཡག་པོ་འདུག", P, Voice.PRAISE),
        ("དྲ་རྒྱ་ཧ་ཅང་ཞན། ཧ་ཅང་ཡུན་རིང་སྒུག་དགོས་བྱུང་།", D, Voice.PROBLEM),
        ("ང་ལ་བསམ་འཆར་ཞིག་ཡོད། ཚོང་ཁང་ནང་མི་མང་ཙམ་དགོས།", N, S),
        ("ཉིན་གུང་ཡང་ཁ་ཕྱེ་ན་ཡག་པོ་ཡོང་།", D, S),
        ("བོད་སྐད་ཀྱི་ཞབས་ཞུ་མང་ཙམ་བྱེད་རོགས་ཞེས་རེ་བ་ཞུ།", P, S),
        # English
        ("Great service, the staff solved it in five minutes", P, Voice.PRAISE),
        ("Waited 40 minutes on the hotline and nobody answered", D, Voice.PROBLEM),
        ("You should open the store on Sundays", N, S),
        ("It would be nice to see my data usage in the app", D, S),
        ("I suggest a cheaper roaming plan", P, S),
        ("You shouldn't have charged me twice", D, Voice.PROBLEM),
        ("I would recommend you to friends", P, Voice.PRAISE),
        # mixed, as people text
        ("APP很好用 but please add 话费提醒", P, S),
        # no words
        ("", D, ""),
        ("   ", P, ""),
        ("。。。", D, ""),
    ],
)
def test_voice_of_a_comment(comment: str, category: str, voice: str) -> None:
    assert voice_of(comment, category) == voice


def invitation() -> Invitation:
    customer = CustomerFactory()
    interaction = InteractionFactory(customer=customer)
    return Invitation.objects.create(
        interaction=interaction, customer=customer, status=InvitationStatus.SENT,
        gateway="console", provider_message_id=f"msg-{interaction.external_id}",
        sent_at=timezone.now(),
    )  # fmt: skip


def stored_voice(response: Response) -> str:
    return Response.objects.values_list("voice", flat=True).get(pk=response.pk)


@pytest.mark.django_db
def test_a_recorded_answer_gets_its_voice() -> None:
    response = response_record(invitation=invitation(), score=10, comment="服务很周到")
    assert stored_voice(response) == Voice.PRAISE


@pytest.mark.django_db
def test_an_answer_without_comment_has_no_voice() -> None:
    response = response_record(invitation=invitation(), score=2)
    assert stored_voice(response) == ""


@pytest.mark.django_db
def test_the_batch_path_sets_every_voice_in_its_insert() -> None:
    invitations = [invitation() for _ in range(3)]
    answers: list[Any] = [
        (invitations[0], 9, "速度快，态度好", None),
        (invitations[1], 3, "收费不透明", None),
        (invitations[2], 7, "建议简化流程", None),
    ]
    responses = responses_record(answers=answers)
    voices = dict(
        Response.objects.filter(pk__in=[r.pk for r in responses]).values_list("score", "voice")
    )
    assert voices == {9: Voice.PRAISE, 3: Voice.PROBLEM, 7: Voice.SUGGESTION}


@pytest.mark.django_db
def test_a_corrected_score_turns_praise_into_a_problem() -> None:
    response = response_record(invitation=invitation(), score=9, comment="还可以")
    response_rescore(response=response, score=4)
    assert stored_voice(response) == Voice.PROBLEM


@pytest.mark.django_db
def test_a_later_comment_with_a_proposal_makes_a_suggestion() -> None:
    response = response_record(invitation=invitation(), score=5)
    response_comment(response=response, text="希望客服电话能快点接通")
    assert stored_voice(response) == Voice.SUGGESTION


@pytest.mark.django_db
def test_backfill_classifies_stored_comments_in_batches() -> None:
    rows = [response_record(invitation=invitation(), score=s, comment=c)
            for s, c in [(10, "很满意"), (1, "网速慢"), (8, "应该多做宣传"), (0, "")]]  # fmt: skip
    Response.objects.update(voice="")
    out = StringIO()
    call_command("voice_backfill", "--batch", "2", stdout=out)
    assert [stored_voice(r) for r in rows] == [Voice.PRAISE, Voice.PROBLEM, Voice.SUGGESTION, ""]
    assert out.getvalue().startswith("3 ")
