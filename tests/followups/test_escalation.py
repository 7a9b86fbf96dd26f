import threading
from collections.abc import Callable
from datetime import datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.contrib.auth.models import Group, User
from django.core import mail
from django.db import connection
from django.utils import timezone

from followups import escalation
from followups.assignment import case_assign
from followups.cases import case_open
from followups.escalation import cases_escalate
from followups.models import Case, CaseEvent, CaseStatus, Team
from followups.roles import SUPERVISORS
from surveys.models import Response
from tests.factories import AgentFactory, TeamFactory

pytestmark = pytest.mark.django_db

SHANGHAI = ZoneInfo("Asia/Shanghai")


def shanghai(*args: int) -> datetime:
    return datetime(*args, tzinfo=SHANGHAI)  # type: ignore[misc]


MONDAY_10 = shanghai(2026, 11, 23, 10, 0)  # a P2 case opened now is due for contact at 18:00
FIRST_CONTACT_DUE = shanghai(2026, 11, 23, 18, 0)


@pytest.fixture
def lead(db: Any) -> User:
    """Lena leads the North team."""
    return User.objects.create_user("lena", email="lena@example.com")


@pytest.fixture
def supervisors(db: Any) -> list[User]:
    """Sue and Sam supervise every team; Sid is a supervisor without an email address."""
    group, _ = Group.objects.get_or_create(name=SUPERVISORS)
    users = [
        User.objects.create_user("sue", email="sue@example.com"),
        User.objects.create_user("sam", email="sam@example.com"),
        User.objects.create_user("sid"),
    ]
    group.user_set.add(*users)
    return users


@pytest.fixture
def north(lead: User) -> Team:
    """The team covering BJ: Monday to Friday, 09:00-18:00 Shanghai time, one agent."""
    team = TeamFactory(
        name="North",
        regions=["BJ"],
        lead=lead,
        time_zone="Asia/Shanghai",
        work_days=[0, 1, 2, 3, 4],
        day_start=time(9, 0),
        day_end=time(18, 0),
    )
    AgentFactory(team=team, name="Ann")
    return team


@pytest.fixture
def case(detractor: Callable[..., Response], north: Team, supervisors: list[User]) -> Case:
    """A P2 case (B tier, score 2) opened and assigned on Monday at 10:00."""
    with time_machine.travel(MONDAY_10, tick=False):
        response = detractor(phone="+8613900000077")
        response.comment = "信号太差"
        response.save(update_fields=["comment"])
        opened = case_open(response=response)
        assert opened is not None
        case_assign(case_id=opened.pk)
    opened.refresh_from_db()
    return opened


@pytest.fixture
def escalate(django_capture_on_commit_callbacks: Any) -> Callable[[datetime], int]:
    """Run the escalation job at a given time, with its after-commit emails."""

    def run(at: datetime) -> int:
        with time_machine.travel(at, tick=False), django_capture_on_commit_callbacks(execute=True):
            return cases_escalate()

    return run


def escalations(case: Case) -> list[dict[str, Any]]:
    return [e.detail for e in CaseEvent.objects.filter(case=case, kind="escalated")]


def test_nothing_is_escalated_until_the_due_time_has_passed(
    case: Case, escalate: Callable[[datetime], int]
) -> None:
    assert escalate(FIRST_CONTACT_DUE - timedelta(minutes=1)) == 0
    assert escalate(FIRST_CONTACT_DUE) == 0
    assert mail.outbox == []
    case.refresh_from_db()
    assert case.escalation_level == 0


def test_a_missed_first_contact_is_mailed_to_the_team_lead_once(
    case: Case, escalate: Callable[[datetime], int]
) -> None:
    assert escalate(FIRST_CONTACT_DUE + timedelta(minutes=1)) == 1
    assert escalate(FIRST_CONTACT_DUE + timedelta(minutes=2)) == 0
    [email] = mail.outbox
    assert email.to == ["lena@example.com"]
    assert email.subject == f"[NPS] Case #{case.pk} breached its first-contact SLA (P2)"
    assert "+86139******77" in email.body
    assert "8613900000077" not in email.body
    assert "Score: 2" in email.body
    assert "信号太差" in email.body
    assert "Callback agent: Ann" in email.body
    assert "2026-11-23 18:00 (Asia/Shanghai)" in email.body
    assert f"/admin/followups/case/{case.pk}/change/" in email.body
    case.refresh_from_db()
    assert (case.escalation_level, case.escalated_at) == (
        1,
        FIRST_CONTACT_DUE + timedelta(minutes=1),
    )
    assert escalations(case) == [{"level": 1, "clock": "first_contact", "to": ["lena@example.com"]}]


def test_the_email_leaves_only_after_the_claim_commits(
    case: Case, django_capture_on_commit_callbacks: Any
) -> None:
    with (
        time_machine.travel(FIRST_CONTACT_DUE + timedelta(minutes=1), tick=False),
        django_capture_on_commit_callbacks() as callbacks,
    ):
        assert cases_escalate() == 1
        assert mail.outbox == []
    assert len(callbacks) == 1


def test_a_case_still_in_breach_reaches_the_supervisors_once_after_the_grace(
    case: Case, escalate: Callable[[datetime], int]
) -> None:
    escalate(FIRST_CONTACT_DUE + timedelta(minutes=1))
    # Grace for P2: 4 business hours, from Tuesday's opening at 09:00.
    assert escalate(shanghai(2026, 11, 24, 12, 59)) == 0
    assert escalate(shanghai(2026, 11, 24, 13, 1)) == 1
    assert escalate(shanghai(2026, 11, 24, 13, 2)) == 0
    assert [m.to for m in mail.outbox] == [
        ["lena@example.com"],
        ["sam@example.com", "sue@example.com"],
    ]
    assert mail.outbox[1].subject.endswith("(P2) - escalated to supervisors")
    case.refresh_from_db()
    assert case.escalation_level == 2
    assert [e["level"] for e in escalations(case)] == [1, 2]


def test_a_first_contact_after_level_one_keeps_the_case_from_the_supervisors(
    case: Case, escalate: Callable[[datetime], int]
) -> None:
    escalate(FIRST_CONTACT_DUE + timedelta(minutes=1))
    Case.objects.filter(pk=case.pk).update(
        first_contact_at=shanghai(2026, 11, 24, 9, 30), status=CaseStatus.IN_PROGRESS
    )
    assert escalate(shanghai(2026, 11, 24, 14, 0)) == 0
    assert len(mail.outbox) == 1


def test_a_resolved_case_is_not_escalated(case: Case, escalate: Callable[[datetime], int]) -> None:
    Case.objects.filter(pk=case.pk).update(
        status=CaseStatus.RESOLVED, resolved_at=FIRST_CONTACT_DUE - timedelta(hours=1)
    )
    assert escalate(FIRST_CONTACT_DUE + timedelta(days=30)) == 0
    assert mail.outbox == []


def test_a_missed_resolution_escalates_a_contacted_case(
    case: Case, escalate: Callable[[datetime], int]
) -> None:
    Case.objects.filter(pk=case.pk).update(
        first_contact_at=shanghai(2026, 11, 23, 11, 0), status=CaseStatus.IN_PROGRESS
    )
    assert case.resolution_due_at == shanghai(2026, 11, 30, 13, 0)
    assert escalate(shanghai(2026, 11, 30, 12, 59)) == 0
    assert escalate(shanghai(2026, 11, 30, 13, 1)) == 1
    assert mail.outbox[0].subject == f"[NPS] Case #{case.pk} breached its resolution SLA (P2)"


def test_without_a_team_lead_level_one_goes_to_the_supervisors(
    case: Case, north: Team, escalate: Callable[[datetime], int]
) -> None:
    Team.objects.filter(pk=north.pk).update(lead=None)
    escalate(FIRST_CONTACT_DUE + timedelta(minutes=1))
    assert mail.outbox[0].to == ["sam@example.com", "sue@example.com"]


def test_a_failed_email_is_recorded_and_never_sent_again(
    case: Case, escalate: Callable[[datetime], int], monkeypatch: pytest.MonkeyPatch
) -> None:
    attempts: list[str] = []

    def broken_send(message: Any, fail_silently: bool = False) -> int:
        attempts.append(message.subject)
        raise ConnectionRefusedError("smtp down")

    monkeypatch.setattr(escalation.EmailMultiAlternatives, "send", broken_send)
    assert escalate(FIRST_CONTACT_DUE + timedelta(minutes=1)) == 1
    assert escalate(FIRST_CONTACT_DUE + timedelta(minutes=5)) == 0
    assert len(attempts) == 1
    failure = CaseEvent.objects.get(case=case, kind="escalation_not_sent")
    assert failure.detail == {"level": 1, "error": "smtp down"}


@pytest.mark.django_db(transaction=True)
@pytest.mark.skipif(
    connection.vendor != "postgresql",
    reason="needs row locks between concurrent transactions: runs in the PostgreSQL pass",
)
def test_two_concurrent_runs_escalate_a_case_once(
    detractor: Callable[..., Response],
    north: Team,
    supervisors: list[User],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from followups import tasks

    monkeypatch.setattr(tasks.assign_case, "delay", lambda case_id: None)
    opened = case_open(response=detractor())
    assert opened is not None
    now = timezone.now()
    Case.objects.filter(pk=opened.pk).update(sla_due_at=now - timedelta(minutes=5))
    # Both runs read the case at level 0 before either claims it.
    both_read = threading.Barrier(2, timeout=10)
    recipients = escalation.escalation_recipients

    def recipients_after_both_read(**kwargs: Any) -> list[str]:
        both_read.wait()
        return recipients(**kwargs)

    monkeypatch.setattr(escalation, "escalation_recipients", recipients_after_both_read)
    results: list[int] = []

    def run() -> None:
        try:
            results.append(cases_escalate(now=now))
        finally:
            connection.close()

    threads = [threading.Thread(target=run) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(results) == [0, 1]
    assert len(mail.outbox) == 1
    assert CaseEvent.objects.filter(case=opened, kind="escalated").count() == 1
