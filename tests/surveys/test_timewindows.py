from datetime import UTC, datetime, time

import pytest

from surveys.timewindows import next_allowed_send

EVENING, MORNING = time(21, 0), time(9, 0)


def local_send(utc: datetime, tz: str = "Asia/Shanghai") -> datetime:
    return next_allowed_send(utc, tz=tz, quiet_start=EVENING, quiet_end=MORNING)


@pytest.mark.parametrize(
    ("utc", "expected_utc"),
    [
        # 10:00 Shanghai: allowed now
        (datetime(2026, 11, 20, 2, 0, tzinfo=UTC), datetime(2026, 11, 20, 2, 0, tzinfo=UTC)),
        # 20:59 Shanghai: last allowed minute
        (datetime(2026, 11, 20, 12, 59, tzinfo=UTC), datetime(2026, 11, 20, 12, 59, tzinfo=UTC)),
        # 21:00 Shanghai: quiet -> 09:00 next day (01:00 UTC)
        (datetime(2026, 11, 20, 13, 0, tzinfo=UTC), datetime(2026, 11, 21, 1, 0, tzinfo=UTC)),
        # 02:00 Shanghai: quiet -> 09:00 the same day
        (datetime(2026, 11, 20, 18, 0, tzinfo=UTC), datetime(2026, 11, 21, 1, 0, tzinfo=UTC)),
        # 09:00 Shanghai sharp: allowed
        (datetime(2026, 11, 21, 1, 0, tzinfo=UTC), datetime(2026, 11, 21, 1, 0, tzinfo=UTC)),
    ],
)
def test_quiet_hours_defer_to_the_next_allowed_local_time(
    utc: datetime, expected_utc: datetime
) -> None:
    """Fault 9 at the boundary minutes. Catches an off-by-one (21:00 allowed, 09:00 not)
    and comparing UTC times with local quiet hours."""
    assert local_send(utc) == expected_utc


def test_the_customers_zone_decides_not_the_servers() -> None:
    # 22:00 UTC is 06:00 in Shanghai (quiet) but 17:00 in Bogota (allowed)
    at = datetime(2026, 11, 20, 22, 0, tzinfo=UTC)
    assert local_send(at, "America/Bogota") == at
    assert local_send(at) == datetime(2026, 11, 21, 1, 0, tzinfo=UTC)


def test_quiet_end_after_a_daylight_saving_change_uses_the_new_offset() -> None:
    """Fault 9 across DST. Catches adding the wall-clock gap to the time in the old
    offset (that lands at 10:00 local, or at 08:00 in autumn: inside quiet hours)."""
    # Europe/London springs forward on 2026-03-29; 09:00 local is then 08:00 UTC
    at = datetime(2026, 3, 28, 23, 30, tzinfo=UTC)
    assert local_send(at, "Europe/London") == datetime(2026, 3, 29, 8, 0, tzinfo=UTC)


def test_equal_start_and_end_means_no_quiet_hours() -> None:
    at = datetime(2026, 11, 20, 18, 0, tzinfo=UTC)
    assert next_allowed_send(at, tz="Asia/Shanghai", quiet_start=MORNING, quiet_end=MORNING) == at


def test_quiet_end_after_the_autumn_change_is_not_an_hour_early() -> None:
    """Fault 9, autumn: America/New_York falls back on 2026-11-01 at 02:00 EDT. At 01:30
    EDT the next allowed time is 09:00 EST (14:00 UTC); keeping the EDT offset would give
    13:00 UTC, which is 08:00 local: inside quiet hours."""
    at = datetime(2026, 11, 1, 5, 30, tzinfo=UTC)  # 01:30 EDT, the first of two 01:30s
    assert local_send(at, "America/New_York") == datetime(2026, 11, 1, 14, 0, tzinfo=UTC)
    again = datetime(2026, 11, 1, 6, 30, tzinfo=UTC)  # 01:30 EST, the second one
    assert local_send(again, "America/New_York") == datetime(2026, 11, 1, 14, 0, tzinfo=UTC)
