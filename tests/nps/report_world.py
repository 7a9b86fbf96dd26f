"""A realistic month for a report: a province's branches and stores, a few hundred answers
with the comments customers write (seeded random), problems and typical cases."""

import random
from datetime import UTC, date, datetime, timedelta

import time_machine

from followups.problems import problem_open
from nps.reporting.refresh import rollups_refresh_day
from surveys.models import Interaction, Response, Unit, UnitKind
from surveys.reasons import responses_categorise
from surveys.voice import voices_backfill
from tests.reporting.test_rollups import case_create, local_day, response_create

PRAISE = [
    "营业员态度很好，耐心讲解套餐", "办理速度很快，不用排队", "客服小姐姐很专业，一次就解决了",
    "5G信号很好，网速快", "装宽带的师傅很准时，服务周到", "Great service, solved in five minutes",
    "服务热情，点赞", "The staff explained my bill clearly",
]  # fmt: skip
PROBLEMS = [
    "信号太差，家里经常没有信号", "乱扣费，话费账单看不懂", "排队等了一个多小时",
    "客服电话一直打不通，等待时间太长", "营业员态度冷淡", "宽带经常掉线，网速慢",
    "流量套餐太贵了", "Waited 40 minutes on the hotline", "办业务手续太复杂，跑了三趟",
]  # fmt: skip
SUGGESTIONS = [
    "建议周末多开几个窗口", "希望流量套餐再便宜一点", "能不能在APP上直接办理携号转网",
    "要是晚上也能打通人工客服就好了", "应该增加藏语服务窗口",
    "It would be nice to see my data usage in the app",
]  # fmt: skip
TOUCHPOINTS = ["store_own", "hotline", "online", "store_partner"]


def realistic_month(year: int = 2026, month: int = 3, seed: int = 16) -> dict[str, Unit]:
    """The month (and the one before, for the change) in a province; returns the units."""
    rng = random.Random(seed)
    top = Unit.objects.create(name="西藏公司", kind=UnitKind.PROVINCE)
    lhasa = Unit.objects.create(name="拉萨分公司", kind=UnitKind.CITY, parent=top)
    units = {
        "top": top,
        "lhasa": lhasa,
        "beijing_road": Unit.objects.create(
            name="北京中路营业厅", kind=UnitKind.STORE, parent=lhasa
        ),
        "yutuo": Unit.objects.create(name="宇拓路营业厅", kind=UnitKind.STORE, parent=lhasa),
        "shigatse": Unit.objects.create(name="日喀则分公司", kind=UnitKind.CITY, parent=top),
        "hotline": Unit.objects.create(name="10086热线", kind=UnitKind.CHANNEL, parent=top),
    }
    mood = {"beijing_road": 0.55, "yutuo": 0.35, "shigatse": 0.45, "hotline": 0.4, "lhasa": 0.5}
    first = date(year, month, 1)
    start = (first - timedelta(days=1)).replace(day=1)
    day, made = start, []
    while day.month == month or day < first:
        for _ in range(rng.randint(6, 12)):
            name = rng.choice(list(mood))
            promoter_share = mood[name] + (0.08 if day >= first else 0)
            roll = rng.random()
            score = rng.choice([9, 10]) if roll < promoter_share else (
                rng.choice([7, 8]) if roll < promoter_share + 0.2 else rng.randint(0, 6)
            )  # fmt: skip
            pool = PRAISE if score >= 9 else PROBLEMS
            comment = "" if rng.random() < 0.25 else rng.choice(
                SUGGESTIONS if rng.random() < 0.15 else pool
            )  # fmt: skip
            when = datetime(day.year, day.month, day.day, rng.randint(1, 12), rng.randint(0, 59),
                            tzinfo=UTC)  # fmt: skip
            response = response_create(
                at=when, score=score, comment=comment, touchpoint=rng.choice(TOUCHPOINTS)
            )
            Interaction.objects.filter(pk=response.interaction_id).update(unit=units[name])
            made.append(response)
        day += timedelta(days=1)
    responses_categorise(responses=made)
    voices_backfill()
    for rollup_day in sorted({local_day(r.created_at) for r in made}):
        rollups_refresh_day(day=rollup_day)
    _problems_and_cases(units, first, made, rng)
    return units


def _problems_and_cases(
    units: dict[str, Unit], first: date, made: list[Response], rng: random.Random
) -> None:
    noon = datetime(first.year, first.month, 8, 4, tzinfo=UTC)
    with time_machine.travel(noon, tick=False):
        problem_open(title="北京中路营业厅周末排队时间长", responsible_unit=units["beijing_road"],
                     deadline=noon + timedelta(days=7))  # fmt: skip
        problem_open(title="日喀则城区室内信号弱", responsible_unit=units["shigatse"],
                     deadline=noon + timedelta(days=3650))  # fmt: skip
        problem_open(title="10086热线夜间接通率低", responsible_unit=units["hotline"],
                     deadline=noon + timedelta(days=3650))  # fmt: skip
    detractors = [r for r in made if r.score <= 3 and r.comment and r.created_at.date() >= first]
    for response, note in zip(
        rng.sample(detractors, 2),
        ["回访后当场退还误扣费用，客户改评9分", "同一小区多次投诉信号，已转网络部优化"],
        strict=True,
    ):
        unit = Interaction.objects.get(pk=response.interaction_id).unit
        case_create(response, unit=unit, typical=True, typical_note=note)
