"""Quiet hours: when a message may be sent, in the customer's own time zone."""

from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo


def in_quiet_hours(local: time, start: time, end: time) -> bool:
    if start == end:
        return False
    if start < end:
        return start <= local < end
    return local >= start or local < end  # the window wraps midnight


def next_allowed_send(at: datetime, *, tz: str, quiet_start: time, quiet_end: time) -> datetime:
    """The first instant at or after `at` outside quiet hours (returned in `at`'s zone)."""
    zone = ZoneInfo(tz)
    local = at.astimezone(zone)
    if not in_quiet_hours(local.time(), quiet_start, quiet_end):
        return at
    day = local.date()
    if local.time() >= quiet_end and quiet_start > quiet_end:
        day += timedelta(days=1)  # evening part of a window that ends tomorrow morning
    # Build the wall-clock end time, then normalise through UTC so a DST gap moves it forward.
    end_local = datetime.combine(day, quiet_end, tzinfo=zone)
    return end_local.astimezone(ZoneInfo("UTC")).astimezone(at.tzinfo)
