"""Student's t distribution without SciPy: the two-sided p-value and the quantile.

The campaign evaluation needs t quantiles at fractional degrees of freedom (Welch-
Satterthwaite), so a table will not do. Both functions rest on the regularized
incomplete beta function:

    P(|T| > t) = I_x(df / 2, 1 / 2),  x = df / (df + t**2)

I_x(a, b) is evaluated by its continued fraction (modified Lentz, Numerical Recipes
section 6.4), accurate to about 1e-12; the quantile inverts the tail by bisection.
Above NORMAL_DF degrees of freedom the normal distribution is used instead (the two
quantiles differ by less than 1e-6 there). Checked against printed t tables and the
closed forms for 1, 2 and 4 degrees of freedom in tests/care/test_studentt.py.
"""

from math import erfc, exp, inf, isnan, lgamma, log, sqrt

NORMAL_DF = 1e7
_EPS = 1e-14
_TINY = 1e-300
_MAX_TERMS = 100_000


def _beta_fraction(a: float, b: float, x: float) -> float:
    """The continued fraction of I_x(a, b), for x < (a + 1) / (a + b + 2)."""
    qab, qap, qam = a + b, a + 1, a - 1
    c, d = 1.0, 1 - qab * x / qap
    d = 1 / (d if abs(d) > _TINY else _TINY)
    h = d
    for m in range(1, _MAX_TERMS):
        m2 = 2 * m
        for aa in (
            m * (b - m) * x / ((qam + m2) * (a + m2)),
            -(a + m) * (qab + m) * x / ((a + m2) * (qap + m2)),
        ):
            d = 1 + aa * d
            d = 1 / (d if abs(d) > _TINY else _TINY)
            c = 1 + aa / c
            c = c if abs(c) > _TINY else _TINY
            h *= d * c
        if abs(d * c - 1) < _EPS:
            return h
    raise ArithmeticError("the incomplete beta fraction did not converge")


def incomplete_beta(a: float, b: float, x: float) -> float:
    """The regularized incomplete beta function I_x(a, b), for a, b > 0 and 0 <= x <= 1."""
    if x <= 0:
        return 0.0
    if x >= 1:
        return 1.0
    front = exp(lgamma(a + b) - lgamma(a) - lgamma(b) + a * log(x) + b * log(1 - x))
    if x < (a + 1) / (a + b + 2):
        return front * _beta_fraction(a, b, x) / a
    # The fraction converges fast only on this side; the other by I_x(a, b) = 1 - I_1-x(b, a).
    return 1 - front * _beta_fraction(b, a, 1 - x) / b


def two_sided_p(t: float, df: float) -> float:
    """P(|T| > |t|) for Student's t with df degrees of freedom (df may be fractional or inf)."""
    if df <= 0 or isnan(df) or isnan(t):
        raise ValueError(f"need df > 0 and a number t, got t={t}, df={df}")
    if t in (inf, -inf):
        return 0.0
    if df > NORMAL_DF:
        return erfc(abs(t) / sqrt(2))
    return incomplete_beta(df / 2, 0.5, df / (df + t * t))


def t_quantile(p: float, df: float) -> float:
    """The t with P(T <= t) = p, for 0 < p < 1 (t_quantile(0.975, 10) = 2.228)."""
    if not 0 < p < 1:
        raise ValueError(f"need 0 < p < 1, got {p}")
    if p == 0.5:
        return 0.0
    if p < 0.5:
        return -t_quantile(1 - p, df)
    tail = 2 * (1 - p)  # P(|T| > t) at the quantile sought
    low, high = 0.0, 1.0
    while two_sided_p(high, df) > tail:
        low, high = high, high * 2
    # Bisection: the tail falls monotonically in t; stop at relative precision 1e-12.
    while high - low > 1e-12 * high:
        middle = (low + high) / 2
        if two_sided_p(middle, df) > tail:
            low = middle
        else:
            high = middle
    return (low + high) / 2
