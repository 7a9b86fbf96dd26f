"""Business hours: SLA clocks that run only while a team is open.

Pure functions, no ORM. A team is open on its working days, outside holidays, from
`day_start` to `day_end` local time in its own zone. Business time is real elapsed
time inside those windows: on a DST day a window is as long as the clock says it is
(08:00-20:00 is 12 hours either way, because the clocks change at night; a window
spanning the change is an hour shorter or longer). A window must not wrap midnight:
`day_end <= day_start` raises ValueError (no overnight teams yet).
"""

from collections.abc import Collection, Iterator
from datetime import UTC, date, datetime, time, timedelta
from typing import TypedDict
from zoneinfo import ZoneInfo


class Hours(TypedDict):
    """The keyword arguments that describe one team's business hours."""

    time_zone: str
    work_days: Collection[int]
    day_start: time
    day_end: time
    holidays: Collection[date]


def check_hours(*, work_days: Collection[int], day_start: time, day_end: time) -> None:
    """Raise ValueError unless the hours are a same-day window on at least one weekday."""
    if day_end <= day_start:
        raise ValueError(f"business hours must end after they start: {day_start}-{day_end}")
    if not work_days or not set(work_days) <= set(range(7)):
        raise ValueError(f"working days must be a non-empty subset of 0..6: {work_days!r}")


def _local_instant(day: date, at: time, zone: ZoneInfo) -> datetime:
    # Through UTC: a wall-clock time inside a DST gap lands just after it, and
    # differences between instants are real durations (same-zone aware arithmetic is not).
    return datetime.combine(day, at, tzinfo=zone).astimezone(UTC)


def _windows(
    since: datetime,
    *,
    time_zone: str,
    work_days: Collection[int],
    day_start: time,
    day_end: time,
    holidays: Collection[date],
) -> Iterator[tuple[datetime, datetime]]:
    """Open windows (UTC start, UTC end) from the local day of `since` onwards, forever."""
    check_hours(work_days=work_days, day_start=day_start, day_end=day_end)
    zone = ZoneInfo(time_zone)
    day = since.astimezone(zone).date()
    while True:
        if day.weekday() in work_days and day not in holidays:
            yield _local_instant(day, day_start, zone), _local_instant(day, day_end, zone)
        day += timedelta(days=1)


def add_business_hours(
    start_utc: datetime,
    hours: float,
    *,
    time_zone: str,
    work_days: Collection[int],
    day_start: time,
    day_end: time,
    holidays: Collection[date],
) -> datetime:
    """The instant (UTC) when `hours` of business time have elapsed since `start_utc`.

    Counting starts at `start_utc` if the team is open then, else at its next opening;
    a deadline that falls exactly at closing time stays there.
    """
    if hours < 0:
        raise ValueError("hours must not be negative")
    if start_utc.tzinfo is None:
        raise ValueError("start_utc must be an aware datetime")
    start = start_utc.astimezone(UTC)
    remaining = timedelta(hours=hours)
    for opens, closes in _windows(
        start,
        time_zone=time_zone,
        work_days=work_days,
        day_start=day_start,
        day_end=day_end,
        holidays=holidays,
    ):
        counting_from = max(start, opens)
        if counting_from >= closes:
            continue
        available = closes - counting_from
        if remaining <= available:
            return counting_from + remaining
        remaining -= available
    raise AssertionError("unreachable: the windows never end")  # pragma: no cover


def business_hours_between(
    a: datetime,
    b: datetime,
    *,
    time_zone: str,
    work_days: Collection[int],
    day_start: time,
    day_end: time,
    holidays: Collection[date],
) -> float:
    """Business hours elapsed from `a` to `b` (negative when `b` is earlier), for reporting."""
    if b < a:
        return -business_hours_between(
            b,
            a,
            time_zone=time_zone,
            work_days=work_days,
            day_start=day_start,
            day_end=day_end,
            holidays=holidays,
        )
    a, b = a.astimezone(UTC), b.astimezone(UTC)
    total = timedelta()
    for opens, closes in _windows(
        a,
        time_zone=time_zone,
        work_days=work_days,
        day_start=day_start,
        day_end=day_end,
        holidays=holidays,
    ):
        if opens >= b:
            break
        overlap = min(closes, b) - max(opens, a)
        total += max(overlap, timedelta())
    return total.total_seconds() / 3600
