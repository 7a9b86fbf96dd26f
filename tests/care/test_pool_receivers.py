"""Explicit pool entries and exits through the real paths: replies, cases, verification,
the interactions API."""

import random
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import time_machine
from django.db.models.signals import post_save
from django.test import override_settings
from rest_framework.test import APIClient

from care.models import EntryReason, ExitReason, PoolMember, PoolPolicy
from care.pool import age_out, pool_leave, pool_open
from care.receivers import interactions_pool_enter, pool_receivers_connect
from followups.assignment import case_assign
from followups.models import Case, CaseEvent
from followups.verification import verifications_send
from followups.workflow import case_attempt_log, case_close, case_mark_unreachable, case_resolve
from surveys.dispatch import invitation_send
from surveys.gateways.base import InboundSMS
from surveys.interactions import interaction_record
from surveys.models import Customer, Interaction, Invitation, ReasonCategory, Response
from surveys.replies import replies_process, reply_process, reply_store
from surveys.signals import interactions_recorded, response_classified, responses_recorded
from tests.conftest import interaction_payload
from tests.factories import AgentFactory, SurveyFactory, TeamFactory

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("console", "connected")]
T0 = datetime(2026, 11, 20, 4, 0, tzinfo=UTC)  # noon in Shanghai
PHONE = "+8613800138000"


@pytest.fixture
def console() -> Iterator[None]:
    with override_settings(NPS_SEND_GATEWAY="console", NPS_VERIFICATION_DAYS=7):
        yield


@pytest.fixture
def connected() -> Iterator[None]:
    """The receivers as care's ready() connects them; disconnected after only if they were
    not connected before."""
    before = response_classified.disconnect(dispatch_uid="care-pool")
    pool_receivers_connect()
    yield
    if not before:
        response_classified.disconnect(dispatch_uid="care-pool")
        responses_recorded.disconnect(dispatch_uid="care-pool")
        post_save.disconnect(sender=CaseEvent, dispatch_uid="care-pool-case")
        post_save.disconnect(sender=Interaction, dispatch_uid="care-pool-contact")
        interactions_recorded.disconnect(dispatch_uid="care-pool-contacts")


@pytest.fixture
def surveyed() -> None:
    SurveyFactory(fatigue_days=0)
    AgentFactory(team=TeamFactory(regions=["BJ"]))


def contact(
    external_id: str, at: datetime, *, phone: str = PHONE, kind: str = "service"
) -> Invitation | None:
    with time_machine.travel(at, tick=False):
        recorded = interaction_record(
            external_id=external_id,
            customer={"phone": phone, "tier": "A", "region": "BJ"},
            touchpoint="hotline",
            occurred_at=at,
            kind=kind,
        )
    return recorded.interaction.invitations.first()


def surveyed_at(external_id: str, at: datetime, *, phone: str = PHONE) -> Invitation:
    invitation = contact(external_id, at, phone=phone)
    assert invitation is not None
    with time_machine.travel(at, tick=False):
        assert invitation_send(invitation_id=invitation.pk).outcome == "sent"
    return invitation


def text(body: str, at: datetime, *, phone: str = PHONE, n: list[int] = [0]) -> str:  # noqa: B006 (a counter)
    n[0] += 1
    with time_machine.travel(at, tick=False):
        stored = reply_store(gateway="simulator", sms=InboundSMS(f"MO{n[0]}", phone, body))
        return reply_process(message_id=stored.message.pk)


def stays(**filters: Any) -> list[tuple[str, str, datetime, datetime | None, str]]:
    rows = PoolMember.objects.filter(**filters).order_by("entered_at", "reason")
    return [(m.customer.phone, m.reason, m.entered_at, m.left_at, m.exit_reason) for m in rows]


# Answers


@pytest.mark.usefixtures("surveyed")
def test_a_detractor_reply_enters_the_pool_with_its_response() -> None:
    surveyed_at("CRM-1", T0)
    answered = T0 + timedelta(minutes=5)
    assert text("2 信号太差", answered) == "scored"
    response = Response.objects.get()
    stay = PoolMember.objects.get()
    assert (stay.reason, stay.kind, stay.entered_at, stay.left_at) == (
        "detractor",
        "explicit",
        answered,
        None,
    )
    assert stay.source == f"response:{response.pk}"
    assert stay.customer.phone == PHONE


@pytest.mark.usefixtures("surveyed")
def test_promoter_and_passive_replies_do_not_enter() -> None:
    surveyed_at("CRM-1", T0, phone="+8613800000001")
    surveyed_at("CRM-2", T0, phone="+8613800000002")
    text("9", T0 + timedelta(minutes=5), phone="+8613800000001")
    text("7", T0 + timedelta(minutes=5), phone="+8613800000002")
    assert Response.objects.count() == 2
    assert not PoolMember.objects.exists()


@pytest.mark.usefixtures("surveyed")
def test_a_batch_of_replies_enters_its_detractors_only() -> None:
    phones = [f"+861380000100{i}" for i in range(4)]
    for i, phone in enumerate(phones):
        surveyed_at(f"CRM-{i}", T0, phone=phone)
    answered = T0 + timedelta(minutes=5)
    with time_machine.travel(answered, tick=False):
        ids = [
            reply_store(gateway="simulator", sms=InboundSMS(f"B{i}", phone, body)).message.pk
            for i, (phone, body) in enumerate(zip(phones, ["1", "9", "3 太慢", "7"], strict=True))
        ]
        replies_process(message_ids=ids)
    assert Response.objects.count() == 4
    assert stays() == [
        (phones[0], "detractor", answered, None, ""),
        (phones[2], "detractor", answered, None, ""),
    ]
    sources = set(PoolMember.objects.values_list("source", flat=True))
    expected = {f"response:{r.pk}" for r in Response.objects.filter(category="detractor")}
    assert sources == expected


@pytest.mark.usefixtures("surveyed")
def test_the_same_detractor_announced_twice_is_one_open_stay() -> None:
    surveyed_at("CRM-1", T0)
    text("2", T0 + timedelta(minutes=5))
    response = Response.objects.get()
    response_classified.send(sender=Response, response=response, created=False)
    responses_recorded.send(sender=Response, responses=[response])
    assert PoolMember.objects.count() == 1


@pytest.mark.usefixtures("surveyed")
def test_verification_answers_do_not_enter_as_detractors() -> None:
    case = _resolved_case()
    customer = case.customer_id
    pool_leave(customer_ids=[customer], reason=ExitReason.CARE_SUCCESS, at=T0 + timedelta(days=2))
    _verify(case, "4", T0 + timedelta(days=8))
    assert Response.objects.filter(score=4).exists()
    assert not pool_open().filter(reason=EntryReason.DETRACTOR).exists()


# Exits by a later answer


@pytest.mark.usefixtures("surveyed")
def test_a_later_passive_answer_closes_every_open_stay() -> None:
    complained = T0
    contact("CRM-C", complained, kind="complaint")  # no survey for a complaint in this setup
    surveyed_at("CRM-1", T0 + timedelta(days=1))
    answered = T0 + timedelta(days=1, minutes=5)
    text("8", answered)
    assert stays() == [(PHONE, "complaint", complained, answered, ExitReason.LATER_ANSWER)]


@pytest.mark.usefixtures("surveyed")
def test_an_earlier_passive_answer_closes_nothing() -> None:
    surveyed_at("CRM-1", T0)
    text("8", T0 + timedelta(minutes=5))
    complained = T0 + timedelta(days=1)
    contact("CRM-C", complained, kind="complaint")
    assert stays() == [(PHONE, "complaint", complained, None, "")]


@pytest.mark.usefixtures("surveyed")
def test_a_later_promoter_answer_in_a_batch_closes_the_stay() -> None:
    complained = T0
    contact("CRM-C", complained, kind="complaint")
    surveyed_at("CRM-1", T0 + timedelta(days=1))
    answered = T0 + timedelta(days=1, hours=1)
    with time_machine.travel(answered, tick=False):
        ids = [reply_store(gateway="simulator", sms=InboundSMS("B1", PHONE, "10")).message.pk]
        replies_process(message_ids=ids)
    assert stays() == [(PHONE, "complaint", complained, answered, ExitReason.LATER_ANSWER)]


@pytest.mark.usefixtures("surveyed")
def test_a_score_corrected_to_passive_closes_the_detractor_stay() -> None:
    surveyed_at("CRM-1", T0)
    answered, corrected = T0 + timedelta(minutes=5), T0 + timedelta(minutes=8)
    text("2", answered)
    text("8", corrected)
    assert Response.objects.get().score == 8
    assert stays() == [(PHONE, "detractor", answered, corrected, ExitReason.LATER_ANSWER)]


# Cases


def _in_progress_case() -> Case:
    surveyed_at("CRM-1", T0)
    text("2", T0 + timedelta(minutes=5))
    case = Case.objects.get()
    with time_machine.travel(T0 + timedelta(minutes=6), tick=False):
        case_assign(case_id=case.pk)
        case_attempt_log(case_id=case.pk, actor=None, channel="phone", outcome="no_answer")
    return case


@pytest.mark.usefixtures("surveyed")
def test_a_case_marked_unreachable_enters_and_closing_it_unresolved_enters_too() -> None:
    case = _in_progress_case()
    gave_up, closed = T0 + timedelta(hours=2), T0 + timedelta(days=1)
    with time_machine.travel(gave_up, tick=False):
        case_mark_unreachable(case_id=case.pk, actor=None, reason="号码停机")
    with time_machine.travel(closed, tick=False):
        case_close(case_id=case.pk, actor=None, reason="无法联系")
    unreachable = PoolMember.objects.get(reason=EntryReason.CASE_UNREACHABLE)
    assert (unreachable.entered_at, unreachable.source, unreachable.detail) == (
        gave_up,
        f"case:{case.pk}",
        "号码停机",
    )
    unresolved = PoolMember.objects.get(reason=EntryReason.CASE_UNRESOLVED)
    assert (unresolved.entered_at, unresolved.source) == (closed, f"case:{case.pk}")


@pytest.mark.usefixtures("surveyed")
def test_failed_attempts_that_make_a_case_unreachable_enter_it() -> None:
    case = _in_progress_case()
    with (
        override_settings(NPS_UNREACHABLE_AFTER=2),
        time_machine.travel(T0 + timedelta(hours=3), tick=False),
    ):
        case_attempt_log(case_id=case.pk, actor=None, channel="phone", outcome="no_answer")
    assert Case.objects.get().status == "unreachable"
    assert stays(reason=EntryReason.CASE_UNREACHABLE) == [
        (PHONE, "case_unreachable", T0 + timedelta(hours=3), None, "")
    ]


@pytest.mark.usefixtures("surveyed")
def test_a_resolved_case_closed_is_not_unresolved() -> None:
    case = _resolved_case()
    with time_machine.travel(T0 + timedelta(days=2), tick=False):
        case_close(case_id=case.pk, actor=None, reason="done")
    assert set(PoolMember.objects.values_list("reason", flat=True)) == {"detractor"}


def _resolved_case() -> Case:
    surveyed_at("CRM-1", T0)
    assert text("2", T0 + timedelta(minutes=5)) == "scored"
    case = Case.objects.get()
    cause, _ = ReasonCategory.objects.get_or_create(code="waiting", defaults={"name_en": "Wait"})
    with time_machine.travel(T0 + timedelta(minutes=6), tick=False):
        case_assign(case_id=case.pk)
        case_attempt_log(case_id=case.pk, actor=None, channel="phone", outcome="reached")
    with time_machine.travel(T0 + timedelta(days=1), tick=False):
        case_resolve(
            case_id=case.pk, actor=None, root_causes=[cause], action_taken="Refund", note="ok"
        )
    case.refresh_from_db()
    return case


def _verify(case: Case, body: str, day: datetime) -> datetime:
    with time_machine.travel(day, tick=False):
        assert verifications_send() == 1
    case.refresh_from_db()
    invitation = case.verification_invitation
    with time_machine.travel(day, tick=False):
        assert invitation_send(invitation_id=invitation.pk).outcome == "sent"
    answered = day + timedelta(minutes=3)
    assert text(body, answered) == "scored"
    return answered


@pytest.mark.usefixtures("surveyed")
def test_a_verification_without_recovery_enters_not_recovered() -> None:
    case = _resolved_case()
    answered = _verify(case, "4", T0 + timedelta(days=8))
    case.refresh_from_db()
    assert case.recovered is False
    assert stays(reason=EntryReason.NOT_RECOVERED) == [(PHONE, "not_recovered", answered, None, "")]
    assert PoolMember.objects.get(reason=EntryReason.NOT_RECOVERED).source == f"case:{case.pk}"


@pytest.mark.usefixtures("surveyed")
def test_a_recovered_verification_does_not_enter() -> None:
    case = _resolved_case()
    _verify(case, "9", T0 + timedelta(days=8))
    assert not PoolMember.objects.filter(reason=EntryReason.NOT_RECOVERED).exists()


# Contacts


def test_a_complaint_posted_to_the_api_enters_the_pool(crm_client: APIClient, survey: Any) -> None:
    answer = crm_client.post(
        "/api/v1/interactions/", interaction_payload(kind="complaint"), format="json"
    )
    assert answer.status_code == 201, answer.content
    interaction = Interaction.objects.get()
    stay = PoolMember.objects.get()
    assert (stay.reason, stay.entered_at, stay.source) == (
        "complaint",
        interaction.occurred_at,
        f"interaction:{interaction.pk}",
    )
    assert stay.customer.phone == PHONE


def test_a_service_contact_posted_to_the_api_does_not_enter(
    crm_client: APIClient, survey: Any
) -> None:
    answer = crm_client.post("/api/v1/interactions/", interaction_payload(), format="json")
    assert answer.status_code == 201, answer.content
    assert not PoolMember.objects.exists()


def test_three_contacts_within_seven_days_enter_as_repeated() -> None:
    times = [T0, T0 + timedelta(days=3), T0 + timedelta(days=6, hours=23)]
    contact("CRM-1", times[0])
    contact("CRM-2", times[1])
    assert not PoolMember.objects.exists()
    contact("CRM-3", times[2])
    assert stays() == [(PHONE, "repeated_contacts", times[2], None, "")]


def test_three_contacts_spread_over_eight_days_do_not_enter() -> None:
    for i, day in enumerate((0, 4, 8)):
        contact(f"CRM-{i}", T0 + timedelta(days=day))
    assert not PoolMember.objects.exists()


def test_a_contact_sent_late_can_complete_an_earlier_window() -> None:
    contact("CRM-1", T0)
    contact("CRM-2", T0 + timedelta(days=5))
    contact("CRM-3", T0 + timedelta(days=20))
    with time_machine.travel(T0 + timedelta(days=21), tick=False):
        interaction_record(
            external_id="CRM-late",
            customer={"phone": PHONE},
            touchpoint="store",
            occurred_at=T0 + timedelta(days=2),
        )
    assert stays() == [(PHONE, "repeated_contacts", T0 + timedelta(days=5), None, "")]


def test_the_repeat_rule_is_the_policys() -> None:
    PoolPolicy.objects.update_or_create(pk=1, defaults={"repeat_contacts": 2, "repeat_days": 1})
    contact("CRM-1", T0)
    contact("CRM-2", T0 + timedelta(hours=25))
    assert not PoolMember.objects.exists()
    contact("CRM-3", T0 + timedelta(hours=30))
    assert stays() == [(PHONE, "repeated_contacts", T0 + timedelta(hours=30), None, "")]


def test_one_customers_contacts_do_not_count_for_another() -> None:
    contact("CRM-1", T0, phone="+8613800000001")
    contact("CRM-2", T0 + timedelta(hours=1), phone="+8613800000002")
    contact("CRM-3", T0 + timedelta(hours=2), phone="+8613800000001")
    assert not PoolMember.objects.exists()
    assert Customer.objects.count() == 2


# Age


def test_the_daily_task_ages_out_stays_past_the_policy_age() -> None:
    PoolPolicy.objects.update_or_create(pk=1, defaults={"age_days": 30})
    contact("CRM-1", T0, kind="complaint", phone="+8613800000001")
    contact("CRM-2", T0 + timedelta(days=10), kind="complaint", phone="+8613800000002")
    now = T0 + timedelta(days=31)
    with time_machine.travel(now, tick=False):
        assert age_out() == 1
    assert stays() == [
        ("+8613800000001", "complaint", T0, now, ExitReason.AGED),
        ("+8613800000002", "complaint", T0 + timedelta(days=10), None, ""),
    ]
    assert pool_open().count() == 1


def test_a_campaigns_own_post_survey_interaction_is_not_a_contact_from_the_customer() -> None:
    """A care campaign's post-survey is recorded as an interaction (care-<campaign>-<id>):
    the operator reaching out, not the customer coming to us twice."""
    contact("CRM-1", T0)
    contact("care-7-1", T0 + timedelta(days=1))  # as campaign_post_survey names its own
    contact("CRM-2", T0 + timedelta(days=2))
    assert not PoolMember.objects.exists()
    contact("CRM-3", T0 + timedelta(days=3))
    assert stays() == [(PHONE, "repeated_contacts", T0 + timedelta(days=3), None, "")]


# One rule for one interaction and for many


def _pool_by_external_id() -> list[tuple[str, str, datetime, str]]:
    by_pk = dict(Interaction.objects.values_list("pk", "external_id"))
    return sorted(
        (m.customer.phone, m.reason, m.entered_at, by_pk[int(m.source.split(":")[1])])
        for m in PoolMember.objects.select_related("customer")
    )


def test_a_chunk_of_interactions_enters_the_pool_as_saving_them_one_by_one_does() -> None:
    """Random contacts (complaints, out-of-order times, a campaign's own, earlier history):
    saved one by one (post_save per row) and stored at once then entered as a chunk by
    interactions_pool_enter open the same stays, at the same times, for the same rows."""
    reasons = set()
    for seed in range(20):
        rng = random.Random(seed)
        policy = {"repeat_contacts": rng.choice((2, 3, 4)), "repeat_days": rng.choice((1, 7))}
        PoolPolicy.objects.update_or_create(pk=1, defaults=policy)
        customers = [Customer.objects.create(phone=f"+86138000000{n:02d}") for n in range(4)]
        rows = [
            {
                "external_id": f"{'care-7-' if rng.random() < 0.1 else 'CRM-'}{n}",
                "customer": rng.choice(customers),
                "touchpoint": "hotline",
                "kind": "complaint" if rng.random() < 0.2 else "service",
                "occurred_at": T0 + timedelta(hours=rng.randrange(0, 24 * 20)),
            }
            for n in range(rng.randrange(5, 30))
        ]
        history = rng.randrange(0, len(rows))  # recorded one by one before, in both runs
        for row in rows:
            Interaction.objects.create(**row)
        one_by_one = _pool_by_external_id()
        PoolMember.objects.all().delete()
        Interaction.objects.all().delete()
        for row in rows[:history]:
            Interaction.objects.create(**row)
        chunk = Interaction.objects.bulk_create(Interaction(**row) for row in rows[history:])
        interactions_pool_enter(chunk)
        assert _pool_by_external_id() == one_by_one, (seed, policy)
        reasons |= {reason for _phone, reason, _at, _source in one_by_one}
        PoolMember.objects.all().delete()
        Interaction.objects.all().delete()
        Customer.objects.all().delete()
    assert reasons == {"complaint", "repeated_contacts"}  # the scenarios reach both rules
