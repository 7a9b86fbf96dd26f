"""NPS, its adjusted-Wald margin of error and the significance of a change, on known values."""

from math import isclose, sqrt

import pytest

from nps.reporting.contract import Counts
from nps.reporting.stats import Estimate, change, estimate, margin_of_error, min_sample, nps


def test_nps_is_promoter_share_minus_detractor_share_in_points() -> None:
    assert nps(Counts(promoters=50, passives=30, detractors=20)) == 30
    assert nps(Counts(promoters=0, passives=0, detractors=7)) == -100


def test_nps_without_answers_is_none() -> None:
    assert nps(Counts()) is None


def test_margin_of_error_matches_the_adjusted_wald_formula_by_hand() -> None:
    # 50 promoters, 30 passives, 20 detractors: n' = 103, p' = 50.75/103, d' = 20.75/103.
    p, d = 50.75 / 103, 20.75 / 103
    by_hand = 1.96 * sqrt((p + d - (p - d) ** 2) / 103) * 100
    assert isclose(by_hand, 15.075, abs_tol=0.001)
    assert isclose(margin_of_error(Counts(50, 30, 20)), by_hand)


def test_margin_of_error_of_a_small_sample_by_hand() -> None:
    # 3 promoters, 1 passive, 1 detractor: n' = 8, p' = 3.75/8, d' = 1.75/8.
    p, d = 3.75 / 8, 1.75 / 8
    assert isclose(margin_of_error(Counts(3, 1, 1)), 1.96 * sqrt((p + d - (p - d) ** 2) / 8) * 100)
    assert isclose(margin_of_error(Counts(3, 1, 1)), 54.784, abs_tol=0.001)


def test_margin_of_error_is_defined_without_answers() -> None:
    # n' = 3, p' = d' = 0.25: variance (0.5 - 0) / 3.
    assert isclose(margin_of_error(Counts()), 1.96 * sqrt(0.5 / 3) * 100)


def test_margin_of_error_shrinks_as_the_sample_grows() -> None:
    margins = [margin_of_error(Counts(5 * k, 3 * k, 2 * k)) for k in (1, 10, 100, 1000)]
    assert margins == sorted(margins, reverse=True)
    assert margins[-1] < 2


def test_margin_of_error_is_symmetric_between_promoters_and_detractors() -> None:
    assert isclose(margin_of_error(Counts(40, 10, 5)), margin_of_error(Counts(5, 10, 40)))
    assert nps(Counts(40, 10, 5)) == -nps(Counts(5, 10, 40))  # type: ignore[operator]


def test_all_passives_still_have_a_margin() -> None:
    assert margin_of_error(Counts(0, 100, 0)) > 0


def test_change_is_significant_when_beyond_the_combined_margin() -> None:
    now, before = Counts(600, 200, 200), Counts(400, 200, 400)  # NPS 40 against 0
    n = 1003
    p1, d1, p2, d2 = 600.75 / n, 200.75 / n, 400.75 / n, 400.75 / n
    var1 = (p1 + d1 - (p1 - d1) ** 2) / n
    var2 = (p2 + d2 - (p2 - d2) ** 2) / n
    found = change(now, before)
    assert found is not None
    assert found.points == 40
    assert isclose(found.moe, 1.96 * sqrt(var1 + var2) * 100)
    assert found.significant


def test_change_within_the_margin_is_not_significant() -> None:
    found = change(Counts(12, 5, 8), Counts(10, 5, 10))  # NPS 16 against 0, n = 25 each
    assert found is not None
    assert found.points == 16
    assert found.moe > 16
    assert not found.significant


def test_change_needs_answers_in_both_periods() -> None:
    assert change(Counts(1, 0, 0), Counts()) is None


def test_estimate_below_the_minimum_sample_is_insufficient() -> None:
    assert not Estimate(Counts(10, 1, 1), minimum=30).sufficient
    assert Estimate(Counts(20, 5, 5), minimum=30).sufficient
    assert not Estimate(Counts(), minimum=0).sufficient


def test_estimate_shares_sum_to_a_hundred() -> None:
    e = Estimate(Counts(3, 1, 1), minimum=1)
    assert (e.promoters_share, e.passives_share, e.detractors_share) == (60, 20, 20)


def test_interval_is_clipped_to_the_scale() -> None:
    e = Estimate(Counts(5, 0, 0), minimum=1)
    assert e.high == 100
    assert e.low == pytest.approx(100 - e.moe)


def test_minimum_sample_comes_from_settings(settings: pytest.FixtureRequest) -> None:
    assert min_sample() == 30
    settings.NPS_DASHBOARD_MIN_SAMPLE = 5  # type: ignore[attr-defined]
    assert estimate(Counts(3, 1, 1)).sufficient


# ---- shares and p-values: known values (hand-worked; statsmodels' proportions_ztest and
# proportion_confint(method="wilson") give the same figures)


def test_two_proportion_test_of_a_known_example() -> None:
    # 30/200 against 15/200: pooled p = 45/400 = 0.1125; se = sqrt(.1125*.8875*(2/200))
    # = 0.031598; z = 0.075/0.031598 = 2.3736; two-sided p = 0.01762, one-sided 0.00881.
    from nps.reporting.stats import shares_p_value

    assert isclose(shares_p_value(30, 200, 15, 200) or 0, 0.01762, abs_tol=5e-5)
    assert isclose(shares_p_value(30, 200, 15, 200, sided="up") or 0, 0.00881, abs_tol=5e-5)
    assert isclose(shares_p_value(30, 200, 15, 200, sided="down") or 0, 0.99119, abs_tol=5e-5)
    assert shares_p_value(0, 50, 0, 80) == 1.0
    assert shares_p_value(3, 0, 1, 10) is None


def test_wilson_interval_of_a_known_example() -> None:
    # 15 of 50: p = .3, z = 1.96: centre (0.3 + 0.038416)/1.076832 = 0.31427;
    # half 1.96*sqrt(.0042 + .00038416)/1.076832 = 0.12323 -> 19.10% .. 43.75%.
    from nps.reporting.stats import share_interval

    low, high = share_interval(15, 50) or (0, 0)
    assert isclose(low, 19.10, abs_tol=0.01)
    assert isclose(high, 43.75, abs_tol=0.01)
    assert share_interval(0, 0) is None
    low0, high0 = share_interval(0, 20) or (1, 1)
    assert low0 == 0.0
    assert 0 < high0 < 20


def test_nps_change_p_value_agrees_with_the_95_percent_margin() -> None:
    from nps.reporting.stats import change_p_value

    before, now = Counts(120, 40, 40), Counts(90, 50, 60)  # NPS 40 -> 15
    p = change_p_value(now, before) or 1
    found = change(now, before)
    assert found is not None
    assert (p < 0.05) == found.significant
    assert isclose(change_p_value(now, before, sided="down") or 0, p / 2, rel_tol=1e-9)
    assert change_p_value(Counts(), before) is None


def test_shares_p_values_over_arrays_equal_the_single_tests() -> None:
    import numpy as np

    from nps.reporting.stats import shares_p_value, shares_p_values

    cases = [(30, 200, 15, 200), (0, 50, 0, 80), (50, 50, 80, 80), (3, 40, 9, 41), (7, 9, 1, 30)]
    part, whole, part_before, whole_before = (np.array(c) for c in zip(*cases, strict=True))
    for sided in ("two", "up", "down"):
        found = shares_p_values(part, whole, part_before, whole_before, sided=sided)
        one_by_one = [shares_p_value(*case, sided=sided) for case in cases]
        assert found.tolist() == one_by_one
    assert shares_p_values(part, whole, part_before, whole_before, sided="up")[0] == (
        pytest.approx(0.00881, abs=5e-5)
    )
