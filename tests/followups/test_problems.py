"""The problem lifecycle: opened from cases, rectified, verified, closed by a person, and
the accountability and escalation that follow from deadlines."""

import threading
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import time_machine
from django.contrib.auth.models import User
from django.core import mail
from django.db import connection
from django.utils import timezone

from followups import problem_escalation
from followups.models import (
    AccountabilityEntry,
    Case,
    Problem,
    ProblemEvent,
    ProblemStatus,
    StaffProfile,
)
from followups.problem_escalation import problems_escalate_overdue
from followups.problems import (
    ProblemRefused,
    problem_action_add,
    problem_action_done,
    problem_close,
    problem_from_cases,
    problem_open,
    problem_rectified,
    problem_rectifying_start,
    problem_reopen,
    problem_verification_record,
)
from surveys.models import ReasonCategory, Response, ResponseReason, Unit, UnitKind

pytestmark = pytest.mark.django_db

NOW = datetime(2026, 11, 23, 2, 0, tzinfo=UTC)  # 10:00 in Shanghai


@pytest.fixture
def units(db: Any) -> dict[str, Unit]:
    """A province with a city branch and its store, and the quality department beside them."""
    province = Unit.objects.create(name="Province", kind=UnitKind.PROVINCE)
    city = Unit.objects.create(name="Lhasa", kind=UnitKind.CITY, parent=province)
    store = Unit.objects.create(name="Store 1", kind=UnitKind.STORE, parent=city)
    quality = Unit.objects.create(
        name="Quality", kind=UnitKind.DEPARTMENT, parent=province, is_quality_department=True
    )
    return {"province": province, "city": city, "store": store, "quality": quality}


@pytest.fixture
def sue(db: Any) -> User:
    """Sue runs quality: she opens, moves and closes problems."""
    return User.objects.create_user("sue", email="sue@example.com", is_staff=True)


@pytest.fixture
def reasons(db: Any) -> dict[str, ReasonCategory]:
    return {
        code: ReasonCategory.objects.get_or_create(
            code=code, defaults={"name_en": code.title(), "name_zh": code}
        )[0]
        for code in ("signal", "billing")
    }


def case_make(
    response: Response, *, unit: Unit | None, reasons: tuple[ReasonCategory, ...] = ()
) -> Case:
    for reason in reasons:
        ResponseReason.objects.create(response=response, category=reason)
    return Case.objects.create(
        response=response,
        customer=response.customer,
        priority="P2",
        sla_due_at=timezone.now() + timedelta(hours=2),
        unit=unit,
    )


def problem_make(units: dict[str, Unit], *, deadline: datetime | None = None) -> Problem:
    return problem_open(
        title="Weak signal",
        responsible_unit=units["store"],
        deadline=deadline or NOW + timedelta(days=10),
    )


def kinds(problem: Problem) -> list[str]:
    return list(ProblemEvent.objects.filter(problem=problem).values_list("kind", flat=True))


def test_a_problem_from_cases_takes_their_most_common_reason_unit_and_region(
    detractor: Callable[..., Response],
    units: dict[str, Unit],
    reasons: dict[str, ReasonCategory],
    sue: User,
) -> None:
    signal, billing = reasons["signal"], reasons["billing"]
    cases = [
        case_make(
            detractor(phone="+8613900000001", region="XZ"), unit=units["store"], reasons=(signal,)
        ),
        case_make(
            detractor(phone="+8613900000002", region="XZ"),
            unit=units["store"],
            reasons=(signal, billing),
        ),
        case_make(
            detractor(phone="+8613900000003", region="BJ"), unit=units["city"], reasons=(billing,)
        ),
        case_make(
            detractor(phone="+8613900000004", region="XZ"), unit=units["store"], reasons=(signal,)
        ),
    ]
    problem = problem_from_cases(cases, by=sue)
    assert problem.reason == signal
    assert problem.place_unit == units["store"]
    assert problem.responsible_unit == units["store"]
    assert problem.region == "XZ"
    assert problem.touchpoint == cases[0].response.interaction.touchpoint
    assert set(problem.cases.all()) == set(cases)
    assert problem.opened_by == sue
    assert kinds(problem) == ["opened"]


def test_a_problem_from_cases_without_answer_reasons_takes_the_root_cause(
    detractor: Callable[..., Response],
    units: dict[str, Unit],
    reasons: dict[str, ReasonCategory],
    sue: User,
) -> None:
    case = case_make(detractor(), unit=None)
    case.root_causes.add(reasons["billing"])
    problem = problem_from_cases([case], by=sue, responsible_unit=units["city"])
    assert problem.reason == reasons["billing"]
    assert problem.responsible_unit == units["city"]
    assert problem.place_unit is None


def test_cases_without_a_unit_need_a_responsible_unit(
    detractor: Callable[..., Response], sue: User
) -> None:
    with pytest.raises(ProblemRefused):
        problem_from_cases([case_make(detractor(), unit=None)], by=sue)
    assert not Problem.objects.exists()


def test_the_lifecycle_moves_open_rectifying_verifying_closed(
    units: dict[str, Unit], sue: User
) -> None:
    with time_machine.travel(NOW, tick=False):
        problem = problem_make(units)
        action = problem_action_add(problem, by=sue, text="Add a cell site")
        problem_rectifying_start(problem, by=sue)
        assert problem_action_done(action, by=sue)
        assert not problem_action_done(action, by=sue)  # once
    with time_machine.travel(NOW + timedelta(days=2), tick=False):
        problem_rectified(problem, by=sue)
        assert problem.status == ProblemStatus.VERIFYING
        assert problem.fixed_at == NOW + timedelta(days=2)
        problem_verification_record(
            problem, before=(40, 400), after=(10, 300), p_value=0.0004, significant=True
        )
        assert problem.close_proposed_at == NOW + timedelta(days=2)
        problem_close(problem, by=sue, verified=True)
    assert problem.status == ProblemStatus.CLOSED
    assert problem.closed_by == sue
    assert problem.closed_verified is True
    assert kinds(problem) == [
        "opened", "action_added", "moved", "action_done", "moved", "closure_proposed", "closed",
    ]  # fmt: skip
    assert not AccountabilityEntry.objects.exists()  # on time and verified


@pytest.mark.parametrize(
    ("status", "move"),
    [
        (ProblemStatus.OPEN, problem_rectified),  # not rectifying yet
        (ProblemStatus.RECTIFYING, problem_rectifying_start),
        (ProblemStatus.CLOSED, problem_rectified),
        (ProblemStatus.OPEN, problem_reopen),
    ],
)
def test_refused_moves_raise_and_change_nothing(
    units: dict[str, Unit], sue: User, status: str, move: Callable[..., None]
) -> None:
    problem = problem_make(units)
    Problem.objects.filter(pk=problem.pk).update(status=status)
    problem.refresh_from_db()
    with pytest.raises(ProblemRefused, match=r"cannot|Only a closed"):
        move(problem, by=sue)
    problem.refresh_from_db()
    assert problem.status == status
    assert kinds(problem) == ["opened"]


def test_a_failed_verification_goes_back_to_rectifying(units: dict[str, Unit], sue: User) -> None:
    problem = problem_make(units)
    problem_rectifying_start(problem, by=sue)
    problem_rectified(problem, by=sue)
    problem_verification_record(
        problem, before=(40, 400), after=(38, 380), p_value=0.5, significant=False
    )
    assert problem.close_proposed_at is None
    assert (problem.before_detractors, problem.before_answers) == (40, 400)
    assert (problem.after_detractors, problem.after_answers, problem.p_value) == (38, 380, 0.5)
    with pytest.raises(ProblemRefused):
        problem_close(problem, by=sue, verified=True)  # nothing was proposed
    problem_rectifying_start(problem, by=sue)
    assert problem.status == ProblemStatus.RECTIFYING


def test_verification_writes_a_line_only_when_the_verdict_changes(
    units: dict[str, Unit], sue: User
) -> None:
    problem = problem_make(units)
    problem_rectifying_start(problem, by=sue)
    problem_rectified(problem, by=sue)
    for _ in range(3):
        problem_verification_record(
            problem, before=(40, 400), after=(20, 300), p_value=0.01, significant=True
        )
    assert kinds(problem).count("closure_proposed") == 1
    assert problem.status == ProblemStatus.VERIFYING  # a person closes it, never the check


def test_closing_needs_a_person(units: dict[str, Unit]) -> None:
    problem = problem_make(units)
    with pytest.raises(ProblemRefused, match="person"):
        problem_close(problem, by=None, verified=False)  # type: ignore[arg-type]
    problem.refresh_from_db()
    assert problem.status == ProblemStatus.OPEN


def test_closing_late_and_unverified_records_one_accountability_entry(
    units: dict[str, Unit], sue: User
) -> None:
    owner = User.objects.create_user("owen")
    with time_machine.travel(NOW, tick=False):
        problem = problem_make(units, deadline=NOW + timedelta(days=1))
        Problem.objects.filter(pk=problem.pk).update(owner=owner)
        problem.refresh_from_db()
    with time_machine.travel(NOW + timedelta(days=3), tick=False):
        problem_close(problem, by=sue, verified=False)
        problem_reopen(problem, by=sue)
        problem_close(problem, by=sue, verified=False)
    entry = AccountabilityEntry.objects.get()
    assert entry.problem == problem
    assert entry.unit == units["store"]
    assert entry.person == owner
    assert "deadline" in entry.finding
    assert "without a verified" in entry.finding
    assert entry.created_by is None
    assert kinds(problem).count("accountability") == 1


def test_closing_on_time_but_unverified_records_why(units: dict[str, Unit], sue: User) -> None:
    problem = problem_make(units, deadline=timezone.now() + timedelta(days=1))
    problem_close(problem, by=sue, verified=False)
    entry = AccountabilityEntry.objects.get()
    assert "deadline" not in entry.finding
    assert "without a verified" in entry.finding


def test_overdue_problems_are_emailed_to_the_unit_and_quality_owners_once_a_day(
    units: dict[str, Unit], sue: User, django_capture_on_commit_callbacks: Any
) -> None:
    store_owner = User.objects.create_user("olga", email="olga@example.com")
    StaffProfile.objects.create(user=store_owner, time_zone="Asia/Urumqi")
    units["store"].owners.add(store_owner)
    units["quality"].owners.add(sue)
    units["city"].owners.add(User.objects.create_user("carl", email="carl@example.com"))  # not told
    problem = problem_make(units, deadline=NOW - timedelta(hours=1))
    problem_make(units, deadline=NOW + timedelta(days=30))  # not yet due
    with django_capture_on_commit_callbacks(execute=True):
        assert problems_escalate_overdue(NOW) == 1
    assert sorted(m.to[0] for m in mail.outbox) == ["olga@example.com", "sue@example.com"]
    olga = next(m for m in mail.outbox if m.to == ["olga@example.com"])
    assert "2026-11-23 07:00 (Asia/Urumqi)" in olga.body  # 01:00 UTC in her zone
    with django_capture_on_commit_callbacks(execute=True):
        assert problems_escalate_overdue(NOW + timedelta(hours=23)) == 0
    assert len(mail.outbox) == 2
    with django_capture_on_commit_callbacks(execute=True):
        assert problems_escalate_overdue(NOW + timedelta(hours=25)) == 1
    assert len(mail.outbox) == 4
    problem.refresh_from_db()
    assert problem.escalated_at == NOW + timedelta(hours=25)
    assert kinds(problem).count("escalated") == 2


def test_closed_problems_do_not_escalate(units: dict[str, Unit], sue: User) -> None:
    units["quality"].owners.add(sue)
    problem = problem_make(units, deadline=NOW - timedelta(hours=1))
    problem_close(problem, by=sue, verified=False)
    assert problems_escalate_overdue(NOW) == 0
    assert mail.outbox == []


@pytest.mark.django_db(transaction=True)
@pytest.mark.skipif(
    connection.vendor != "postgresql",
    reason="needs row locks between concurrent transactions: runs in the PostgreSQL pass",
)
def test_two_concurrent_runs_escalate_a_problem_once(
    units: dict[str, Unit], sue: User, monkeypatch: pytest.MonkeyPatch
) -> None:
    units["quality"].owners.add(sue)
    problem = problem_make(units, deadline=NOW - timedelta(hours=1))
    both_read = threading.Barrier(2, timeout=10)
    recipients = problem_escalation.problem_escalation_recipients

    def recipients_after_both_read(problem: Problem) -> list[User]:
        both_read.wait()  # both runs have read the problem as due before either claims it
        return recipients(problem)

    monkeypatch.setattr(
        problem_escalation, "problem_escalation_recipients", recipients_after_both_read
    )
    results: list[int] = []

    def run() -> None:
        try:
            results.append(problems_escalate_overdue(NOW))
        finally:
            connection.close()

    threads = [threading.Thread(target=run) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(results) == [0, 1]
    assert len(mail.outbox) == 1
    assert kinds(problem).count("escalated") == 1
