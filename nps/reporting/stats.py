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
variances) when |NPS1 - NPS2| > 1.96 * sqrt(variance1 + variance2) * 100;
`change_p_value` gives the same test's p-value, for a confidence other than 95%.

Shares (a reason's detractors among all answers, the first contacts within SLA): the
Wilson score interval (`share_interval`), and the pooled two-proportion z test
(`shares_p_value`) for "did the share change between two periods".
"""

from dataclasses import dataclass
from math import erfc, sqrt

import numpy as np
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


def normal_tail(z: float) -> float:
    """P(Z > z) for a standard normal Z."""
    return 0.5 * erfc(z / sqrt(2))


def change_p_value(current: Counts, previous: Counts, *, sided: str = "two") -> float | None:
    """p-value of the NPS change (the z test of `change`); sided "two", "down" (H1: the NPS
    fell) or "up". None when either period has no answers."""
    now, before = nps(current), nps(previous)
    if now is None or before is None:
        return None
    z = (now - before) / (sqrt(adjusted_variance(current) + adjusted_variance(previous)) * 100)
    return _p_of(z, sided)


def _p_of(z: float, sided: str) -> float:
    return float(_p_of_each(np.array([z], dtype=float), sided)[0])


_ERFC = np.frompyfunc(erfc, 1, 1)


def _p_of_each(z: np.ndarray, sided: str) -> np.ndarray:
    """The p-value of each z (standard normal), as _p_of, over an array."""
    if sided == "two":
        z = np.abs(z)
    elif sided == "down":
        z = -z
    elif sided != "up":
        raise ValueError(f"sided must be two, up or down, not {sided!r}")
    tail = 0.5 * np.asarray(_ERFC(z / sqrt(2)), dtype=float)  # P(Z > z)
    return np.minimum(1.0, 2 * tail) if sided == "two" else tail


def shares_p_value(
    part: int, whole: int, part_before: int, whole_before: int, *, sided: str = "two"
) -> float | None:
    """p-value of the pooled two-proportion z test of part/whole against
    part_before/whole_before; sided "up" (H1: the share rose), "down" or "two". None when
    either whole is 0; 1.0 when both shares are 0 or both 1 (nothing can differ)."""
    if whole == 0 or whole_before == 0:
        return None
    return float(shares_p_values(
        np.array([part]), np.array([whole]), np.array([part_before]), np.array([whole_before]),
        sided=sided,
    )[0])  # fmt: skip


def shares_p_values(
    part: np.ndarray,
    whole: np.ndarray,
    part_before: np.ndarray,
    whole_before: np.ndarray,
    *,
    sided: str = "two",
) -> np.ndarray:
    """shares_p_value for arrays of counts (every whole above 0): one test per element, as
    an alert rule judges thousands of places at once."""
    part, whole = part.astype(float), whole.astype(float)
    part_before, whole_before = part_before.astype(float), whole_before.astype(float)
    pooled = (part + part_before) / (whole + whole_before)
    spread = np.sqrt(pooled * (1 - pooled) * (1 / whole + 1 / whole_before))
    differ = spread > 0
    z = np.zeros_like(spread)
    z[differ] = (part / whole - part_before / whole_before)[differ] / spread[differ]
    return np.where(differ, _p_of_each(z, sided), 1.0)


def share_interval(part: int, whole: int, *, z: float = Z95) -> tuple[float, float] | None:
    """The Wilson score interval of part/whole, in percent; None when whole is 0."""
    if whole == 0:
        return None
    p = part / whole
    centre = (p + z * z / (2 * whole)) / (1 + z * z / whole)
    half = z * sqrt(p * (1 - p) / whole + z * z / (4 * whole * whole)) / (1 + z * z / whole)
    return (100 * max(0.0, centre - half), 100 * min(1.0, centre + half))
