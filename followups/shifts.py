"""Agents' shifts: is someone working at a given instant, by the clock of their own zone.

Pure functions, no ORM. A shift runs from `shift_start` to `shift_end` local time on each
working day (0 = Monday … 6 = Sunday); equal start and end mean all day. A shift that
wraps midnight (22:00-06:00) belongs to the day it starts: Friday's night shift runs on
into Saturday morning even when Saturday is not a working day, and Monday's early hours
are free when Sunday is. Wall-clock times are compared, so on a DST day a shift is as
long as the clock says.
"""

from collections.abc import Collection
from datetime import datetime, time
from typing import Protocol
from zoneinfo import ZoneInfo


def is_working(
    now_utc: datetime,
    *,
    time_zone: str,
    work_days: Collection[int],
    shift_start: time,
    shift_end: time,
) -> bool:
    """Whether `now_utc` falls inside a shift, read in `time_zone` (shift_end excluded)."""
    if now_utc.tzinfo is None:
        raise ValueError("now_utc must be an aware datetime")
    local = now_utc.astimezone(ZoneInfo(time_zone))
    clock, today, yesterday = local.time(), local.weekday(), (local.weekday() - 1) % 7
    if shift_start == shift_end:
        return today in work_days
    if shift_start < shift_end:
        return today in work_days and shift_start <= clock < shift_end
    if clock >= shift_start:  # the evening part of tonight's shift
        return today in work_days
    return clock < shift_end and yesterday in work_days  # the tail of last night's shift


class Shift(Protocol):
    @property
    def time_zone(self) -> str: ...
    @property
    def work_days(self) -> Collection[int]: ...
    @property
    def shift_start(self) -> time: ...
    @property
    def shift_end(self) -> time: ...


def on_shift(who: Shift, now_utc: datetime) -> bool:
    """is_working for anything that carries a shift (an Agent)."""
    return is_working(
        now_utc,
        time_zone=who.time_zone,
        work_days=who.work_days,
        shift_start=who.shift_start,
        shift_end=who.shift_end,
    )
