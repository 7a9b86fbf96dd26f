from typing import Any

import pytest

from followups.assignment import case_assign
from followups.cases import case_open, case_priority, cases_open_missing
from followups.models import Case, CaseStatus
from tests.factories import AgentFactory, TeamFactory

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    ("tier", "score", "priority"),
    [
        ("A", 0, "P1"),
        ("A", 3, "P1"),
        ("A", 6, "P2"),
        ("B", 2, "P2"),
        ("B", 5, "P3"),
        ("C", 0, "P3"),
    ],
)
def test_priority_from_tier_and_score(tier: str, score: int, priority: str) -> None:
    assert case_priority(tier=tier, score=score) == priority


def test_case_goes_to_the_least_loaded_agent_of_the_covering_team(detractor: Any) -> None:
    north = TeamFactory(name="North", regions=["BJ"])
    busy, free = AgentFactory(team=north), AgentFactory(team=north)
    AgentFactory(team=TeamFactory(name="East", regions=["SH"]))  # wrong region
    for n in range(2):
        other = case_open(response=detractor(f"+86139000000{n}"))
        Case.objects.filter(pk=other.pk).update(agent=busy, status=CaseStatus.ASSIGNED)
    case = case_open(response=detractor("+8613900000099"))
    assert case_assign(case_id=case.pk) == free
    case.refresh_from_db()
    assert (case.status, case.team, case.agent) == (CaseStatus.ASSIGNED, north, free)


def test_without_an_available_agent_the_case_waits_unassigned(detractor: Any) -> None:
    AgentFactory(team=TeamFactory(regions=["BJ"]), is_available=False)
    case = case_open(response=detractor())
    assert case_assign(case_id=case.pk) is None
    case.refresh_from_db()
    assert (case.status, case.agent) == (CaseStatus.NEW, None)


def test_an_agent_at_capacity_gets_no_more_cases(detractor: Any) -> None:
    agent = AgentFactory(team=TeamFactory(regions=["BJ"]), capacity=1)
    first = case_open(response=detractor("+8613900000001"))
    second = case_open(response=detractor("+8613900000002"))
    assert case_assign(case_id=first.pk) == agent
    assert case_assign(case_id=second.pk) is None


def test_assigning_twice_keeps_the_first_agent(detractor: Any) -> None:
    team = TeamFactory(regions=["BJ"])
    first_agent = AgentFactory(team=team)
    case = case_open(response=detractor())
    case_assign(case_id=case.pk)
    AgentFactory(team=team)
    assert case_assign(case_id=case.pk) == first_agent


def test_a_fallback_team_covers_regions_nobody_claims(detractor: Any) -> None:
    national = AgentFactory(team=TeamFactory(name="National", regions=[]))
    case = case_open(response=detractor(region="XZ"))
    assert case_assign(case_id=case.pk) == national


def test_sweeper_opens_the_case_a_lost_signal_missed(detractor: Any) -> None:
    response = detractor()
    Case.objects.filter(response=response).delete()
    assert cases_open_missing() == 1
    assert Case.objects.get().response == response
