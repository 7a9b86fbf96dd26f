"""The period a report covers, in local days (settings.NPS_REPORTING_TIME_ZONE).

- daily: one day (the report of day D is due once D is over, after REPORT_DAILY_HOUR);
- ten-day (旬): the 1st-10th (上旬), 11th-20th (中旬), 21st-end of month (下旬);
- monthly: the calendar month.
"""

import calendar
from dataclasses import dataclass
from datetime import date, timedelta

from nps.models import ReportCadence


@dataclass(frozen=True)
class Period:
    cadence: str
    start: date
    end: date  # inclusive

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1


def _month_end(day: date) -> date:
    return day.replace(day=calendar.monthrange(day.year, day.month)[1])


def period_containing(cadence: str, day: date) -> Period:
    """The period of `cadence` that holds `day`."""
    if cadence == ReportCadence.DAILY:
        return Period(cadence, day, day)
    if cadence == ReportCadence.TEN_DAY:
        if day.day <= 10:
            return Period(cadence, day.replace(day=1), day.replace(day=10))
        if day.day <= 20:
            return Period(cadence, day.replace(day=11), day.replace(day=20))
        return Period(cadence, day.replace(day=21), _month_end(day))
    if cadence == ReportCadence.MONTHLY:
        return Period(cadence, day.replace(day=1), _month_end(day))
    raise ValueError(f"unknown cadence {cadence!r}")


def period_before(period: Period) -> Period:
    """The period of the same cadence just before (the comparison in the report)."""
    return period_containing(period.cadence, period.start - timedelta(days=1))


def last_complete(cadence: str, today: date) -> Period:
    """The latest period of `cadence` that ended before `today` (a local date)."""
    period = period_containing(cadence, today - timedelta(days=1))
    return period if period.end < today else period_before(period)


def ten_day_part(period: Period) -> int:
    """1, 2 or 3: 上旬, 中旬 or 下旬."""
    return min(3, (period.start.day - 1) // 10 + 1)
