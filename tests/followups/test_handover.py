"""Hold and resume, booked callbacks and transfers: services, and the case page's forms."""

import threading
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.core import mail
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection
from django.test import Client
from django.urls import reverse

from followups.escalation import cases_escalate
from followups.handover import (
    appointments_remind,
    case_appointment_book,
    case_hold,
    case_resume,
    case_transfer,
)
from followups.models import Agent, Case, CaseEvent, CaseStatus, HoldReason
from followups.workflow import case_attempt_log, case_mark_unreachable
from surveys.models import Response
from tests.factories import AgentFactory
from tests.followups.personas import MONDAY_10, Personas, assigned_case, personas_make

SH = ZoneInfo("Asia/Shanghai")


def at(day: int, hour: int, minute: int = 0) -> datetime:
    """A moment of the week of MONDAY_10 (23 = Monday), Shanghai time."""
    return datetime(2026, 11, day, hour, minute, tzinfo=SH)


def typed(text: str) -> datetime:
    """A time as the agent types it on the form: no zone (the service reads the agent's)."""
    return datetime.fromisoformat(text)


@pytest.fixture
def people(db: Any) -> Personas:
    return personas_make()


@pytest.fixture
def case(people: Personas, detractor: Callable[..., Response]) -> Case:
    """Ann's P2 case in North (08:00-20:00 every day): first contact due Monday 18:00,
    resolution due Friday 10:00."""
    made = assigned_case(detractor)
    assert made.sla_due_at == at(23, 18)
    assert made.resolution_due_at == at(27, 10)
    return made


@pytest.fixture
def cat(people: Personas) -> Agent:
    """Cat, Ann's teammate in North."""
    return AgentFactory(name="Cat", team=people.team, capacity=5)


def logged_in(user: Any) -> Client:
    client = Client()
    client.force_login(user)
    return client


def work_url(case: Case, step: str) -> str:
    return reverse(f"admin:followups_case_{step}", args=[case.pk])


def hold(case: Case, people: Personas, when: datetime, **kwargs: Any) -> None:
    with time_machine.travel(when, tick=False):
        case_hold(case_id=case.pk, actor=people.agent, reason=HoldReason.FIELD_VISIT, **kwargs)


def resume(case: Case, people: Personas, when: datetime) -> Case:
    with time_machine.travel(when, tick=False):
        return case_resume(case_id=case.pk, actor=people.agent)


# ---------------------------------------------------------------- hold


def test_resuming_pushes_the_due_times_by_the_business_hours_spent_on_hold(
    people: Personas, case: Case
) -> None:
    hold(case, people, at(23, 12), note="Engineer visits Tuesday")
    resumed = resume(case, people, at(24, 10))
    # On hold Monday 12:00-20:00 and Tuesday 08:00-10:00: 10 business hours.
    assert resumed.sla_due_at == at(24, 16)
    assert resumed.resolution_due_at == at(27, 20)
    assert resumed.held_since is None
    assert resumed.hold_total == timedelta(hours=22)
    assert resumed.hold_count == 1
    kinds = list(case.events.values_list("kind", flat=True))
    assert kinds[-2:] == ["held", "resumed"]
    held = case.events.get(kind="held")
    assert held.detail["hold_reason"] == HoldReason.FIELD_VISIT
    assert held.actor == people.agent


def test_a_held_case_does_not_escalate_until_it_is_resumed(people: Personas, case: Case) -> None:
    hold(case, people, at(23, 12))
    assert cases_escalate(now=at(23, 19)) == 0
    assert cases_escalate(now=at(24, 9)) == 0
    resume(case, people, at(24, 10))
    assert cases_escalate(now=at(24, 15, 59)) == 0  # due 16:00 now, not Monday 18:00
    assert cases_escalate(now=at(24, 16, 1)) == 1


def test_a_case_is_held_only_with_a_reason_from_the_list_and_only_once(
    people: Personas, case: Case
) -> None:
    with pytest.raises(ValidationError):
        case_hold(case_id=case.pk, actor=people.agent, reason="")
    with pytest.raises(ValidationError):
        case_hold(case_id=case.pk, actor=people.agent, reason=HoldReason.OTHER, note=" ")
    hold(case, people, at(23, 12))
    with pytest.raises(ValidationError):
        hold(case, people, at(23, 13))
    assert Case.objects.get(pk=case.pk).hold_count == 1


def test_a_case_that_is_not_held_cannot_be_resumed(people: Personas, case: Case) -> None:
    with pytest.raises(ValidationError):
        resume(case, people, at(23, 12))
    assert not case.events.filter(kind="resumed").exists()


def test_leaving_the_open_statuses_ends_the_hold_and_counts_its_time(
    people: Personas, case: Case
) -> None:
    with time_machine.travel(at(23, 11), tick=False):
        case_attempt_log(case_id=case.pk, actor=people.agent, channel="phone", outcome="reached")
    hold(case, people, at(23, 12))
    with time_machine.travel(at(23, 15), tick=False):
        case_mark_unreachable(case_id=case.pk, actor=people.agent, reason="Moved away")
    case.refresh_from_db()
    assert case.held_since is None
    assert case.hold_total == timedelta(hours=3)


def test_an_agent_puts_a_case_on_hold_from_the_case_page_and_sees_the_time_on_hold(
    people: Personas, case: Case
) -> None:
    ann = logged_in(people.agent)
    page = ann.get(reverse("admin:followups_case_change", args=[case.pk])).content.decode()
    assert work_url(case, "hold") in page
    with time_machine.travel(at(23, 12), tick=False):
        answer = ann.post(work_url(case, "hold"), {"reason": "call_back_later", "note": "At 3"})
    assert answer.status_code == 302
    case.refresh_from_db()
    assert case.held_since == at(23, 12)
    assert case.hold_note == "At 3"
    with time_machine.travel(at(23, 14, 30), tick=False):
        page = ann.get(reverse("admin:followups_case_change", args=[case.pk])).content.decode()
        listing = logged_in(people.lead).get(reverse("admin:followups_case_changelist"))
    assert "2 h 30 min" in page
    assert work_url(case, "resume") in page
    assert work_url(case, "hold") not in page
    assert "2 h 30 min" in listing.content.decode()


# ---------------------------------------------------------------- appointment


def test_a_booked_callback_is_due_then_in_the_agents_zone_and_escalates_only_after_it(
    people: Personas, case: Case
) -> None:
    Agent.objects.filter(user=people.agent).update(time_zone="Asia/Urumqi")  # UTC+6
    with time_machine.travel(at(23, 10, 30), tick=False):
        case_appointment_book(
            case_id=case.pk, actor=people.agent, at=typed("2026-11-23 19:00"), note="7点后"
        )
    case.refresh_from_db()
    expected = datetime(2026, 11, 23, 19, 0, tzinfo=ZoneInfo("Asia/Urumqi"))
    assert case.appointment_at == expected
    assert case.sla_due_at == expected  # 21:00 in Shanghai, past North's first-contact due
    assert case.appointment_zone == "Asia/Urumqi"
    event = case.events.get(kind="appointment_booked")
    assert event.detail["appointment"] == "2026-11-23 19:00 (Asia/Urumqi)"
    assert cases_escalate(now=at(23, 20, 59)) == 0
    assert cases_escalate(now=at(23, 21, 1)) == 1


def test_a_callback_in_the_past_is_refused(people: Personas, case: Case) -> None:
    with time_machine.travel(at(23, 12), tick=False), pytest.raises(ValidationError):
        case_appointment_book(case_id=case.pk, actor=people.agent, at=typed("2026-11-23 11:00"))
    case.refresh_from_db()
    assert case.appointment_at is None
    assert case.sla_due_at == at(23, 18)


def test_the_agent_is_reminded_once_before_the_callback(
    people: Personas, case: Case, django_capture_on_commit_callbacks: Any
) -> None:
    people.agent.email = "ann@example.com"
    people.agent.save()
    with time_machine.travel(at(23, 10, 30), tick=False):
        case_appointment_book(case_id=case.pk, actor=people.agent, at=typed("2026-11-23 19:00"))

    def remind(when: datetime) -> int:
        with django_capture_on_commit_callbacks(execute=True):
            return appointments_remind(now=when)

    assert remind(at(23, 18, 44)) == 0  # 16 minutes before
    assert remind(at(23, 18, 45)) == 1  # NPS_APPOINTMENT_REMINDER_MINUTES: 15
    assert remind(at(23, 18, 46)) == 0
    [email] = mail.outbox
    assert email.to == ["ann@example.com"]
    assert "2026-11-23 19:00 (Asia/Shanghai)" in email.subject
    assert case.events.filter(kind="appointment_reminded").count() == 1


def test_the_reminder_lead_time_is_a_setting(
    people: Personas, case: Case, settings: Any, django_capture_on_commit_callbacks: Any
) -> None:
    settings.NPS_APPOINTMENT_REMINDER_MINUTES = 60
    with time_machine.travel(at(23, 10, 30), tick=False):
        case_appointment_book(case_id=case.pk, actor=people.agent, at=typed("2026-11-23 19:00"))
    with django_capture_on_commit_callbacks(execute=True):
        assert appointments_remind(now=at(23, 17, 59)) == 0
        assert appointments_remind(now=at(23, 18, 0)) == 1


def test_two_reminder_runs_at_once_claim_the_reminder_once(people: Personas, case: Case) -> None:
    from followups.handover import appointment_remind

    with time_machine.travel(at(23, 10, 30), tick=False):
        case_appointment_book(case_id=case.pk, actor=people.agent, at=typed("2026-11-23 19:00"))
    stale = Case.objects.get(pk=case.pk)  # both runs read the case before either claims it
    assert appointment_remind(case=stale, now=at(23, 18, 50)) is True
    assert appointment_remind(case=stale, now=at(23, 18, 51)) is False


def test_an_agent_books_a_callback_on_the_case_page_and_sees_it_with_its_zone(
    people: Personas, case: Case
) -> None:
    ann = logged_in(people.agent)
    with time_machine.travel(at(23, 10, 30), tick=False):
        answer = ann.post(work_url(case, "appointment"), {"at": "2026-11-23T19:00", "note": ""})
        assert answer.status_code == 302
        page = ann.get(reverse("admin:followups_case_change", args=[case.pk])).content.decode()
    case.refresh_from_db()
    assert case.sla_due_at == at(23, 19)
    assert "2026-11-23 19:00 (Asia/Shanghai)" in page


# ---------------------------------------------------------------- transfer


def test_a_lead_transfers_a_case_to_a_teammate_with_the_reason_in_the_history(
    people: Personas, case: Case, cat: Agent
) -> None:
    with time_machine.travel(at(23, 11), tick=False):
        case_transfer(case_id=case.pk, actor=people.lead, agent=cat, reason="Speaks Tibetan")
    case.refresh_from_db()
    assert case.agent == cat
    assert case.status == CaseStatus.ASSIGNED
    event = case.events.get(kind="transferred")
    assert event.detail["from_agent"] == "Ann"
    assert event.detail["agent"] == "Cat"
    assert event.detail["reason"] == "Speaks Tibetan"
    assert event.actor == people.lead


def test_an_agent_transfers_only_to_a_teammate(people: Personas, case: Case, cat: Agent) -> None:
    bob = Agent.objects.get(user=people.other_agent)
    with time_machine.travel(at(23, 11), tick=False):
        with pytest.raises(PermissionDenied):
            case_transfer(case_id=case.pk, actor=people.agent, agent=bob, reason="Busy")
        with pytest.raises(PermissionDenied):
            case_transfer(case_id=case.pk, actor=people.agent, team=people.other_team, reason="x")
        case_transfer(case_id=case.pk, actor=people.agent, agent=cat, reason="Going home")
    case.refresh_from_db()
    assert case.agent == cat


def test_a_teammate_at_capacity_gets_the_case_only_when_a_lead_overrides_with_a_reason(
    people: Personas, case: Case, cat: Agent
) -> None:
    Agent.objects.filter(pk=cat.pk).update(capacity=0)
    with time_machine.travel(at(23, 11), tick=False):
        with pytest.raises(ValidationError):
            case_transfer(case_id=case.pk, actor=people.agent, agent=cat, reason="Busy")
        with pytest.raises(ValidationError):  # an agent's override does not count
            case_transfer(
                case_id=case.pk, actor=people.agent, agent=cat, reason="Busy", override_reason="!"
            )
        with pytest.raises(ValidationError):  # nor a lead's without a reason
            case_transfer(case_id=case.pk, actor=people.lead, agent=cat, reason="VIP")
        case_transfer(
            case_id=case.pk, actor=people.lead, agent=cat, reason="VIP", override_reason="Knows him"
        )
    case.refresh_from_db()
    assert case.agent == cat
    assert case.events.get(kind="transferred").detail["override_reason"] == "Knows him"


def test_an_agent_off_shift_cannot_receive_a_transfer(
    people: Personas, case: Case, cat: Agent
) -> None:
    Agent.objects.filter(pk=cat.pk).update(shift_start="13:00", shift_end="21:00")
    with time_machine.travel(at(23, 11), tick=False), pytest.raises(ValidationError):
        case_transfer(case_id=case.pk, actor=people.lead, agent=cat, reason="Later shift")
    with time_machine.travel(at(23, 14), tick=False):
        case_transfer(case_id=case.pk, actor=people.lead, agent=cat, reason="On shift now")
    assert Case.objects.get(pk=case.pk).agent == cat


def test_a_lead_transfers_a_case_to_another_team_and_it_stays_there(
    people: Personas, case: Case, django_capture_on_commit_callbacks: Any, monkeypatch: Any
) -> None:
    from followups import tasks

    queued: list[int] = []
    monkeypatch.setattr(tasks.assign_case, "delay", queued.append)
    with (
        time_machine.travel(at(23, 11), tick=False),
        django_capture_on_commit_callbacks(execute=True),
    ):
        case_transfer(
            case_id=case.pk, actor=people.lead, team=people.other_team, reason="Shanghai store"
        )
    case.refresh_from_db()
    assert (case.status, case.agent, case.team) == (CaseStatus.NEW, None, people.other_team)
    assert queued == [case.pk]
    with time_machine.travel(at(23, 11, 1), tick=False):
        tasks.assign_case(case.pk)
    case.refresh_from_db()
    # Routing would send a BJ customer back to North; the transfer keeps it in South.
    assert case.team == people.other_team
    assert case.agent == Agent.objects.get(user=people.other_agent)


def test_a_lead_of_another_team_cannot_transfer_the_case(
    people: Personas, case: Case, cat: Agent
) -> None:
    with time_machine.travel(at(23, 11), tick=False), pytest.raises(PermissionDenied):
        case_transfer(case_id=case.pk, actor=people.other_lead, agent=cat, reason="Mine now")
    assert Case.objects.get(pk=case.pk).agent.name == "Ann"  # type: ignore[union-attr]


def test_an_agent_transfers_from_the_case_page_to_a_teammate_and_not_to_another_team(
    people: Personas, case: Case, cat: Agent
) -> None:
    ann = logged_in(people.agent)
    bob = Agent.objects.get(user=people.other_agent)
    with time_machine.travel(MONDAY_10 + timedelta(hours=1), tick=False):
        refused = ann.post(work_url(case, "transfer"), {"agent": bob.pk, "reason": "Busy"})
        assert refused.status_code == 403
        answer = ann.post(work_url(case, "transfer"), {"agent": cat.pk, "reason": "Going home"})
    assert answer.status_code == 302
    assert Case.objects.get(pk=case.pk).agent == cat


def test_a_supervisor_transfers_to_another_team_from_the_case_page(
    people: Personas, case: Case
) -> None:
    sue = logged_in(people.supervisor)
    with time_machine.travel(at(23, 11), tick=False):
        answer = sue.post(
            work_url(case, "transfer"), {"team": people.other_team.pk, "reason": "Wrong region"}
        )
    assert answer.status_code == 302
    case.refresh_from_db()
    assert case.team == people.other_team
    assert case.team_fixed


def test_the_dashboard_counts_cases_put_on_hold_their_time_and_those_held_now(
    people: Personas, case: Case, detractor: Callable[..., Response]
) -> None:
    from nps.dashboard.figures import closed_loop
    from nps.reporting.contract import Filters

    second = assigned_case(detractor, phone="+8613900000002")
    assigned_case(detractor, phone="+8613900000003")  # never held
    hold(case, people, at(23, 12))
    resume(case, people, at(23, 13))  # one hour
    hold(second, people, at(23, 12))
    resume(second, people, at(23, 15))  # three hours
    hold(second, people, at(23, 16))  # held again, now
    rows = {
        row.key: row for row in closed_loop(Filters(start=MONDAY_10.date(), end=at(29, 0).date()))
    }
    assert rows["put_on_hold"].value == 2
    assert rows["mean_minutes_on_hold"].value == 120
    assert rows["on_hold_now"].value == 1


@pytest.mark.django_db(transaction=True)
@pytest.mark.skipif(
    connection.vendor != "postgresql",
    reason="needs row locks between concurrent transactions: runs in the PostgreSQL pass",
)
def test_two_concurrent_reminder_runs_email_the_agent_once(
    people: Personas, case: Case, monkeypatch: pytest.MonkeyPatch
) -> None:
    from followups import handover

    people.agent.email = "ann@example.com"
    people.agent.save()
    with time_machine.travel(at(23, 10, 30), tick=False):
        case_appointment_book(case_id=case.pk, actor=people.agent, at=typed("2026-11-23 19:00"))
    # Both runs read the case, not yet reminded, before either claims it.
    both_read = threading.Barrier(2, timeout=10)
    remind_one = handover.appointment_remind

    def remind_after_both_read(**kwargs: Any) -> bool:
        both_read.wait()
        return remind_one(**kwargs)

    monkeypatch.setattr(handover, "appointment_remind", remind_after_both_read)
    results: list[int] = []

    def run() -> None:
        try:
            results.append(appointments_remind(now=at(23, 18, 50)))
        finally:
            connection.close()

    threads = [threading.Thread(target=run) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(results) == [0, 1]
    assert len(mail.outbox) == 1
    assert CaseEvent.objects.filter(case=case, kind="appointment_reminded").count() == 1
