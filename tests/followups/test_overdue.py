"""One rule for "overdue" (followups.sla.overdue): every place that shows or acts on it agrees."""

from collections.abc import Callable, Iterator
from datetime import date, timedelta
from typing import Any

import pytest
import time_machine
from django.contrib import admin
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from followups.escalation import escalable
from followups.handover import case_appointment_book, case_hold
from followups.models import Case, CaseStatus, Team
from followups.queries import cases_assigned_to
from followups.sla import due_at, overdue
from followups.workflow import (
    case_attempt_log,
    case_close,
    case_mark_unreachable,
    case_resolve,
    case_start,
)
from nps.reporting.contract import Filters
from nps.reporting.digest import cases_of
from nps.reporting.queries import closed_loop
from surveys.models import ReasonCategory, Response
from tests.followups.personas import MONDAY_10, Personas, assigned_case, personas_make

NOW = MONDAY_10 + timedelta(hours=5)
HOUR = timedelta(hours=1)
LIST = reverse("admin:followups_case_changelist")


@pytest.fixture(autouse=True)
def clock() -> Iterator[None]:
    with time_machine.travel(NOW, tick=False):
        yield


@pytest.fixture
def people(db: Any) -> Personas:
    return personas_make()


@pytest.fixture
def cause(db: Any) -> ReasonCategory:
    return ReasonCategory.objects.get_or_create(
        code="network", defaults={"name_en": "Network", "name_zh": "网络"}
    )[0]


def due(case: Case, *, contact: timedelta, resolution: timedelta) -> Case:
    """Test data: the case's due times relative to now (the SLA module computes real ones)."""
    now = timezone.now()
    Case.objects.filter(pk=case.pk).update(
        sla_due_at=now + contact, resolution_due_at=now + resolution
    )
    return Case.objects.get(pk=case.pk)


@pytest.fixture
def cases(
    people: Personas, detractor: Callable[..., Response], cause: ReasonCategory
) -> dict[str, Case]:
    """Ann's cases, one of each kind, and whether each is overdue now."""
    phones = iter(f"+86139000002{n:02d}" for n in range(100))
    ann = people.agent

    def make() -> Case:
        return assigned_case(detractor, phone=next(phones))

    def reached(case: Case) -> Case:
        case_attempt_log(case_id=case.pk, actor=ann, channel="phone", outcome="reached")
        return case

    made = {
        # Not reached, first contact due an hour ago: overdue.
        "not_reached_late": due(make(), contact=-HOUR, resolution=24 * HOUR),
        # Tried without an answer: still not reached, so overdue.
        "no_answer_late": due(make(), contact=-HOUR, resolution=24 * HOUR),
        # Reached on time; the first-contact due time has since passed: not overdue.
        "reached_on_time": due(reached(make()), contact=-HOUR, resolution=24 * HOUR),
        # Reached, resolution due an hour ago and not resolved: overdue.
        "resolution_late": due(reached(make()), contact=-3 * HOUR, resolution=-HOUR),
        # Resolved and closed cases are done, whatever their due times.
        "resolved": make(),
        "closed": make(),
        # On hold past both due times: its clocks are stopped, not overdue.
        "on_hold": due(make(), contact=-2 * HOUR, resolution=-HOUR),
        # A callback booked for later: first contact is due then, even past resolution due.
        "appointment_ahead": due(make(), contact=-2 * HOUR, resolution=-HOUR),
    }
    case_attempt_log(
        case_id=made["no_answer_late"].pk, actor=ann, channel="phone", outcome="no_answer"
    )
    resolved = reached(made["resolved"])
    case_resolve(
        case_id=resolved.pk, actor=ann, root_causes=[cause], action_taken="Fixed", note="ok"
    )
    case_start(case_id=made["closed"].pk, actor=ann)
    case_mark_unreachable(case_id=made["closed"].pk, actor=ann)
    case_close(case_id=made["closed"].pk, actor=people.supervisor, reason="Duplicate")
    for name in ("resolved", "closed"):
        due(made[name], contact=-2 * HOUR, resolution=-HOUR)
    case_hold(case_id=made["on_hold"].pk, actor=ann, reason="call_back_later")
    booked = made["appointment_ahead"]
    case_appointment_book(case_id=booked.pk, actor=ann, at=timezone.now() + 2 * HOUR)
    return {name: Case.objects.get(pk=case.pk) for name, case in made.items()}


def names(cases: dict[str, Case], ids: Any) -> set[str]:
    by_id = {case.pk: name for name, case in cases.items()}
    return {by_id[pk] for pk in ids}


EXPECTED = {"not_reached_late", "no_answer_late", "resolution_late"}


def test_the_cases_are_what_they_claim_to_be(cases: dict[str, Case]) -> None:
    assert cases["reached_on_time"].first_contact_at is not None
    assert cases["no_answer_late"].first_attempt_at is not None
    assert cases["no_answer_late"].first_contact_at is None
    assert cases["resolved"].status == CaseStatus.RESOLVED
    assert cases["closed"].status == CaseStatus.CLOSED
    assert cases["on_hold"].held_since is not None
    ahead = cases["appointment_ahead"]
    assert ahead.sla_due_at == ahead.appointment_at > timezone.now() > ahead.resolution_due_at


def test_the_one_rule_finds_the_cases_past_the_due_time_they_are_judged_by(
    cases: dict[str, Case],
) -> None:
    now = timezone.now()
    assert names(cases, Case.objects.filter(overdue(now)).values_list("pk", flat=True)) == EXPECTED
    past_due = Case.objects.annotate(due=due_at()).filter(due__lt=now, held_since__isnull=True)
    open_past_due = past_due.filter(status__in=("new", "assigned", "in_progress"))
    assert names(cases, open_past_due.values_list("pk", flat=True)) == EXPECTED


def test_the_admin_filter_and_column_agree_with_the_rule(
    cases: dict[str, Case], people: Personas, client: Client
) -> None:
    client.force_login(people.supervisor)
    filtered = client.get(LIST, {"overdue": "yes"})
    assert filtered.status_code == 200
    assert names(cases, [c.pk for c in filtered.context["cl"].result_list]) == EXPECTED

    page = client.get(LIST)
    shown = page.context["cl"].result_list
    assert len(shown) == len(cases)
    column = admin.site._registry[Case].overdue
    assert names(cases, [c.pk for c in shown if column(c)]) == EXPECTED


def test_my_cases_flags_the_same_cases_overdue(cases: dict[str, Case], people: Personas) -> None:
    mine = list(cases_assigned_to(people.agent))
    flagged = [c.pk for c in mine if c.is_overdue]
    assert names(cases, flagged) == EXPECTED
    assert [c.is_overdue for c in mine] == sorted((c.is_overdue for c in mine), reverse=True)


def test_the_dashboard_counts_the_same_cases_overdue(cases: dict[str, Case]) -> None:
    day = date(2026, 11, 23)
    assert closed_loop(Filters(start=day, end=day)).overdue_now == len(EXPECTED)


def test_the_digest_lists_and_counts_the_same_cases_overdue(
    cases: dict[str, Case], people: Personas
) -> None:
    teams = list(Team.objects.order_by("name"))
    digest = cases_of(teams, team_scope=None)
    assert names(cases, [row["id"] for row in digest["breached_cases"]]) == EXPECTED
    assert digest["breached_count"] == len(EXPECTED)
    north = next(row for row in digest["team_rows"] if row["team"] == people.team.name)
    assert north["breached"] == len(EXPECTED)
    clocks = {row["id"]: row["clock"] for row in digest["breached_cases"]}
    assert clocks[cases["resolution_late"].pk] == "resolution"
    assert clocks[cases["not_reached_late"].pk] == "first contact"


def test_escalation_takes_the_same_cases(cases: dict[str, Case]) -> None:
    candidates = Case.objects.filter(escalable(timezone.now())).values_list("pk", flat=True)
    assert names(cases, candidates) == EXPECTED
