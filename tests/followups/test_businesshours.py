from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from followups.businesshours import add_business_hours, business_hours_between, check_hours

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


# Monday to Friday nights, 20:00 to 08:00 the next morning, in Shanghai.
NIGHTS: dict[str, Any] = {**OFFICE, "day_start": time(20, 0), "day_end": time(8, 0)}
# Open around the clock (equal start and end: the whole day), in London (DST).
LONDON_24H: dict[str, Any] = {**LONDON_DAILY, "day_start": time(0, 0), "day_end": time(0, 0)}


def test_overnight_and_24_hour_windows_pass_validation() -> None:
    check_hours(work_days=[0, 1, 2, 3, 4], day_start=time(20, 0), day_end=time(8, 0))
    check_hours(work_days=range(7), day_start=time(0, 0), day_end=time(0, 0))
    with pytest.raises(ValueError, match="working days"):
        check_hours(work_days=[7], day_start=time(20, 0), day_end=time(8, 0))


def test_a_night_shift_counts_past_midnight_into_the_next_morning() -> None:
    monday_23 = shanghai(2026, 11, 23, 23, 0)
    assert add_business_hours(monday_23, 2, **NIGHTS) == shanghai(2026, 11, 24, 1, 0)
    # Monday 23:00 to Tuesday 08:00 is 9 hours; the 10th is Tuesday night at 21:00.
    assert add_business_hours(monday_23, 10, **NIGHTS) == shanghai(2026, 11, 24, 21, 0)


def test_a_case_opened_in_the_early_morning_counts_the_night_shift_still_running() -> None:
    # Friday's night runs into Saturday morning, though Saturday is not a working day.
    saturday_7 = shanghai(2026, 11, 28, 7, 0)
    assert add_business_hours(saturday_7, 0.5, **NIGHTS) == shanghai(2026, 11, 28, 7, 30)
    # One hour left on it; the next night opens on Monday at 20:00.
    assert add_business_hours(saturday_7, 2, **NIGHTS) == shanghai(2026, 11, 30, 21, 0)


def test_a_holiday_closes_the_night_shift_opening_that_day() -> None:
    nights = {**NIGHTS, "holidays": {date(2026, 11, 23)}}
    monday_21 = shanghai(2026, 11, 23, 21, 0)
    assert add_business_hours(monday_21, 1, **nights) == shanghai(2026, 11, 24, 21, 0)


def test_hours_between_count_across_midnight() -> None:
    monday_22, tuesday_2 = shanghai(2026, 11, 23, 22, 0), shanghai(2026, 11, 24, 2, 0)
    assert business_hours_between(monday_22, tuesday_2, **NIGHTS) == 4
    # Tuesday 02:00 to Wednesday 02:00: 6 hours until 08:00 and 6 from 20:00.
    wednesday_2 = shanghai(2026, 11, 25, 2, 0)
    assert business_hours_between(tuesday_2, wednesday_2, **NIGHTS) == 12


def test_a_24_hour_team_counts_every_real_hour_even_when_the_clocks_go_forward() -> None:
    # 29 March 2026: London skips 01:00-02:00; 24 real hours end at 13:00 on the clock.
    saturday_noon = london(2026, 3, 28, 12, 0)
    assert add_business_hours(saturday_noon, 24, **LONDON_24H) == london(2026, 3, 29, 13, 0)
    assert business_hours_between(saturday_noon, london(2026, 3, 30, 12, 0), **LONDON_24H) == 47


def test_a_london_night_shift_is_an_hour_shorter_when_the_clocks_go_forward() -> None:
    nights = {**LONDON_DAILY, "day_start": time(20, 0), "day_end": time(8, 0)}
    saturday_20 = london(2026, 3, 28, 20, 0)
    assert add_business_hours(saturday_20, 11, **nights) == london(2026, 3, 29, 8, 0)
    assert add_business_hours(saturday_20, 12, **nights) == london(2026, 3, 29, 21, 0)
    # ...and an hour longer when they go back (25 October 2026).
    autumn = london(2026, 10, 24, 20, 0)
    assert business_hours_between(autumn, london(2026, 10, 25, 8, 0), **nights) == 13


def test_a_make_up_working_day_opens_a_saturday() -> None:
    friday_17 = shanghai(2026, 11, 27, 17, 0)
    make_up = {**OFFICE, "extra_days": {date(2026, 11, 28): (time(9, 0), time(18, 0))}}
    assert add_business_hours(friday_17, 2, **make_up) == shanghai(2026, 11, 28, 10, 0)
    assert business_hours_between(friday_17, shanghai(2026, 11, 30, 10, 0), **make_up) == 11


def test_a_make_up_day_opening_while_a_night_shift_runs_is_not_counted_twice() -> None:
    # Friday night runs to Saturday 08:00; a make-up Saturday opens at 06:00.
    make_up = {**NIGHTS, "extra_days": {date(2026, 11, 28): (time(6, 0), time(12, 0))}}
    friday_20, saturday_12 = shanghai(2026, 11, 27, 20, 0), shanghai(2026, 11, 28, 12, 0)
    assert business_hours_between(friday_20, saturday_12, **make_up) == 16
    assert add_business_hours(friday_20, 16, **make_up) == saturday_12


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
    make_up = {
        date(2026, 3, 28): (time(10, 0), time(2, 0)),
        date(2026, 10, 25): (time(1, 0), time(1, 0)),
    }
    for hours in (
        OFFICE,
        {**LONDON_DAILY, "holidays": {date(2026, 12, 25)}},
        {**NIGHTS, "holidays": {date(2026, 5, 1)}, "extra_days": make_up},
        {**LONDON_24H, "work_days": [0, 1, 2, 3, 4], "extra_days": make_up},
    ):
        due = add_business_hours(start, minutes / 60, **hours)
        elapsed = business_hours_between(start, due, **hours)
        assert abs(elapsed * 60 - minutes) < 1e-6
        assert due >= start
        assert due - start >= timedelta(minutes=minutes)
