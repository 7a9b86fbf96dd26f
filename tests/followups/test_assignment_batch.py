"""A burst of cases assigned in one pass (cases_assign) lands as one at a time would.

cases_assign takes each team's lock once and counts its agents' load once, keeping it up
to date as it gives cases out. Two identical teams get the same burst: one assigned case
by case (case_assign, most urgent and oldest first), the other in one batch.
"""

from collections.abc import Callable
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from followups.assignment import case_assign, cases_assign
from followups.cases import case_open
from followups.models import AssignmentPolicy, Case, CaseEvent, CaseStatus
from surveys.models import Customer, Response
from tests.factories import AgentFactory, TeamFactory

pytestmark = pytest.mark.django_db

# (region suffix, score, tier, customer language) per case of the burst
BURST = [
    (2, "B", "zh-hans"),
    (0, "A", "zh-hans"),
    (5, "C", "bo"),
    (3, "B", "en"),
    (1, "A", "bo"),
    (6, "C", "zh-hans"),
    (2, "B", "zh-hans"),
    (4, "A", "en"),
    (0, "C", "zh-hans"),
]


def _team(region: str, policy: str) -> None:
    team = TeamFactory(name=f"Team {region}", regions=[region], policy=policy)
    AgentFactory(team=team, name=f"{region} Dolma", capacity=2, languages=["bo"])
    AgentFactory(team=team, name=f"{region} Li", capacity=3)
    AgentFactory(team=team, name=f"{region} Sam", capacity=1, languages=["en"])


def _burst(detractor: Callable[..., Response], region: str, prefix: int) -> list[int]:
    ids = []
    for n, (score, tier, language) in enumerate(BURST):
        response = detractor(f"+86139{prefix}{n:07d}", region=region, score=score)
        Customer.objects.filter(pk=response.customer_id).update(tier=tier, language=language)
        response.customer.refresh_from_db()
        case = case_open(response=response)
        assert case is not None
        ids.append(case.pk)
    return ids


def _outcome(ids: list[int]) -> list[tuple[str, str | None, str]]:
    cases = Case.objects.filter(pk__in=ids).select_related("agent").order_by("pk")
    return [
        (case.status, case.agent.name.split(" ")[1] if case.agent else None, case.needs_language)
        for case in cases
    ]


@pytest.mark.parametrize("policy", [AssignmentPolicy.LEAST_LOADED, AssignmentPolicy.ROUND_ROBIN])
def test_a_burst_is_assigned_in_one_pass_as_case_by_case(detractor: Any, policy: str) -> None:
    _team("SH", policy)
    _team("GZ", policy)
    one_by_one, batch = _burst(detractor, "SH", 1), _burst(detractor, "GZ", 2)
    urgent_first = Case.objects.filter(pk__in=one_by_one).order_by("priority", "opened_at", "pk")
    for pk in urgent_first.values_list("pk", flat=True):
        case_assign(case_id=pk)

    assert cases_assign(case_ids=batch) == 6  # capacities 2 + 3 + 1

    assert _outcome(batch) == _outcome(one_by_one)
    statuses = [status for status, _, _ in _outcome(batch)]
    assert statuses.count(CaseStatus.ASSIGNED) == 6
    assert statuses.count(CaseStatus.NEW) == 3


def test_a_batch_leaves_cases_assigned_meanwhile_alone(detractor: Any) -> None:
    _team("SH", AssignmentPolicy.LEAST_LOADED)
    ids = _burst(detractor, "SH", 3)[:3]
    first = case_assign(case_id=ids[0])
    assert cases_assign(case_ids=ids) == 2  # the first was taken already: not again
    assert Case.objects.get(pk=ids[0]).agent == first
    assert Case.objects.filter(pk__in=ids, status=CaseStatus.ASSIGNED).count() == 3


def test_a_batch_costs_the_same_statements_for_3_or_9_cases(detractor: Any) -> None:
    """Routing read once, the cases written in one statement and their "assigned" events
    in one insert: the statements do not grow with the cases of a team."""
    for region in ("SH", "GZ"):
        team = TeamFactory(name=f"Team {region}", regions=[region])
        AgentFactory(team=team, name=f"{region} Li", capacity=100)
    few, many = _burst(detractor, "SH", 4)[:3], _burst(detractor, "GZ", 5)
    with CaptureQueriesContext(connection) as three:
        assert cases_assign(case_ids=few) == 3
    with CaptureQueriesContext(connection) as nine:
        assert cases_assign(case_ids=many) == 9
    assert len(nine) == len(three), "\n".join(q["sql"] for q in nine.captured_queries)
    events = CaseEvent.objects.filter(case_id__in=many, kind="assigned")
    assert sorted(events.values_list("detail__agent", flat=True)) == ["GZ Li"] * 9
    assert {(status, agent) for status, agent, _ in _outcome(many)} == {(CaseStatus.ASSIGNED, "Li")}
