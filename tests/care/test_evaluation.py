"""A campaign against its control group, on examples worked by hand."""

from math import sqrt

import pytest

from care.evaluation import (
    Scale,
    answer_points,
    did_answers,
    did_paired,
    did_unpaired,
    exit_effect,
    mean_score,
    nps_counts,
    nps_effect,
    operator_row,
    wilson,
)
from nps.reporting.contract import Counts

# t quantiles (two-sided 5%) from a printed table.
T_4, T_16 = 2.776, 2.120


def test_a_satisfaction_answer_is_worth_ten_points_an_nps_answer_too() -> None:
    assert answer_points(1, Scale.SATISFACTION) == 10
    assert answer_points(10, Scale.SATISFACTION) == 100
    assert answer_points(0, Scale.NPS) == 0


@pytest.mark.parametrize(
    ("answer", "scale"),
    [(0, Scale.SATISFACTION), (11, Scale.SATISFACTION), (-1, Scale.NPS), (True, Scale.NPS)],
)
def test_an_answer_outside_its_scale_is_refused_not_dropped(answer: int, scale: Scale) -> None:
    # 0 on the 1-10 scale is not read as 1 nor skipped: either would move the mean unseen.
    with pytest.raises(ValueError, match="is not an answer"):
        mean_score([8, answer], scale)


def test_the_mean_score_is_the_mean_answer_times_ten() -> None:
    # (7 + 8 + 8) * 10 / 3 = 76.67
    assert mean_score([7, 8, 8], Scale.SATISFACTION) == pytest.approx(76.6667, abs=1e-4)
    assert mean_score([], Scale.SATISFACTION) is None


def test_nps_counts_use_the_categories_of_the_surveys() -> None:
    assert nps_counts([0, 6, 7, 8, 9, 10]) == Counts(promoters=2, passives=2, detractors=2)
    with pytest.raises(ValueError, match="is not an answer"):
        nps_counts([11])


@pytest.mark.parametrize(
    ("covered", "participants", "published_rate"),
    [  # The operator's campaigns (in units of 10,000 customers): covered, participants, rate.
        (380_000, 72_000, 19),  # tariff-sensitive
        (180_000, 59_000, 33),  # hotline-channel preference
        (1_500_000, 360_000, 24),  # active mobile internet users
        (300_000, 33_000, 11),  # website-channel preference
        (125_000, 20_000, 16),  # explicitly dissatisfied
    ],
)
def test_participation_rate_is_participants_per_customer_covered_as_the_operator_reports(
    covered: int, participants: int, published_rate: int
) -> None:
    row = operator_row(
        covered=covered, participants=participants, before=[], after=[], scale=Scale.SATISFACTION
    )
    assert row.participation_rate is not None
    assert round(row.participation_rate) == published_rate


def test_the_operator_row_shows_satisfaction_before_and_after() -> None:
    # before (6 + 7 + 7) * 10 / 3 = 66.67, after (8 + 7 + 8) * 10 / 3 = 76.67
    row = operator_row(
        covered=200, participants=40, before=[6, 7, 7], after=[8, 7, 8], scale=Scale.SATISFACTION
    )
    assert row.participation_rate == 20
    assert row.satisfaction_before == pytest.approx(66.667, abs=1e-3)
    assert row.satisfaction_after == pytest.approx(76.667, abs=1e-3)


def test_more_participants_than_customers_covered_is_refused() -> None:
    with pytest.raises(ValueError, match="participants"):
        operator_row(covered=10, participants=11, before=[], after=[], scale=Scale.NPS)


def test_paired_did_that_excludes_zero() -> None:
    # Treated 60->80, 60->90, 50->90: changes 20, 30, 40, mean 30, s^2 = 100.
    # Control 70->60, 60->60, 50->60: changes -10, 0, 10, mean 0, s^2 = 100.
    # DiD = 30 - 0 = 30; SE = sqrt(100/3 + 100/3) = 8.165;
    # df = (200/3)^2 / ((100/3)^2/2 + (100/3)^2/2) = 4; 30 +- 2.776 * 8.165 = (7.33, 52.67).
    effect = did_paired(
        treated=[(60, 80), (60, 90), (50, 90)], control=[(70, 60), (60, 60), (50, 60)]
    )
    assert effect is not None
    assert effect.estimate == pytest.approx(30)
    assert effect.standard_error == pytest.approx(sqrt(200 / 3))
    assert effect.df == pytest.approx(4)
    assert (effect.low, effect.high) == pytest.approx((7.33, 52.67), abs=0.01)
    assert effect.significant
    assert effect.paired
    assert (effect.n_treated_before, effect.n_control_after) == (3, 3)
    # t = 30 / 8.165 = 3.674 at 4 df: F = 1/2 + 3/8 u (1 - u^2/12), u = t / sqrt(1 + t^2/4).
    t = 30 / sqrt(200 / 3)
    u = t / sqrt(1 + t * t / 4)
    assert effect.p_value == pytest.approx(2 * (0.5 - 3 / 8 * u * (1 - u * u / 12)))
    assert effect.p_value == pytest.approx(0.0213, abs=1e-4)


def test_paired_did_whose_interval_includes_zero_is_not_significant() -> None:
    # Treated changes 0, 10, 20 (mean 10, s^2 = 100); control -10, 0, 10 as above.
    # DiD = 10, SE = 8.165, df = 4: 10 +- 22.67 = (-12.67, 32.67).
    effect = did_paired(
        treated=[(60, 60), (60, 70), (50, 70)], control=[(70, 60), (60, 60), (50, 60)]
    )
    assert effect is not None
    assert effect.estimate == pytest.approx(10)
    assert (effect.low, effect.high) == pytest.approx(
        (10 - T_4 * 8.165, 10 + T_4 * 8.165), abs=0.01
    )
    assert not effect.significant
    assert effect.p_value > 0.05


def test_paired_did_of_unequal_groups_uses_welch_satterthwaite_df() -> None:
    # Treated changes 0, 10, 20, 30, 40: mean 20, s^2 = 250, s^2/n = 50.
    # Control changes 0, 20: mean 10, s^2 = 200, s^2/n = 100.
    # DiD = 10, SE = sqrt(150) = 12.247; df = 150^2 / (50^2/4 + 100^2/1) = 2.1176 (pooled: 5).
    # Between the table's 2 and 3 df: half-width between 3.182 * SE and 4.303 * SE;
    # Welch's t test of SciPy on these changes gives (-39.988, 59.988), p = 0.4958.
    effect = did_paired(
        treated=[(50, 50), (50, 60), (50, 70), (50, 80), (50, 90)], control=[(60, 60), (60, 80)]
    )
    assert effect is not None
    assert (effect.estimate, effect.standard_error) == pytest.approx((10, sqrt(150)))
    assert effect.df == pytest.approx(22500 / 10625)
    assert 3.182 * sqrt(150) < effect.high - 10 < 4.303 * sqrt(150)
    assert (effect.low, effect.high) == pytest.approx((-39.988, 59.988), abs=1e-3)
    assert effect.p_value == pytest.approx(0.4958, abs=1e-4)
    assert (effect.n_treated_after, effect.n_control_before) == (5, 2)


def test_unpaired_did_of_four_independent_groups() -> None:
    # Each group of 5 has s^2 = (100 + 0 + 100 + 0 + 0) / 4 = 50, so s^2/n = 10.
    # Means: treated 60 -> 90, control 60 -> 70: DiD = (90 - 60) - (70 - 60) = 20.
    # SE = sqrt(4 * 10) = 6.325; df = 40^2 / (4 * 10^2 / 4) = 16; 20 +- 2.120 * 6.325.
    effect = did_unpaired(
        treated=([50, 60, 70, 60, 60], [80, 90, 100, 90, 90]),
        control=([50, 60, 70, 60, 60], [60, 70, 80, 70, 70]),
    )
    assert effect is not None
    assert effect.estimate == pytest.approx(20)
    assert effect.standard_error == pytest.approx(sqrt(40))
    assert effect.df == pytest.approx(16)
    assert (effect.low, effect.high) == pytest.approx(
        (20 - T_16 * sqrt(40), 20 + T_16 * sqrt(40)), abs=0.01
    )
    assert effect.significant
    assert not effect.paired


def test_unpaired_did_of_small_groups_is_not_significant() -> None:
    # Pairs with s^2 = 200: treated 70 -> 90, control 70 -> 80: DiD = 10;
    # SE = sqrt(4 * 200 / 2) = 20; df = 400^2 / (4 * 100^2) = 4; 10 +- 2.776 * 20.
    effect = did_unpaired(treated=([60, 80], [80, 100]), control=([60, 80], [70, 90]))
    assert effect is not None
    assert (effect.estimate, effect.standard_error, effect.df) == pytest.approx((10, 20, 4))
    assert (effect.low, effect.high) == pytest.approx((10 - T_4 * 20, 10 + T_4 * 20), abs=0.02)
    assert not effect.significant


def test_a_control_group_that_improves_more_gives_a_negative_effect() -> None:
    effect = did_unpaired(
        treated=([50, 60, 70, 60, 60], [60, 70, 80, 70, 70]),
        control=([50, 60, 70, 60, 60], [80, 90, 100, 90, 90]),
    )
    assert effect is not None
    assert effect.estimate == pytest.approx(-20)
    assert effect.high < 0
    assert effect.significant


def test_a_group_with_fewer_than_two_answers_gives_no_effect() -> None:
    assert did_paired(treated=[(60, 80)], control=[(60, 60), (70, 70)]) is None
    assert did_unpaired(treated=([60, 70], [80, 90]), control=([60, 70], [80])) is None


def test_groups_without_spread_give_an_interval_of_one_point() -> None:
    # Every treated customer gains 20, every control customer 0: no doubt left.
    effect = did_paired(treated=[(60, 80), (50, 70)], control=[(60, 60), (70, 70)])
    assert effect is not None
    assert (effect.estimate, effect.low, effect.high, effect.p_value) == (20, 20, 20, 0)
    assert effect.significant
    same = did_paired(treated=[(60, 60), (50, 50)], control=[(60, 60), (70, 70)])
    assert same is not None
    assert (same.estimate, same.p_value, same.significant) == (0, 1, False)


def test_answers_of_the_same_customers_before_and_after_are_paired() -> None:
    # Satisfaction answers (1-10): treated 6->8, 6->9, 5->9; control 7->6, 6->6, 5->6:
    # the paired example above in points.
    effect = did_answers(
        scale=Scale.SATISFACTION,
        treated=({"a": 6, "b": 6, "c": 5}, {"c": 9, "a": 8, "b": 9}),
        control=({"d": 7, "e": 6, "f": 5}, {"d": 6, "e": 6, "f": 6}),
    )
    assert effect is not None
    assert effect.paired
    assert (effect.estimate, effect.df) == pytest.approx((30, 4))
    assert effect.low == pytest.approx(7.33, abs=0.01)


def test_answers_of_other_customers_after_are_taken_as_independent_groups() -> None:
    # Customer "g" answered only after: the unpaired DiD of the four groups' means,
    # treated (8 + 9 + 9 + 10)/4 * 10 - 56.67 = 90 - 56.67, control 60 - 60: 33.33.
    effect = did_answers(
        scale=Scale.SATISFACTION,
        treated=({"a": 6, "b": 6, "c": 5}, {"c": 9, "a": 8, "b": 9, "g": 10}),
        control=({"d": 7, "e": 6, "f": 5}, {"d": 6, "e": 6, "f": 6}),
    )
    assert effect is not None
    assert not effect.paired
    assert effect.estimate == pytest.approx(90 - 170 / 3)
    assert (effect.n_treated_before, effect.n_treated_after) == (3, 4)


def test_nps_effect_with_its_margin_from_four_adjusted_variances() -> None:
    # Treated (promoters, passives, detractors) 1,2,7 -> 5,3,2: NPS -60 -> +30, +90.
    # Control 1,2,7 -> 2,3,5: -60 -> -30, +30. Difference 90 - 30 = 60.
    # Adjusted variances (n' = 13): 1,2,7: p' = 1.75/13, d' = 7.75/13,
    # (9.5/13 - (6/13)^2) / 13 = 0.039827; 5,3,2 and 2,3,5: (8.5/13 - (3/13)^2) / 13 = 0.046199.
    # Margin 1.96 * sqrt(2 * 0.039827 + 2 * 0.046199) * 100 = 81.30 > 60: not significant.
    before, treated_after, control_after = Counts(1, 2, 7), Counts(5, 3, 2), Counts(2, 3, 5)
    effect = nps_effect(treated=(before, treated_after), control=(before, control_after))
    assert effect is not None
    assert (effect.treated.points, effect.control.points) == pytest.approx((90, 30))
    assert effect.difference.points == pytest.approx(60)
    assert effect.difference.moe == pytest.approx(81.30, abs=0.01)
    assert not effect.difference.significant


def test_nps_effect_of_ten_times_the_answers_is_significant() -> None:
    # n' = 103: 10,20,70: (81.5/103 - (60/103)^2) / 103 = 0.0043877;
    # 50,30,20 and 20,30,50: (71.5/103 - (30/103)^2) / 103 = 0.0059159;
    # margin 1.96 * sqrt(2 * 0.0043877 + 2 * 0.0059159) * 100 = 28.14 < 60.
    before = Counts(10, 20, 70)
    effect = nps_effect(treated=(before, Counts(50, 30, 20)), control=(before, Counts(20, 30, 50)))
    assert effect is not None
    assert effect.difference.moe == pytest.approx(28.14, abs=0.01)
    assert effect.difference.significant


def test_nps_effect_needs_two_answers_in_every_group() -> None:
    assert (
        nps_effect(treated=(Counts(1, 0, 0), Counts(5, 0, 0)), control=(Counts(3), Counts(3)))
        is None
    )


def test_wilson_interval_of_a_published_example() -> None:
    # Newcombe (1998): 81/263 -> 0.2553 to 0.3662.
    assert wilson(81, 263) == pytest.approx((0.2553, 0.3662), abs=1e-4)


def test_exit_rate_difference_with_newcombes_interval() -> None:
    # Newcombe (1998), method 10: 56/70 - 48/80 = 0.2, interval 0.0524 to 0.3339.
    # By hand: Wilson 56/70 = (0.69183, 0.87695), 48/80 = (0.49045, 0.70038);
    # low = 0.2 - sqrt(0.10817^2 + 0.10038^2) = 0.05243,
    # high = 0.2 + sqrt(0.07695^2 + 0.10955^2) = 0.33388.
    effect = exit_effect(treated=(56, 70), control=(48, 80))
    assert effect is not None
    assert (effect.treated_rate, effect.control_rate, effect.difference) == pytest.approx(
        (80, 60, 20)
    )
    assert (effect.low, effect.high) == pytest.approx((5.24, 33.39), abs=0.01)
    assert effect.significant
    # Method 10 again: 9/10 - 3/10, interval 0.1705 to 0.8090.
    small = exit_effect(treated=(9, 10), control=(3, 10))
    assert small is not None
    assert (small.low, small.high) == pytest.approx((17.05, 80.90), abs=0.01)


def test_exit_rates_that_differ_by_chance_are_not_significant() -> None:
    effect = exit_effect(treated=(6, 50), control=(4, 50))
    assert effect is not None
    assert effect.difference == pytest.approx(4)
    assert effect.low < 0 < effect.high
    assert not effect.significant


def test_exit_rate_needs_two_members_per_group_and_possible_counts() -> None:
    assert exit_effect(treated=(1, 1), control=(3, 10)) is None
    with pytest.raises(ValueError, match="exits of"):
        exit_effect(treated=(11, 10), control=(3, 10))
