from datetime import UTC, datetime, timedelta

import pytest

from surveys.eligibility import sample_draw, suppress_reason
from surveys.models import SuppressReason

NOW = datetime(2026, 11, 20, 8, 0, tzinfo=UTC)


def reason(**overrides: object) -> SuppressReason | None:
    facts: dict[str, object] = {
        "opted_out": False,
        "is_mobile": True,
        "last_surveyed_at": None,
        "now": NOW,
        "fatigue_days": 30,
        "sampling_rate": 1.0,
        "draw": 0.5,
    }
    return suppress_reason(**(facts | overrides))  # type: ignore[arg-type]


def test_an_eligible_customer_has_no_reason() -> None:
    assert reason() is None


@pytest.mark.parametrize(
    ("overrides", "expected"),
    [
        ({"opted_out": True}, SuppressReason.OPTED_OUT),
        ({"is_mobile": False}, SuppressReason.INVALID_NUMBER),
        ({"last_surveyed_at": NOW - timedelta(days=29)}, SuppressReason.FATIGUE),
        ({"sampling_rate": 0.3, "draw": 0.31}, SuppressReason.SAMPLED_OUT),
        # the first reason that applies wins: opt-out outranks everything
        ({"opted_out": True, "is_mobile": False, "draw": 0.99, "sampling_rate": 0.1}, "opted_out"),
    ],
)
def test_each_reason(overrides: dict[str, object], expected: str) -> None:
    assert reason(**overrides) == expected


def test_fatigue_window_ends_after_its_days() -> None:
    assert reason(last_surveyed_at=NOW - timedelta(days=30)) is None


def test_sampling_is_stable_and_roughly_proportional() -> None:
    draws = [sample_draw(f"CRM-{n}") for n in range(10_000)]
    assert draws[:50] == [sample_draw(f"CRM-{n}") for n in range(50)]
    share = sum(d < 0.25 for d in draws) / len(draws)
    assert 0.23 < share < 0.27


@pytest.mark.parametrize(
    ("age", "expected"),
    [
        (timedelta(hours=72), None),  # exactly the maximum age is still surveyed
        (timedelta(hours=72, seconds=1), SuppressReason.TOO_OLD),
        (timedelta(days=365 * 126), SuppressReason.TOO_OLD),  # 1900
        (timedelta(minutes=-5), None),  # a little ahead: the CRM's clock
    ],
)
def test_an_interaction_older_than_the_maximum_age_is_too_old(
    age: timedelta, expected: SuppressReason | None
) -> None:
    assert reason(occurred_at=NOW - age, max_age_hours=72) == expected


def test_too_old_outranks_the_do_not_disturb_rules_but_not_opt_out() -> None:
    old = {"occurred_at": NOW - timedelta(days=3, hours=1), "max_age_hours": 72}
    assert reason(**old, last_surveyed_at=NOW, draw=0.99) == SuppressReason.TOO_OLD
    assert reason(**old, opted_out=True) == SuppressReason.OPTED_OUT
