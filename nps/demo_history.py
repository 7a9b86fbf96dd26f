"""Ninety days of invented history for the demo, so the dashboard has something to show.

Interactions at every touchpoint, in nine regions (the three demo teams' and the default
route's), three value tiers and three languages; their surveys (sent, delivered,
answered, expired, failed, suppressed for a reason); answers whose NPS improves over the
period (the hotline's waiting times get better), so the last 30 days differ significantly
from the 30 before; a callback case for every detractor, in every state, with contact
attempts, resolutions, holds and verification answers. Seeded random: the same rows
relative to the day it runs. Rows are written with bulk_create; the rollups are rebuilt
afterwards by the caller.
"""

import random
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from django.utils import timezone

from followups.models import Case, CaseEvent
from nps.demo_cases import HISTORY_SECONDS, bulk, cases_write, demo_charge, pick
from surveys.models import (
    Category,
    Customer,
    Interaction,
    Invitation,
    InvitationStatus,
    Purpose,
    ReasonCategory,
    Response,
    ResponseReason,
    SuppressReason,
    Survey,
)
from surveys.voice import voice_of

DAYS = HISTORY_SECONDS // 86400
SEED = 14
IMPROVED_DAYS_AGO = 35
EXTERNAL_PREFIX = "DEMO-H-"  # the history's interactions: present means already seeded
PHONE_PREFIX = "+86139"  # never the README's example number (+8613800138000)
ZONE = "Asia/Shanghai"
REGIONS = (  # region, weight, languages (weights) of its customers
    ("BJ", 18, {"zh-hans": 92, "en": 8}),
    ("TJ", 7, {"zh-hans": 100}),
    ("HE", 8, {"zh-hans": 100}),
    ("SH", 18, {"zh-hans": 85, "en": 15}),
    ("JS", 12, {"zh-hans": 100}),
    ("ZJ", 12, {"zh-hans": 100}),
    ("GD", 12, {"zh-hans": 95, "en": 5}),
    ("SC", 8, {"zh-hans": 100}),
    ("XZ", 5, {"bo": 50, "bo-zh": 40, "zh-hans": 10}),
)
TIERS = {"A": 15, "B": 30, "C": 55}
# touchpoint: (weight, channel, NPS shift in points)
TOUCHPOINTS = {
    "store_own": (26, "counter", 5),
    "hotline": (26, "ivr", -15),
    "online": (14, "app", 0),
    "store_partner": (10, "counter", -8),
    "store_agent": (8, "counter", -5),
    "self_service": (8, "terminal", -3),
    "account_manager": (8, "visit", 18),
}
BUSINESS_TYPES = {
    "billing": 25,
    "plan_change": 20,
    "broadband": 18,
    "device": 14,
    "new_line": 13,
    "roaming": 10,
}
STAFF = [
    (f"S{100 + n}", name)
    for n, name in enumerate(
        [
            "王芳",
            "李娜",
            "张伟",
            "刘洋",
            "陈静",
            "杨磊",
            "赵敏",
            "黄强",
            "周婷",
            "吴刚",
            "徐丽",
            "孙杰",
        ]
    )
]
# What detractors write, by reason; the hotline's waiting improves over the 90 days.
COMMENTS = {
    "waiting": {
        "zh-hans": ["排队等了一个小时", "热线一直打不进去", "等了四十分钟才有人接"],
        "en": ["Waited forever on the hotline"],
        "bo": ["ཧ་ཅང་ཡུན་རིང་སྒུག་དགོས་བྱུང་།"],
    },
    "network": {
        "zh-hans": ["信号太差，电话经常掉线", "家里没有信号"],
        "en": ["No signal at home"],
        "bo": ["བརྒྱུད་ལམ་ཡག་པོ་མི་འདུག"],
    },
    "billing": {
        "zh-hans": ["账单多扣了费用", "套餐费用和说的不一样"],
        "en": ["The bill was wrong again"],
        "bo": ["འཐུས་འབབ་ནོར་འདུག"],
    },
    "attitude": {
        "zh-hans": ["营业员态度不好", "客服很不耐烦"],
        "en": ["The staff were rude"],
        "bo": ["ཞབས་ཞུ་བའི་ཀུན་སྤྱོད་ཡག་པོ་མི་འདུག"],
    },
    "process": {
        "zh-hans": ["办理流程太复杂", "要跑好几趟"],
        "en": ["Too many steps to change my plan"],
        "bo": ["ལས་རིམ་རྙོག་འཛིང་ཆེ།"],
    },
    "product": {
        "zh-hans": ["套餐不划算", "宽带太慢"],
        "en": ["The plan is too expensive"],
        "bo": ["རིན་གོང་མཐོ་དྲགས།"],
    },
}
PRAISE = {
    "zh-hans": ["服务很好", "办理很快，谢谢", "营业员很耐心"],
    "en": ["Quick and friendly"],
    "bo": ["ཞབས་ཞུ་ཡག་པོ་འདུག"],
}


def _local(day: date, minutes: int) -> datetime:
    """`minutes` after 08:00 local time on `day`."""
    return datetime.combine(day, time(8), tzinfo=ZoneInfo(ZONE)) + timedelta(minutes=minutes)


@dataclass
class _Made:
    """Rows built in memory, in creation order, with what later rows need to know."""

    interactions: list[Interaction] = field(default_factory=list)
    invitations: list[Invitation] = field(default_factory=list)
    responses: list[Response] = field(default_factory=list)
    reasons: list[tuple[int, str]] = field(default_factory=list)  # (response index, code)
    cases: list[dict[str, Any]] = field(default_factory=list)


def history_exists() -> bool:
    return Interaction.objects.filter(external_id__startswith=EXTERNAL_PREFIX).exists()


@contextmanager
def _invented_times() -> Iterator[None]:
    """Let bulk_create keep the invented times of auto_now_add fields instead of "now"."""
    fields = [
        f
        for model in (Interaction, Response, Case, CaseEvent, Invitation)
        for f in model._meta.concrete_fields
        if getattr(f, "auto_now_add", False)
    ]
    for f in fields:
        f.auto_now_add = False  # type: ignore[attr-defined]  # only date fields have it
    try:
        yield
    finally:
        for f in fields:
            f.auto_now_add = True  # type: ignore[attr-defined]


def history_seed(*, survey: Survey, now: datetime | None = None) -> int:
    """Write the demo's 90 days (once); returns the number of interactions written."""
    if history_exists():
        return 0
    now = now or timezone.now()
    rng = random.Random(SEED)  # noqa: S311 -- invented demo data, not security
    today = timezone.localtime(now, ZoneInfo(ZONE)).date()
    customers = _customers(rng)
    made = _Made()
    for offset in range(DAYS):
        day = today - timedelta(days=DAYS - 1 - offset)
        progress = offset / (DAYS - 1)  # 0 on the first day, 1 today
        # A generator per day: the hour it runs changes today's rows only, not the past's.
        day_rng = random.Random(f"{SEED}:{offset}")  # noqa: S311
        for n in range(25 + offset // 4 + day_rng.randint(-4, 4)):
            at = _local(day, day_rng.randint(0, 12 * 60 - 1))
            customer = day_rng.choice(customers)
            if at > now - timedelta(minutes=30):
                continue  # nothing invented in the last half hour, nor in the future
            key = f"{day:%Y%m%d}-{n}"
            _interaction(day_rng, made, survey, customer, at, progress, key, now)
    with _invented_times():
        _write(rng, made, now)
    return len(made.interactions)


def _customers(rng: random.Random) -> list[Customer]:
    rows = []
    for n in range(1500):
        region = pick(rng, {r: w for r, w, _ in REGIONS})
        languages = next(langs for r, _, langs in REGIONS if r == region)
        rows.append(
            Customer(
                phone=f"{PHONE_PREFIX}{n:08d}",
                language=pick(rng, languages),
                tier=pick(rng, TIERS),
                region=region,
                time_zone=ZONE,
            )
        )
    bulk(Customer, rows)
    return list(Customer.objects.filter(phone__startswith=PHONE_PREFIX).order_by("phone"))


def _score(rng: random.Random, touchpoint: str, progress: float) -> int:
    # The NPS drifts up over the period, and jumps five weeks ago (the hotline's new
    # call-back option; the hotline gains most): the last 30 days beat the 30 before.
    step = progress > 1 - IMPROVED_DAYS_AGO / (DAYS - 1)
    gain = (30 if touchpoint == "hotline" else 18) if step else 0
    target = -5 + 15 * progress + gain + TOUCHPOINTS[touchpoint][2]
    promoter, detractor = 0.39 + target / 200, 0.39 - target / 200
    band = pick(rng, {"p": promoter, "n": 0.22, "d": detractor})
    if band == "p":
        return rng.choice((9, 10, 10))
    if band == "n":
        return rng.choice((7, 8))
    return rng.choice((0, 1, 2, 3, 3, 4, 5, 5, 6, 6))


def _interaction(
    rng: random.Random,
    made: _Made,
    survey: Survey,
    customer: Customer,
    at: datetime,
    progress: float,
    key: str,
    now: datetime,
) -> None:
    touchpoint = pick(rng, {t: w for t, (w, _, _) in TOUCHPOINTS.items()})
    staff_id, staff_name = rng.choice(STAFF)
    made.interactions.append(
        Interaction(
            external_id=f"{EXTERNAL_PREFIX}{key}",
            customer=customer,
            touchpoint=touchpoint,
            channel=TOUCHPOINTS[touchpoint][1],
            business_type=pick(rng, BUSINESS_TYPES),
            staff_id=staff_id,
            staff_name=staff_name,
            occurred_at=at,
            created_at=at,
        )
    )
    invitation = Invitation(
        customer=customer,
        survey=survey,
        purpose=Purpose.SURVEY,
        language=customer.languages[0],
        created_at=at,
    )
    made.invitations.append(invitation)
    fate = rng.random()
    if fate < 0.09:
        invitation.status = InvitationStatus.SUPPRESSED
        invitation.suppressed_reason = pick(
            rng,
            {
                SuppressReason.FATIGUE: 40,
                SuppressReason.DAILY_CAP: 20,
                SuppressReason.SAMPLED_OUT: 15,
                SuppressReason.OPEN_CASE: 10,
                SuppressReason.OPTED_OUT: 10,
                SuppressReason.INVALID_NUMBER: 5,
            },
        )
        return
    sent = at + timedelta(minutes=rng.randint(1, 20))
    invitation.send_at, invitation.attempts, invitation.gateway = sent, 1, "simulator"
    invitation.expires_at = sent + timedelta(hours=survey.reply_window_hours)
    if fate < 0.11:
        # Accepted by the gateway, never delivered (the handset was off for days).
        invitation.status, invitation.sent_at = InvitationStatus.FAILED, sent
        invitation.failed_at = sent + timedelta(hours=24)
        invitation.failure_reason = "receipt: undeliverable"
        return
    invitation.sent_at, invitation.delivered_at = sent, sent + timedelta(seconds=5)
    answered = sent + timedelta(minutes=rng.randint(1, 180))
    if fate < 0.45 or answered > now:  # no answer (yet, while the reply window is open)
        expired = invitation.expires_at < now
        invitation.status = InvitationStatus.EXPIRED if expired else InvitationStatus.DELIVERED
        return
    invitation.status, invitation.responded_at = InvitationStatus.RESPONDED, answered
    score = _score(rng, touchpoint, progress)
    category = Category.for_score(score)
    language = customer.languages[0]
    comment, codes = "", []
    if category == Category.DETRACTOR and rng.random() < 0.8:
        # Early on the hotline's complaints are mostly about waiting; less so later.
        weights = dict.fromkeys(COMMENTS, 10.0)
        if touchpoint == "hotline":
            weights["waiting"] = 60 * (1 - progress) + 10
        codes = [pick(rng, weights)]
        if rng.random() < 0.15:
            codes.append(pick(rng, {c: 1 for c in COMMENTS if c != codes[0]}))
        comment = "，".join(rng.choice(COMMENTS[c][language]) for c in codes)
    elif category == Category.PROMOTER and rng.random() < 0.3:
        comment = rng.choice(PRAISE[language])
    index = len(made.responses)
    made.responses.append(
        Response(
            customer=customer,
            score=score,
            category=category,
            comment=comment,
            voice=voice_of(comment, category),
            created_at=answered,
        )
    )
    made.reasons += [(index, code) for code in codes]
    if category == Category.DETRACTOR:
        made.cases.append({"response": index, "codes": codes})


def _write(rng: random.Random, made: _Made, now: datetime) -> None:
    bulk(Interaction, made.interactions)
    for interaction, invitation in zip(made.interactions, made.invitations, strict=True):
        invitation.interaction = interaction
    demo_charge(made.invitations)
    bulk(Invitation, made.invitations)
    answered = [inv for inv in made.invitations if inv.status == InvitationStatus.RESPONDED]
    for response, invitation in zip(made.responses, answered, strict=True):
        response.invitation, response.interaction = invitation, invitation.interaction
    bulk(Response, made.responses)
    reasons = {c.code: c for c in ReasonCategory.objects.all()}
    bulk(
        ResponseReason,
        [
            ResponseReason(response=made.responses[i], category=reasons[code])
            for i, code in made.reasons
            if code in reasons
        ],
    )
    detractors = [(made.responses[e["response"]], e["codes"]) for e in made.cases]
    cases_write(rng, detractors, reasons, now)
