import itertools
from collections.abc import Callable
from datetime import datetime, time
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import time_machine

from followups import tasks
from followups.assignment import (
    agent_set_away,
    agent_set_back,
    case_assign,
    cases_assign_waiting,
)
from followups.cases import case_open, case_priority, cases_open_missing
from followups.models import Agent, AssignmentPolicy, Case, CaseEvent, CaseStatus, Team
from followups.workflow import case_start
from surveys.models import Response
from tests.factories import AgentFactory, TeamFactory

pytestmark = pytest.mark.django_db

SHANGHAI = ZoneInfo("Asia/Shanghai")
IN_SHANGHAI = {"time_zone": "Asia/Shanghai"}


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


def test_the_default_route_team_covers_regions_nobody_claims(detractor: Any) -> None:
    national = AgentFactory(team=TeamFactory(name="National", regions=[], is_default_route=True))
    case = case_open(response=detractor(region="XZ"))
    assert case_assign(case_id=case.pk) == national


def test_sweeper_opens_the_case_a_lost_signal_missed(detractor: Any) -> None:
    response = detractor()
    Case.objects.filter(response=response).delete()
    assert cases_open_missing() == 1
    assert Case.objects.get().response == response


# ---------------------------------------------------------------- policies and shifts


@pytest.fixture
def open_case(detractor: Callable[..., Response]) -> Callable[[], Case]:
    """A new case of a Beijing customer, not yet assigned."""
    phones = itertools.count(100)
    return lambda: case_open(response=detractor(f"+86139{next(phones):08d}"))


def assign(open_case: Callable[[], Case], times: int) -> list[Agent | None]:
    return [case_assign(case_id=open_case().pk) for _ in range(times)]


def test_assigning_records_one_assigned_event(open_case: Callable[[], Case]) -> None:
    agent = AgentFactory(team=TeamFactory(regions=["BJ"]))
    case = open_case()
    case_assign(case_id=case.pk)
    case_assign(case_id=case.pk)
    events = CaseEvent.objects.filter(case=case, kind="assigned")
    assert [e.detail["agent"] for e in events] == [agent.name]


def test_least_loaded_ties_go_to_the_lowest_id(open_case: Callable[[], Case]) -> None:
    team = TeamFactory(regions=["BJ"])
    first, second = AgentFactory(team=team), AgentFactory(team=team)
    assert assign(open_case, 3) == [first, second, first]


@time_machine.travel(datetime(2026, 11, 20, 12, tzinfo=SHANGHAI), tick=False)
def test_an_agent_off_shift_gets_no_cases_however_idle(open_case: Callable[[], Case]) -> None:
    team = TeamFactory(regions=["BJ"])
    nights = AgentFactory(team=team, shift_start=time(22), shift_end=time(6), **IN_SHANGHAI)
    days = AgentFactory(team=team, shift_start=time(9), shift_end=time(18), **IN_SHANGHAI)
    weekend = AgentFactory(team=team, work_days=[5, 6], **IN_SHANGHAI)
    assert assign(open_case, 2) == [days, days]
    assert {nights.cases.count(), weekend.cases.count()} == {0}


def test_round_robin_takes_turns_in_id_order_and_wraps(open_case: Callable[[], Case]) -> None:
    team = TeamFactory(regions=["BJ"], policy=AssignmentPolicy.ROUND_ROBIN)
    a, b, c = (AgentFactory(team=team) for _ in range(3))
    assert assign(open_case, 4) == [a, b, c, a]
    team.refresh_from_db()
    assert team.last_assigned_agent == a


def test_round_robin_goes_on_after_the_last_assigned_agent(open_case: Callable[[], Case]) -> None:
    team = TeamFactory(regions=["BJ"], policy=AssignmentPolicy.ROUND_ROBIN)
    a, b, c = (AgentFactory(team=team) for _ in range(3))
    Team.objects.filter(pk=team.pk).update(last_assigned_agent=b)
    assert assign(open_case, 2) == [c, a]


def test_round_robin_skips_a_full_agent(open_case: Callable[[], Case]) -> None:
    team = TeamFactory(regions=["BJ"], policy=AssignmentPolicy.ROUND_ROBIN)
    a, b, c = AgentFactory(team=team), AgentFactory(team=team, capacity=1), AgentFactory(team=team)
    assert assign(open_case, 5) == [a, b, c, a, c]


@time_machine.travel(datetime(2026, 11, 20, 12, tzinfo=SHANGHAI), tick=False)
def test_round_robin_skips_an_agent_off_shift(open_case: Callable[[], Case]) -> None:
    team = TeamFactory(regions=["BJ"], policy=AssignmentPolicy.ROUND_ROBIN)
    a = AgentFactory(team=team)
    AgentFactory(team=team, shift_start=time(22), shift_end=time(6), **IN_SHANGHAI)
    c = AgentFactory(team=team)
    assert assign(open_case, 3) == [a, c, a]


def test_when_every_agent_is_full_the_case_waits_for_the_team(
    open_case: Callable[[], Case],
) -> None:
    team = TeamFactory(regions=["BJ"], policy=AssignmentPolicy.ROUND_ROBIN)
    AgentFactory(team=team, capacity=1)
    assign(open_case, 1)
    case = open_case()
    assert case_assign(case_id=case.pk) is None
    case.refresh_from_db()
    assert (case.status, case.agent, case.team) == (CaseStatus.NEW, None, team)


def test_the_sweeper_assigns_the_most_urgent_waiting_case_first(detractor: Any) -> None:
    team = TeamFactory(regions=["BJ"])
    agent = AgentFactory(team=team, capacity=1, is_available=False)
    normal = case_open(response=detractor("+8613900000001", score=5))
    urgent = case_open(response=detractor("+8613900000002", score=0))
    Agent.objects.filter(pk=agent.pk).update(is_available=True)
    assert cases_assign_waiting() == 1
    assert list(agent.cases.all()) == [urgent] != [normal]


# ---------------------------------------------------------------- away and back


@pytest.fixture
def queued(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Case ids handed to the assignment task (the broker is the outside world here)."""
    sent: list[int] = []
    monkeypatch.setattr(tasks.assign_case, "delay", sent.append)
    return sent


def test_an_away_agents_open_cases_go_to_a_colleague(
    open_case: Callable[[], Case], queued: list[int], django_capture_on_commit_callbacks: Any
) -> None:
    team = TeamFactory(regions=["BJ"])
    leaving = AgentFactory(team=team)
    assigned, started, resolved = open_case(), open_case(), open_case()
    for case in (assigned, started, resolved):
        case_assign(case_id=case.pk)
    case_start(case_id=started.pk, actor=None)
    Case.objects.filter(pk=resolved.pk).update(status=CaseStatus.RESOLVED)
    colleague = AgentFactory(team=team)

    with django_capture_on_commit_callbacks(execute=True):
        assert agent_set_away(agent_id=leaving.pk) == 2

    assert sorted(queued) == sorted([assigned.pk, started.pk])
    leaving.refresh_from_db()
    assert leaving.is_available is False
    for pk in queued:
        event = CaseEvent.objects.filter(case_id=pk).last()
        assert (event.kind, event.detail["reason"]) == ("unassigned", "agent away")
        assert Case.objects.get(pk=pk).status == CaseStatus.NEW
        assert tasks.assign_case(pk) == colleague.pk
    assert Case.objects.get(pk=resolved.pk).agent == leaving  # finished work keeps its agent


def test_an_away_agents_cases_wait_unassigned_when_nobody_else_can_take_them(
    open_case: Callable[[], Case], queued: list[int], django_capture_on_commit_callbacks: Any
) -> None:
    agent = AgentFactory(team=TeamFactory(regions=["BJ"]))
    case = open_case()
    case_assign(case_id=case.pk)
    with django_capture_on_commit_callbacks(execute=True):
        agent_set_away(agent_id=agent.pk)
    assert tasks.assign_case(case.pk) is None
    case.refresh_from_db()
    assert (case.status, case.agent) == (CaseStatus.NEW, None)


def test_marking_away_twice_hands_back_nothing_more(
    open_case: Callable[[], Case], queued: list[int]
) -> None:
    agent = AgentFactory(team=TeamFactory(regions=["BJ"]))
    case_assign(case_id=open_case().pk)
    assert agent_set_away(agent_id=agent.pk) == 1
    assert agent_set_away(agent_id=agent.pk) == 0


def test_an_agent_back_is_offered_the_teams_waiting_cases(
    open_case: Callable[[], Case], queued: list[int], django_capture_on_commit_callbacks: Any
) -> None:
    agent = AgentFactory(team=TeamFactory(regions=["BJ"]), capacity=2, is_available=False)
    waiting = [open_case() for _ in range(3)]
    for case in waiting:
        case_assign(case_id=case.pk)  # no agent: each waits with the team set
    with django_capture_on_commit_callbacks(execute=True):
        assert agent_set_back(agent_id=agent.pk) == 2

    assert queued == [waiting[0].pk, waiting[1].pk]  # as many as the agent can take
    assert [tasks.assign_case(pk) for pk in queued] == [agent.pk, agent.pk]
