from datetime import UTC, datetime, time

import pytest
import time_machine

from followups.shifts import is_working

WEEKDAYS = [0, 1, 2, 3, 4]  # Monday to Friday


def working_at(moment: str, **shift: object) -> bool:
    """Whether the shift is on at `moment` (ISO, with offset), read from the travelled clock."""
    shift = {"time_zone": "Asia/Shanghai", "work_days": WEEKDAYS} | shift
    with time_machine.travel(datetime.fromisoformat(moment), tick=False):
        return is_working(datetime.now(UTC), **shift)  # type: ignore[arg-type]


DAY = {"shift_start": time(9, 0), "shift_end": time(18, 0)}
NIGHT = {"shift_start": time(22, 0), "shift_end": time(6, 0)}
ALL_DAY = {"shift_start": time(0, 0), "shift_end": time(0, 0)}


@pytest.mark.parametrize(
    ("moment", "working"),
    [
        ("2026-11-20T00:59:00+00:00", False),  # Friday 08:59 in Shanghai
        ("2026-11-20T01:00:00+00:00", True),  # 09:00: the shift starts
        ("2026-11-20T09:59:00+00:00", True),
        ("2026-11-20T10:00:00+00:00", False),  # 18:00: the end is excluded
    ],
)
def test_a_day_shift_runs_from_start_to_end_in_the_agents_zone(moment: str, working: bool) -> None:
    assert working_at(moment, **DAY) is working


def test_the_same_instant_is_inside_one_zones_shift_and_outside_anothers() -> None:
    moment = "2026-11-20T12:00:00+00:00"  # Friday noon in London, 20:00 in Shanghai
    assert working_at(moment, time_zone="Europe/London", **DAY)
    assert not working_at(moment, time_zone="Asia/Shanghai", **DAY)


def test_the_working_day_is_the_agents_local_day_not_the_utc_day() -> None:
    # Sunday 23:30 UTC is Monday 07:30 in Shanghai.
    early = {"shift_start": time(7, 0), "shift_end": time(15, 0)}
    assert working_at("2026-11-22T23:30:00+00:00", **early)


def test_a_shift_follows_the_local_clock_across_daylight_saving() -> None:
    new_york = {"time_zone": "America/New_York", **DAY}
    assert not working_at("2026-03-06T13:30:00+00:00", **new_york)  # 08:30 EST
    assert working_at("2026-03-09T13:30:00+00:00", **new_york)  # 09:30 EDT


@pytest.mark.parametrize(
    ("moment", "working"),
    [
        ("2026-11-20T23:00:00+08:00", True),  # Friday night: Friday's shift
        ("2026-11-21T03:00:00+08:00", True),  # Saturday early: still Friday's shift
        ("2026-11-21T06:00:00+08:00", False),  # it ends at 06:00
        ("2026-11-21T23:00:00+08:00", False),  # Saturday night: no shift starts
        ("2026-11-23T03:00:00+08:00", False),  # Monday early: Sunday had no shift
        ("2026-11-23T12:00:00+08:00", False),  # between two night shifts
        ("2026-11-23T22:00:00+08:00", True),  # Monday's shift starts
    ],
)
def test_a_shift_wrapping_midnight_belongs_to_the_day_it_starts(moment: str, working: bool) -> None:
    assert working_at(moment, **NIGHT) is working


@pytest.mark.parametrize(
    ("moment", "working"),
    [
        ("2026-11-20T00:00:00+08:00", True),  # Friday from midnight
        ("2026-11-20T23:59:00+08:00", True),
        ("2026-11-21T12:00:00+08:00", False),  # Saturday is not a working day
    ],
)
def test_equal_start_and_end_mean_all_day_on_working_days(moment: str, working: bool) -> None:
    assert working_at(moment, **ALL_DAY) is working


def test_no_working_days_means_never_working() -> None:
    assert not working_at("2026-11-20T12:00:00+08:00", work_days=[], **ALL_DAY)


def test_a_naive_instant_is_refused() -> None:
    with pytest.raises(ValueError, match="aware"):
        is_working(datetime(2026, 11, 20, 12), time_zone="UTC", work_days=WEEKDAYS, **DAY)  # noqa: DTZ001
