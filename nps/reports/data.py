"""What a report says about a unit (its whole subtree) in a period: plain data, no HTML.

Every NPS and reason figure is summed from the rollup tables (nps.reporting) on the unit
grains, over `surveys.units.units_below(unit)`; the arithmetic is nps.reporting.stats.
Only what the rollups do not count is read from rows: the voice of the customer (praise,
problems, suggestions: Response.voice, with a few masked verbatims), the unit's problems,
its typical cases, the alerts of the period, and the targets (nps.scorecards).
"""

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from django.db.models import Count, F, Model, QuerySet, Sum
from django.db.models.functions import TruncWeek
from django.utils import timezone, translation

from followups.models import Case, Problem, ProblemStatus
from nps.models import Alert, NpsDaily, ReasonDaily, ReportCadence
from nps.reporting.contract import Counts, Filters
from nps.reporting.days import day_bounds
from nps.reporting.queries import COUNT_SUMS, counts_of, nps_counts, rollup_rows
from nps.reporting.stats import Change, Estimate, change, estimate, share
from nps.reports.periods import Period, period_before
from nps.scorecards import TargetResult, targets_against_results
from surveys.models import OTHER, Purpose, Response, Touchpoint, Unit, Voice
from surveys.phones import mask_phones_in
from surveys.units import units_below

VERBATIMS = 3  # per voice
TOP_REASONS = 5
DAILY_TREND_DAYS = 14  # a daily report shows the fortnight up to its day


@dataclass(frozen=True)
class Point:
    day: date  # the day, or the Monday of the week (the period's start for its first week)
    estimate: Estimate


@dataclass(frozen=True)
class ReasonFigure:
    code: str
    name: str
    count: int
    share: float | None  # of the group's answers (detractors or promoters), percent


@dataclass(frozen=True)
class Verbatim:
    text: str
    score: int
    at: datetime


@dataclass(frozen=True)
class VoiceGroup:
    voice: str
    label: str
    count: int
    verbatims: list[Verbatim]


@dataclass
class ReportData:
    unit: Unit
    period: Period
    previous: Period
    estimate: Estimate
    previous_estimate: Estimate
    change: Change | None
    trend_by: str  # "day" or "week"
    trend: list[Point]
    touchpoints: list[tuple[str, Estimate]]
    detractor_reasons: list[ReasonFigure]
    drivers: list[ReasonFigure]
    voices: list[VoiceGroup]
    problems: list[Problem]
    problem_counts: dict[str, int]
    problems_overdue: int
    typical_cases: list[Case]
    targets: list[TargetResult]
    alerts: list[Alert] = field(default_factory=list)


def _rows(
    model: type[Model], units: list[int], start: date, end: date, *group: str
) -> QuerySet[Any]:
    """The rollup rows of the units in [start, end] (grouped by `group` too)."""
    return rollup_rows(model, Filters(start=start, end=end, units=tuple(units)), *group)


def unit_counts(units: list[int], start: date, end: date) -> Counts:
    """Promoters, passives and detractors of the units in [start, end] (one query)."""
    return nps_counts(Filters(start=start, end=end, units=tuple(units)))


def unit_trend(units: list[int], start: date, end: date, *, by: str) -> list[Point]:
    period = F("day") if by == "day" else TruncWeek("day")
    rows = (
        _rows(NpsDaily, units, start, end)
        .values(period=period)
        .annotate(**COUNT_SUMS)
        .order_by("period")
    )
    # A week that began before the period is labelled by the period's first day.
    return [Point(max(_as_date(row["period"]), start), estimate(counts_of(row))) for row in rows]


def _as_date(value: date | datetime) -> date:
    return value.date() if isinstance(value, datetime) else value


def unit_touchpoints(units: list[int], start: date, end: date) -> list[tuple[str, Estimate]]:
    rows = _rows(NpsDaily, units, start, end, "touchpoint").values("touchpoint")
    labels = dict(Touchpoint.choices)
    found = [
        (str(labels.get(row["touchpoint"], row["touchpoint"] or "-")), estimate(counts_of(row)))
        for row in rows.annotate(**COUNT_SUMS).order_by()
    ]
    return sorted(found, key=lambda item: (-item[1].n, item[0]))


def unit_reasons(
    units: list[int], start: date, end: date, *, of: str, whole: int, language: str
) -> list[ReasonFigure]:
    """The reasons `of` ("detractors" or "promoters") mentioned most, with their share."""
    rows = _rows(ReasonDaily, units, start, end)
    if of == "promoters":  # "other" says nothing about what promoters value
        rows = rows.exclude(reason__code=OTHER)
    rows = (
        rows.values("reason__code", "reason__name_en", "reason__name_zh")
        .annotate(total=Sum(of))
        .filter(total__gt=0)
        .order_by("-total", "reason__code")[:TOP_REASONS]
    )
    zh = language.startswith("zh")
    return [
        ReasonFigure(
            code=row["reason__code"],
            name=(
                row["reason__name_zh"] if zh and row["reason__name_zh"] else row["reason__name_en"]
            ),
            count=row["total"],
            share=share(row["total"], whole),
        )
        for row in rows
    ]


def unit_voices(units: list[int], start: date, end: date) -> list[VoiceGroup]:
    """Praise, problems and suggestions in the period: counts and the latest verbatims."""
    lo, hi = day_bounds(start, end)
    answers = Response.objects.filter(
        created_at__gte=lo,
        created_at__lt=hi,
        interaction__unit_id__in=units,
        invitation__purpose=Purpose.SURVEY,
    )
    counts = dict(answers.exclude(voice="").values_list("voice").annotate(n=Count("pk")).order_by())
    groups = []
    for voice, label in Voice.choices:
        latest = answers.filter(voice=voice).order_by("-created_at", "-pk")[:VERBATIMS]
        verbatims = [Verbatim(mask_phones_in(r.comment), r.score, r.created_at) for r in latest]
        groups.append(VoiceGroup(voice, str(label), counts.get(voice, 0), verbatims))
    return groups


def unit_problems(units: list[int], start: date, end: date) -> list[Problem]:
    """The unit's problems open at some time in the period (opened by its end, not closed
    before its start), oldest deadline first."""
    lo, hi = day_bounds(start, end)
    rows = Problem.objects.filter(responsible_unit_id__in=units, opened_at__lt=hi).exclude(
        closed_at__lt=lo
    )
    return list(
        rows.select_related("responsible_unit", "owner", "reason").order_by("deadline", "pk")
    )


def problem_is_overdue(problem: Problem, now: datetime) -> bool:
    return problem.status != ProblemStatus.CLOSED and problem.deadline < now


def unit_typical_cases(units: list[int], start: date, end: date) -> list[Case]:
    lo, hi = day_bounds(start, end)
    rows = Case.objects.filter(typical=True, unit_id__in=units, opened_at__gte=lo, opened_at__lt=hi)
    return list(rows.select_related("unit", "response").order_by("-opened_at", "-pk")[:10])


def unit_targets(units: list[int], start: date, end: date) -> list[TargetResult]:
    return list(targets_against_results(unit_ids=units, start=start, end=end))


def unit_alerts(units: list[int], start: date, end: date) -> list[Alert]:
    lo, hi = day_bounds(start, end)
    rows = Alert.objects.filter(unit_id__in=units, raised_at__gte=lo, raised_at__lt=hi)
    return list(rows.select_related("unit", "reason").order_by("-raised_at", "-pk"))


def report_data(*, unit: Unit, period: Period, language: str) -> ReportData:
    """Everything a report of `unit` for `period` shows (labels in `language`)."""
    with translation.override(language):
        return _report_data(unit, period, language)


def _report_data(unit: Unit, period: Period, language: str) -> ReportData:
    units = units_below(unit.pk)
    start, end = period.start, period.end
    previous = period_before(period)
    counts = unit_counts(units, start, end)
    before = unit_counts(units, previous.start, previous.end)
    if period.cadence == ReportCadence.DAILY:
        by, trend_start = "day", end - timedelta(days=DAILY_TREND_DAYS - 1)
    else:
        by = "week" if period.cadence == ReportCadence.MONTHLY else "day"
        trend_start = start
    problems = unit_problems(units, start, end)
    now = timezone.now()
    problem_counts = dict.fromkeys(ProblemStatus.values, 0)
    for problem in problems:
        problem_counts[problem.status] += 1
    return ReportData(
        unit=unit,
        period=period,
        previous=previous,
        estimate=estimate(counts),
        previous_estimate=estimate(before),
        change=change(counts, before),
        trend_by=by,
        trend=unit_trend(units, trend_start, end, by=by),
        touchpoints=unit_touchpoints(units, start, end),
        detractor_reasons=unit_reasons(
            units, start, end, of="detractors", whole=counts.detractors, language=language
        ),
        drivers=unit_reasons(
            units, start, end, of="promoters", whole=counts.promoters, language=language
        ),
        voices=unit_voices(units, start, end),
        problems=problems,
        problem_counts=problem_counts,
        problems_overdue=sum(problem_is_overdue(p, now) for p in problems),
        typical_cases=unit_typical_cases(units, start, end),
        targets=unit_targets(units, start, end),
        alerts=unit_alerts(units, start, end) if period.cadence == ReportCadence.DAILY else [],
    )
