"""Business hours: SLA clocks that run only while a team is open.

Pure functions, no ORM. A team is open on its working days, outside holidays, from
`day_start` to `day_end` local time in its own zone. Business time is real elapsed
time inside those windows: on a DST day a window is as long as the clock says it is
(08:00-20:00 is 12 hours either way, because the clocks change at night; a window
spanning the change is an hour shorter or longer).

A window that ends at or before it starts ends the next day: 20:00-08:00 is a night
shift opening on each working day at 20:00 and closing the next morning; a window whose
start and end are equal lasts a whole day (00:00-00:00 on every day: open around the
clock). A window belongs to the day it opens on: a holiday on Friday closes Friday's
night shift, which would have run into Saturday morning.

The calendar also adds days: `extra_days` maps a date (a make-up working day, 调休,
usually a Saturday or Sunday) to the window the team is open that day, whatever the
weekday. Holidays win over extra days; callers resolve conflicts before (sla.team_hours).
"""

from collections.abc import Collection, Iterator, Mapping
from datetime import UTC, date, datetime, time, timedelta
from typing import NotRequired, TypedDict
from zoneinfo import ZoneInfo


class Hours(TypedDict):
    """The keyword arguments that describe one team's business hours."""

    time_zone: str
    work_days: Collection[int]
    day_start: time
    day_end: time
    holidays: Collection[date]
    extra_days: NotRequired[Mapping[date, tuple[time, time]]]


def check_hours(*, work_days: Collection[int], day_start: time, day_end: time) -> None:
    """Raise ValueError unless the hours have at least one weekday (0..6) and a window.

    Any start and end make a window (an end at or before the start is the next day's, an
    equal start and end the whole day); only a time zone offset (tzinfo) is refused.
    """
    if day_start.tzinfo is not None or day_end.tzinfo is not None:
        raise ValueError("business hours are local times without a time zone")
    if not work_days or not set(work_days) <= set(range(7)):
        raise ValueError(f"working days must be a non-empty subset of 0..6: {work_days!r}")


def _local_instant(day: date, at: time, zone: ZoneInfo) -> datetime:
    # Through UTC: a wall-clock time inside a DST gap lands just after it, and
    # differences between instants are real durations (same-zone aware arithmetic is not).
    return datetime.combine(day, at, tzinfo=zone).astimezone(UTC)


def _window(day: date, opens: time, closes: time, zone: ZoneInfo) -> tuple[datetime, datetime]:
    """The window opening on `day`: closing the next day when it ends at or before it opens."""
    closing_day = day + timedelta(days=1) if closes <= opens else day
    return _local_instant(day, opens, zone), _local_instant(closing_day, closes, zone)


def _windows(
    since: datetime,
    *,
    time_zone: str,
    work_days: Collection[int],
    day_start: time,
    day_end: time,
    holidays: Collection[date],
    extra_days: Mapping[date, tuple[time, time]] | None = None,
) -> Iterator[tuple[datetime, datetime]]:
    """Open windows (UTC start, UTC end), in order and never overlapping, from the local day
    before `since` (a night shift that opened yesterday may still be open) onwards, forever."""
    check_hours(work_days=work_days, day_start=day_start, day_end=day_end)
    extra_days = extra_days or {}
    zone = ZoneInfo(time_zone)
    day = since.astimezone(zone).date() - timedelta(days=1)
    previous_close: datetime | None = None
    while True:
        if day in holidays:
            hours = None
        elif day in extra_days:
            hours = extra_days[day]
        elif day.weekday() in work_days:
            hours = (day_start, day_end)
        else:
            hours = None
        if hours is not None:
            opens, closes = _window(day, *hours, zone)
            if previous_close is not None:
                # Yesterday's night shift still running when a make-up day opens early.
                opens = max(opens, previous_close)
            if opens < closes:
                yield opens, closes
                previous_close = closes
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
    extra_days: Mapping[date, tuple[time, time]] | None = None,
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
        extra_days=extra_days,
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
    extra_days: Mapping[date, tuple[time, time]] | None = None,
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
            extra_days=extra_days,
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
        extra_days=extra_days,
    ):
        if opens >= b:
            break
        overlap = min(closes, b) - max(opens, a)
        total += max(overlap, timedelta())
    return total.total_seconds() / 3600
