"""The demo's care: a pool, two segments, a finished campaign with its results, a running one.

Written on top of the demo's 90 days (nps.demo_history): the customers whose latest
answer was a detractor's enter the pool (explicit), a seeded sample of the others as
potential members (the risk model's reason). Customers get CRM values for the SMS and
outbound-call channel preferences.

The finished campaign ("Data pack for detractors", SMS offer, care calls and an offer
code) started 30 days ago on the explicit detractors: the members and the control group
as campaign_start draws them (care.control), their latest answer before the start as the
score before (a 20% control group), the contacts (a few refused by the budget),
participation (about 15%: keyword, call, offer), the post-survey 14 days later answered
by about 75% of both groups, the treated about +7 points on average and the control
group about +1 (a difference-in-differences of about +5.5 on a fresh database,
significant); then finished by campaign_finish: the results by group and the care
successes out of the pool. The running campaign ("Care calls for high-value potential
customers") started 3 days ago.

Rows are written directly (no SMS is sent, no contact is logged): the demo shows results,
it does not replay the messages. Seeded random: the same rows relative to the day it runs.
"""

import random
from datetime import datetime, timedelta

from django.db import transaction
from django.utils import timezone

from care.campaigns import before_scores, campaign_actions, campaign_finish, offer_code_new
from care.control import control_group
from care.models import (
    Arm,
    CallOutcome,
    CallStatus,
    Campaign,
    CampaignMember,
    CampaignStatus,
    CareCall,
    CustomerPreference,
    EntryReason,
    MemberKind,
    Participation,
    PreferenceFeature,
    PreferenceSource,
    Segment,
)
from care.pool import pool_enter
from care.segments import segment_customers
from followups.models import Team
from surveys.models import Category, Customer, Purpose, Response, Scale, Survey

SEED = 15
FINISHED = "Data pack for detractors"
RUNNING = "Care calls for high-value potential customers"
POTENTIAL_SHARE = 0.08
# Answer points (x10 for the 100-point score): participants gain most; the treated in all
# about +7 points, the control group about +1.
JOINED_UPLIFT, TREATED_UPLIFT, CONTROL_UPLIFT = 2.5, 0.55, 0.1
ANSWERED_AFTER = 0.75
CONTROL_SHARE = 0.2  # a larger control group than the default 10%: a clearer demo
JOINS = {Participation.KEYWORD: 0.12, Participation.CALL: 0.06, Participation.OFFER: 0.02}
ACTION_OF = {Participation.KEYWORD: "sms", Participation.CALL: "call", Participation.OFFER: "offer"}
SMS_TEXTS = {
    "zh-hans": "尊敬的客户，送您1GB流量包，回复{keyword}即可参加，兑换码{code}。",
    "en": "A 1 GB data pack for you: reply {keyword} to join, code {code}.",
}


def care_demo_seed(now: datetime | None = None) -> int:
    """Write the demo's care data once; returns the number of campaign members written."""
    if Campaign.objects.filter(name=FINISHED).exists():
        return 0
    now = now or timezone.now()
    rng = random.Random(SEED)  # noqa: S311 -- invented demo data, not security
    survey = Survey.objects.filter(is_active=True).order_by("pk").first()
    with transaction.atomic():
        _pool(rng, now)
        _preferences(rng)
        explicit = Segment.objects.create(
            name="Explicit detractors",
            description="Customers whose answer was a detractor's.",
            filters={"kind": "explicit", "reasons": [EntryReason.DETRACTOR]},
        )
        potential = Segment.objects.create(
            name="High-value potential customers",
            description="Tiers A and B, found by the risk model.",
            filters={"kind": "potential", "tiers": ["A", "B"]},
        )
        team = Team.objects.filter(is_default_route=True).first() or Team.objects.first()
        sms = PreferenceFeature.objects.filter(code="channel_sms").first()
        finished = Campaign.objects.create(
            name=FINISHED, segment=explicit, seed=SEED, control_share=CONTROL_SHARE,
            sms_offer=True, sms_texts=SMS_TEXTS, join_keyword="参加",
            care_calls=team is not None, call_team=team, offer_code=True,
            channel_feature=sms, post_survey=survey, post_survey_days=14,
        )  # fmt: skip
        running = Campaign.objects.create(
            name=RUNNING, segment=potential, seed=SEED + 1, care_calls=team is not None,
            call_team=team, offer_code=team is None, post_survey=survey, post_survey_days=14,
        )  # fmt: skip
        started = now - timedelta(days=30)
        written = _members(rng, finished, started, measured=True)
        finished.status, finished.started_at = CampaignStatus.MEASURING, started
        finished.post_survey_at = started + timedelta(days=14)
        finished.save(update_fields=["status", "started_at", "post_survey_at"])
        written += _members(rng, running, now - timedelta(days=3), measured=False)
        running.status, running.started_at = CampaignStatus.RUNNING, now - timedelta(days=3)
        running.save(update_fields=["status", "started_at"])
    campaign_finish(campaign_id=finished.pk, at=started + timedelta(days=17))
    return written


def _pool(rng: random.Random, now: datetime) -> None:
    """Detractors (by their latest survey answer) in; a sample of the others as potential."""
    latest: dict[int, tuple[str, datetime]] = {}
    answers = (
        Response.objects.filter(invitation__purpose=Purpose.SURVEY)
        .order_by("customer_id", "-created_at")
        .values_list("customer_id", "category", "created_at")
    )
    for customer_id, category, at in answers:
        latest.setdefault(customer_id, (category, at))
    by_day: dict[datetime, list[int]] = {}
    for customer_id, (category, at) in latest.items():
        if category == Category.DETRACTOR:
            by_day.setdefault(at.replace(hour=0, minute=0, second=0, microsecond=0), []).append(
                customer_id
            )
    for day, ids in sorted(by_day.items()):
        pool_enter(customer_ids=ids, reason=EntryReason.DETRACTOR, at=day, source="demo")
    others = sorted(set(Customer.objects.values_list("pk", flat=True)) - set(latest))
    sample = [pk for pk in others if rng.random() < POTENTIAL_SHARE]
    pool_enter(
        customer_ids=sample,
        reason=EntryReason.MODEL,
        kind=MemberKind.POTENTIAL,
        at=now - timedelta(days=40),
        source="demo",
    )


def _preferences(rng: random.Random) -> None:
    features = {f.code: f for f in PreferenceFeature.objects.filter(
        code__in=["channel_sms", "channel_outbound_call"])}  # fmt: skip
    rows = []
    for customer_id in Customer.objects.order_by("pk").values_list("pk", flat=True):
        for feature in features.values():
            if rng.random() < 0.4:
                rows.append(
                    CustomerPreference(
                        customer_id=customer_id, feature=feature,
                        value=round(rng.uniform(0.3, 1.0), 2), source=PreferenceSource.CRM,
                    )
                )  # fmt: skip
    CustomerPreference.objects.bulk_create(rows, batch_size=500, ignore_conflicts=True)


def _members(rng: random.Random, campaign: Campaign, start: datetime, *, measured: bool) -> int:
    customers = list(
        segment_customers(campaign.segment, at=start).values_list("pk", "tier", "region")
    )
    control = control_group(
        seed=campaign.seed,
        customers=[(pk, (tier, region)) for pk, tier, region in customers],
        share=campaign.control_share,
    )
    scale = Scale(campaign.post_survey.scale) if campaign.post_survey else Scale.NPS
    before = before_scores([pk for pk, _t, _r in customers], before=start, scale=scale)
    members, calls = [], []
    actions = campaign_actions(campaign)
    for pk, tier, region in customers:
        arm = Arm.CONTROL if pk in control else Arm.TREATED
        score, answered = before.get(pk, (None, None))
        member = CampaignMember(
            campaign=campaign, customer_id=pk, arm=arm, stratum=f"{tier}/{region}",
            before_score=score, before_at=answered,
            offer_code=offer_code_new() if campaign.offer_code and arm == Arm.TREATED else "",
        )  # fmt: skip
        if arm == Arm.TREATED:
            if rng.random() < 0.05:
                member.skipped_reason = "contact_budget"
            else:
                member.contacted_at = start + timedelta(minutes=rng.randint(0, 600))
                draw, bound = rng.random(), 0.0
                for how, share in JOINS.items():
                    bound += share
                    if draw < bound and ACTION_OF[how] in actions:
                        member.participation = how
                        member.participated_at = member.contacted_at + timedelta(
                            hours=rng.randint(1, 96)
                        )
                        break
        if measured and score is not None and rng.random() < ANSWERED_AFTER:
            uplift = CONTROL_UPLIFT if arm == Arm.CONTROL else TREATED_UPLIFT
            uplift = JOINED_UPLIFT if member.participation else uplift
            after = round(score + uplift + rng.gauss(0, 0.6))
            member.after_score = max(0, min(10, after))
            member.after_at = start + timedelta(days=14, hours=rng.randint(1, 40))
        members.append(member)
    members = CampaignMember.objects.bulk_create(members, batch_size=500)
    for member in members:
        if campaign.care_calls and member.arm == Arm.TREATED:
            joined = member.participation == Participation.CALL
            skipped = bool(member.skipped_reason)
            done = measured or rng.random() < 0.5
            calls.append(
                CareCall(
                    member=member, team=campaign.call_team,
                    status=CallStatus.SKIPPED if skipped else (
                        CallStatus.DONE if done else CallStatus.WAITING),
                    outcome="" if skipped or not done else (
                        CallOutcome.JOINED if joined else rng.choice(
                            [CallOutcome.DECLINED, CallOutcome.NO_ANSWER])),
                    called_at=member.contacted_at if done and not skipped else None,
                    note=member.skipped_reason,
                )
            )  # fmt: skip
    CareCall.objects.bulk_create(calls, batch_size=500)
    return len(members)
