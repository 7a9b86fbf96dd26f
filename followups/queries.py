"""Reads over cases: what each user may see, and an agent's own work list."""

from django.db import models
from django.db.models import F, Q, QuerySet
from django.utils import timezone

from followups.models import OPEN_STATUSES, Case, CaseStatus
from followups.roles import User, is_supervisor


def cases_visible_to(user: User, *, within: QuerySet[Case] | None = None) -> QuerySet[Case]:
    """Supervisors see every case; a team lead their teams' and their own; an agent their own."""
    cases = Case.objects.all() if within is None else within
    if not user.is_authenticated:
        return cases.none()
    if is_supervisor(user):
        return cases
    return cases.filter(Q(agent__user=user) | Q(team__lead=user))


def cases_assigned_to(user: User) -> QuerySet[Case]:
    """The user's open cases as an agent, overdue first, then by the next due time.

    Due is the first-contact deadline until someone reached out, then the resolution one.
    """
    if not user.is_authenticated:
        return Case.objects.none()
    due = models.Case(
        models.When(first_contact_at__isnull=True, then=F("sla_due_at")),
        default=F("resolution_due_at"),
    )
    overdue = models.Case(
        models.When(due_at__lt=timezone.now(), then=True),
        default=False,
        output_field=models.BooleanField(),
    )
    return (
        Case.objects.filter(agent__user=user, status__in=OPEN_STATUSES)
        .annotate(due_at=due)
        .annotate(is_overdue=overdue)
        .select_related("customer", "response")
        .order_by("-is_overdue", F("due_at").asc(nulls_last=True), "pk")
    )


def unrouted() -> Q:
    """Open cases waiting with no team: no routing rule, team region or default route took them.

    case_open stores the routed team at once and case_assign keeps it current, so a case
    without a team is one routing could not place; the sweeper retries it every minute.
    """
    return Q(status=CaseStatus.NEW, team__isnull=True)
