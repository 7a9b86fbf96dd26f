"""Verification of problems from the rollups: did the reason's detractor share fall in the
problem's place after the fix?

For each problem in status verifying with fixed_at, the share of answers in the place
(the place unit and everything under it, the touchpoint, the region; empty: any) whose
answer was a detractor's naming the problem's reason (no reason: any detractor) is counted
for a "before" window, the BEFORE_DAYS local days before the problem was opened, and an
"after" window, the whole local days after the fix up to today. Once the after window has
at least the minimum days and answers, the one-sided pooled two-proportion test
(nps.reporting.stats.shares_p_value, sided "down") at 95 % decides whether the fall is
significant; followups.problems.problem_verification_record stores the figures and, when
significant, proposes the closure for a person to confirm. Safe to run twice: it only
stores the latest figures, and the proposal is written once.
"""

from dataclasses import dataclass
from datetime import date, datetime, timedelta

from django.conf import settings
from django.db.models import F, Sum
from django.utils import timezone

from followups.models import Problem, ProblemStatus
from followups.problems import problem_verification_record
from nps.models import NpsDaily, ReasonDaily
from nps.reporting.contract import Filters
from nps.reporting.days import local_today, reporting_zone
from nps.reporting.queries import rollup_rows
from nps.reporting.stats import shares_p_value
from surveys.units import children_by_parent, units_below

BEFORE_DAYS = 28
Tree = dict[int | None, list[int]]
SIGNIFICANCE = 0.05  # one-sided, 95 %


def after_min_days() -> int:
    return settings.NPS_PROBLEM_VERIFY_MIN_DAYS


def after_min_answers() -> int:
    return settings.NPS_PROBLEM_VERIFY_MIN_ANSWERS


@dataclass(frozen=True)
class Share:
    detractors: int  # the reason's detractors (any detractor when the problem has no reason)
    answers: int  # every answer in the place


def local_day(moment: datetime) -> date:
    return timezone.localtime(moment, reporting_zone()).date()


def place_share(problem: Problem, start: date, end: date, *, tree: Tree | None = None) -> Share:
    """The problem's reason's detractors and all answers in its place, days start..end
    (two queries on the rollups)."""
    f = Filters(start=start, end=end, touchpoint=problem.touchpoint, region=problem.region)
    group = ("unit_id",) if problem.place_unit_id else ()
    answers = rollup_rows(NpsDaily, f, *group)
    part = rollup_rows(ReasonDaily, f, *group).filter(reason_id=problem.reason_id)
    if problem.reason_id is None:
        part = answers
    if problem.place_unit_id:
        units = units_below(problem.place_unit_id, tree=tree)
        answers, part = answers.filter(unit_id__in=units), part.filter(unit_id__in=units)
    whole = answers.aggregate(n=Sum(F("promoters") + F("passives") + F("detractors")))["n"]
    return Share(part.aggregate(n=Sum("detractors"))["n"] or 0, whole or 0)


def problem_check(problem: Problem, *, today: date, tree: Tree | None = None) -> bool:
    """Measure one verifying problem; False while its after window is too short or small."""
    if problem.fixed_at is None:
        return False
    opened = local_day(problem.opened_at)
    after_start = local_day(problem.fixed_at) + timedelta(days=1)  # whole days after the fix
    if (today - after_start).days + 1 < after_min_days():
        return False
    after = place_share(problem, after_start, today, tree=tree)
    if after.answers < after_min_answers():
        return False
    before = place_share(
        problem, opened - timedelta(days=BEFORE_DAYS), opened - timedelta(days=1), tree=tree
    )
    p = shares_p_value(
        after.detractors, after.answers, before.detractors, before.answers, sided="down"
    )
    return problem_verification_record(
        problem,
        before=(before.detractors, before.answers),
        after=(after.detractors, after.answers),
        p_value=p,
        significant=p is not None and p < SIGNIFICANCE,
    )


def problems_check() -> int:
    """Measure every verifying problem; the number whose figures were stored."""
    today, tree = local_today(), children_by_parent()
    verifying = Problem.objects.filter(status=ProblemStatus.VERIFYING, fixed_at__isnull=False)
    return sum(problem_check(p, today=today, tree=tree) for p in verifying.order_by("pk"))
