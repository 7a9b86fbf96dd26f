"""SLA: when a case must be first contacted and resolved, and when it is in breach.

Targets come from settings.NPS_SLA_TARGETS (hours per priority) and are counted in the
business hours of the case's team (its zone, working days, hours, its own and global
holidays). The due times are stored on the case; nothing waits in a Celery countdown.

First contact means the customer was reached (Case.first_contact_at, stamped by the
first "reached" attempt); an attempt that failed (no answer, busy...) is recorded as
Case.first_attempt_at and does not stop the first-contact clock. A reopened case starts
both clocks again from the reopening (sla_clock_restart).
"""

import logging
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from django.conf import settings
from django.db.models import Q

from followups.businesshours import Hours, add_business_hours, check_hours
from followups.models import OPEN_STATUSES, Holiday, Team

logger = logging.getLogger(__name__)

# Without a team (none covers the region yet): the operator's zone, open every day.
DEFAULT_DAY_START, DEFAULT_DAY_END = time(8, 0), time(20, 0)


def team_hours(team: Team | None, *, since: date | None = None) -> Hours:
    """The team's business hours with its holidays and the global ones (from `since`)."""
    whose = Q(team__isnull=True)
    if team is not None:
        whose |= Q(team=team)
    holidays = Holiday.objects.filter(whose)
    if since is not None:
        holidays = holidays.filter(date__gte=since)
    days = set(holidays.values_list("date", flat=True))
    default = Hours(
        time_zone=settings.NPS_DEFAULT_TIME_ZONE,
        work_days=range(7),
        day_start=DEFAULT_DAY_START,
        day_end=DEFAULT_DAY_END,
        holidays=days,
    )
    if team is None:
        return default
    try:
        ZoneInfo(team.time_zone)
        check_hours(work_days=team.work_days, day_start=team.day_start, day_end=team.day_end)
    except (ValueError, ZoneInfoNotFoundError):
        # A misconfigured team must not stop cases from opening or escalating.
        logger.exception("team %s has invalid business hours: using the defaults", team.pk)
        return default
    return Hours(
        time_zone=team.time_zone,
        work_days=list(team.work_days),
        day_start=team.day_start,
        day_end=team.day_end,
        holidays=days,
    )


def sla_target_hours(priority: str, clock: str) -> float:
    """Business hours allowed for `clock` ("first_contact" or "resolution") at this priority."""
    return float(settings.NPS_SLA_TARGETS[priority][clock])


def sla_due_times(
    *, priority: str, opened_at: datetime, team: Team | None
) -> tuple[datetime, datetime]:
    """(first contact due, resolution due) for a case opened at `opened_at`, in business hours."""
    hours = team_hours(team, since=opened_at.date() - timedelta(days=1))
    return (
        add_business_hours(opened_at, sla_target_hours(priority, "first_contact"), **hours),
        add_business_hours(opened_at, sla_target_hours(priority, "resolution"), **hours),
    )


def sla_clock_restart(*, priority: str, team: Team | None, at: datetime) -> dict[str, Any]:
    """The case fields that start its SLA again at `at` (a reopening): new due times counted
    from `at`, and no escalation yet on the new clocks."""
    contact_due, resolution_due = sla_due_times(priority=priority, opened_at=at, team=team)
    return {
        "sla_due_at": contact_due,
        "resolution_due_at": resolution_due,
        "escalation_level": 0,
        "escalated_at": None,
    }


def breached(now: datetime) -> Q:
    """Open cases in breach: customer not reached by sla_due_at, or not resolved by
    resolution_due_at (failed attempts do not count as contact)."""
    return Q(status__in=OPEN_STATUSES) & (
        Q(first_contact_at__isnull=True, sla_due_at__lt=now)
        | Q(resolved_at__isnull=True, resolution_due_at__lt=now)
    )


def breached_clock(
    *,
    now: datetime,
    sla_due_at: datetime,
    first_contact_at: datetime | None,
    resolution_due_at: datetime | None,
    resolved_at: datetime | None,
) -> str | None:
    """Which clock a case has breached at `now` (first contact before resolution), or None."""
    if first_contact_at is None and sla_due_at < now:
        return "first_contact"
    if resolved_at is None and resolution_due_at is not None and resolution_due_at < now:
        return "resolution"
    return None
