"""Overdue problems go to the owners of the responsible unit and of the quality department.

A problem past its deadline and not closed (followups.problems.problem_overdue, the one
rule) is escalated at most once a day: the run claims it with a conditional UPDATE of
escalated_at (still due for escalation), so of two schedulers running at once exactly one
changes the row, writes the "escalated" line and, after the claim has committed, sends
the emails. A failed email is written to the history and not retried that day.
"""

import logging
from datetime import datetime
from functools import partial
from zoneinfo import ZoneInfo

from django.conf import settings
from django.contrib.auth.models import User
from django.core.mail import EmailMessage
from django.db import transaction
from django.db.models import Q
from django.urls import reverse
from django.utils import translation
from django.utils.translation import gettext as _

from followups.models import Problem
from followups.problems import problem_escalation_due, problem_event_record
from followups.timezones import user_time_zone

logger = logging.getLogger(__name__)
BATCH = 200  # problems per run; the next run (minutes later) takes the rest


def problem_escalation_recipients(problem: Problem) -> list[User]:
    """Active owners with an email of the responsible unit and of every quality department."""
    units = Q(owned_units=problem.responsible_unit_id) | Q(owned_units__is_quality_department=True)
    people = User.objects.filter(units, is_active=True).exclude(email="").distinct()
    return list(people.order_by("pk"))


def problems_escalate_overdue(now: datetime) -> int:
    """Escalate every problem due for it; each one is claimed, and mailed, once a day."""
    due = Problem.objects.filter(problem_escalation_due(now)).select_related("responsible_unit")
    escalated = 0
    for problem in due.order_by("deadline")[:BATCH]:
        recipients = problem_escalation_recipients(problem)
        with transaction.atomic():
            claimed = Problem.objects.filter(problem_escalation_due(now), pk=problem.pk)
            if not claimed.update(escalated_at=now):
                continue  # another run took it
            problem.escalated_at = now
            problem_event_record(problem, "escalated", to=[u.username for u in recipients])
            transaction.on_commit(
                partial(problem_escalation_notify, problem=problem, recipients=recipients)
            )
        escalated += 1
    return escalated


def problem_escalation_notify(*, problem: Problem, recipients: list[User]) -> None:
    """One email per person, with times in their zone; failures go to the history."""
    if not recipients:
        problem_event_record(problem, "escalation_not_sent", error="no recipient")
        return
    for user in recipients:
        try:
            problem_escalation_message(problem=problem, user=user).send()
        except Exception as exc:  # any mail failure: recorded, the claim stands
            logger.exception("escalation email for problem %s failed", problem.pk)
            problem_event_record(
                problem, "escalation_not_sent", to=user.username, error=str(exc)[:500]
            )


def problem_link(problem_id: int) -> str:
    path = reverse("admin:followups_problem_change", args=[problem_id])
    return settings.NPS_PUBLIC_BASE_URL.rstrip("/") + path


def problem_escalation_message(*, problem: Problem, user: User) -> EmailMessage:
    # Staff read the site's language (no per-person language); times in the person's zone.
    zone = ZoneInfo(user_time_zone(user))
    with translation.override(settings.LANGUAGE_CODE):
        facts = {
            "title": problem.title,
            "unit": problem.responsible_unit.name,
            "deadline": f"{problem.deadline.astimezone(zone):%Y-%m-%d %H:%M} ({zone.key})",
            "status": problem.get_status_display(),
        }
        subject = _("[NPS] Problem overdue: %(title)s (%(unit)s)") % facts
        lines = [
            _("The problem “%(title)s” of %(unit)s passed its deadline, %(deadline)s.") % facts,
            _("Status: %(status)s") % facts,
            _("Owner: %(owner)s") % {"owner": problem.owner or _("nobody")},
            "",
            _("Open the problem: %(link)s") % {"link": problem_link(problem.pk)},
        ]
    return EmailMessage(subject=subject, body="\n".join(lines) + "\n", to=[user.email])
