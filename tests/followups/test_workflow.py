"""Working a case: the transitions the services allow, what each records, and what they refuse."""

from collections.abc import Callable, Iterator
from datetime import time, timedelta
from typing import Any

import pytest
import time_machine
from django.core.exceptions import ValidationError
from django.utils import timezone

from followups import tasks
from followups.assignment import case_assign
from followups.cases import case_follow_response, case_open
from followups.escalation import cases_escalate
from followups.models import Agent, Case, CaseEvent, CaseStatus, ContactAttempt
from followups.sla import overdue, sla_due_times
from followups.workflow import (
    TRANSITIONS,
    TransitionNotAllowed,
    case_attempt_log,
    case_close,
    case_mark_unreachable,
    case_reopen,
    case_resolve,
    case_start,
    unreachable_after,
    work_available,
)
from surveys.models import Category, ReasonCategory, Response
from tests.factories import AgentFactory
from tests.followups.personas import MONDAY_10, Personas, assigned_case, personas_make

S = CaseStatus
LATER = MONDAY_10 + timedelta(hours=1)
Call = Callable[..., Any]

# One call per service, with valid arguments: the tests vary only the case's status.
SERVICES: dict[str, Call] = {
    "start": lambda pk, actor, cause: case_start(case_id=pk, actor=actor),
    "attempt": lambda pk, actor, cause: case_attempt_log(
        case_id=pk, actor=actor, channel="phone", outcome="no_answer"
    ),
    "resolve": lambda pk, actor, cause: case_resolve(
        case_id=pk, actor=actor, root_causes=[cause], action_taken="Refunded", note="Happy now"
    ),
    "unreachable": lambda pk, actor, cause: case_mark_unreachable(case_id=pk, actor=actor),
    "close": lambda pk, actor, cause: case_close(case_id=pk, actor=actor, reason="Done"),
    "reopen": lambda pk, actor, cause: case_reopen(case_id=pk, actor=actor, reason="Called back"),
}
PATHS = {
    S.ASSIGNED: [],
    S.IN_PROGRESS: ["start"],
    S.RESOLVED: ["start", "resolve"],
    S.UNREACHABLE: ["start", "unreachable"],
    S.CLOSED: ["start", "resolve", "close"],
}


@pytest.fixture(autouse=True)
def clock() -> Iterator[None]:
    """Work happens an hour after the cases are opened (Monday 10:00 Shanghai)."""
    with time_machine.travel(LATER):
        yield


@pytest.fixture
def people(db: Any) -> Personas:
    return personas_make()


@pytest.fixture
def cause(db: Any) -> ReasonCategory:
    return ReasonCategory.objects.get_or_create(
        code="network", defaults={"name_en": "Network", "name_zh": "网络"}
    )[0]


@pytest.fixture
def case_in(
    people: Personas, detractor: Callable[..., Response], cause: ReasonCategory
) -> Callable[[str], Case]:
    """A case brought to a status through the services (new: opened, never assigned)."""

    def make(status: str) -> Case:
        if status == S.NEW:
            with time_machine.travel(MONDAY_10, tick=False):
                case = case_open(response=detractor(region="BJ"))
            assert case is not None
            return case
        case = assigned_case(detractor)
        for step in PATHS[status]:
            SERVICES[step](case.pk, people.agent, cause)
        case.refresh_from_db()
        assert case.status == status
        return case

    return make


def kinds(case: Case) -> list[str]:
    return list(case.events.values_list("kind", flat=True))


# ---------------------------------------------------------------- the table


def test_the_table_is_the_documented_path() -> None:
    assert {
        (start, end) for start, end in TRANSITIONS if TRANSITIONS[start, end] != "reopened"
    } == {
        (S.NEW, S.ASSIGNED),
        (S.ASSIGNED, S.IN_PROGRESS),
        (S.IN_PROGRESS, S.RESOLVED),
        (S.IN_PROGRESS, S.UNREACHABLE),
        (S.RESOLVED, S.CLOSED),
        (S.UNREACHABLE, S.CLOSED),
    }
    reopens = {pair for pair, kind in TRANSITIONS.items() if kind == "reopened"}
    done = (S.RESOLVED, S.UNREACHABLE, S.CLOSED)
    assert reopens == {(d, back) for d in done for back in (S.IN_PROGRESS, S.NEW)}


@pytest.mark.parametrize(
    ("status", "work"),
    [
        (S.NEW, {"assigned"}), (S.ASSIGNED, {"started", "attempt"}),
        (S.IN_PROGRESS, {"attempt", "resolved", "unreachable"}),
        (S.RESOLVED, {"closed", "reopened"}), (S.UNREACHABLE, {"closed", "reopened"}),
        (S.CLOSED, {"reopened"}),
    ],
)  # fmt: skip
def test_work_available_follows_the_status(status: str, work: set[str]) -> None:
    assert work_available(status) == work


@pytest.mark.parametrize(
    ("outcomes", "gives_up"),
    [
        ([], False),
        (["no_answer", "busy"], False),
        (["no_answer", "busy", "wrong_number"], True),
        (["refused", "refused", "refused", "no_answer"], True),
        (["reached", "no_answer", "busy", "refused"], False),
        (["no_answer", "no_answer", "no_answer", "reached"], False),
    ],
)
def test_unreachable_after_three_failures_without_reaching(
    outcomes: list[str], gives_up: bool
) -> None:
    assert unreachable_after(outcomes, limit=3) is gives_up


# ---------------------------------------------------------------- every allowed move


@pytest.mark.parametrize(
    ("start", "service", "end"),
    [
        (S.ASSIGNED, "start", S.IN_PROGRESS), (S.ASSIGNED, "attempt", S.IN_PROGRESS),
        (S.IN_PROGRESS, "attempt", S.IN_PROGRESS), (S.IN_PROGRESS, "resolve", S.RESOLVED),
        (S.IN_PROGRESS, "unreachable", S.UNREACHABLE), (S.RESOLVED, "close", S.CLOSED),
        (S.UNREACHABLE, "close", S.CLOSED), (S.RESOLVED, "reopen", S.IN_PROGRESS),
        (S.UNREACHABLE, "reopen", S.IN_PROGRESS), (S.CLOSED, "reopen", S.IN_PROGRESS),
    ],
)  # fmt: skip
def test_allowed_move_changes_status_and_records_who_did_it(
    case_in: Callable[[str], Case],
    people: Personas,
    cause: ReasonCategory,
    start: str,
    service: str,
    end: str,
) -> None:
    case = case_in(start)
    before = case.events.count()
    SERVICES[service](case.pk, people.lead, cause)
    case.refresh_from_db()
    assert case.status == end
    new_events = list(case.events.all()[before:])
    assert new_events
    assert {event.actor for event in new_events} == {people.lead}
    if start != end:
        assert {"from": start, "to": end}.items() <= new_events[-1].detail.items()


def test_reopening_a_case_without_agent_puts_it_back_in_the_queue(
    case_in: Callable[[str], Case],
    people: Personas,
    django_capture_on_commit_callbacks: Any,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    case = case_in(S.NEW)
    response = case.response
    response.score, response.category = 9, Category.PROMOTER
    case_follow_response(response=response)  # the customer corrected the score: closed
    queued: list[int] = []
    monkeypatch.setattr("followups.tasks.assign_case.delay", queued.append)
    with django_capture_on_commit_callbacks(execute=True):
        case_reopen(case_id=case.pk, actor=people.supervisor, reason="Complained again")
    case.refresh_from_db()
    assert (case.status, case.agent, case.closed_at, case.closed_by_correction) == (
        S.NEW, None, None, False,
    )  # fmt: skip
    assert queued == [case.pk]


# ---------------------------------------------------------------- refused moves


@pytest.mark.parametrize(
    ("start", "service", "requested"),
    [
        (S.NEW, "start", S.IN_PROGRESS), (S.NEW, "attempt", S.IN_PROGRESS),
        (S.NEW, "resolve", S.RESOLVED), (S.ASSIGNED, "resolve", S.RESOLVED),
        (S.ASSIGNED, "unreachable", S.UNREACHABLE), (S.ASSIGNED, "close", S.CLOSED),
        (S.ASSIGNED, "reopen", S.IN_PROGRESS), (S.IN_PROGRESS, "start", S.IN_PROGRESS),
        (S.IN_PROGRESS, "close", S.CLOSED), (S.IN_PROGRESS, "reopen", S.IN_PROGRESS),
        (S.RESOLVED, "start", S.IN_PROGRESS), (S.RESOLVED, "attempt", S.IN_PROGRESS),
        (S.RESOLVED, "resolve", S.RESOLVED), (S.UNREACHABLE, "resolve", S.RESOLVED),
        (S.CLOSED, "attempt", S.IN_PROGRESS), (S.CLOSED, "close", S.CLOSED),
        (S.CLOSED, "resolve", S.RESOLVED),
    ],
)  # fmt: skip
def test_forbidden_move_is_refused_naming_both_statuses_and_changes_nothing(
    case_in: Callable[[str], Case],
    people: Personas,
    cause: ReasonCategory,
    start: str,
    service: str,
    requested: str,
) -> None:
    case = case_in(start)
    events, attempts = case.events.count(), case.attempts.count()
    with pytest.raises(TransitionNotAllowed) as refused:
        SERVICES[service](case.pk, people.agent, cause)
    assert str(refused.value) == (
        f"Case #{case.pk} cannot move from “{S(start).label}” to “{S(requested).label}”."
    )
    case.refresh_from_db()
    assert case.status == start
    assert (case.events.count(), case.attempts.count()) == (events, attempts)


@pytest.mark.parametrize("reason", ["", "   "])
def test_reopen_needs_a_reason(
    case_in: Callable[[str], Case], people: Personas, reason: str
) -> None:
    case = case_in(S.RESOLVED)
    with pytest.raises(ValidationError) as refused:
        case_reopen(case_id=case.pk, actor=people.lead, reason=reason)
    assert set(refused.value.error_dict) == {"reason"}
    case.refresh_from_db()
    assert case.status == S.RESOLVED


@pytest.mark.parametrize(
    ("given", "missing"),
    [
        ({"root_causes": []}, {"root_causes"}),
        ({"action_taken": " "}, {"action_taken"}),
        ({"note": ""}, {"note"}),
        (
            {"root_causes": [], "action_taken": "", "note": ""},
            {"root_causes", "action_taken", "note"},
        ),
    ],
)
def test_resolve_needs_root_cause_action_and_note(
    case_in: Callable[[str], Case],
    people: Personas,
    cause: ReasonCategory,
    given: dict[str, Any],
    missing: set[str],
) -> None:
    case = case_in(S.IN_PROGRESS)
    fields = {"root_causes": [cause], "action_taken": "Refunded", "note": "Happy now"} | given
    with pytest.raises(ValidationError) as refused:
        case_resolve(case_id=case.pk, actor=people.agent, **fields)
    assert set(refused.value.error_dict) == missing
    case.refresh_from_db()
    assert (case.status, case.resolved_at) == (S.IN_PROGRESS, None)


# ---------------------------------------------------------------- what each service records


def test_resolve_records_root_cause_action_note_and_time(
    case_in: Callable[[str], Case], people: Personas, cause: ReasonCategory
) -> None:
    case = case_in(S.IN_PROGRESS)
    with time_machine.travel(LATER + timedelta(hours=2), tick=False):
        case_resolve(
            case_id=case.pk, actor=people.agent, root_causes=[cause],
            action_taken=" Refunded the roaming fee ", note="Customer accepted",
        )  # fmt: skip
        resolved_at = timezone.now()
    case.refresh_from_db()
    assert (case.status, case.resolved_at) == (S.RESOLVED, resolved_at)
    assert list(case.root_causes.all()) == [cause]
    assert (case.action_taken, case.resolution_note) == (
        "Refunded the roaming fee",
        "Customer accepted",
    )
    event = case.events.last()
    assert (event.kind, event.actor) == ("resolved", people.agent)
    assert event.detail["root_cause"] == ["network"]


def test_an_attempt_on_an_assigned_case_starts_it_and_stores_the_attempt(
    case_in: Callable[[str], Case], people: Personas
) -> None:
    case = case_in(S.ASSIGNED)
    attempt = case_attempt_log(
        case_id=case.pk, actor=people.agent, channel="wechat", outcome="busy", note="Line busy"
    )
    case.refresh_from_db()
    assert case.status == S.IN_PROGRESS
    assert kinds(case) == ["opened", "assigned", "attempt", "started"]
    assert (attempt.channel, attempt.outcome, attempt.note) == ("wechat", "busy", "Line busy")
    assert attempt.agent is not None
    assert attempt.agent.user == people.agent
    assert case.events.get(kind="attempt").detail["outcome"] == "busy"


def test_a_failed_call_is_a_first_attempt_but_not_first_contact(
    case_in: Callable[[str], Case], people: Personas
) -> None:
    case = case_in(S.ASSIGNED)
    first = LATER + timedelta(minutes=5)
    case_attempt_log(
        case_id=case.pk, actor=people.agent, channel="phone", outcome="no_answer", at=first
    )
    case.refresh_from_db()
    assert (case.first_attempt_at, case.first_contact_at) == (first, None)
    reached = LATER + timedelta(minutes=30)
    case_attempt_log(
        case_id=case.pk, actor=people.agent, channel="phone", outcome="reached", at=reached
    )
    case_attempt_log(case_id=case.pk, actor=people.agent, channel="sms", outcome="reached")
    case.refresh_from_db()
    assert (case.first_attempt_at, case.first_contact_at) == (first, reached)
    assert case.attempts.count() == 3


def test_a_no_answer_attempt_does_not_meet_the_first_contact_sla(
    case_in: Callable[[str], Case], people: Personas
) -> None:
    case = case_in(S.ASSIGNED)
    case_attempt_log(case_id=case.pk, actor=people.agent, channel="phone", outcome="no_answer")
    case.refresh_from_db()
    after_due = case.sla_due_at + timedelta(minutes=1)
    assert Case.objects.filter(overdue(after_due), pk=case.pk).exists()
    with time_machine.travel(after_due, tick=False):
        assert cases_escalate() == 1
    assert case.events.get(kind="escalated").detail["clock"] == "first_contact"


def test_failed_attempts_up_to_the_setting_make_the_case_unreachable(
    case_in: Callable[[str], Case], people: Personas, settings: Any
) -> None:
    settings.NPS_UNREACHABLE_AFTER = 3
    case = case_in(S.ASSIGNED)
    for outcome in ("no_answer", "busy"):
        case_attempt_log(case_id=case.pk, actor=people.agent, channel="phone", outcome=outcome)
    case.refresh_from_db()
    assert case.status == S.IN_PROGRESS
    case_attempt_log(case_id=case.pk, actor=people.agent, channel="sms", outcome="wrong_number")
    case.refresh_from_db()
    assert case.status == S.UNREACHABLE
    event = case.events.last()
    assert (event.kind, event.actor) == ("unreachable", people.agent)
    assert event.detail == {"from": S.IN_PROGRESS, "to": S.UNREACHABLE, "failed_attempts": 3,
                            "automatic": True}  # fmt: skip


def test_a_reached_attempt_resets_nothing_and_keeps_the_case_reachable(
    case_in: Callable[[str], Case], people: Personas, settings: Any
) -> None:
    settings.NPS_UNREACHABLE_AFTER = 2
    case = case_in(S.ASSIGNED)
    case_attempt_log(case_id=case.pk, actor=people.agent, channel="phone", outcome="no_answer")
    first = LATER + timedelta(minutes=1)
    case_attempt_log(
        case_id=case.pk, actor=people.agent, channel="phone", outcome="reached", at=first
    )
    case.refresh_from_db()
    assert (case.status, case.first_contact_at) == (S.IN_PROGRESS, first)
    for _ in range(3):  # after reaching the customer, later failures do not give up on them
        case_attempt_log(case_id=case.pk, actor=people.agent, channel="phone", outcome="busy")
    case.refresh_from_db()
    assert (case.status, case.first_contact_at) == (S.IN_PROGRESS, first)
    assert ContactAttempt.objects.filter(case=case).count() == 5


def test_a_reopened_case_counts_its_failed_attempts_afresh(
    case_in: Callable[[str], Case], people: Personas, settings: Any
) -> None:
    settings.NPS_UNREACHABLE_AFTER = 2
    case = case_in(S.ASSIGNED)
    for _ in range(2):
        case_attempt_log(case_id=case.pk, actor=people.agent, channel="phone", outcome="no_answer")
    case_reopen(case_id=case.pk, actor=people.lead, reason="Customer texted a new number")
    case_attempt_log(case_id=case.pk, actor=people.agent, channel="phone", outcome="no_answer")
    case.refresh_from_db()
    assert case.status == S.IN_PROGRESS
    case_attempt_log(case_id=case.pk, actor=people.agent, channel="phone", outcome="no_answer")
    case.refresh_from_db()
    assert case.status == S.UNREACHABLE


def test_close_and_reopen_stamp_and_clear_the_times(
    case_in: Callable[[str], Case], people: Personas
) -> None:
    case = case_in(S.RESOLVED)
    case_close(case_id=case.pk, actor=people.lead, reason=" Verified by phone ")
    case.refresh_from_db()
    assert (case.status, case.close_reason) == (S.CLOSED, "Verified by phone")
    assert case.closed_at is not None
    assert case.resolved_at is not None
    case_reopen(case_id=case.pk, actor=people.supervisor, reason="Complained again")
    case.refresh_from_db()
    assert (case.status, case.resolved_at, case.closed_at, case.close_reason) == (
        S.IN_PROGRESS, None, None, "",
    )  # fmt: skip
    assert case.events.last().detail["reason"] == "Complained again"


def test_every_change_writes_one_history_row_with_its_actor(
    case_in: Callable[[str], Case], people: Personas, cause: ReasonCategory
) -> None:
    case = case_in(S.ASSIGNED)
    case_start(case_id=case.pk, actor=people.agent)
    case_attempt_log(case_id=case.pk, actor=people.agent, channel="phone", outcome="reached")
    case_resolve(case_id=case.pk, actor=people.agent, root_causes=[cause], action_taken="Fixed",
                 note="Signal restored")  # fmt: skip
    case_close(case_id=case.pk, actor=people.lead, reason="Verified")
    case_reopen(case_id=case.pk, actor=people.supervisor, reason="Signal lost again")
    history = CaseEvent.objects.filter(case=case).exclude(kind__in=["opened", "assigned"])
    assert [(e.kind, e.actor, e.detail.get("to")) for e in history] == [
        ("started", people.agent, S.IN_PROGRESS),
        ("attempt", people.agent, None),
        ("resolved", people.agent, S.RESOLVED),
        ("closed", people.lead, S.CLOSED),
        ("reopened", people.supervisor, S.IN_PROGRESS),
    ]


def test_finishing_and_reopening_tell_surveys_whether_we_are_calling_back(
    case_in: Callable[[str], Case], people: Personas
) -> None:
    case = case_in(S.IN_PROGRESS)
    customer = case.customer
    customer.refresh_from_db()
    assert customer.in_callback is True
    case_mark_unreachable(case_id=case.pk, actor=people.agent, reason="Number disconnected")
    customer.refresh_from_db()
    assert customer.in_callback is False
    case_reopen(case_id=case.pk, actor=people.lead, reason="New number from the store")
    customer.refresh_from_db()
    assert customer.in_callback is True


# ---------------------------------------------------------------- reopening


@pytest.fixture
def queued(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Case ids handed to the assignment task (the broker is the outside world here)."""
    sent: list[int] = []
    monkeypatch.setattr("followups.tasks.assign_case.delay", sent.append)
    return sent


def ann(people: Personas) -> Agent:
    return Agent.objects.get(user=people.agent)


@pytest.mark.parametrize(
    "why",
    ["away", "off shift", "at capacity"],
)
def test_a_reopened_case_whose_agent_cannot_take_it_now_is_assigned_like_a_new_one(
    why: str,
    case_in: Callable[[str], Case],
    people: Personas,
    queued: list[int],
    detractor: Callable[..., Response],
    django_capture_on_commit_callbacks: Any,
) -> None:
    case = case_in(S.RESOLVED)
    colleague = AgentFactory(name="Cal", team=people.team)
    if why == "away":
        Agent.objects.filter(pk=ann(people).pk).update(is_available=False)
    elif why == "off shift":  # Ann works evenings; it is Monday 11:00 in Shanghai
        Agent.objects.filter(pk=ann(people).pk).update(
            time_zone="Asia/Shanghai", shift_start=time(18, 0), shift_end=time(23, 0)
        )
    else:
        Agent.objects.filter(pk=ann(people).pk).update(capacity=1)
        other = assigned_case(detractor, phone="+8613900000077")
        assert other.agent == ann(people)
    with django_capture_on_commit_callbacks(execute=True):
        case_reopen(case_id=case.pk, actor=people.lead, reason="Complained again")
    case.refresh_from_db()
    assert (case.status, case.agent, case.assigned_at) == (S.NEW, None, None)
    assert queued == [case.pk]
    assert tasks.assign_case(case.pk) == colleague.pk


def test_a_reopened_case_goes_back_to_its_agent_when_they_could_take_a_new_case(
    case_in: Callable[[str], Case], people: Personas, queued: list[int]
) -> None:
    case = case_in(S.UNREACHABLE)
    AgentFactory(name="Cal", team=people.team)
    case_reopen(case_id=case.pk, actor=people.lead, reason="New number")
    case.refresh_from_db()
    assert (case.status, case.agent) == (S.IN_PROGRESS, ann(people))
    assert queued == []


def test_a_case_reopened_long_after_its_due_times_does_not_escalate_until_the_new_ones(
    case_in: Callable[[str], Case], people: Personas, cause: ReasonCategory
) -> None:
    case = case_in(S.IN_PROGRESS)
    case_attempt_log(case_id=case.pk, actor=people.agent, channel="phone", outcome="reached")
    case_resolve(
        case_id=case.pk, actor=people.agent, root_causes=[cause], action_taken="a", note="b"
    )
    case.refresh_from_db()
    reopened_at = case.resolution_due_at + timedelta(days=14)
    with time_machine.travel(reopened_at, tick=False):
        case_reopen(case_id=case.pk, actor=people.supervisor, reason="Complained again")
    case.refresh_from_db()
    assert (case.sla_due_at, case.resolution_due_at) == sla_due_times(
        priority=case.priority, tier=case.customer.tier, opened_at=reopened_at, team=people.team
    )
    with time_machine.travel(reopened_at + timedelta(minutes=1), tick=False):
        assert cases_escalate() == 0
    with time_machine.travel(case.resolution_due_at - timedelta(minutes=1), tick=False):
        assert cases_escalate() == 0
    with time_machine.travel(case.resolution_due_at + timedelta(minutes=1), tick=False):
        assert cases_escalate() == 1
    assert case.events.get(kind="escalated").detail["clock"] == "resolution"


def test_a_case_reopened_by_a_score_correction_gets_new_due_times_too(
    case_in: Callable[[str], Case],
) -> None:
    case = case_in(S.NEW)
    response = case.response
    response.score, response.category = 9, Category.PROMOTER
    case_follow_response(response=response)
    later = case.sla_due_at + timedelta(days=3)
    with time_machine.travel(later, tick=False):
        response.score, response.category = 2, Category.DETRACTOR
        case_follow_response(response=response)
    case.refresh_from_db()
    assert case.status == S.NEW
    assert (case.sla_due_at, case.resolution_due_at) == sla_due_times(
        priority=case.priority, tier=case.customer.tier, opened_at=later, team=case.team
    )


# ---------------------------------------------------------------- freed capacity


@pytest.fixture
def full_team(
    people: Personas, detractor: Callable[..., Response], queued: list[int]
) -> tuple[Case, list[Case]]:
    """Ann (capacity 1) works one case; two more of her team wait, the older first."""
    Agent.objects.filter(user=people.agent).update(capacity=1)
    worked = assigned_case(detractor)
    case_start(case_id=worked.pk, actor=people.agent)
    waiting = []
    for minutes, phone in ((5, "+8613900000011"), (6, "+8613900000012")):
        with time_machine.travel(MONDAY_10 + timedelta(minutes=minutes), tick=False):
            case = case_open(response=detractor(phone=phone, region="BJ"))
            assert case_assign(case_id=case.pk) is None  # Ann is full: it waits
        waiting.append(case)
    queued.clear()
    return worked, waiting


@pytest.mark.parametrize("how", ["resolve", "unreachable", "automatic unreachable"])
def test_a_case_leaving_the_agents_hands_assigns_the_teams_oldest_waiting_case_at_once(
    how: str,
    full_team: tuple[Case, list[Case]],
    people: Personas,
    cause: ReasonCategory,
    queued: list[int],
    settings: Any,
    django_capture_on_commit_callbacks: Any,
) -> None:
    worked, (oldest, newer) = full_team
    settings.NPS_UNREACHABLE_AFTER = 1
    with django_capture_on_commit_callbacks(execute=True):
        if how == "resolve":
            SERVICES["resolve"](worked.pk, people.agent, cause)
        elif how == "unreachable":
            case_mark_unreachable(case_id=worked.pk, actor=people.agent, reason="Disconnected")
        else:
            SERVICES["attempt"](worked.pk, people.agent, cause)
    assert queued == [oldest.pk]
    assert tasks.assign_case(oldest.pk) == ann(people).pk
    assert tasks.assign_case(newer.pk) is None  # one place freed, one case assigned


def test_closing_a_case_offers_the_teams_waiting_case_at_once(
    full_team: tuple[Case, list[Case]],
    people: Personas,
    cause: ReasonCategory,
    queued: list[int],
    django_capture_on_commit_callbacks: Any,
) -> None:
    worked, (oldest, _newer) = full_team
    SERVICES["resolve"](worked.pk, people.agent, cause)
    queued.clear()
    with django_capture_on_commit_callbacks(execute=True):
        case_close(case_id=worked.pk, actor=people.lead, reason="Verified")
    assert queued == [oldest.pk]


# ---------------------------------------------------------------- closing needs a reason


@pytest.mark.parametrize("status", [S.UNREACHABLE, S.RESOLVED])
@pytest.mark.parametrize("reason", ["", "   "])
def test_closing_a_case_without_a_reason_is_refused(
    status: str, reason: str, case_in: Callable[[str], Case], people: Personas
) -> None:
    case = case_in(status)
    with pytest.raises(ValidationError) as refused:
        case_close(case_id=case.pk, actor=people.lead, reason=reason)
    assert "reason" in refused.value.message_dict
    case.refresh_from_db()
    assert (case.status, case.closed_at) == (status, None)


# ---------------------------------------------------------------- the seam


def test_every_line_of_a_cases_history_is_announced_in_its_transaction(
    people: Personas, case_in: Callable[[str], Case], cause: ReasonCategory
) -> None:
    from followups.signals import case_events_recorded

    heard: list[tuple[int, str]] = []

    def listen(sender: Any, events: list[CaseEvent], **kwargs: Any) -> None:
        heard.extend((event.case_id, event.kind) for event in events)

    case_events_recorded.connect(listen)
    try:
        case = case_in(S.UNREACHABLE)
        case_close(case_id=case.pk, actor=people.agent, reason="Done")
    finally:
        case_events_recorded.disconnect(listen)

    history = list(case.events.order_by("pk").values_list("case_id", "kind"))
    assert heard == history
    assert [kind for _, kind in heard] == ["opened", "assigned", "started", "unreachable", "closed"]


def test_a_batch_of_history_lines_is_announced_once_with_every_line(
    case_in: Callable[[str], Case],
) -> None:
    from followups.history import case_events_record
    from followups.signals import case_events_recorded

    case = case_in(S.NEW)
    heard: list[list[tuple[int, str]]] = []

    def listen(sender: Any, events: list[CaseEvent], **kwargs: Any) -> None:
        heard.append([(event.case_id, event.kind) for event in events])

    case_events_recorded.connect(listen)
    try:
        case_events_record([(case.pk, "noted", {}), (case.pk, "checked", {"n": 2})])
    finally:
        case_events_recorded.disconnect(listen)

    assert heard == [[(case.pk, "noted"), (case.pk, "checked")]]
