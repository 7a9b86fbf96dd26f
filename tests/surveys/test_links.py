"""Survey links (surveys/links.py, the /s/<token> page): a link survey's SMS goes out
through the real send path to a loopback simulator API and carries a working,
unguessable, expiring, single-use link; the page's answer takes the SMS reply's path
(classification, reasons, cases, the playbook SMS); guessing, replay and floods are
answered 404/410/429 and store nothing; the page may be framed only by the allowlist."""

import base64
import hashlib
import re
import threading
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
import time_machine
from django.core.cache import cache
from django.db import connection, connections
from django.test import Client, override_settings
from django.utils import timezone

from followups.models import Case
from surveys.consent import consent_change
from surveys.dispatch import invitation_send, invitations_expire
from surveys.interactions import interaction_record
from surveys.models import (
    ConsentSource,
    Customer,
    Delivery,
    Invitation,
    OutboundKind,
    OutboundMessage,
    ReasonCategory,
    Response,
    ResponseReason,
    Scale,
    Survey,
    SurveyLink,
)
from tests.surveys.loopback import LoopbackProvider

pytestmark = pytest.mark.django_db
BASE = "https://nps.example.cn"
LINK = re.compile(re.escape(BASE) + r"/s/([A-Za-z0-9_-]+)")


@pytest.fixture
def simulator() -> Iterator[LoopbackProvider]:
    provider = LoopbackProvider()
    cache.clear()  # the flood limit counts in the default cache
    with override_settings(
        NPS_GATEWAYS=provider.gateways(),
        NPS_ENABLED_GATEWAYS=["simulator"],
        NPS_SEND_GATEWAY="simulator",
        NPS_PUBLIC_BASE_URL=BASE,
    ):
        try:
            yield provider
        finally:
            provider.close()
            cache.clear()


@pytest.fixture
def link_survey(survey: Survey) -> Survey:
    survey.delivery = Delivery.LINK
    survey.save(update_fields=["delivery"])
    return survey


def send(n: int = 1, language: str = "zh-hans") -> Invitation:
    invitation = interaction_record(
        external_id=f"CRM-L{n}",
        customer={"phone": f"+86138001380{n:02d}", "language": language},
        touchpoint="hotline",
        occurred_at=timezone.now(),
    ).interaction.invitations.get()
    invitation_send(invitation_id=invitation.pk)
    invitation.refresh_from_db()
    return invitation


def token_sent(simulator: LoopbackProvider, index: int = -1) -> str:
    found = LINK.findall(simulator.sent[index].text)
    assert found, simulator.sent[index].text
    return str(found[0])


def answer(client: Client, token: str, **data: Any) -> Any:
    return client.post(f"/s/{token}", data)


def stored() -> tuple[int, int, int]:
    return Response.objects.count(), ResponseReason.objects.count(), Case.objects.count()


def test_the_link_sms_goes_out_through_the_simulator_and_its_link_opens_the_page(
    simulator: LoopbackProvider, link_survey: Survey, client: Client
) -> None:
    invitation = send()
    assert invitation.status == "sent"
    [sent] = simulator.sent
    assert sent.api == "simulator"
    assert sent.to == "+8613800138001"
    assert sent.text.startswith("您好！您有多大可能向亲友推荐我们的服务？请点击链接打分：")
    assert "回复TD退订" in sent.text  # the opt-out instruction, as on every survey SMS
    token = token_sent(simulator)
    link = SurveyLink.objects.get()
    assert link.invitation_id == invitation.pk
    # The token is not stored: the row holds its SHA-256, the invitation shows it masked.
    assert link.token_hash == hashlib.sha256(token.encode()).hexdigest()
    assert token not in invitation.text
    assert f"{BASE}/s/…" in invitation.text
    assert token not in str(SurveyLink.objects.values().get())
    page = client.get(f"/s/{token}")
    assert page.status_code == 200
    html = page.content.decode()
    assert "您有多大可能向亲友推荐我们的服务？" in html
    assert len(re.findall(r'type="radio" name="score"', html)) == 11
    assert "完全不可能" in html
    assert "非常可能" in html
    assert html.count('name="reason"') == ReasonCategory.objects.filter(is_active=True).count()


def test_the_token_is_128_random_bits_and_differs_per_invitation(
    simulator: LoopbackProvider, link_survey: Survey
) -> None:
    send(1), send(2)
    first, second = token_sent(simulator, 0), token_sent(simulator, 1)
    assert first != second
    for token in (first, second):
        assert len(token) == 22  # 16 bytes, URL-safe base64 without padding
        assert len(base64.urlsafe_b64decode(token + "==")) == 16
    nonces = set(SurveyLink.objects.values_list("nonce", flat=True))
    assert len(nonces) == 2
    assert all(len(n) == 32 for n in nonces)


def test_a_retry_of_the_same_invitation_sends_the_same_link(
    simulator: LoopbackProvider, link_survey: Survey
) -> None:
    simulator.fail_next_answer = True  # the provider takes the SMS, then answers 502
    invitation = interaction_record(
        external_id="CRM-R1",
        customer={"phone": "+8613800138009"},
        touchpoint="hotline",
        occurred_at=timezone.now(),
    ).interaction.invitations.get()
    first = invitation_send(invitation_id=invitation.pk, attempt=1)
    assert first.outcome == "retry"
    assert invitation_send(invitation_id=invitation.pk, attempt=2).outcome == "sent"
    assert len(simulator.sent) == 2
    assert token_sent(simulator, 0) == token_sent(simulator, 1)
    assert SurveyLink.objects.count() == 1


def test_a_survey_answered_by_sms_reply_sends_no_link(
    simulator: LoopbackProvider, survey: Survey
) -> None:
    send()
    assert "请回复0到10的数字" in simulator.sent[0].text
    assert not LINK.search(simulator.sent[0].text)
    assert SurveyLink.objects.count() == 0


def test_a_bilingual_tibetan_customer_gets_both_parts_each_with_the_link(
    simulator: LoopbackProvider, link_survey: Survey, client: Client
) -> None:
    send(language="bo-zh")
    text = simulator.sent[0].text
    tibetan, chinese = text.split("\n")
    token = token_sent(simulator)
    assert tibetan.startswith("ང་ཚོའི་ཞབས་ཞུ་")
    assert token in tibetan
    assert "TD" in tibetan
    assert chinese.startswith("您好！")
    assert token in chinese
    html = client.get(f"/s/{token}").content.decode()
    assert '<html lang="bo">' in html
    assert "ང་ཚོའི་ཞབས་ཞུ་གྲོགས་པོར་འོས་སྦྱོར་བྱེད་སྲིད་དམ།" in html  # Tibetan, then ...
    assert "您有多大可能向亲友推荐我们的服务？" in html  # ... the Chinese under it
    assert "དྲ་རྒྱ་དང་བརྡ་རྟགས།" in html
    assert "网络/信号" in html
    english = client.get(f"/s/{token}?lang=en").content.decode()
    assert "How likely are you to recommend us" in english
    assert "ང་ཚོའི་" not in english


def test_a_detractor_through_the_link_opens_a_case_with_the_chosen_reasons(
    simulator: LoopbackProvider, link_survey: Survey, client: Client
) -> None:
    invitation = send()
    token = token_sent(simulator)
    page = answer(client, token, score="2", reason=["network", "waiting"], comment="营业厅人很多")
    assert page.status_code == 200
    assert "感谢您的反馈！" in page.content.decode()
    response = Response.objects.get()
    assert (response.invitation_id, response.score, response.category) == (
        invitation.pk,
        2,
        "detractor",
    )
    assert response.comment == "网络/信号、等待时间\n营业厅人很多"
    assert set(response.reasons.values_list("code", flat=True)) == {"network", "waiting"}
    case = Case.objects.get()
    assert case.response_id == response.pk
    invitation.refresh_from_db()
    assert invitation.status == "responded"
    assert SurveyLink.objects.get().used_at is not None


def test_a_chip_whose_name_no_keyword_matches_is_stored_too(
    simulator: LoopbackProvider, link_survey: Survey, client: Client
) -> None:
    ReasonCategory.objects.create(
        code="roaming", name_en="Roaming", name_zh="漫游", keywords={"zh-hans": ["国际漫游"]}
    )
    send()
    answer(client, token_sent(simulator), score="9", reason=["roaming"], comment="")
    response = Response.objects.get()
    assert response.comment == "漫游"
    assert list(response.reasons.values_list("code", flat=True)) == ["roaming"]


def test_a_promoter_through_the_link_gets_the_thank_you_sms_as_by_reply(
    simulator: LoopbackProvider, link_survey: Survey, client: Client
) -> None:
    invitation = send()
    answer(client, token_sent(simulator), score="10")
    assert Response.objects.get().category == "promoter"
    assert list(OutboundMessage.objects.values_list("kind", "invitation_id")) == [
        (OutboundKind.THANKS, invitation.pk)
    ]
    assert Case.objects.count() == 0


def test_a_link_answers_once_a_second_post_stores_nothing(
    simulator: LoopbackProvider, link_survey: Survey, client: Client
) -> None:
    send()
    token = token_sent(simulator)
    assert answer(client, token, score="3", comment="太慢").status_code == 200
    before = stored()
    again = answer(client, token, score="10", comment="changed my mind")
    assert again.status_code == 410
    assert "您已完成本次调查" in again.content.decode()
    assert client.get(f"/s/{token}").status_code == 410
    assert stored() == before == (1, 1, 1)
    assert Response.objects.get().score == 3


def test_unknown_and_expired_tokens_are_the_same_404_and_store_nothing(
    simulator: LoopbackProvider, link_survey: Survey, client: Client
) -> None:
    send()
    token = token_sent(simulator)
    guess = token[:-1] + ("A" if token[-1] != "A" else "B")
    unknown = client.get(f"/s/{guess}")
    assert unknown.status_code == 404
    assert answer(client, guess, score="0").status_code == 404
    with time_machine.travel(timezone.now() + timedelta(days=7, minutes=1)):
        expired = client.get(f"/s/{token}")
        assert expired.status_code == 404
        assert answer(client, token, score="0").status_code == 404
    assert expired.content == unknown.content
    assert stored() == (0, 0, 0)


@override_settings(NPS_SURVEY_LINK_DAYS=1)
def test_the_lifetime_is_a_setting(
    simulator: LoopbackProvider, link_survey: Survey, client: Client
) -> None:
    send()
    link = SurveyLink.objects.get()
    assert link.expires_at - link.created_at == timedelta(days=1)
    with time_machine.travel(link.created_at + timedelta(hours=23)):
        assert client.get(f"/s/{token_sent(simulator)}").status_code == 200
    with time_machine.travel(link.created_at + timedelta(hours=25)):
        assert client.get(f"/s/{token_sent(simulator)}").status_code == 404


@override_settings(NPS_SURVEY_LINK_RATE_PER_MINUTE=5)
def test_a_flood_from_one_address_is_answered_429_and_stores_nothing(
    simulator: LoopbackProvider, link_survey: Survey, client: Client
) -> None:
    send()
    token = token_sent(simulator)
    with time_machine.travel(timezone.now().replace(second=1), tick=False):
        codes = [client.get(f"/s/guess{i:020d}").status_code for i in range(5)]
        assert codes == [404] * 5
        assert client.get(f"/s/{token}").status_code == 429  # the right token, too late
        assert answer(client, token, score="1").status_code == 429
        other = Client(REMOTE_ADDR="192.0.2.7")  # another address has its own count
        assert other.get(f"/s/{token}").status_code == 200
    assert stored() == (0, 0, 0)
    with time_machine.travel(timezone.now().replace(second=1) + timedelta(minutes=1)):
        assert client.get(f"/s/{token}").status_code == 200  # the next minute counts anew


def test_csrf_is_enforced(simulator: LoopbackProvider, link_survey: Survey) -> None:
    send()
    token = token_sent(simulator)
    browser = Client(enforce_csrf_checks=True)
    assert answer(browser, token, score="4").status_code == 403
    assert stored() == (0, 0, 0)
    page = browser.get(f"/s/{token}")
    csrf = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.content.decode())
    assert csrf is not None
    posted = answer(browser, token, score="4", csrfmiddlewaretoken=csrf.group(1))
    assert posted.status_code == 200
    assert Response.objects.get().score == 4


def test_a_missing_or_out_of_scale_score_is_asked_again_and_stores_nothing(
    simulator: LoopbackProvider, link_survey: Survey, client: Client
) -> None:
    link_survey.scale = Scale.SATISFACTION
    link_survey.save(update_fields=["scale"])
    send()
    token = token_sent(simulator)
    for data in ({"comment": "no score"}, {"score": "0"}, {"score": "11"}, {"score": "x"}):
        page = answer(client, token, **data)
        assert page.status_code == 400
        assert "请选择一个分数。" in page.content.decode()
    assert stored() == (0, 0, 0)
    assert SurveyLink.objects.get().used_at is None
    html = client.get(f"/s/{token}").content.decode()
    assert len(re.findall(r'type="radio" name="score"', html)) == 10  # 1..10
    assert answer(client, token, score="1").status_code == 200


def test_an_opted_out_customer_or_an_answer_by_sms_first_stores_nothing(
    simulator: LoopbackProvider, link_survey: Survey, client: Client
) -> None:
    opted = send(1)
    consent_change(customer=opted.customer, opted_out=True, source=ConsentSource.SMS)
    token = token_sent(simulator, 0)
    assert client.get(f"/s/{token}").status_code == 410
    closed = answer(client, token, score="0")
    assert closed.status_code == 410
    assert "本次调查已结束。" in closed.content.decode()
    assert stored() == (0, 0, 0)
    assert SurveyLink.objects.get(invitation=opted).used_at is None


def test_the_page_may_be_framed_by_the_allowlist_only(
    simulator: LoopbackProvider, link_survey: Survey, client: Client
) -> None:
    send()
    token = token_sent(simulator)
    page = client.get(f"/s/{token}")
    assert page["Content-Security-Policy"] == "frame-ancestors 'self'"
    assert "X-Frame-Options" not in page
    assert page["Cache-Control"] == "no-store"
    assert page["Referrer-Policy"] == "same-origin"
    origins = "https://app.example.com, https://servicewechat.com/"
    with override_settings(NPS_SURVEY_LINK_FRAME_ORIGINS=origins):
        framed = client.get(f"/s/{token}")
        assert framed["Content-Security-Policy"] == (
            "frame-ancestors 'self' https://app.example.com https://servicewechat.com"
        )
        assert "X-Frame-Options" not in client.get("/s/unknown-token-0000000")
        assert client.get("/admin/login/")["X-Frame-Options"] == "DENY"  # others keep DENY


@pytest.mark.django_db(transaction=True)
def test_two_concurrent_answers_record_one_response(
    simulator: LoopbackProvider, link_survey: Survey
) -> None:
    if connection.vendor != "postgresql":
        pytest.skip("concurrent transactions need PostgreSQL")
    send()
    token = token_sent(simulator)
    start, codes = threading.Barrier(2), []

    def post(score: str) -> None:
        try:
            start.wait()
            codes.append(answer(Client(), token, score=score, comment="并发").status_code)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=post, args=(s,)) for s in ("1", "9")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(codes) == [200, 410]
    assert Response.objects.count() == 1
    assert Case.objects.count() == (1 if Response.objects.get().score == 1 else 0)


def test_a_link_closes_with_the_surveys_reply_window(
    simulator: LoopbackProvider, link_survey: Survey, client: Client
) -> None:
    invitation = send()
    token = token_sent(simulator)
    later = timezone.now() + timedelta(hours=link_survey.reply_window_hours, minutes=1)
    with time_machine.travel(later):
        invitations_expire()
        assert client.get(f"/s/{token}").status_code == 410  # the link itself lives 7 days
        assert answer(client, token, score="5").status_code == 410
    invitation.refresh_from_db()
    assert invitation.status == "expired"
    assert stored() == (0, 0, 0)


@pytest.mark.parametrize("language", ["zh-hans", "en", "bo-zh"])
def test_every_part_keeps_its_opt_out_instruction_when_the_token_holds_td_by_chance(
    link_survey: Survey, language: str
) -> None:
    from surveys.texts import OPT_OUT_INSTRUCTION, survey_link_text

    customer = Customer.objects.create(phone="+8613800138077", language=language)
    with_td = "https://nps.example.cn/s/aTDbTdCtd0IJCLcet3OgA"  # "TD" is the opt-out keyword
    text, _language = survey_link_text(survey=link_survey, customer=customer, url=with_td)
    parts = text.split("\n")
    assert len(parts) == (2 if language == "bo-zh" else 1)
    for part in parts:
        assert with_td in part
        # the instruction of the part's language, whatever the token holds
        assert any(line in part for line in OPT_OUT_INSTRUCTION.values())
