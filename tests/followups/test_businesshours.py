from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from followups.businesshours import add_business_hours, business_hours_between

SHANGHAI = ZoneInfo("Asia/Shanghai")
LONDON = ZoneInfo("Europe/London")
# Monday to Friday, 09:00-18:00 in Shanghai.
OFFICE: dict[str, Any] = {
    "time_zone": "Asia/Shanghai",
    "work_days": [0, 1, 2, 3, 4],
    "day_start": time(9, 0),
    "day_end": time(18, 0),
    "holidays": set(),
}
# Every day, 08:00-20:00 in London.
LONDON_DAILY: dict[str, Any] = {
    "time_zone": "Europe/London",
    "work_days": range(7),
    "day_start": time(8, 0),
    "day_end": time(20, 0),
    "holidays": set(),
}


def shanghai(*args: int) -> datetime:
    return datetime(*args, tzinfo=SHANGHAI)  # type: ignore[misc]


def london(*args: int) -> datetime:
    return datetime(*args, tzinfo=LONDON)  # type: ignore[misc]


def test_hours_within_one_day_end_the_same_day() -> None:
    monday_10 = shanghai(2026, 11, 23, 10, 0)
    assert add_business_hours(monday_10, 2, **OFFICE) == shanghai(2026, 11, 23, 12, 0)


def test_the_result_is_in_utc() -> None:
    due = add_business_hours(shanghai(2026, 11, 23, 10, 0), 2, **OFFICE)
    assert due.tzinfo == UTC
    assert due == datetime(2026, 11, 23, 4, 0, tzinfo=UTC)


def test_hours_left_at_closing_continue_at_the_next_opening() -> None:
    monday_17 = shanghai(2026, 11, 23, 17, 0)
    assert add_business_hours(monday_17, 3, **OFFICE) == shanghai(2026, 11, 24, 11, 0)


def test_a_deadline_exactly_at_closing_stays_at_closing() -> None:
    monday_16 = shanghai(2026, 11, 23, 16, 0)
    assert add_business_hours(monday_16, 2, **OFFICE) == shanghai(2026, 11, 23, 18, 0)


def test_the_weekend_is_skipped() -> None:
    friday_17 = shanghai(2026, 11, 27, 17, 0)
    assert add_business_hours(friday_17, 2, **OFFICE) == shanghai(2026, 11, 30, 10, 0)


def test_a_holiday_is_skipped() -> None:
    monday_17 = shanghai(2026, 11, 23, 17, 0)
    office = {**OFFICE, "holidays": {date(2026, 11, 24)}}
    assert add_business_hours(monday_17, 2, **office) == shanghai(2026, 11, 25, 10, 0)


def test_a_start_before_opening_counts_from_the_opening() -> None:
    monday_6 = shanghai(2026, 11, 23, 6, 0)
    assert add_business_hours(monday_6, 1, **OFFICE) == shanghai(2026, 11, 23, 10, 0)


def test_a_start_on_a_saturday_counts_from_monday_morning() -> None:
    saturday = shanghai(2026, 11, 28, 11, 0)
    assert add_business_hours(saturday, 1, **OFFICE) == shanghai(2026, 11, 30, 10, 0)


def test_zero_hours_outside_opening_hours_is_the_next_opening() -> None:
    evening = shanghai(2026, 11, 23, 21, 0)
    assert add_business_hours(evening, 0, **OFFICE) == shanghai(2026, 11, 24, 9, 0)


def test_spring_forward_keeps_the_local_opening_time() -> None:
    # The UK moves to BST on Sunday 29 March 2026: Sunday 09:00 local is 08:00 UTC.
    saturday_19 = london(2026, 3, 28, 19, 0)
    assert add_business_hours(saturday_19, 2, **LONDON_DAILY) == datetime(
        2026, 3, 29, 8, 0, tzinfo=UTC
    )


def test_fall_back_keeps_the_local_opening_time() -> None:
    # Back to GMT on Sunday 25 October 2026: Sunday 09:00 local is 09:00 UTC.
    saturday_19 = london(2026, 10, 24, 19, 0)
    assert add_business_hours(saturday_19, 2, **LONDON_DAILY) == datetime(
        2026, 10, 25, 9, 0, tzinfo=UTC
    )


def test_a_window_spanning_the_clock_change_is_an_hour_shorter() -> None:
    # 00:00-23:00 on 29 March is 22 real hours; the 23rd hour is taken on Monday.
    nearly_all_day = {**LONDON_DAILY, "day_start": time(0, 0), "day_end": time(23, 0)}
    sunday_0 = london(2026, 3, 29, 0, 0)
    assert add_business_hours(sunday_0, 23, **nearly_all_day) == london(2026, 3, 30, 1, 0)


def test_hours_that_end_after_midnight_are_rejected() -> None:
    overnight = {**OFFICE, "day_start": time(22, 0), "day_end": time(6, 0)}
    with pytest.raises(ValueError, match="end after they start"):
        add_business_hours(shanghai(2026, 11, 23, 10, 0), 1, **overnight)


def test_a_team_without_working_days_is_rejected() -> None:
    with pytest.raises(ValueError, match="working days"):
        add_business_hours(shanghai(2026, 11, 23, 10, 0), 1, **{**OFFICE, "work_days": []})


def test_hours_between_counts_only_opening_hours() -> None:
    friday_17, monday_10 = shanghai(2026, 11, 27, 17, 0), shanghai(2026, 11, 30, 10, 0)
    assert business_hours_between(friday_17, monday_10, **OFFICE) == 2
    assert business_hours_between(monday_10, friday_17, **OFFICE) == -2


@settings(max_examples=200, deadline=None)
@given(
    seconds=st.integers(min_value=0, max_value=2 * 365 * 24 * 3600),
    minutes=st.integers(min_value=0, max_value=200 * 60),
)
def test_hours_between_a_start_and_its_deadline_are_the_hours_added(
    seconds: int, minutes: int
) -> None:
    start = datetime(2026, 1, 1, tzinfo=UTC) + timedelta(seconds=seconds)
    for hours in (OFFICE, {**LONDON_DAILY, "holidays": {date(2026, 12, 25)}}):
        due = add_business_hours(start, minutes / 60, **hours)
        elapsed = business_hours_between(start, due, **hours)
        assert abs(elapsed * 60 - minutes) < 1e-6
        assert due >= start
        assert due - start >= timedelta(minutes=minutes)
