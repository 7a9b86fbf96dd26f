"""How a care campaign did against its control group: pure functions over answers.

A survey asks on one of two scales (Scale): NPS, 0-10, or the operators' satisfaction
score, 1-10, whose 100-point score is the answer times 10. Either way a "score" here is
answer * 10, in points out of 100, and the mean score is what the operators' table shows
before and after a campaign (nps_counts gives the NPS of 0-10 answers).

What the operators did not report, and these functions do:

- the difference-in-differences of the mean score, (after_t - before_t) - (after_c -
  before_c), treated (t) against control (c), with a Welch t interval (did_paired,
  did_unpaired, did_answers);
- the NPS change of the treated minus that of the control group (nps_effect);
- the difference in the rate at which members left the pool (exit_effect).

Every figure comes with its 95% interval and whether the interval excludes 0; a group
with fewer than MIN_ANSWERS answers (or members) gives None: too few to say.
"""

from collections.abc import Hashable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from math import inf, sqrt
from statistics import fmean, variance

from care.studentt import t_quantile, two_sided_p
from nps.reporting.contract import Counts
from nps.reporting.stats import Z95, Change, adjusted_variance, change, share
from surveys.models import Category, Scale

MIN_ANSWERS = 2


# What a scale is has one home, the survey's: surveys.models.Scale (imported above).
# NPS: 0-10, "how likely are you to recommend"; SATISFACTION: 1-10, the operators'
# 100-point satisfaction score / 10.


def answer_points(answer: int, scale: Scale) -> int:
    """One answer as a score out of 100 (answer * 10).

    Refuses what its scale does not allow with ValueError: 0 on the 1-10 satisfaction
    scale is not an answer (the reply parser asks again), and is neither dropped nor
    read as 1 here, since either would move the mean without anyone seeing it.
    """
    scale = Scale(scale)  # a stored value ("nps") reads as its member
    lowest = 1 if scale == Scale.SATISFACTION else 0
    if isinstance(answer, bool) or not isinstance(answer, int) or not lowest <= answer <= 10:
        raise ValueError(f"{answer!r} is not an answer on the {lowest}-10 {scale.value} scale")
    return answer * 10


def mean_score(answers: Iterable[int], scale: Scale) -> float | None:
    """The mean score out of 100 (the operators' "satisfaction"); None without answers."""
    points = [answer_points(answer, scale) for answer in answers]
    return fmean(points) if points else None


def nps_counts(answers: Iterable[int]) -> Counts:
    """Promoters, passives and detractors among 0-10 answers (Category.for_score)."""
    tally = dict.fromkeys(Category, 0)
    for answer in answers:
        tally[Category.for_score(answer_points(answer, Scale.NPS) // 10)] += 1
    return Counts(
        promoters=tally[Category.PROMOTER],
        passives=tally[Category.PASSIVE],
        detractors=tally[Category.DETRACTOR],
    )


@dataclass(frozen=True)
class OperatorRow:
    """One campaign as the operators report it (mean scores out of 100)."""

    covered: int  # treated customers: the segment less its control group
    participants: int
    satisfaction_before: float | None
    satisfaction_after: float | None

    @property
    def participation_rate(self) -> float | None:
        """Participants per customer covered, in percent."""
        return share(self.participants, self.covered)


def operator_row(
    *, covered: int, participants: int, before: Iterable[int], after: Iterable[int], scale: Scale
) -> OperatorRow:
    if not 0 <= participants <= covered:
        raise ValueError(f"{participants} participants of {covered} customers covered")
    return OperatorRow(
        covered=covered,
        participants=participants,
        satisfaction_before=mean_score(before, scale),
        satisfaction_after=mean_score(after, scale),
    )


@dataclass(frozen=True)
class MeanEffect:
    """A difference-in-differences of mean scores, in points, with its 95% interval."""

    estimate: float
    standard_error: float
    low: float
    high: float
    p_value: float  # two-sided
    df: float  # Welch-Satterthwaite degrees of freedom (inf when every group is constant)
    paired: bool
    n_treated_before: int
    n_treated_after: int
    n_control_before: int
    n_control_after: int

    @property
    def significant(self) -> bool:
        """The 95% interval excludes 0."""
        return self.low > 0 or self.high < 0


def _welch(terms: Sequence[tuple[int, Sequence[float]]], paired: bool) -> MeanEffect | None:
    """sum(sign * mean) over independent groups, SE = sqrt(sum(s**2 / n)), Welch df.

    terms are (sign, values) in the order treated (before, after), control (before,
    after); a paired DiD passes the treated and the control changes.
    """
    sizes = [len(values) for _, values in terms]
    if min(sizes) < MIN_ANSWERS:
        return None
    estimate = sum(sign * fmean(values) for sign, values in terms)
    parts = [(variance(values) / len(values), len(values)) for _, values in terms]
    spread = sum(part for part, _ in parts)
    error = sqrt(spread)
    if spread == 0:  # every answer alike within each group: the estimate has no spread
        low = high = estimate
        df, p_value = inf, 1.0 if estimate == 0 else 0.0
    else:
        df = spread**2 / sum(part**2 / (n - 1) for part, n in parts)
        half = t_quantile(1 - 0.05 / 2, df) * error
        low, high, p_value = estimate - half, estimate + half, two_sided_p(estimate / error, df)
    if paired:
        sizes = [sizes[0], sizes[0], sizes[1], sizes[1]]
    return MeanEffect(estimate, error, low, high, p_value, df, paired, *sizes)


def did_paired(
    *, treated: Sequence[tuple[float, float]], control: Sequence[tuple[float, float]]
) -> MeanEffect | None:
    """DiD from (before, after) scores of the same customers: mean change t - mean change c.

    Welch's two-sample t on the per-customer changes: SE = sqrt(s_t**2/n_t + s_c**2/n_c),
    df by Welch-Satterthwaite. None when a group has fewer than MIN_ANSWERS customers.
    """
    changes_t = [after - before for before, after in treated]
    changes_c = [after - before for before, after in control]
    return _welch([(1, changes_t), (-1, changes_c)], paired=True)


def did_unpaired(
    *,
    treated: tuple[Sequence[float], Sequence[float]],
    control: tuple[Sequence[float], Sequence[float]],
) -> MeanEffect | None:
    """DiD from four independent groups of scores, each group given as (before, after).

    SE = sqrt of the sum of the four s**2 / n; df by Welch-Satterthwaite over the four,
    (sum of s**2/n)**2 / sum((s**2/n)**2 / (n - 1)). None when a group has fewer than
    MIN_ANSWERS answers.
    """
    (before_t, after_t), (before_c, after_c) = treated, control
    return _welch([(-1, before_t), (1, after_t), (1, before_c), (-1, after_c)], paired=False)


Answers = Mapping[Hashable, int]  # customer id -> answer


def did_answers(
    *, scale: Scale, treated: tuple[Answers, Answers], control: tuple[Answers, Answers]
) -> MeanEffect | None:
    """DiD from (before, after) answers by customer id: paired when, in both groups, the
    customers who answered after are those who answered before; unpaired if not."""

    def scores(answers: Answers) -> list[float]:
        return [answer_points(answer, scale) for answer in answers.values()]

    def pairs(before: Answers, after: Answers) -> list[tuple[float, float]]:
        return [(answer_points(before[c], scale), answer_points(after[c], scale)) for c in before]

    (before_t, after_t), (before_c, after_c) = treated, control
    if before_t.keys() == after_t.keys() and before_c.keys() == after_c.keys():
        return did_paired(treated=pairs(before_t, after_t), control=pairs(before_c, after_c))
    return did_unpaired(
        treated=(scores(before_t), scores(after_t)), control=(scores(before_c), scores(after_c))
    )


@dataclass(frozen=True)
class NpsEffect:
    """The NPS change (after - before) of each group, and treated minus control."""

    treated: Change
    control: Change
    # Its margin: 1.96 * sqrt of the four adjusted-Wald variances (the groups taken as
    # independent; for the same customers answering twice this is on the wide side).
    difference: Change


def nps_effect(
    *, treated: tuple[Counts, Counts], control: tuple[Counts, Counts]
) -> NpsEffect | None:
    """The NPS change of the treated minus that of the control, each given (before, after)."""
    if min(counts.n for counts in (*treated, *control)) < MIN_ANSWERS:
        return None
    change_t, change_c = change(treated[1], treated[0]), change(control[1], control[0])
    if change_t is None or change_c is None:
        return None
    spread = sqrt(sum(adjusted_variance(counts) for counts in (*treated, *control)))
    difference = Change(points=change_t.points - change_c.points, moe=Z95 * spread * 100)
    return NpsEffect(treated=change_t, control=change_c, difference=difference)


def wilson(successes: int, n: int) -> tuple[float, float]:
    """The 95% Wilson score interval of successes / n, as proportions (n > 0)."""
    p, z2 = successes / n, Z95 * Z95
    centre = (p + z2 / (2 * n)) / (1 + z2 / n)
    half = Z95 / (1 + z2 / n) * sqrt(p * (1 - p) / n + z2 / (4 * n * n))
    return max(0.0, centre - half), min(1.0, centre + half)


@dataclass(frozen=True)
class ExitEffect:
    """Pool exit rates in percent, treated minus control, with Newcombe's 95% interval."""

    treated_exits: int
    treated_members: int
    control_exits: int
    control_members: int
    low: float  # percentage points
    high: float

    @property
    def treated_rate(self) -> float:
        return 100 * self.treated_exits / self.treated_members

    @property
    def control_rate(self) -> float:
        return 100 * self.control_exits / self.control_members

    @property
    def difference(self) -> float:
        return self.treated_rate - self.control_rate

    @property
    def significant(self) -> bool:
        """The 95% interval excludes 0."""
        return self.low > 0 or self.high < 0


def exit_effect(*, treated: tuple[int, int], control: tuple[int, int]) -> ExitEffect | None:
    """Members who left the pool (with the reason counted by the caller) per member, each
    group given as (exits, members); None when a group has fewer than MIN_ANSWERS members.

    The interval is Newcombe's hybrid score interval (1998, method 10): it combines the two
    Wilson intervals, stays inside [-100, 100] and keeps its coverage for rates near 0,
    where the Wald interval (p1 - p2 +- 1.96 * SE) is too narrow or crosses the bounds.
    """
    for exits, members in (treated, control):
        if not 0 <= exits <= members:
            raise ValueError(f"{exits} exits of {members} members")
    if min(treated[1], control[1]) < MIN_ANSWERS:
        return None
    (p1, n1), (p2, n2) = ((e / m, m) for e, m in (treated, control))
    (l1, u1), (l2, u2) = wilson(treated[0], n1), wilson(control[0], n2)
    d = p1 - p2
    low = d - sqrt((p1 - l1) ** 2 + (u2 - p2) ** 2)
    high = d + sqrt((u1 - p1) ** 2 + (p2 - l2) ** 2)
    return ExitEffect(*treated, *control, low=100 * low, high=100 * high)
