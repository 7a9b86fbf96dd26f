"""From a detractor's reply to a verified recovery, with time controlled."""

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import time_machine
from django.test import override_settings

from followups.assignment import case_assign
from followups.models import Case, CaseStatus
from followups.verification import verifications_send
from followups.workflow import case_attempt_log, case_resolve
from surveys.dispatch import invitation_send
from surveys.gateways.base import InboundSMS
from surveys.interactions import interaction_record
from surveys.models import Customer, Invitation, InvitationStatus, Purpose, ReasonCategory
from surveys.replies import reply_process, reply_store
from tests.factories import AgentFactory, SurveyFactory, TeamFactory

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("console")]
T0 = datetime(2026, 11, 20, 4, 0, tzinfo=UTC)  # noon in Shanghai
PHONE = "+8613800138000"


@pytest.fixture
def console() -> Any:
    with override_settings(NPS_SEND_GATEWAY="console", NPS_VERIFICATION_DAYS=7):
        yield


def text(body: str, at: datetime, n: list[int] = [0]) -> str:  # noqa: B006 (a counter)
    n[0] += 1
    with time_machine.travel(at, tick=False):
        stored = reply_store(gateway="simulator", sms=InboundSMS(f"MO{n[0]}", PHONE, body))
        return reply_process(message_id=stored.message.pk)


def survey_interaction(external_id: str, at: datetime) -> Invitation:
    with time_machine.travel(at, tick=False):
        recorded = interaction_record(
            external_id=external_id,
            customer={"phone": PHONE, "tier": "A", "region": "BJ"},
            touchpoint="hotline",
            occurred_at=at,
        )
    return recorded.interaction.invitations.get()


def send(invitation: Invitation, at: datetime) -> None:
    with time_machine.travel(at, tick=False):
        assert invitation_send(invitation_id=invitation.pk).outcome == "sent"


def resolved_case(agent_user: Any = None) -> Case:
    """A-tier detractor, called back and resolved on day 1."""
    SurveyFactory(fatigue_days=0)
    AgentFactory(team=TeamFactory(regions=["BJ"]))
    cause, _ = ReasonCategory.objects.get_or_create(code="waiting", defaults={"name_en": "Wait"})
    send(survey_interaction("CRM-1", T0), T0)
    assert text("2", T0 + timedelta(minutes=5)) == "scored"
    case = Case.objects.get()
    with time_machine.travel(T0 + timedelta(minutes=6), tick=False):
        case_assign(case_id=case.pk)
        case_attempt_log(case_id=case.pk, actor=None, channel="phone", outcome="reached")
    with time_machine.travel(T0 + timedelta(days=1), tick=False):
        case_resolve(
            case_id=case.pk,
            actor=None,
            root_causes=[cause],
            action_taken="Refunded the queue-time fee",
            note="Apologised; customer satisfied",
        )
    case.refresh_from_db()
    return case


def test_detractor_to_verified_recovery() -> None:
    case = resolved_case()
    assert case.status == CaseStatus.RESOLVED
    day8 = T0 + timedelta(days=8)
    with time_machine.travel(T0 + timedelta(days=7), tick=False):
        assert verifications_send() == 0  # not yet: 7 days after the resolution on day 1
    with time_machine.travel(day8, tick=False):
        assert verifications_send() == 1
        assert verifications_send() == 0  # once
    case.refresh_from_db()
    verification = case.verification_invitation
    assert verification.purpose == Purpose.VERIFICATION
    send(verification, day8)
    assert text("9", day8 + timedelta(minutes=3)) == "scored"
    case.refresh_from_db()
    assert (case.verification_score, case.recovered) == (9, True)
    assert Case.objects.count() == 1  # the verification answer opens no new case


def test_a_low_verification_score_means_not_recovered_and_opens_no_case() -> None:
    case = resolved_case()
    day8 = T0 + timedelta(days=8)
    with time_machine.travel(day8, tick=False):
        verifications_send()
    case.refresh_from_db()
    send(case.verification_invitation, day8)
    text("4", day8 + timedelta(minutes=3))
    case.refresh_from_db()
    assert (case.verification_score, case.recovered) == (4, False)
    assert Case.objects.count() == 1


def test_verification_is_not_blocked_by_fatigue_but_respects_opt_out() -> None:
    case = resolved_case()
    with time_machine.travel(T0 + timedelta(days=8), tick=False):
        from surveys.models import Survey

        Survey.objects.update(fatigue_days=90)  # would block a normal survey
        verifications_send()
    case.refresh_from_db()
    assert case.verification_invitation.status == InvitationStatus.SCHEDULED

    other = Case.objects.get()
    Case.objects.filter(pk=other.pk).update(verification_invitation=None)
    Customer.objects.update(opted_out_at=T0)
    with time_machine.travel(T0 + timedelta(days=8), tick=False):
        Invitation.objects.filter(purpose=Purpose.VERIFICATION).delete()
        verifications_send()
    other.refresh_from_db()
    assert other.verification_invitation.suppressed_reason == "opted_out"


def test_verification_waits_for_the_end_of_quiet_hours() -> None:
    from surveys.models import Survey

    case = resolved_case()
    Survey.objects.update(quiet_start="21:00", quiet_end="09:00")
    night = datetime(2026, 11, 28, 15, 0, tzinfo=UTC)  # 23:00 in Shanghai, day 8
    with time_machine.travel(night, tick=False):
        verifications_send()
    case.refresh_from_db()
    assert case.verification_invitation.send_at == datetime(2026, 11, 29, 1, 0, tzinfo=UTC)


def test_no_survey_while_the_case_is_open_and_surveys_resume_after_resolution() -> None:
    SurveyFactory(fatigue_days=0)
    AgentFactory(team=TeamFactory(regions=["BJ"]))
    send(survey_interaction("CRM-1", T0), T0)
    text("1", T0 + timedelta(minutes=5))
    case = Case.objects.get()
    later = survey_interaction("CRM-2", T0 + timedelta(days=2))
    assert later.suppressed_reason == "open_case"
    cause, _ = ReasonCategory.objects.get_or_create(code="waiting", defaults={"name_en": "Wait"})
    with time_machine.travel(T0 + timedelta(days=2, hours=1), tick=False):
        case_assign(case_id=case.pk)
        case_attempt_log(case_id=case.pk, actor=None, channel="phone", outcome="reached")
        case_resolve(case_id=case.pk, actor=None, root_causes=[cause], action_taken="x", note="y")
    after = survey_interaction("CRM-3", T0 + timedelta(days=3))
    assert after.status == InvitationStatus.SCHEDULED
