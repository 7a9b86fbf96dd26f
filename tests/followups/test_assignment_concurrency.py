"""Parallel assignment on a real database: row locks keep capacity and single assignment."""

import random
import threading
from collections import Counter
from collections.abc import Callable

import pytest
from django.db import connection
from django.db.models import Count, Q

from followups import tasks
from followups.assignment import case_assign
from followups.cases import case_open
from followups.models import OPEN_STATUSES, Agent, Case, CaseEvent, CaseStatus
from surveys.models import Customer, Response
from tests.factories import AgentFactory, TeamFactory

THREADS, CAPACITY, AGENTS, CASES = 8, 2, 3, 10

pytestmark = [
    pytest.mark.skipif(
        connection.vendor != "postgresql",
        reason="needs PostgreSQL: SQLite has no row locks and serialises every writer, "
        "so this race cannot happen there (CI runs it in the PostgreSQL pass)",
    ),
    pytest.mark.django_db(transaction=True),
]


def run_in_parallel(work: Callable[[int], None]) -> list[BaseException]:
    """Run work(n) in THREADS threads released together; return what any of them raised."""
    start, errors = threading.Barrier(THREADS), []

    def worker(n: int) -> None:
        try:
            start.wait()
            work(n)
        except BaseException as error:
            errors.append(error)
        finally:
            connection.close()  # each thread has its own connection

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return errors


def test_parallel_assignment_never_exceeds_capacity_nor_assigns_a_case_twice(
    detractor: Callable[..., Response], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(tasks.assign_case, "delay", lambda case_id: None)  # we assign below
    team = TeamFactory(regions=["BJ"])
    for _ in range(AGENTS):
        AgentFactory(team=team, capacity=CAPACITY)
    case_ids = [case_open(response=detractor(f"+86139{n:08d}")).pk for n in range(CASES)]

    def assign_every_case_twice(n: int) -> None:
        for case_id in random.Random(n).sample(case_ids * 2, k=2 * CASES):
            case_assign(case_id=case_id)

    assert run_in_parallel(assign_every_case_twice) == []

    cases = Case.objects.filter(pk__in=case_ids)
    assert cases.filter(status=CaseStatus.ASSIGNED, agent__isnull=False).count() == 6
    assert cases.filter(status=CaseStatus.NEW, agent__isnull=True).count() == 4
    loads = Agent.objects.annotate(load=Count("cases", filter=Q(cases__status__in=OPEN_STATUSES)))
    assert sorted(agent.load for agent in loads) == [CAPACITY] * AGENTS
    assigned = Counter(CaseEvent.objects.filter(kind="assigned").values_list("case_id", flat=True))
    assert len(assigned) == 6
    assert max(assigned.values()) == 1


def test_parallel_tibetan_cases_fill_the_speaker_to_capacity_and_flag_the_rest(
    detractor: Callable[..., Response], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(tasks.assign_case, "delay", lambda case_id: None)  # we assign below
    team = TeamFactory(regions=["BJ"])
    speaker = AgentFactory(team=team, capacity=CAPACITY, languages=["zh-hans", "bo"])
    for _ in range(AGENTS - 1):
        AgentFactory(team=team, capacity=CAPACITY)
    case_ids = []
    for n in range(CASES):
        response = detractor(f"+86139{n:08d}")
        Customer.objects.filter(pk=response.customer_id).update(language="bo")
        case_ids.append(case_open(response=response).pk)

    def assign_every_case_twice(n: int) -> None:
        for case_id in random.Random(n).sample(case_ids * 2, k=2 * CASES):
            case_assign(case_id=case_id)

    assert run_in_parallel(assign_every_case_twice) == []

    cases = Case.objects.filter(pk__in=case_ids)
    assert cases.filter(agent=speaker, needs_language="").count() == CAPACITY
    assert cases.exclude(agent=speaker).filter(needs_language="bo").count() == CASES - CAPACITY
    assert cases.filter(agent__isnull=False).count() == CAPACITY * AGENTS
