"""Local days of the reporting zone (settings.NPS_REPORTING_TIME_ZONE): the dashboard's
unit of time, for the rollups and the filters alike."""

from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from django.conf import settings
from django.utils import timezone


def reporting_zone() -> ZoneInfo:
    return ZoneInfo(settings.NPS_REPORTING_TIME_ZONE)


def day_bounds(start: date, end: date | None = None) -> tuple[datetime, datetime]:
    """[local midnight of start, local midnight after end) as aware datetimes."""
    zone = reporting_zone()
    end = start if end is None else end
    return (
        datetime.combine(start, time.min, tzinfo=zone),
        datetime.combine(end + timedelta(days=1), time.min, tzinfo=zone),
    )


def local_today() -> date:
    return timezone.localtime(timezone.now(), reporting_zone()).date()


def days_between(start: date, end: date) -> list[date]:
    return [start + timedelta(days=n) for n in range((end - start).days + 1)]
