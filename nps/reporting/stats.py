"""NPS arithmetic: the score, its 95% margin of error, and whether a change is real.

Pure functions over nps.reporting.contract.Counts; only min_sample() reads settings.

NPS = 100 * (promoters - detractors) / n, in points from -100 to 100.

Margin of error (adjusted Wald, 95%): add 3 to n and 0.75 to the promoter and detractor
counts, which keeps the interval sensible for small samples and extreme shares:

    n' = n + 3
    p' = (promoters + 0.75) / n'
    d' = (detractors + 0.75) / n'
    variance = (p' + d' - (p' - d')**2) / n'
    moe = 1.96 * sqrt(variance) * 100

A change between two periods is significant (two-sample z test on the adjusted
variances) when |NPS1 - NPS2| > 1.96 * sqrt(variance1 + variance2) * 100.
"""

from dataclasses import dataclass
from math import sqrt

from django.conf import settings

from nps.reporting.contract import Counts

Z95 = 1.96


def nps(counts: Counts) -> float | None:
    """The NPS in points (-100..100); None without answers."""
    if counts.n == 0:
        return None
    return 100 * (counts.promoters - counts.detractors) / counts.n


def adjusted_variance(counts: Counts) -> float:
    """Variance of the adjusted-Wald NPS estimate, as a proportion (not points)."""
    n = counts.n + 3
    p = (counts.promoters + 0.75) / n
    d = (counts.detractors + 0.75) / n
    return (p + d - (p - d) ** 2) / n


def margin_of_error(counts: Counts) -> float:
    """Half-width of the 95% adjusted-Wald interval, in NPS points."""
    return Z95 * sqrt(adjusted_variance(counts)) * 100


def share(part: int, whole: int) -> float | None:
    """part / whole in percent; None when whole is 0."""
    return 100 * part / whole if whole else None


def min_sample() -> int:
    return settings.NPS_DASHBOARD_MIN_SAMPLE


@dataclass(frozen=True)
class Estimate:
    """One NPS figure ready to show: the counts, the score and its margin, if enough data."""

    counts: Counts
    minimum: int

    @property
    def n(self) -> int:
        return self.counts.n

    @property
    def sufficient(self) -> bool:
        return self.n > 0 and self.n >= self.minimum

    @property
    def nps(self) -> float | None:
        return nps(self.counts)

    @property
    def moe(self) -> float:
        return margin_of_error(self.counts)

    @property
    def low(self) -> float:
        return max(-100.0, (self.nps or 0.0) - self.moe)

    @property
    def high(self) -> float:
        return min(100.0, (self.nps or 0.0) + self.moe)

    @property
    def promoters_share(self) -> float | None:
        return share(self.counts.promoters, self.n)

    @property
    def passives_share(self) -> float | None:
        return share(self.counts.passives, self.n)

    @property
    def detractors_share(self) -> float | None:
        return share(self.counts.detractors, self.n)


def estimate(counts: Counts, *, minimum: int | None = None) -> Estimate:
    return Estimate(counts=counts, minimum=min_sample() if minimum is None else minimum)


@dataclass(frozen=True)
class Change:
    """NPS now minus NPS before, with the 95% margin of that difference."""

    points: float
    moe: float

    @property
    def significant(self) -> bool:
        return abs(self.points) > self.moe


def change(current: Counts, previous: Counts) -> Change | None:
    """The difference between two periods; None when either has no answers."""
    now, before = nps(current), nps(previous)
    if now is None or before is None:
        return None
    spread = Z95 * sqrt(adjusted_variance(current) + adjusted_variance(previous)) * 100
    return Change(points=now - before, moe=spread)
