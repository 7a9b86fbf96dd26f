"""Student's t without SciPy: printed table values and the closed forms for 1, 2 and 4 df."""

from math import atan, pi, sqrt

import pytest

from care.studentt import incomplete_beta, t_quantile, two_sided_p


@pytest.mark.parametrize(
    ("df", "printed"),
    [(1, 12.706), (2, 4.303), (4, 2.776), (10, 2.228), (16, 2.120), (30, 2.042), (120, 1.980)],
)
def test_t_quantile_matches_the_printed_table(df: int, printed: float) -> None:
    # The two-sided 5% column of a t table (three decimals).
    assert t_quantile(0.975, df) == pytest.approx(printed, abs=5e-4)


def test_t_quantile_tends_to_the_normal_for_large_df() -> None:
    assert t_quantile(0.975, 1000) == pytest.approx(1.962, abs=5e-4)
    assert t_quantile(0.975, 1_000_000) == pytest.approx(1.959966, abs=1e-6)
    assert t_quantile(0.975, 1e9) == pytest.approx(1.959964, abs=1e-6)  # normal branch


@pytest.mark.parametrize("t", [0.1, 0.5, 1.0, 2.0, 3.674, 10.0, 100.0])
def test_two_sided_p_matches_the_closed_forms(t: float) -> None:
    # df = 1 (Cauchy): P(|T| > t) = 1 - 2 atan(t) / pi.
    assert two_sided_p(t, 1) == pytest.approx(1 - 2 * atan(t) / pi, rel=1e-10)
    # df = 2: P(|T| > t) = 1 - t / sqrt(2 + t^2).
    assert two_sided_p(t, 2) == pytest.approx(1 - t / sqrt(2 + t * t), rel=1e-10)
    # df = 4: F(t) = 1/2 + 3/8 * u * (1 - u^2 / 12), u = t / sqrt(1 + t^2 / 4).
    u = t / sqrt(1 + t * t / 4)
    assert two_sided_p(t, 4) == pytest.approx(2 * (0.5 - 3 / 8 * u * (1 - u * u / 12)), rel=1e-9)


def test_t_quantile_at_one_and_two_df_matches_the_closed_forms() -> None:
    # df = 1: tan(pi * (p - 1/2)); df = 2: (2p - 1) / sqrt(2 p (1 - p)).
    assert t_quantile(0.975, 1) == pytest.approx(12.7062047362, rel=1e-10)
    assert t_quantile(0.9, 2) == pytest.approx(0.8 / sqrt(2 * 0.9 * 0.1), rel=1e-10)


def test_t_quantile_inverts_the_tail_at_fractional_df() -> None:
    # Welch-Satterthwaite gives fractional df: 3.857 lies between the table's 3 and 4.
    q = t_quantile(0.975, 3.857)
    assert 2.776 < q < 3.182
    assert two_sided_p(q, 3.857) == pytest.approx(0.05, rel=1e-9)


def test_t_quantile_is_symmetric_about_zero() -> None:
    assert t_quantile(0.5, 7) == 0
    assert t_quantile(0.025, 10) == pytest.approx(-t_quantile(0.975, 10))


def test_the_p_value_of_no_difference_is_one_and_of_an_infinite_t_zero() -> None:
    assert two_sided_p(0.0, 5) == 1
    assert two_sided_p(float("inf"), 5) == 0


def test_incomplete_beta_of_one_and_one_is_x() -> None:
    # I_x(1, 1) is the uniform distribution's CDF; I_x(a, b) = 1 - I_(1-x)(b, a).
    assert incomplete_beta(1, 1, 0.3) == pytest.approx(0.3)
    assert incomplete_beta(2.5, 0.5, 0.9) == pytest.approx(1 - incomplete_beta(0.5, 2.5, 0.1))


@pytest.mark.parametrize(("p", "df"), [(0.0, 5), (1.0, 5), (0.975, 0), (0.975, -1)])
def test_impossible_arguments_are_refused(p: float, df: float) -> None:
    with pytest.raises(ValueError, match="need"):
        t_quantile(p, df)
