"""Reads over cases: what each user may see, and an agent's own work list."""

from django.db.models import F, Q, QuerySet
from django.utils import timezone

from followups.models import OPEN_STATUSES, Case, CaseStatus
from followups.roles import User, is_supervisor
from followups.sla import due_at, overdue_flag


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

    Due is the first-contact deadline until the customer was reached, then the resolution
    one (`sla.due_at`); overdue is `sla.overdue` (a case on hold is not).
    """
    if not user.is_authenticated:
        return Case.objects.none()
    return (
        Case.objects.filter(agent__user=user, status__in=OPEN_STATUSES)
        .annotate(due_at=due_at(), is_overdue=overdue_flag(timezone.now()))
        .select_related("customer", "response")
        .order_by("-is_overdue", F("due_at").asc(nulls_last=True), "pk")
    )


def unrouted() -> Q:
    """Open cases waiting with no team: no routing rule, team region or default route took them.

    case_open stores the routed team at once and case_assign keeps it current, so a case
    without a team is one routing could not place; the sweeper retries it every minute.
    """
    return Q(status=CaseStatus.NEW, team__isnull=True)
