from datetime import UTC, datetime, time, timedelta
from typing import Any

import pytest
import time_machine
from django.test import override_settings

from surveys.dispatch import invitation_send, invitations_dispatch_due
from surveys.interactions import interaction_record
from surveys.models import Customer, Invitation, InvitationStatus, SuppressReason, Survey

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("console_gateway")]
NOON_SHANGHAI = datetime(2026, 11, 20, 4, 0, tzinfo=UTC)


@pytest.fixture
def console_gateway() -> Any:
    """The console adapter: a real gateway that writes to the log instead of a network."""
    with override_settings(NPS_SEND_GATEWAY="console"):
        yield


def record(external_id: str = "CRM-1", phone: str = "13800138000", **customer: Any) -> Invitation:
    recorded = interaction_record(
        external_id=external_id,
        customer={"phone": phone, **customer},
        touchpoint="hotline",
        occurred_at=datetime.now(UTC),
    )
    return recorded.interaction.invitations.get()


@time_machine.travel(NOON_SHANGHAI, tick=False)
def test_send_moves_to_sent_once_even_when_the_task_runs_twice(survey: Survey) -> None:
    invitation = record()
    assert invitation_send(invitation_id=invitation.pk).outcome == "sent"
    assert invitation_send(invitation_id=invitation.pk).outcome == "taken"
    invitation.refresh_from_db()
    assert invitation.status == InvitationStatus.SENT
    assert invitation.attempts == 1
    assert invitation.provider_message_id.startswith("CON")
    assert "0" in invitation.text
    assert "10" in invitation.text
    assert invitation.expires_at == NOON_SHANGHAI + timedelta(hours=survey.reply_window_hours)


@time_machine.travel(NOON_SHANGHAI, tick=False)
def test_opted_out_customer_is_suppressed_with_the_reason(survey: Survey) -> None:
    Customer.objects.create(phone="+8613800138000", opted_out_at=NOON_SHANGHAI)
    invitation = record()
    assert invitation.status == InvitationStatus.SUPPRESSED
    assert invitation.suppressed_reason == SuppressReason.OPTED_OUT


@time_machine.travel(NOON_SHANGHAI, tick=False)
def test_landline_is_suppressed_as_not_a_valid_mobile(survey: Survey) -> None:
    invitation = record(phone="+86 10 6552 9988")
    assert invitation.suppressed_reason == SuppressReason.INVALID_NUMBER


def test_an_interaction_days_later_within_the_fatigue_window_is_suppressed(
    survey: Survey,
) -> None:
    with time_machine.travel(NOON_SHANGHAI, tick=False):
        record("CRM-1")
    with time_machine.travel(NOON_SHANGHAI + timedelta(days=3), tick=False):
        assert record("CRM-2").suppressed_reason == SuppressReason.FATIGUE


def test_the_first_interaction_of_the_day_wins_across_touchpoints(survey: Survey) -> None:
    Survey.objects.update(fatigue_days=0)
    with time_machine.travel(NOON_SHANGHAI, tick=False):
        assert record("CRM-1").status == InvitationStatus.SCHEDULED
        assert record("CRM-2").suppressed_reason == SuppressReason.DAILY_CAP
    # the next local day (Shanghai) is a new day
    with time_machine.travel(datetime(2026, 11, 20, 16, 30, tzinfo=UTC), tick=False):
        assert record("CRM-3").status == InvitationStatus.SCHEDULED


@time_machine.travel(NOON_SHANGHAI, tick=False)
def test_no_survey_while_the_customer_has_an_open_callback_case(survey: Survey) -> None:
    Customer.objects.create(phone="+8613800138000", in_callback=True)
    assert record().suppressed_reason == SuppressReason.OPEN_CASE


def test_a_tier_cap_limits_surveys_per_window(survey: Survey, settings: Any) -> None:
    settings.NPS_TIER_CAPS = {"A": {"surveys": 2, "days": 30}}
    Survey.objects.update(fatigue_days=0)
    for day in range(3):
        with time_machine.travel(NOON_SHANGHAI + timedelta(days=day), tick=False):
            last = record(f"CRM-{day}", tier="A")
    assert last.suppressed_reason == SuppressReason.TIER_CAP
    with time_machine.travel(NOON_SHANGHAI + timedelta(days=3), tick=False):
        assert record("CRM-B", phone="13800138009", tier="B").suppressed_reason == ""


@time_machine.travel(NOON_SHANGHAI, tick=False)
def test_sampled_out_interaction_is_suppressed(survey: Survey) -> None:
    Survey.objects.update(sampling_rate=0.0)
    assert record().suppressed_reason == SuppressReason.SAMPLED_OUT


@time_machine.travel(NOON_SHANGHAI, tick=False)
def test_interaction_without_a_covering_survey_is_suppressed(survey: Survey) -> None:
    Survey.objects.update(touchpoints=["store_own"])
    assert record().suppressed_reason == SuppressReason.NO_SURVEY


@time_machine.travel(datetime(2026, 11, 20, 14, 0, tzinfo=UTC), tick=False)  # 22:00 Shanghai
def test_interaction_in_quiet_hours_is_scheduled_for_the_morning(survey: Survey) -> None:
    Survey.objects.update(quiet_start=time(21, 0), quiet_end=time(9, 0))
    invitation = record()
    assert invitation.status == InvitationStatus.SCHEDULED
    assert invitation.send_at == datetime(2026, 11, 21, 1, 0, tzinfo=UTC)  # 09:00 Shanghai
    assert invitations_dispatch_due() == 0  # nothing is due at night


def test_a_late_task_in_quiet_hours_defers_instead_of_sending(survey: Survey) -> None:
    Survey.objects.update(quiet_start=time(21, 0), quiet_end=time(9, 0))
    with time_machine.travel(NOON_SHANGHAI, tick=False):
        invitation = record()
    with time_machine.travel(datetime(2026, 11, 20, 15, 0, tzinfo=UTC), tick=False):
        assert invitation_send(invitation_id=invitation.pk).outcome == "deferred"
    invitation.refresh_from_db()
    assert invitation.status == InvitationStatus.SCHEDULED
    assert invitation.send_at == datetime(2026, 11, 21, 1, 0, tzinfo=UTC)


@time_machine.travel(NOON_SHANGHAI, tick=False)
def test_dispatch_due_queues_each_due_invitation_once(
    survey: Survey, django_capture_on_commit_callbacks: Any
) -> None:
    Survey.objects.update(delay_minutes=30)
    record()
    later = NOON_SHANGHAI + timedelta(minutes=31)
    with time_machine.travel(later, tick=False), django_capture_on_commit_callbacks() as callbacks:
        assert invitations_dispatch_due() == 1
        assert invitations_dispatch_due() == 0
    assert len(callbacks) == 1


@time_machine.travel(NOON_SHANGHAI, tick=False)
def test_opt_out_after_planning_stops_the_send(survey: Survey) -> None:
    invitation = record()
    Customer.objects.update(opted_out_at=NOON_SHANGHAI)
    assert invitation_send(invitation_id=invitation.pk).outcome == "suppressed"
    invitation.refresh_from_db()
    assert invitation.suppressed_reason == SuppressReason.OPTED_OUT


@time_machine.travel(NOON_SHANGHAI, tick=False)
def test_a_backlog_is_queued_in_one_run_in_batches_until_its_time_is_up(
    survey: Survey, monkeypatch: pytest.MonkeyPatch
) -> None:
    Survey.objects.update(delay_minutes=30)
    for n in range(7):
        record(external_id=f"CRM-{n}", phone=f"1380013800{n}")
    queued: list[list[int]] = []
    monkeypatch.setattr("surveys.dispatch.task_queue", lambda name, ids, **kw: queued.append(ids))
    monkeypatch.setattr("surveys.dispatch.SEND_BATCH", 2)
    later = NOON_SHANGHAI + timedelta(minutes=31)
    with time_machine.travel(later, tick=False):
        # No time left after the first chunk of 3: the run stops there (the next run goes on).
        assert invitations_dispatch_due(limit=3, budget_seconds=0) == 3
        assert [len(ids) for ids in queued] == [2, 1]
        # With time: every chunk of 3 until none is left, each in tasks of SEND_BATCH.
        assert invitations_dispatch_due(limit=3) == 4
    assert [len(ids) for ids in queued] == [2, 1, 2, 1, 1]
    every = [pk for ids in queued for pk in ids]
    assert sorted(every) == sorted(Invitation.objects.values_list("pk", flat=True))
