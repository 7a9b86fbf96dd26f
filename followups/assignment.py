"""Assigning cases: the covering team's least-loaded available agent under capacity."""

from django.db import transaction
from django.db.models import Count, Q
from django.utils import timezone

from followups.history import case_event_record
from followups.models import OPEN_STATUSES, Agent, Case, CaseStatus, Team


def team_for_region(region: str) -> Team | None:
    """The team whose regions include this one, else a fallback team covering all."""
    teams = list(Team.objects.order_by("id"))
    return next((t for t in teams if region and region in t.regions), None) or next(
        (t for t in teams if not t.regions), None
    )


def case_assign(*, case_id: int) -> Agent | None:
    """Assign an unassigned case once; None leaves it waiting, visible as unassigned."""
    with transaction.atomic():
        case = Case.objects.select_for_update().select_related("customer").get(pk=case_id)
        if case.agent_id is not None or case.status != CaseStatus.NEW:
            return case.agent
        team = team_for_region(case.customer.region)
        if team is None:
            return None
        # Lock the team's agents in id order: concurrent assignments queue here,
        # so the load counted below is the load at commit (no over-capacity).
        list(Agent.objects.select_for_update().filter(team=team).order_by("id"))
        agent = (
            Agent.objects.filter(team=team, is_available=True)
            .annotate(load=Count("cases", filter=Q(cases__status__in=OPEN_STATUSES)))
            .order_by("load", "id")
            .first()
        )
        if agent is None or agent.load >= agent.capacity:  # type: ignore[attr-defined]
            Case.objects.filter(pk=case.pk).update(team=team)
            return None
        Case.objects.filter(pk=case.pk).update(
            team=team, agent=agent, status=CaseStatus.ASSIGNED, assigned_at=timezone.now()
        )
        case_event_record(case_id=case.pk, kind="assigned", agent=agent.name, team=team.name)
    return agent


def cases_assign_waiting(*, limit: int = 200) -> int:
    """Try again for every case still waiting for an agent."""
    ids = Case.objects.filter(status=CaseStatus.NEW, agent__isnull=True).values_list(
        "pk", flat=True
    )
    return sum(case_assign(case_id=pk) is not None for pk in list(ids[:limit]))
