"""SLA: when a case must be first contacted and resolved, and when it is in breach.

Targets come from the service standards (ServiceStandard: business hours per value tier
and priority, edited in the admin, seeded from settings.NPS_SLA_TARGETS with tier A at
half the time); a missing standard falls back to the same default rule
(sla_default_target_hours). They are counted in the business hours of the case's team
(its zone, working days, hours, and its calendar: its own and global holidays and make-up
working days). The due times are stored on the case; nothing waits in a Celery countdown.

First contact means the customer was reached (Case.first_contact_at, stamped by the
first "reached" attempt); an attempt that failed (no answer, busy...) is recorded as
Case.first_attempt_at and does not stop the first-contact clock. A reopened case starts
both clocks again from the reopening (sla_clock_restart).

Overdue (`overdue`, compared with `due_at`) is defined here only; every list, count and
escalation filters with it.
"""

import logging
import math
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from django.conf import settings
from django.db import models
from django.db.models import ExpressionWrapper, F, Q
from django.utils import timezone

from followups.businesshours import Hours, add_business_hours, business_hours_between, check_hours
from followups.models import OPEN_STATUSES, Case, Holiday, ServiceStandard, Team

logger = logging.getLogger(__name__)

# Without a team (none covers the region yet): the operator's zone, open every day.
DEFAULT_DAY_START, DEFAULT_DAY_END = time(8, 0), time(20, 0)


def team_hours(team: Team | None, *, since: date | None = None) -> Hours:
    """The team's business hours with its calendar and the global one (from `since`):
    holidays close a day, make-up working days open one (with their own hours, else the
    team's). For the same date the team's own entry wins over the global one."""
    whose = Q(team__isnull=True)
    if team is not None:
        whose |= Q(team=team)
    entries = Holiday.objects.filter(whose)
    if since is not None:
        entries = entries.filter(date__gte=since)
    rows = entries.values("date", "team_id", "is_working_day", "day_start", "day_end")
    by_date = {row["date"]: row for row in sorted(rows, key=lambda r: r["team_id"] is not None)}
    hours = Hours(
        time_zone=settings.NPS_DEFAULT_TIME_ZONE,
        work_days=range(7),
        day_start=DEFAULT_DAY_START,
        day_end=DEFAULT_DAY_END,
        holidays=set(),
    )
    if team is not None:
        try:
            ZoneInfo(team.time_zone)
            check_hours(work_days=team.work_days, day_start=team.day_start, day_end=team.day_end)
        except (TypeError, ValueError, ZoneInfoNotFoundError):
            # A misconfigured team must not stop cases from opening or escalating.
            logger.exception("team %s has invalid business hours: using the defaults", team.pk)
        else:
            hours.update({
                "time_zone": team.time_zone,
                "work_days": list(team.work_days),
                "day_start": team.day_start,
                "day_end": team.day_end,
            })
    hours["holidays"] = {day for day, row in by_date.items() if not row["is_working_day"]}
    hours["extra_days"] = {
        day: (row["day_start"], row["day_end"])
        if row["day_start"] is not None and row["day_end"] is not None
        else (hours["day_start"], hours["day_end"])
        for day, row in by_date.items()
        if row["is_working_day"]
    }
    return hours


# The default service standards: settings.NPS_SLA_TARGETS per priority, tier A in half the
# time (migration 0009_calendar seeds the ServiceStandard rows so; edit them in the admin).
DEFAULT_TIER_SHARE = {"A": 0.5, "B": 1.0, "C": 1.0}


def sla_default_target_hours(*, tier: str, priority: str, clock: str) -> float:
    """The default business hours for `clock` at this tier and priority."""
    return float(settings.NPS_SLA_TARGETS[priority][clock]) * DEFAULT_TIER_SHARE[tier]


def sla_target_hours(priority: str, clock: str, *, tier: str) -> float:
    """Business hours allowed for `clock` ("first_contact" or "resolution") at this priority
    for a customer of this value tier: the service standard, else the default."""
    standard = (
        ServiceStandard.objects.filter(tier=tier, priority=priority)
        .values_list(f"{clock}_hours", flat=True)
        .first()
    )
    if standard is None:
        return sla_default_target_hours(tier=tier, priority=priority, clock=clock)
    return float(standard)


def sla_due_times(
    *, priority: str, tier: str, opened_at: datetime, team: Team | None
) -> tuple[datetime, datetime]:
    """(first contact due, resolution due) for a case of a `tier` customer opened at
    `opened_at`, in business hours."""
    hours = team_hours(team, since=opened_at.date() - timedelta(days=2))
    contact = sla_target_hours(priority, "first_contact", tier=tier)
    resolution = sla_target_hours(priority, "resolution", tier=tier)
    return (
        add_business_hours(opened_at, contact, **hours),
        add_business_hours(opened_at, resolution, **hours),
    )


def sla_clock_restart(
    *, priority: str, tier: str, team: Team | None, at: datetime
) -> dict[str, Any]:
    """The case fields that start its SLA again at `at` (a reopening): new due times counted
    from `at`, and no escalation yet on the new clocks."""
    contact_due, resolution_due = sla_due_times(
        priority=priority, tier=tier, opened_at=at, team=team
    )
    return {
        "sla_due_at": contact_due,
        "resolution_due_at": resolution_due,
        "escalation_level": 0,
        "escalated_at": None,
    }


def callback_hours(*, customer_id: int, now: datetime | None = None) -> int | None:
    """Whole hours, rounded up (at least 1), until the first call is due on the customer's
    newest open case not contacted yet (its `sla_due_at`, counted in business hours when
    the case opened); None without such a case. The detractor's acknowledgement SMS
    quotes it (settings.NPS_CALLBACK_HOURS)."""
    due = (
        Case.objects.filter(
            customer_id=customer_id, status__in=OPEN_STATUSES, first_contact_at__isnull=True
        )
        .order_by("-opened_at")
        .values_list("sla_due_at", flat=True)
        .first()
    )
    if due is None:
        return None
    seconds = (due - (now or timezone.now())).total_seconds()
    return max(1, math.ceil(seconds / 3600))


def due_at() -> models.Case:
    """The due time a case is judged by: first contact (sla_due_at, a booked callback's time
    once one is booked) while the customer has not been reached, else resolution."""
    return models.Case(
        models.When(first_contact_at__isnull=True, then=F("sla_due_at")),
        default=F("resolution_due_at"),
        output_field=models.DateTimeField(),
    )


def overdue(now: datetime) -> Q:
    """Overdue at `now`, the one rule (admin list and filter, My cases, dashboard, digest,
    escalation): open, not on hold (its clocks are stopped), and past `due_at()`: the
    customer not reached by sla_due_at, or reached and not resolved by resolution_due_at.
    Failed attempts do not count as contact; a contact on time leaves only the resolution
    clock running."""
    return Q(status__in=OPEN_STATUSES, held_since__isnull=True) & (
        Q(first_contact_at__isnull=True, sla_due_at__lt=now)
        | Q(first_contact_at__isnull=False, resolution_due_at__lt=now)
    )


def overdue_flag(now: datetime) -> ExpressionWrapper:
    """`overdue(now)` as a boolean column, to annotate (`is_overdue`) and order by."""
    return ExpressionWrapper(overdue(now), output_field=models.BooleanField())


def overdue_clock(case: Case) -> str:
    """The clock an overdue case is late on: first contact until the customer is reached."""
    return "first_contact" if case.first_contact_at is None else "resolution"


def hold_ended(case: Case, *, at: datetime) -> dict[str, Any]:
    """The fields that end the case's hold at `at`: due times still running pushed by the
    business hours spent on hold, the real time added to hold_total."""
    held_since = case.held_since
    if held_since is None:
        return {}
    hours = team_hours(case.team, since=held_since.date() - timedelta(days=1))
    spent = max(business_hours_between(held_since, at, **hours), 0.0)
    changes: dict[str, Any] = {
        "held_since": None,
        "hold_total": case.hold_total + max(at - held_since, timedelta()),
    }
    booked = case.appointment_at is not None and case.sla_due_at == case.appointment_at
    if case.first_contact_at is None and not booked:  # a booked callback stays due then
        changes["sla_due_at"] = add_business_hours(case.sla_due_at, spent, **hours)
    if case.resolved_at is None and case.resolution_due_at is not None:
        changes["resolution_due_at"] = add_business_hours(case.resolution_due_at, spent, **hours)
    return changes
