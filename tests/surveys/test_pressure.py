"""The contact budget (surveys.pressure): the rule, and the surveys and callbacks that obey it."""

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import time_machine
from django.db import connection
from django.test import override_settings
from django.test.utils import CaptureQueriesContext

from followups.assignment import case_assign
from followups.cases import case_open
from followups.workflow import case_attempt_log
from surveys.conversation import message_queue, message_send
from surveys.dispatch import SURVEY_SMS, invitation_send
from surveys.models import (
    Category,
    Contact,
    ContactKind,
    ContactPolicy,
    Customer,
    Invitation,
    InvitationStatus,
    OutboundKind,
    Purpose,
    Response,
    SuppressReason,
    Survey,
)
from surveys.pressure import contact_record, contact_take, contacts_take
from surveys.sending import send_many
from tests.factories import AgentFactory, CustomerFactory, InteractionFactory, TeamFactory

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("console_gateway")]
NOW = datetime(2026, 11, 20, 4, 0, tzinfo=UTC)  # noon in Shanghai: no quiet hours matter
WEEK = timedelta(days=7)


@pytest.fixture
def console_gateway() -> Any:
    with override_settings(NPS_SEND_GATEWAY="console"):
        yield


@pytest.fixture(autouse=True)
def budget() -> ContactPolicy:
    """Three contacts in any seven days (the defaults, written out so the tests say so)."""
    return ContactPolicy.objects.update_or_create(
        pk=1, defaults={"max_contacts": 3, "window_days": 7}
    )[0]


@pytest.fixture(autouse=True)
def now() -> Any:
    with time_machine.travel(NOW, tick=False):
        yield


def contacted(customer: Customer, *ago: timedelta, kind: str = ContactKind.SURVEY) -> None:
    Contact.objects.bulk_create(
        Contact(customer=customer, kind=kind, at=NOW - delta, source="earlier") for delta in ago
    )


# The rule


def test_an_allowed_contact_is_written_with_its_kind_source_and_time() -> None:
    customer = CustomerFactory()
    assert (
        contact_take(customer_id=customer.pk, kind=ContactKind.CAMPAIGN_SMS, source="c:1") is None
    )
    contact = Contact.objects.get()
    assert (contact.customer_id, contact.kind, contact.source, contact.at) == (
        customer.pk,
        ContactKind.CAMPAIGN_SMS,
        "c:1",
        NOW,
    )


def test_the_contact_that_reaches_the_budget_is_allowed_and_the_next_refused() -> None:
    customer = CustomerFactory()
    contacted(customer, timedelta(days=1), timedelta(hours=1))  # 2 of 3
    assert contact_take(customer_id=customer.pk, kind=ContactKind.CAMPAIGN_CALL) is None  # 3 of 3
    assert contact_take(customer_id=customer.pk, kind=ContactKind.SURVEY) == "contact_budget"
    assert Contact.objects.filter(customer=customer).count() == 3


@pytest.mark.parametrize(
    ("oldest", "allowed"),
    [
        (WEEK, True),  # exactly a window ago: out of the window
        (WEEK + timedelta(seconds=1), True),
        (WEEK - timedelta(seconds=1), False),  # one second inside: counts
    ],
)
def test_the_window_is_the_last_window_days_and_excludes_its_first_instant(
    oldest: timedelta, allowed: bool
) -> None:
    customer = CustomerFactory()
    contacted(customer, oldest, timedelta(days=3), timedelta(minutes=1))
    reason = contact_take(customer_id=customer.pk, kind=ContactKind.SURVEY)
    assert reason == (None if allowed else "contact_budget")


def test_the_policy_in_the_admin_row_is_the_one_applied(budget: ContactPolicy) -> None:
    customer = CustomerFactory()
    contacted(customer, timedelta(days=2))
    budget.max_contacts, budget.window_days = 1, 3
    budget.save()
    assert contact_take(customer_id=customer.pk, kind=ContactKind.SURVEY) == "contact_budget"
    budget.window_days = 1  # the earlier contact is now out of the window
    budget.save()
    assert contact_take(customer_id=customer.pk, kind=ContactKind.SURVEY) is None


def test_a_contact_logged_later_than_the_time_asked_about_still_counts() -> None:
    customer = CustomerFactory()
    contacted(customer, timedelta(0), timedelta(0), timedelta(0))
    earlier = NOW - timedelta(days=1)
    assert contact_take(customer_id=customer.pk, kind=ContactKind.SURVEY, at=earlier) == (
        "contact_budget"
    )


def test_opted_out_customer_is_refused_and_nothing_is_written() -> None:
    customer = CustomerFactory(opted_out_at=NOW - timedelta(days=30))
    assert contact_take(customer_id=customer.pk, kind=ContactKind.CAMPAIGN_SMS) == "opted_out"
    assert not Contact.objects.exists()


def test_customer_with_an_open_case_is_refused_and_nothing_is_written() -> None:
    customer = CustomerFactory(in_callback=True)
    assert contact_take(customer_id=customer.pk, kind=ContactKind.CAMPAIGN_CALL) == "open_case"
    assert not Contact.objects.exists()


def test_a_callback_is_never_refused_and_counts_against_the_budget() -> None:
    # Opted out of SMS, with an open case and over the budget: the detractor is still owed the call.
    customer = CustomerFactory(opted_out_at=NOW - timedelta(days=1), in_callback=True)
    contacted(customer, timedelta(days=1), timedelta(days=2), timedelta(days=3))
    contact_record(customer_id=customer.pk, kind=ContactKind.CALLBACK, source="case:7")
    assert Contact.objects.filter(customer=customer, kind=ContactKind.CALLBACK).count() == 1

    other = CustomerFactory()
    contacted(other, timedelta(days=1), timedelta(days=2))
    contact_record(customer_id=other.pk, kind=ContactKind.CALLBACK, source="case:8")  # 3 of 3
    assert contact_take(customer_id=other.pk, kind=ContactKind.CAMPAIGN_SMS) == "contact_budget"


def test_many_customers_are_decided_each_by_their_own_state() -> None:
    free, full = CustomerFactory(), CustomerFactory()
    out, calling = CustomerFactory(opted_out_at=NOW), CustomerFactory(in_callback=True)
    contacted(full, timedelta(days=1), timedelta(days=2), timedelta(days=3))
    items = [
        (customer.pk, ContactKind.CAMPAIGN_SMS, "campaign:1")
        for customer in (free, full, out, calling)
    ]
    assert contacts_take(items=items) == {
        free.pk: None,
        full.pk: "contact_budget",
        out.pk: "opted_out",
        calling.pk: "open_case",
    }
    assert list(
        Contact.objects.filter(source="campaign:1").values_list("customer_id", flat=True)
    ) == [free.pk]


def test_taking_for_many_customers_costs_as_many_queries_as_for_one() -> None:
    def queries(customers: int) -> int:
        rows = CustomerFactory.create_batch(customers)
        contacted(rows[0], timedelta(days=1))
        with CaptureQueriesContext(connection) as captured:
            contacts_take(items=[(c.pk, ContactKind.CAMPAIGN_SMS, "") for c in rows])
        return len(captured)

    assert queries(1) == queries(25)
    assert Contact.objects.filter(kind=ContactKind.CAMPAIGN_SMS).count() == 26


def test_one_item_per_customer_and_no_callbacks_through_take() -> None:
    customer = CustomerFactory()
    with pytest.raises(ValueError, match="one item per customer"):
        contacts_take(
            items=[(customer.pk, ContactKind.SURVEY, ""), (customer.pk, ContactKind.SURVEY, "")]
        )
    with pytest.raises(ValueError, match="callback"):
        contact_take(customer_id=customer.pk, kind=ContactKind.CALLBACK)
    assert not Contact.objects.exists()


# Surveys take a contact when they are sent


def scheduled(customer: Customer, survey: Survey, purpose: str = Purpose.SURVEY) -> Invitation:
    return Invitation.objects.create(
        interaction=InteractionFactory(customer=customer),
        customer=customer,
        survey=survey,
        purpose=purpose,
        send_at=NOW,
    )


def test_a_sent_survey_is_a_contact_once_whatever_its_attempts(survey: Survey) -> None:
    customer = CustomerFactory()
    invitation = scheduled(customer, survey)
    assert invitation_send(invitation_id=invitation.pk).outcome == "sent"
    assert invitation_send(invitation_id=invitation.pk).outcome == "taken"
    contact = Contact.objects.get()
    assert (contact.kind, contact.source, contact.at) == (
        ContactKind.SURVEY,
        f"invitation:{invitation.pk}",
        NOW,
    )


@pytest.mark.parametrize(
    ("purpose", "kind"),
    [(Purpose.SURVEY, ContactKind.SURVEY), (Purpose.VERIFICATION, ContactKind.VERIFICATION)],
)
def test_a_survey_over_the_budget_is_suppressed_with_the_reason_and_not_sent(
    survey: Survey, purpose: str, kind: str
) -> None:
    customer = CustomerFactory()
    contacted(customer, timedelta(days=1), timedelta(days=2), kind=ContactKind.CAMPAIGN_SMS)
    first, second = scheduled(customer, survey, purpose), scheduled(customer, survey, purpose)
    assert invitation_send(invitation_id=first.pk).outcome == "sent"  # 3 of 3
    assert invitation_send(invitation_id=second.pk).outcome == "suppressed"
    second.refresh_from_db()
    assert second.status == InvitationStatus.SUPPRESSED
    assert second.suppressed_reason == SuppressReason.CONTACT_BUDGET
    assert second.sent_at is None
    assert second.provider_message_id == ""
    assert Contact.objects.filter(kind=kind).count() == 1


def test_a_case_opened_after_planning_stops_the_survey_at_send_time(survey: Survey) -> None:
    customer = CustomerFactory()
    invitation = scheduled(customer, survey)
    Customer.objects.filter(pk=customer.pk).update(in_callback=True)
    assert invitation_send(invitation_id=invitation.pk).outcome == "suppressed"
    invitation.refresh_from_db()
    assert invitation.suppressed_reason == SuppressReason.OPEN_CASE
    assert not Contact.objects.exists()


def test_the_batch_path_takes_contacts_for_the_batch_and_suppresses_the_refused(
    survey: Survey,
) -> None:
    one_left, free, full = CustomerFactory(), CustomerFactory(), CustomerFactory()
    contacted(one_left, timedelta(days=1), timedelta(days=2))
    contacted(full, timedelta(days=1), timedelta(days=2), timedelta(days=3))
    rows = [
        scheduled(one_left, survey),
        scheduled(one_left, survey),  # the same customer twice in one batch
        scheduled(free, survey),
        scheduled(full, survey),
    ]
    invitations = list(
        Invitation.objects.select_related("customer", "survey").filter(pk__in=[r.pk for r in rows])
    )
    invitations.sort(key=lambda invitation: invitation.pk)
    outcomes = [outcome.outcome for outcome in send_many(SURVEY_SMS, invitations)]
    assert outcomes == ["sent", "suppressed", "sent", "suppressed"]
    statuses = dict(Invitation.objects.values_list("pk", "suppressed_reason"))
    assert statuses == {
        rows[0].pk: "",
        rows[1].pk: SuppressReason.CONTACT_BUDGET,
        rows[2].pk: "",
        rows[3].pk: SuppressReason.CONTACT_BUDGET,
    }
    new = Contact.objects.exclude(source="earlier")
    assert sorted(new.values_list("source", flat=True)) == sorted(
        [f"invitation:{rows[0].pk}", f"invitation:{rows[2].pk}"]
    )


def test_conversation_messages_answer_the_customer_and_are_not_contacts(survey: Survey) -> None:
    customer = CustomerFactory()
    contacted(customer, timedelta(days=1), timedelta(days=2), timedelta(days=3))  # budget used up
    invitation = scheduled(customer, survey)
    for kind in (OutboundKind.FOLLOWUP_QUESTION, OutboundKind.THANKS, OutboundKind.CLARIFICATION):
        message = message_queue(customer=customer, kind=kind, invitation=invitation)
        assert message is not None
        assert message_send(message_id=message.pk).outcome == "sent"
    assert Contact.objects.filter(customer=customer).count() == 3


# Callbacks


def test_every_call_attempt_on_a_case_is_a_callback_contact_even_over_the_budget() -> None:
    customer = CustomerFactory(region="BJ")
    AgentFactory(team=TeamFactory(regions=["BJ"]))
    interaction = InteractionFactory(customer=customer)
    invitation = Invitation.objects.create(
        interaction=interaction,
        customer=customer,
        status=InvitationStatus.RESPONDED,
        sent_at=NOW,
    )
    response = Response.objects.create(
        invitation=invitation,
        customer=customer,
        interaction=interaction,
        score=2,
        category=Category.DETRACTOR,
    )
    case = case_open(response=response)
    assert case is not None
    case_assign(case_id=case.pk)
    contacted(customer, timedelta(days=1), timedelta(days=2), timedelta(days=3))
    for outcome in ("no_answer", "reached"):
        case_attempt_log(case_id=case.pk, actor=None, channel="phone", outcome=outcome)
    callbacks = Contact.objects.filter(customer=customer, kind=ContactKind.CALLBACK)
    assert list(callbacks.values_list("source", "at")) == [(f"case:{case.pk}", NOW)] * 2
