"""A small pool and two campaigns, made by hand, for the pool and campaign page tests.

North (lead Lena) covers BJ, South (lead Leo) covers SH (tests/followups/personas.py).

The pool now (stays open):
  BJ +8613800000001 tier A: detractor (10 days ago), model (5 days ago, risk 0.8)
  BJ +8613800000002 tier B: complaint (3 days ago)
  SH +8613800000003 tier C: model (1 day ago, risk 0.6); its detractor stay (20 days ago)
                            left 2 days ago
Customers: 3 (explicit 2, potential 2); by reason: detractor 1, complaint 1, model 2.

"Winback" (North calls; finished; NPS post-survey), answers (before, after):
  treated  (5, 8) keyword, (6, 9) call, (4, 6), (7, 7) skipped for the contact budget
  control  (5, 6), (6, 6), (4, 5)
  covered 4, participants 2 (50%), satisfaction 55.0 -> 75.0; control 50.0 -> 56.7
  paired changes: treated 30, 30, 20, 0 (mean 20), control 10, 0, 10 (mean 6.67): DiD +13.3
  NPS: treated -75 -> 0 (+75), control -100 -> -100 (0): +75.0
  no pool stay open at the finish: treated 2 of 4, control 1 of 3 (the others' stays,
  "could not be reached", were open then and left a day later)
"Spring care" (South calls; running): 2 treated, no answers yet.
"""

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from django.utils import timezone

from care.models import (
    Arm,
    Campaign,
    CampaignMember,
    CampaignResult,
    CampaignStatus,
    EntryReason,
    ExitReason,
    MemberKind,
    Participation,
    PoolMember,
    RiskModel,
    RiskScore,
    Segment,
)
from surveys.models import Customer, Survey
from tests.followups.personas import Personas

SHANGHAI = ZoneInfo("Asia/Shanghai")


def local_today() -> date:
    return timezone.localtime(timezone.now(), SHANGHAI).date()


def noon(days_ago: int) -> datetime:
    """Local noon, `days_ago` local days ago."""
    return datetime.combine(local_today() - timedelta(days=days_ago), time(12), tzinfo=SHANGHAI)


@dataclass
class PagesWorld:
    customers: list[Customer]
    model: RiskModel
    winback: Campaign
    spring: Campaign


def risk_model_make(*, has_signal: bool = True) -> RiskModel:
    return RiskModel.objects.create(
        algorithm="gradient boosting",
        trained_from=noon(200),
        trained_to=noon(60),
        validated_to=noon(1),
        train_size=5000,
        validation_size=2000,
        validation_positives=300,
        auc=0.78 if has_signal else 0.51,
        precision_top1=0.60,
        precision_top5=0.45,
        rule_auc=0.66,
        rule_precision_top1=0.40,
        rule_precision_top5=0.30,
        has_signal=has_signal,
        is_active=True,
    )


def pool_make() -> tuple[list[Customer], RiskModel]:
    c1 = Customer.objects.create(phone="+8613800000001", region="BJ", tier="A")
    c2 = Customer.objects.create(phone="+8613800000002", region="BJ", tier="B")
    c3 = Customer.objects.create(phone="+8613800000003", region="SH", tier="C")
    model = risk_model_make()
    factors = [
        {"feature": "complaints_90d", "value": 2, "contribution": 0.31},
        {"feature": "arpu_trend_yuan", "value": -35.5, "contribution": 0.12},
    ]
    stay = PoolMember.objects.create
    stay(customer=c1, kind=MemberKind.EXPLICIT, reason=EntryReason.DETRACTOR, entered_at=noon(10))
    stay(
        customer=c1,
        kind=MemberKind.POTENTIAL,
        reason=EntryReason.MODEL,
        entered_at=noon(5),
        risk=0.8,
        risk_model=model,
        factors=factors,
    )
    stay(customer=c2, kind=MemberKind.EXPLICIT, reason=EntryReason.COMPLAINT, entered_at=noon(3))
    stay(
        customer=c3,
        kind=MemberKind.EXPLICIT,
        reason=EntryReason.DETRACTOR,
        entered_at=noon(20),
        left_at=noon(2),
        exit_reason=ExitReason.LATER_ANSWER,
    )
    stay(
        customer=c3,
        kind=MemberKind.POTENTIAL,
        reason=EntryReason.MODEL,
        entered_at=noon(1),
        risk=0.6,
        risk_model=model,
    )
    RiskScore.objects.create(customer=c1, risk_model=model, score=0.8, scored_at=noon(1))
    RiskScore.objects.create(customer=c3, risk_model=model, score=0.6, scored_at=noon(1))
    return [c1, c2, c3], model


TREATED = [(5, 8, Participation.KEYWORD), (6, 9, Participation.CALL), (4, 6, ""), (7, 7, "")]
CONTROL = [(5, 6), (6, 6), (4, 5)]


def pool_stay(customer: Customer, *, left: bool, days_ago: int = 10) -> None:
    """A campaign member's stay: left (a later answer) `days_ago` days ago, before the
    campaign finished; or still open at its finish and left the day after."""
    if left:
        PoolMember.objects.create(
            customer=customer,
            kind=MemberKind.EXPLICIT,
            reason=EntryReason.DETRACTOR,
            entered_at=noon(40),
            left_at=noon(days_ago),
            exit_reason=ExitReason.LATER_ANSWER,
        )
    else:
        PoolMember.objects.create(
            customer=customer,
            kind=MemberKind.EXPLICIT,
            reason=EntryReason.CASE_UNREACHABLE,
            entered_at=noon(40),
            left_at=noon(1),
            exit_reason=ExitReason.AGED,
        )


def campaigns_make(people: Personas) -> tuple[Campaign, Campaign]:
    segment = Segment.objects.create(name="Detractors in BJ", filters={"regions": ["BJ"]})
    survey = Survey.objects.create(name="Care post-survey")
    winback = Campaign.objects.create(
        name="Winback",
        segment=segment,
        status=CampaignStatus.FINISHED,
        sms_offer=True,
        care_calls=True,
        call_team=people.team,
        post_survey=survey,
        started_at=noon(30),
        post_survey_at=noon(16),
        finished_at=noon(2),
    )
    for i, (before, after, joined) in enumerate(TREATED):
        customer = Customer.objects.create(phone=f"+861370000010{i}", region="BJ", tier="B")
        CampaignMember.objects.create(
            campaign=winback,
            customer=customer,
            arm=Arm.TREATED,
            stratum="B|BJ",
            contacted_at=None if i == 3 else noon(29),
            skipped_reason="contact_budget" if i == 3 else "",
            participated_at=noon(28) if joined else None,
            participation=joined,
            before_score=before,
            after_score=after,
        )
        pool_stay(customer, left=i < 2)
    for i, (before, after) in enumerate(CONTROL):
        customer = Customer.objects.create(phone=f"+861370000020{i}", region="BJ", tier="B")
        CampaignMember.objects.create(
            campaign=winback,
            customer=customer,
            arm=Arm.CONTROL,
            stratum="B|BJ",
            before_score=before,
            after_score=after,
        )
        pool_stay(customer, left=i == 0, days_ago=12)
    CampaignResult.objects.create(
        campaign=winback,
        group="all",
        actions="sms+call",
        treated=4,
        control=3,
        participation_rate=50.0,
        effect=6.8,
        effect_low=2.1,
        effect_high=11.5,
        p_value=0.004,
        finished_at=noon(2),
    )
    spring = Campaign.objects.create(
        name="Spring care",
        segment=segment,
        status=CampaignStatus.RUNNING,
        offer_code=True,
        care_calls=True,
        call_team=people.other_team,
        started_at=noon(3),
    )
    for i in range(2):
        customer = Customer.objects.create(phone=f"+861370000030{i}", region="SH", tier="C")
        CampaignMember.objects.create(campaign=spring, customer=customer, arm=Arm.TREATED)
    CampaignResult.objects.create(
        campaign=spring,
        group="tier:C",
        actions="offer",
        treated=2,
        control=0,
        effect=1.0,
        effect_low=-4.0,
        effect_high=6.0,
        finished_at=noon(1),
    )
    return winback, spring


def pages_world_make(people: Personas) -> PagesWorld:
    customers, model = pool_make()
    winback, spring = campaigns_make(people)
    return PagesWorld(customers, model, winback, spring)
