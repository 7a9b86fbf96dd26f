"""Escalation: cases past an SLA due time go to the team lead, then to the supervisors.

Level 1: an overdue case (sla.overdue, the one rule: open, not on hold, the customer not
reached by sla_due_at, or reached and not resolved by resolution_due_at) is sent to the
lead of the case's team, or to the supervisors when the case has no team or the team no
lead with an email. A case on hold (followups.handover) is not overdue: it does not escalate.
Level 2: the case is still in breach once half its first-contact target (the service
standard of its customer's tier and its priority) has passed, in the team's business
hours, since level 1 (1, 4 and 12 hours for P1, P2 and P3 at tiers B and C with the
default standards, half that at tier A): every Supervisors group member with an email.
The level counts the case, not each clock: a case escalated for a late first contact
that later misses its resolution due time goes on to the supervisors.

Each level is claimed with a conditional UPDATE (level L-1 -> L, still in breach): of
two runs at the same time exactly one changes the row, and only that one sends the
email, after the claim has committed. A failed email is recorded in the case history
and not retried: the level stays claimed, so nobody is ever mailed twice.
"""

import logging
from collections.abc import Iterable
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.mail import EmailMultiAlternatives
from django.db import transaction
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from followups.businesshours import Hours, add_business_hours
from followups.history import case_event_record
from followups.models import Case, Priority
from followups.roles import SUPERVISORS
from followups.sla import overdue, overdue_clock, sla_target_hours, team_hours
from surveys.models import Tier
from surveys.phones import mask_phone

logger = logging.getLogger(__name__)

TEAM_LEAD, SUPERVISOR = 1, 2
CLOCK_NAMES = {
    "first_contact": gettext_lazy("first-contact"),
    "resolution": gettext_lazy("resolution"),
}
BATCH = 500  # new breaches escalated per run; the next run (a minute later) takes the rest


def escalable(now: datetime) -> Q:
    """Cases that escalate: the overdue ones (a held case is not: it waits for the customer)."""
    return overdue(now)


def level_two_grace_hours(priority: str, tier: str) -> float:
    """Business hours the team lead has after level 1 before the supervisors hear of it."""
    return sla_target_hours(priority, "first_contact", tier=tier) / 2


def cases_escalate(*, now: datetime | None = None) -> int:
    """Raise every breached open case one level; each level is claimed and mailed at most once."""
    now = now or timezone.now()
    related = ("customer", "response__interaction", "team__lead", "agent")
    new = Case.objects.filter(escalable(now), escalation_level=0).select_related(*related)
    escalated = sum(
        case_escalate(case=case, level=TEAM_LEAD, now=now)
        for case in new.order_by("sla_due_at")[:BATCH]
    )
    # In SQL, a necessary condition (business time never runs faster than real time);
    # the exact grace in the team's business hours is checked per case below.
    past_real_grace = Q()
    for priority in Priority.values:
        for tier in Tier.values:
            grace = timedelta(hours=level_two_grace_hours(priority, tier))
            past_real_grace |= Q(
                priority=priority, customer__tier=tier, escalated_at__lte=now - grace
            )
    told_lead = Case.objects.filter(escalable(now), past_real_grace, escalation_level=TEAM_LEAD)
    hours_by_team: dict[int | None, Hours] = {}
    for case in told_lead.select_related(*related).order_by("escalated_at"):
        if case.team_id not in hours_by_team:
            # Holidays of the last weeks suffice: the longest grace is a few business days.
            since = (now - timedelta(days=31)).date()
            hours_by_team[case.team_id] = team_hours(case.team, since=since)
        if level_two_due(case, hours_by_team[case.team_id]) <= now:
            escalated += case_escalate(case=case, level=SUPERVISOR, now=now)
    return escalated


def level_two_due(case: Case, hours: Hours) -> datetime:
    """When the supervisors hear of a case still in breach after level 1."""
    told_lead_at = case.escalated_at or case.opened_at  # always set with level 1
    grace = level_two_grace_hours(case.priority, case.customer.tier)
    return add_business_hours(told_lead_at, grace, **hours)


def case_escalate(*, case: Case, level: int, now: datetime) -> bool:
    """Raise the case one level to `level` once; only the claim winner sends the email."""
    clock = overdue_clock(case)
    recipients = escalation_recipients(case=case, level=level)
    with transaction.atomic():
        # The claim: a conditional UPDATE, so two concurrent runs change the row once.
        claimed = Case.objects.filter(escalable(now), pk=case.pk, escalation_level=level - 1)
        if not claimed.update(escalation_level=level, escalated_at=now):
            return False
        case_event_record(
            case_id=case.pk, kind="escalated", level=level, clock=clock, to=list(recipients)
        )
        # The email leaves only once the claim is committed, never inside the transaction.
        transaction.on_commit(
            lambda: escalation_notify(case=case, level=level, clock=clock, recipients=recipients)
        )
    return True


def escalation_recipients(*, case: Case, level: int) -> list[str]:
    lead = case.team.lead if case.team else None
    if level == TEAM_LEAD and lead is not None and lead.is_active and lead.email:
        return [lead.email]
    return supervisor_emails()


def supervisor_emails() -> list[str]:
    users = get_user_model().objects.filter(groups__name=SUPERVISORS, is_active=True)
    return sorted(set(users.exclude(email="").values_list("email", flat=True)))


def escalation_notify(*, case: Case, level: int, clock: str | None, recipients: list[str]) -> None:
    """Send the escalation email once; a failure is written to the history, not retried."""
    if not recipients:
        logger.warning("case %s escalated to level %s: nobody to email", case.pk, level)
        case_event_record(
            case_id=case.pk, kind="escalation_not_sent", level=level, error="no recipient"
        )
        return
    try:
        escalation_message(case=case, level=level, clock=clock, recipients=recipients).send()
    except Exception as exc:  # any mail failure: record it, the level stays claimed
        logger.exception("escalation email for case %s failed", case.pk)
        case_event_record(
            case_id=case.pk, kind="escalation_not_sent", level=level, error=str(exc)[:500]
        )


def case_link(case_id: int) -> str:
    """The case's admin page, absolute when NPS_PUBLIC_BASE_URL is set."""
    path = reverse("admin:followups_case_change", args=[case_id])
    return settings.NPS_PUBLIC_BASE_URL.rstrip("/") + path


def escalation_message(
    *, case: Case, level: int, clock: str | None, recipients: Iterable[str]
) -> EmailMultiAlternatives:
    # In the active language (settings.LANGUAGE_CODE in the worker): the staff's.
    which = str(CLOCK_NAMES.get(clock or "", ""))
    facts = {"case": case.pk, "clock": which, "priority": case.priority}
    subject = _("[NPS] Case #%(case)s breached its %(clock)s SLA (%(priority)s)") % facts
    if level == SUPERVISOR:
        subject += _(" - escalated to supervisors")
    zone = ZoneInfo(case.team.time_zone if case.team else settings.NPS_DEFAULT_TIME_ZONE)
    due = case.sla_due_at if clock == "first_contact" else case.resolution_due_at

    def local(at: datetime | None) -> str:
        return f"{at.astimezone(zone):%Y-%m-%d %H:%M} ({zone.key})" if at else "-"

    response = case.response
    customer = case.customer
    lines = [
        _("Case #%(case)s (%(priority)s) breached its %(clock)s SLA: due %(due)s.")
        % {**facts, "due": local(due)},
        (
            _("Escalation level %(level)s: the team lead.")
            if level == TEAM_LEAD
            else _("Escalation level %(level)s: the supervisors.")
        )
        % {"level": level},
        "",
        _("Customer: %(phone)s (tier %(tier)s)")
        % {"phone": mask_phone(customer.phone), "tier": customer.tier},
        _("Score: %(score)s") % {"score": response.score},
        _("Comment: %(comment)s") % {"comment": response.comment or "-"},
        _("Touchpoint: %(touchpoint)s")
        % {"touchpoint": response.interaction.get_touchpoint_display()},
        _("Team: %(team)s") % {"team": case.team or _("none")},
        _("Callback agent: %(agent)s") % {"agent": case.agent or _("unassigned")},
        _("Opened: %(at)s") % {"at": local(case.opened_at)},
        _("First contact due: %(at)s") % {"at": local(case.sla_due_at)},
        _("Resolution due: %(at)s") % {"at": local(case.resolution_due_at)},
        "",
        _("Open the case: %(link)s") % {"link": case_link(case.pk)},
    ]
    body = "\n".join(lines) + "\n"
    return EmailMultiAlternatives(subject=subject, body=body, to=list(recipients))
