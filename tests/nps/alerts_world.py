"""Builders for the alert tests: a unit tree, rollup rows written from a few facts at every
stored grain (what rollups_refresh_day writes for them), and rules."""

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from nps.models import (
    DIMENSION_FIELDS,
    INT_DIMENSIONS,
    AlertKind,
    AlertMetric,
    AlertPer,
    AlertRule,
    NpsDaily,
    ReasonDaily,
)
from nps.reporting.grains import GRAINS, fields_of
from surveys.models import ReasonCategory, Unit, UnitKind

TODAY = date(2026, 11, 23)


@dataclass
class Tree:
    province: Unit
    city1: Unit  # stores 1 and 2
    city2: Unit  # store 3
    store1: Unit
    store2: Unit
    store3: Unit


def tree() -> Tree:
    province = Unit.objects.create(name="Province", kind=UnitKind.PROVINCE)
    city1 = Unit.objects.create(name="City 1", kind=UnitKind.CITY, parent=province)
    city2 = Unit.objects.create(name="City 2", kind=UnitKind.CITY, parent=province)
    return Tree(
        province, city1, city2,
        Unit.objects.create(name="Store 1", kind=UnitKind.STORE, parent=city1),
        Unit.objects.create(name="Store 2", kind=UnitKind.STORE, parent=city1),
        Unit.objects.create(name="Store 3", kind=UnitKind.STORE, parent=city2),
    )  # fmt: skip


@dataclass
class Fact:
    """Answers of one day in one place: counts, and detractors per reason."""

    day: date
    promoters: int = 0
    passives: int = 0
    detractors: int = 0
    reasons: dict[ReasonCategory, int] = field(default_factory=dict)
    dims: dict[str, Any] = field(default_factory=dict)  # unit_id, touchpoint, region...


def facts_write(*facts: Fact) -> None:
    """NpsDaily and ReasonDaily rows for `facts` at every stored grain."""
    nps: dict[tuple[Any, ...], list[int]] = defaultdict(lambda: [0, 0, 0])
    reasons: dict[tuple[Any, ...], int] = defaultdict(int)
    for grain in GRAINS:
        kept = fields_of(grain)
        for fact in facts:
            dims = tuple(
                fact.dims.get(name, 0 if name in INT_DIMENSIONS else "") if name in kept
                else (0 if name in INT_DIMENSIONS else "")
                for name in DIMENSION_FIELDS
            )  # fmt: skip
            counts = nps[(grain, fact.day, *dims)]
            counts[0] += fact.promoters
            counts[1] += fact.passives
            counts[2] += fact.detractors
            for reason, n in fact.reasons.items():
                reasons[(grain, fact.day, *dims, reason.pk)] += n
    NpsDaily.objects.bulk_create(
        NpsDaily(grain=key[0], day=key[1], **dict(zip(DIMENSION_FIELDS, key[2:], strict=True)),
                 promoters=p, passives=pa, detractors=d)
        for key, (p, pa, d) in nps.items()
    )  # fmt: skip
    ReasonDaily.objects.bulk_create(
        ReasonDaily(grain=key[0], day=key[1],
                    **dict(zip(DIMENSION_FIELDS, key[2:-1], strict=True)),
                    reason_id=key[-1], detractors=n)
        for key, n in reasons.items()
    )  # fmt: skip


def facts_replace(*facts: Fact) -> None:
    """The rollups as they are after a refresh: only `facts`."""
    NpsDaily.objects.all().delete()
    ReasonDaily.objects.all().delete()
    facts_write(*facts)


def reason(code: str = "network") -> ReasonCategory:
    found = ReasonCategory.objects.filter(code=code).first()
    return found or ReasonCategory.objects.create(code=code, name_en=code.title(), name_zh=code)


def rule(**fields: Any) -> AlertRule:
    values: dict[str, Any] = {
        "name": "NPS below -10", "kind": AlertKind.THRESHOLD, "metric": AlertMetric.NPS,
        "per": AlertPer.UNIT, "threshold": -10.0, "min_sample": 30,
        "recipients": "quality@example.com",
    }  # fmt: skip
    return AlertRule.objects.create(**(values | fields))
