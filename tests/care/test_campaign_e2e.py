"""A care campaign end to end on the real paths: the SMS offer through the Twilio adapter
(Twilio a loopback fake on 127.0.0.1), the keyword and the post-survey answers posted to
the signed Twilio webhook and processed by the outbox relay and the reply tasks, a care
call logged, an offer code redeemed through the API, the evaluation and the results.

The expected figures are worked out here from the fixture:

10 customers of tier B in BJ, all in the pool, all answered 5 before. A 20% control
group holds out 2 of them. The 8 treated answer, in customer order, 9 9 8 8 7 6 6 5 after;
the first four join (two by the keyword, one on a call, one with the offer code); the
2 in control answer 6 and 5.

- covered 8, participants 4, participation 50%;
- satisfaction before 50 (5 x 10), after (9+9+8+8+7+6+6+5) x 10 / 8 = 72.5;
- control before 50, after 55;
- DiD (paired, every member answered both times): treated changes 40 40 30 30 20 10
  10 0 (mean 22.5), control 10 0 (mean 5): 22.5 - 5 = 17.5 points; its variance
  1550 / 7 / 8 + 50 / 1 / 2 = 27.678571 + 25 (Welch);
- NPS: treated from -100 to (2 promoters - 3 detractors) / 8 = -12.5 (+87.5), control
  from -100 to -100 (0): +87.5.
"""

from collections.abc import Callable
from datetime import timedelta
from math import sqrt
from typing import Any

import pytest
from django.test import override_settings
from django.utils import timezone
from rest_framework.test import APIClient
from scipy import stats

from care.campaigns import (
    campaign_evaluation,
    campaign_finish,
    campaign_post_survey,
    campaign_start,
)
from care.models import (
    Arm,
    CallOutcome,
    CallStatus,
    Campaign,
    CampaignMember,
    CampaignResult,
    CampaignStatus,
    CareCall,
    CustomerPreference,
    EntryReason,
    ExitReason,
    Participation,
    PoolMember,
    PreferenceFeature,
    Segment,
)
from care.participation import care_call_log
from care.pool import pool_enter
from surveys.models import (
    Category,
    Contact,
    ContactKind,
    ContactPolicy,
    Customer,
    InboundMessage,
    Invitation,
    InvitationStatus,
    OutboundKind,
    OutboundMessage,
    Purpose,
    Response,
)
from tests.factories import (
    AgentFactory,
    CustomerFactory,
    InteractionFactory,
    SurveyFactory,
    TeamFactory,
)
from tests.surveys.loopback import LoopbackProvider
from tests.surveys.test_twilio_end_to_end import Handsets, Worker, twilio  # noqa: F401

pytestmark = pytest.mark.django_db
PHONES = [f"+86138002000{n:02d}" for n in range(10)]
TREATED_AFTER = [9, 9, 8, 8, 7, 6, 6, 5]
CONTROL_AFTER = [6, 5]


def answered_before(customer: Customer, survey: Any, score: int) -> None:
    """An earlier survey answer, as the reply path stores one."""
    interaction = InteractionFactory(customer=customer)
    invitation = Invitation.objects.create(
        interaction=interaction,
        customer=customer,
        survey=survey,
        status=InvitationStatus.RESPONDED,
    )
    Response.objects.create(
        invitation=invitation,
        customer=customer,
        interaction=interaction,
        score=score,
        category=Category.for_score(score),
    )


@override_settings(NPS_REPLY_CLAIM="care.participation.replies_claim")
def test_a_campaign_from_segment_to_evaluation_through_the_gateway(
    twilio: LoopbackProvider,  # noqa: F811
    crm_client: APIClient,
    monkeypatch: pytest.MonkeyPatch,
    django_capture_on_commit_callbacks: Callable[..., Any],
) -> None:
    worker = Worker(monkeypatch, django_capture_on_commit_callbacks)
    phones = Handsets(twilio, worker)
    ContactPolicy.objects.update_or_create(pk=1, defaults={"max_contacts": 5, "window_days": 7})
    survey = SurveyFactory(name="Care NPS", scale="nps")
    team = TeamFactory(name="Care callers", regions=["BJ"])
    agent = AgentFactory(team=team, capacity=10)
    customers = [
        CustomerFactory(phone=phone, tier="B", region="BJ", language="zh-hans") for phone in PHONES
    ]
    for customer in customers:
        answered_before(customer, survey, 5)
    outsider = CustomerFactory(phone="+8613800299999", tier="B", region="SH")
    pool_enter(
        customer_ids=[c.pk for c in [*customers, outsider]],
        reason=EntryReason.DETRACTOR,
        at=timezone.now() - timedelta(days=3),
    )
    segment = Segment.objects.create(
        name="Detractors in Beijing",
        filters={"kind": "explicit", "reasons": ["detractor"], "regions": ["BJ"]},
    )
    sms = PreferenceFeature.objects.get(code="channel_sms")
    campaign = Campaign.objects.create(
        name="Data pack for detractors",
        segment=segment,
        control_share=0.2,
        seed=7,
        sms_offer=True,
        sms_texts={
            "zh-hans": "送您1GB流量，回复{keyword}参加，兑换码{code}",
            "en": "1GB of data for you: reply {keyword} to join, code {code}",
        },
        join_keyword="JOIN",
        care_calls=True,
        call_team=team,
        offer_code=True,
        channel_feature=sms,
        post_survey=survey,
    )

    worker.committed(lambda: campaign_start(campaign_id=campaign.pk))
    worker.work()

    members = list(CampaignMember.objects.filter(campaign=campaign).order_by("customer_id"))
    treated = [m for m in members if m.arm == Arm.TREATED]
    control = [m for m in members if m.arm == Arm.CONTROL]
    assert (len(members), len(treated), len(control)) == (10, 8, 2)  # the outsider is in SH
    assert {m.before_score for m in members} == {5}
    # The offer went out through Twilio to each treated customer, with their own code;
    # the control group got nothing.
    for member in treated:
        (text,) = phones.sms_to(member.customer.phone)
        assert "回复JOIN参加" in text
        assert member.offer_code in text
        assert len(member.offer_code) == 12
    for member in control:
        assert phones.sms_to(member.customer.phone) == []
    assert OutboundMessage.objects.filter(kind=OutboundKind.CAMPAIGN).count() == 8
    assert Contact.objects.filter(kind=ContactKind.CAMPAIGN_SMS).count() == 8
    assert Contact.objects.filter(kind=ContactKind.CAMPAIGN_CALL).count() == 8
    calls = CareCall.objects.filter(member__campaign=campaign)
    assert calls.count() == 8
    assert set(calls.values_list("status", "agent")) == {(CallStatus.ASSIGNED, agent.pk)}
    phones.deliver_everything()

    # Joining: the keyword (any case, full width), a care call, the offer code.
    phones.text(treated[0].customer.phone, "join")
    phones.text(treated[1].customer.phone, "ＪＯＩＮ")
    phones.text(control[0].customer.phone, "JOIN")  # not offered anything: not claimed
    outcomes = dict(InboundMessage.objects.values_list("phone", "outcome"))
    assert outcomes[treated[0].customer.phone] == "campaign"
    assert outcomes[treated[1].customer.phone] == "campaign"
    assert outcomes[control[0].customer.phone] == "no_open_survey"
    care_call_log(call_id=treated[2].call.pk, outcome=CallOutcome.JOINED, actor=None, note="ok")
    url = f"/api/v1/care/offers/{treated[3].offer_code}/redeem/"
    first, again = crm_client.post(url), crm_client.post(url)
    assert (first.status_code, first.json()["created"]) == (200, True)
    assert (again.status_code, again.json()["created"]) == (200, False)
    assert crm_client.post("/api/v1/care/offers/NOSUCHCODE234/redeem/").status_code == 404
    joined = dict(
        CampaignMember.objects.filter(participated_at__isnull=False).values_list(
            "customer_id", "participation"
        )
    )
    assert joined == {
        treated[0].customer_id: Participation.KEYWORD,
        treated[1].customer_id: Participation.KEYWORD,
        treated[2].customer_id: Participation.CALL,
        treated[3].customer_id: Participation.OFFER,
    }
    learned = CustomerPreference.objects.filter(feature=sms, source="learned")
    assert dict(learned.values_list("customer_id", "value")) == {
        m.customer_id: 0.5 for m in treated[:4]
    }

    # The post-survey goes to everyone, treated and control, through the invitation path.
    worker.committed(lambda: campaign_post_survey(campaign_id=campaign.pk))
    worker.work()
    invitations = Invitation.objects.filter(purpose=Purpose.CAMPAIGN)
    assert invitations.count() == 10
    assert set(invitations.values_list("status", flat=True)) == {InvitationStatus.SENT}
    # each took its contact from the one budget as it was sent
    assert Contact.objects.filter(kind=ContactKind.CAMPAIGN_SURVEY).count() == 10
    assert set(invitations.values_list("interaction__external_id", flat=True)) == {
        f"care-{campaign.pk}-{m.customer_id}" for m in members
    }
    phones.deliver_everything()
    for member, score in [
        *zip(treated, TREATED_AFTER, strict=True),
        *zip(control, CONTROL_AFTER, strict=True),
    ]:
        phones.text(member.customer.phone, str(score))
    after = dict(CampaignMember.objects.values_list("customer_id", "after_score"))
    assert [after[m.customer_id] for m in treated] == TREATED_AFTER
    assert [after[m.customer_id] for m in control] == CONTROL_AFTER

    # Finished once the reply window (48 hours) has closed.
    finished_at = timezone.now() + timedelta(hours=49)
    campaign_finish(campaign_id=campaign.pk, at=finished_at)
    campaign.refresh_from_db()
    assert campaign.status == CampaignStatus.FINISHED
    evaluation = campaign_evaluation(campaign)
    row = evaluation.row
    assert (row.covered, row.participants, row.participation_rate) == (8, 4, 50.0)
    assert (row.satisfaction_before, row.satisfaction_after) == (50.0, 72.5)
    assert (evaluation.control_before, evaluation.control_after) == (50.0, 55.0)
    did = evaluation.did
    assert did is not None
    assert did.paired
    assert did.estimate == pytest.approx(17.5)
    part_t, part_c = 1550 / 7 / 8, 50 / 1 / 2
    se = sqrt(part_t + part_c)
    df = (part_t + part_c) ** 2 / (part_t**2 / 7 + part_c**2 / 1)
    half = stats.t.ppf(0.975, df) * se
    assert did.standard_error == pytest.approx(se)
    assert (did.low, did.high) == pytest.approx((17.5 - half, 17.5 + half), rel=1e-6)
    assert did.p_value == pytest.approx(2 * stats.t.sf(17.5 / se, df), rel=1e-4)
    assert evaluation.nps is not None
    assert evaluation.nps.treated.points == pytest.approx(87.5)
    assert evaluation.nps.control.points == pytest.approx(0.0)
    assert evaluation.nps.difference.points == pytest.approx(87.5)

    results = {r.group: r for r in CampaignResult.objects.filter(campaign=campaign)}
    assert set(results) == {"all", "tier:B", "region:BJ", "preference:channel_sms"}
    assert results["all"].actions == "sms+call+offer"
    assert (results["all"].treated, results["all"].control) == (8, 2)
    assert results["all"].effect == pytest.approx(17.5)
    assert results["all"].participation_rate == 50.0
    # Only joiners hold the SMS preference: no control group there, no effect claimed.
    assert (
        results["preference:channel_sms"].treated,
        results["preference:channel_sms"].control,
    ) == (4, 0)
    assert results["preference:channel_sms"].effect is None

    # The joiners who answered 7 or more left the pool as a care success; the others stay.
    for member in treated[:4]:
        stay = PoolMember.objects.get(customer_id=member.customer_id)
        assert (stay.exit_reason, stay.left_at) == (ExitReason.CARE_SUCCESS, finished_at)
    for member in [*treated[4:], *control]:
        assert PoolMember.objects.get(customer_id=member.customer_id).left_at is None
