"""Unit figures against targets: hand-counted values, Wilson intervals, verdicts and ties."""

from datetime import date
from math import sqrt
from typing import Any

import pytest

from nps.models import Target, TargetMetric
from nps.scorecards import (
    Figure,
    TargetResult,
    mean_hours_figure,
    rank,
    target_verdict,
    targets_against_results,
    unit_figures,
    wilson_figure,
)
from tests.nps.scorecard_world import DAY, World, world_make

M = TargetMetric


@pytest.fixture
def world(db: Any) -> World:
    return world_make()


def adjusted_wald(p: int, d: int, n: int) -> tuple[float, float]:
    """The NPS interval computed here from its textbook formula (stats.py's docstring)."""
    n2 = n + 3
    pp, dd = (p + 0.75) / n2, (d + 0.75) / n2
    moe = 1.96 * sqrt((pp + dd - (pp - dd) ** 2) / n2) * 100
    score = 100 * (p - d) / n
    return score - moe, score + moe


def test_a_units_figures_sum_its_subtree_and_equal_the_hand_count(world: World) -> None:
    figures = unit_figures(unit_ids=[world.a.pk, world.a1.pk, world.b.pk], start=DAY, end=DAY)
    a = figures[world.a.pk]
    # A: A1's 6 promoters, 2 passives, 2 + 4 (the cases') detractors, plus A's own detractor.
    assert a[M.NPS].n == 15
    assert a[M.NPS].value == pytest.approx(100 * (6 - 7) / 15)
    low, high = adjusted_wald(6, 7, 15)
    assert (a[M.NPS].low, a[M.NPS].high) == (pytest.approx(low), pytest.approx(high))
    assert a[M.DETRACTOR_SHARE].value == pytest.approx(100 * 7 / 15)
    assert figures[world.a1.pk][M.NPS].n == 14
    assert figures[world.b.pk][M.NPS].value == 100.0
    assert figures[world.b.pk][M.FIRST_CONTACT_SLA].value is None  # no cases in B


def test_case_figures_of_a_unit_equal_the_hand_count(world: World) -> None:
    a = unit_figures(unit_ids=[world.a.pk], start=DAY, end=DAY)[world.a.pk]
    assert (a[M.FIRST_CONTACT_SLA].value, a[M.FIRST_CONTACT_SLA].n) == (75.0, 4)
    assert (a[M.RECOVERY_RATE].value, a[M.RECOVERY_RATE].n) == (pytest.approx(200 / 3), 3)
    hours = a[M.RESOLUTION_HOURS]
    assert (hours.value, hours.n) == (1.0, 2)  # 30 and 90 minutes
    half = 1.96 * sqrt(((30 - 60) ** 2 + (90 - 60) ** 2) / 1) / sqrt(2)  # minutes
    assert hours.low == pytest.approx((60 - half) / 60)
    assert hours.high == pytest.approx((60 + half) / 60)


def test_figures_of_other_days_are_left_out(world: World) -> None:
    other = date(2026, 3, 11)
    figures = unit_figures(unit_ids=[world.a.pk], start=other, end=other)
    assert figures[world.a.pk][M.NPS].n == 0
    assert figures[world.a.pk][M.NPS].value is None


def test_unit_figures_read_the_tree_and_each_rollup_once(
    world: World, django_assert_num_queries: Any
) -> None:
    units = [world.province.pk, world.a.pk, world.a1.pk, world.b.pk, world.c.pk]
    with django_assert_num_queries(3):
        unit_figures(unit_ids=units, start=DAY, end=DAY)


def test_wilson_intervals_have_their_known_values() -> None:
    none_of_ten = wilson_figure(0, 10)
    assert none_of_ten.low == 0.0
    assert none_of_ten.high == pytest.approx(27.75, abs=0.01)
    half = wilson_figure(5, 10)
    assert (half.low, half.high) == (pytest.approx(23.66, abs=0.01), pytest.approx(76.34, abs=0.01))


def test_mean_hours_of_one_resolved_case_have_no_interval() -> None:
    assert mean_hours_figure(120, 120 * 120, 1) == Figure(value=2.0, low=None, high=None, n=1)


def fig(value: float, low: float, high: float, n: int = 100) -> Figure:
    return Figure(value=value, low=low, high=high, n=n)


@pytest.mark.parametrize(
    ("metric", "target", "figure", "met"),
    [
        (M.NPS, 20.0, fig(30, 22, 38), True),  # whole interval above
        (M.NPS, 40.0, fig(30, 22, 38), False),  # whole interval below
        (M.NPS, 30.0, fig(30, 22, 38), None),  # target inside: can't tell yet
        (M.DETRACTOR_SHARE, 20.0, fig(15, 12, 18), True),  # lower is better
        (M.DETRACTOR_SHARE, 10.0, fig(15, 12, 18), False),
        (M.RESOLUTION_HOURS, 24.0, fig(20, 18, 22), True),
        (M.NPS, None, fig(30, 22, 38), None),  # no target
        (M.NPS, 20.0, fig(30, 22, 38, n=5), None),  # too few answers
    ],
)
def test_a_target_is_met_missed_or_cannot_be_told(
    settings: Any, metric: str, target: float | None, figure: Figure, met: bool | None
) -> None:
    settings.NPS_DASHBOARD_MIN_SAMPLE = 30
    assert target_verdict(metric, target, figure) is met


def test_the_target_whose_period_covers_the_days_is_used(world: World, settings: Any) -> None:
    settings.NPS_DASHBOARD_MIN_SAMPLE = 2
    Target.objects.create(
        unit=world.a,
        metric=M.FIRST_CONTACT_SLA,
        value=10,
        period_start=date(2026, 1, 1),
        period_end=date(2026, 12, 31),
    )
    Target.objects.create(
        unit=world.a,
        metric=M.FIRST_CONTACT_SLA,
        value=99,
        period_start=date(2026, 3, 1),
        period_end=date(2026, 3, 31),
    )
    Target.objects.create(
        unit=world.a,
        metric=M.NPS,
        value=0,  # ends before the 31st
        period_start=date(2026, 3, 1),
        period_end=date(2026, 3, 20),
    )
    found = targets_against_results(
        unit_ids=[world.a.pk], start=date(2026, 3, 1), end=date(2026, 3, 31)
    )
    by_metric = {r.metric: r for r in found}
    assert [r.metric for r in found] == [str(m) for m in M]
    sla = by_metric[M.FIRST_CONTACT_SLA]
    assert sla.target == 99  # the month's, not the year's: the shortest covering period
    assert (sla.value, sla.n) == (75.0, 4)
    assert sla.met is False  # Wilson 3/4 is 30.1..95.4, below 99
    assert by_metric[M.NPS].target is None
    assert by_metric[M.NPS].met is None


def result(unit: int, part: int, whole: int, metric: str = M.RECOVERY_RATE) -> TargetResult:
    f = wilson_figure(part, whole)
    return TargetResult(
        unit_id=unit,
        metric=metric,
        target=None,
        value=f.value,
        low=f.low,
        high=f.high,
        n=f.n,
        met=None,
    )


def test_units_whose_intervals_overlap_share_a_rank(settings: Any) -> None:
    settings.NPS_DASHBOARD_MIN_SAMPLE = 30
    # Wilson: 90/100 is 82.6..94.5, 85/100 is 76.7..90.7 (overlap), 50/100 is 40.4..59.6.
    results = [result(3, 50, 100), result(2, 85, 100), result(1, 90, 100), result(4, 9, 10)]
    ranking = rank(results, M.RECOVERY_RATE)
    assert [(p.result.unit_id, p.label) for p in ranking.ranked] == [(1, "=1"), (2, "=1"), (3, "3")]
    assert [r.unit_id for r in ranking.too_few] == [4]  # 10 answers: too few, not ranked


def test_lower_is_better_ranks_the_lowest_interval_first(settings: Any) -> None:
    settings.NPS_DASHBOARD_MIN_SAMPLE = 30
    share = M.DETRACTOR_SHARE
    # 10/100 is 5.5..17.4; 50/100 40.4..59.6; 55/100 45.2..64.4 (overlaps 50/100).
    results = [result(1, 55, 100, share), result(2, 10, 100, share), result(3, 50, 100, share)]
    ranking = rank(results, share)
    assert [(p.result.unit_id, p.label) for p in ranking.ranked] == [(2, "1"), (3, "=2"), (1, "=2")]
