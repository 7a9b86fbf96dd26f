"""Unit scorecards: each unit's figures against its targets, with 95% intervals, and ranks
that treat overlapping intervals as ties.

The one home of a unit's figures per TargetMetric (`unit_figures`), of "met, missed or
can't tell" (`target_verdict`) and of the scorecard rank (`rank`). Figures come from the
rollups' unit grain (one query per table, grouped by unit_id), each unit summed over its
subtree (surveys.units.units_below) from one read of the tree. Definitions:

- NPS: nps.reporting.stats (adjusted-Wald interval), n = answers.
- Detractor share: detractors / answers in percent, Wilson interval, n = answers.
- First contact within SLA: cases first contacted (the customer reached) within their SLA /
  cases opened in the period (CaseDaily.first_contact_in_sla / opened, by the local day the
  case opened), Wilson interval, n = cases opened. Every opened case is in the denominator:
  one not reached yet counts as not within SLA, so the figure of a period still running is
  a floor that can rise while its last cases' SLAs run.
- Mean hours to resolve: minutes from opening to resolution of the cases resolved, mean / 60,
  with a normal interval from the sum of squares (mean ± 1.96 · s / √n), n = cases resolved;
  no interval below two resolved cases.
- Recovery rate: recovered / verified (verification answers that came back recovered),
  Wilson interval, n = cases verified.
"""

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from math import sqrt
from typing import Any

from django.db.models import Sum

from nps.models import HIGHER_IS_BETTER, CaseDaily, NpsDaily, Target, TargetMetric
from nps.reporting.contract import Counts, Filters
from nps.reporting.queries import rollup_rows
from nps.reporting.stats import Z95, estimate, min_sample, share, share_interval
from surveys.units import children_by_parent, units_below

NPS_FIELDS = ("promoters", "passives", "detractors")
CASE_FIELDS = (
    "opened",
    "first_contact_in_sla",
    "resolved",
    "resolution_minutes",
    "resolution_minutes_sq",
    "verified",
    "recovered",
)
METRICS = tuple(TargetMetric)


@dataclass(frozen=True)
class Figure:
    """One metric of one unit: the value, its 95% interval (None: none), and its sample."""

    value: float | None
    low: float | None
    high: float | None
    n: int


@dataclass(frozen=True)
class TargetResult:
    unit_id: int
    metric: str
    target: float | None
    value: float | None
    low: float | None
    high: float | None
    n: int
    met: bool | None  # None: no target, too few answers, or the target inside the interval


def _sums(rows: Iterable[dict[str, Any]], fields: tuple[str, ...]) -> dict[int, dict[str, int]]:
    return {row["unit_id"]: {name: row[name] or 0 for name in fields} for row in rows}


def _rollup_by_unit(
    model: type[NpsDaily] | type[CaseDaily], fields: tuple[str, ...], f: Filters, leaves: list[int]
) -> dict[int, dict[str, int]]:
    """One query: the table's sums per leaf unit on the unit grain."""
    rows = (
        rollup_rows(model, f, "unit_id")
        .filter(unit_id__in=leaves)
        .values("unit_id")
        .order_by()
        .annotate(**{name: Sum(name) for name in fields})
    )
    return _sums(rows, fields)


def _subtree_sum(
    per_unit: dict[int, dict[str, int]], below: list[int], fields: tuple[str, ...]
) -> dict[str, int]:
    total = dict.fromkeys(fields, 0)
    for unit in below:
        for name, value in per_unit.get(unit, {}).items():
            total[name] += value
    return total


def wilson_figure(part: int, whole: int) -> Figure:
    interval = share_interval(part, whole)
    low, high = interval if interval is not None else (None, None)
    return Figure(value=share(part, whole), low=low, high=high, n=whole)


def mean_hours_figure(minutes: int, squares: int, n: int) -> Figure:
    """Mean hours to resolve with a normal 95% interval from the sum and sum of squares."""
    if n == 0:
        return Figure(value=None, low=None, high=None, n=0)
    mean = minutes / n
    if n < 2:
        return Figure(value=mean / 60, low=None, high=None, n=n)
    variance = max(0.0, (squares - n * mean * mean) / (n - 1))
    half = Z95 * sqrt(variance / n)
    return Figure(value=mean / 60, low=max(0.0, mean - half) / 60, high=(mean + half) / 60, n=n)


def figures_of(nps_sums: dict[str, int], case_sums: dict[str, int]) -> dict[str, Figure]:
    """A unit's figure per TargetMetric from its summed rollup counts (pure)."""
    counts = Counts(**{name: nps_sums.get(name, 0) for name in NPS_FIELDS})
    e = estimate(counts)
    c = dict.fromkeys(CASE_FIELDS, 0) | case_sums
    return {
        TargetMetric.NPS: Figure(
            value=e.nps,
            low=e.low if e.n else None,
            high=e.high if e.n else None,
            n=e.n,
        ),
        TargetMetric.DETRACTOR_SHARE: wilson_figure(counts.detractors, counts.n),
        TargetMetric.FIRST_CONTACT_SLA: wilson_figure(c["first_contact_in_sla"], c["opened"]),
        TargetMetric.RESOLUTION_HOURS: mean_hours_figure(
            c["resolution_minutes"], c["resolution_minutes_sq"], c["resolved"]
        ),
        TargetMetric.RECOVERY_RATE: wilson_figure(c["recovered"], c["verified"]),
    }


def unit_figures(*, unit_ids: list[int], start: date, end: date) -> dict[int, dict[str, Figure]]:
    """Per unit (its subtree summed) and per TargetMetric: value, 95% interval and n, for
    the local days start..end. Three queries, whatever the number of units."""
    tree = children_by_parent()
    below = {unit: units_below(unit, tree=tree) for unit in unit_ids}
    leaves = sorted({u for units in below.values() for u in units})
    f = Filters(start=start, end=end)
    answers = _rollup_by_unit(NpsDaily, NPS_FIELDS, f, leaves)
    cases = _rollup_by_unit(CaseDaily, CASE_FIELDS, f, leaves)
    return {
        unit: figures_of(
            _subtree_sum(answers, below[unit], NPS_FIELDS),
            _subtree_sum(cases, below[unit], CASE_FIELDS),
        )
        for unit in unit_ids
    }


def target_verdict(metric: str, target: float | None, figure: Figure) -> bool | None:
    """Met (True), missed (False) or can't tell (None): no target, fewer than min_sample()
    in the sample, no interval, or the target inside the 95% interval. The whole interval
    on the good side of the target (touching it counts) is met, on the bad side missed."""
    if target is None or figure.low is None or figure.high is None:
        return None
    if figure.n < min_sample():
        return None
    if HIGHER_IS_BETTER[TargetMetric(metric)]:
        return True if figure.low >= target else False if figure.high < target else None
    return True if figure.high <= target else False if figure.low > target else None


def targets_for(*, unit_ids: list[int], start: date, end: date) -> dict[tuple[int, str], float]:
    """(unit, metric) -> target value: the Target whose period covers the whole of
    [start, end]; of several, the shortest period (then the latest start). A unit without a
    covering target of its own has none (targets are split down the tree explicitly)."""
    rows = (
        Target.objects.filter(unit_id__in=unit_ids, period_start__lte=start, period_end__gte=end)
        .order_by("unit_id", "metric")
        .values_list("unit_id", "metric", "period_start", "period_end", "value")
    )
    chosen: dict[tuple[int, str], tuple[int, int, float]] = {}
    for unit, metric, first, last, value in rows:
        key = ((last - first).days, -first.toordinal(), value)
        if (unit, metric) not in chosen or key < chosen[(unit, metric)]:
            chosen[(unit, metric)] = key
    return {k: v[2] for k, v in chosen.items()}


def targets_against_results(*, unit_ids: list[int], start: date, end: date) -> list[TargetResult]:
    """Every (unit, metric) of `unit_ids`, in that order and TargetMetric order: the figure
    over start..end against the target covering that period (`targets_for`)."""
    figures = unit_figures(unit_ids=unit_ids, start=start, end=end)
    targets = targets_for(unit_ids=unit_ids, start=start, end=end)
    found = []
    for unit in unit_ids:
        for metric in METRICS:
            figure = figures[unit][metric]
            target = targets.get((unit, metric))
            found.append(
                TargetResult(
                    unit_id=unit,
                    metric=str(metric),
                    target=target,
                    value=figure.value,
                    low=figure.low,
                    high=figure.high,
                    n=figure.n,
                    met=target_verdict(metric, target, figure),
                )
            )
    return found


@dataclass(frozen=True)
class Ranked:
    result: TargetResult
    rank: int
    tied: bool  # another unit has the same rank

    @property
    def label(self) -> str:
        return f"={self.rank}" if self.tied else str(self.rank)


@dataclass(frozen=True)
class Ranking:
    ranked: list[Ranked]
    too_few: list[TargetResult]  # below min_sample() (or no interval): not ranked


def rank(results: Iterable[TargetResult], metric: str) -> Ranking:
    """Rank the units on `metric`: rank = 1 + the number of units whose whole 95% interval
    is better than this unit's whole interval (HIGHER_IS_BETTER: their low above this high;
    else their high below this low). Units whose intervals overlap are not told apart, so
    they can share a rank (shown "=2"); ordered by rank, then the better value. Units with
    fewer than min_sample() in the sample, or without an interval, are listed apart."""
    higher = HIGHER_IS_BETTER[TargetMetric(metric)]
    mine = [r for r in results if r.metric == metric]
    ok = [r for r in mine if r.n >= min_sample() and r.low is not None and r.high is not None]
    too_few = [r for r in mine if r not in ok]

    def better(a: TargetResult, b: TargetResult) -> bool:
        if higher:
            return (a.low or 0.0) > (b.high or 0.0)
        return (a.high or 0.0) < (b.low or 0.0)

    ranks = {id(r): 1 + sum(better(other, r) for other in ok) for r in ok}
    counts: dict[int, int] = defaultdict(int)
    for value in ranks.values():
        counts[value] += 1
    sign = -1 if higher else 1
    ordered = sorted(ok, key=lambda r: (ranks[id(r)], sign * (r.value or 0.0), r.unit_id))
    ranked = [Ranked(result=r, rank=ranks[id(r)], tied=counts[ranks[id(r)]] > 1) for r in ordered]
    return Ranking(ranked=ranked, too_few=too_few)
