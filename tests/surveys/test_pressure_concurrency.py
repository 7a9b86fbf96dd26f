"""No customer is contacted beyond the budget under concurrent surveys, campaigns and callbacks.

Threads, each with its own connection to PostgreSQL, run generated schedules at once on a
few customers: surveys through the real send path (one by one and the batch path), care
campaign SMS and calls through contacts_take, callbacks through the case attempt log.
Afterwards the Contact table alone must show that at every contact we initiated, the
contacts in the window ending at it (callbacks included) were at most the budget.
"""

import threading
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import pytest
from django.db import connection, transaction
from django.test import override_settings
from hypothesis import HealthCheck, Phase, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from followups.assignment import case_assign
from followups.cases import case_open
from followups.models import Case
from followups.workflow import case_attempt_log
from surveys.dispatch import SURVEY_SMS, invitation_send
from surveys.models import (
    Category,
    Contact,
    ContactKind,
    ContactPolicy,
    Customer,
    Invitation,
    InvitationStatus,
    Response,
    SuppressReason,
    Survey,
)
from surveys.pressure import contacts_take
from surveys.sending import send_many
from tests.factories import (
    AgentFactory,
    CustomerFactory,
    InteractionFactory,
    SurveyFactory,
    TeamFactory,
)

MAX_CONTACTS, CUSTOMERS, THREADS = 3, 3, 6

pytestmark = [
    pytest.mark.skipif(
        connection.vendor != "postgresql",
        reason="needs concurrent transactions and row locks: PostgreSQL pass",
    ),
    pytest.mark.django_db(transaction=True),
]

# One step of a thread's schedule: what it does, to which customers (indexes).
SURVEY, SURVEY_BATCH, SMS, CALL, CALLBACK = "survey", "survey_batch", "sms", "call", "callback"
Step = tuple[str, tuple[int, ...]]

customer_sets = st.sets(st.integers(0, CUSTOMERS - 1), min_size=1).map(
    lambda chosen: tuple(sorted(chosen))
)
steps = st.one_of(
    st.tuples(st.just(SURVEY), st.integers(0, CUSTOMERS - 1).map(lambda n: (n,))),
    st.tuples(st.sampled_from([SURVEY_BATCH, SMS, CALL]), customer_sets),
    st.tuples(st.just(CALLBACK), st.integers(0, CUSTOMERS - 1).map(lambda n: (n,))),
)
schedules = st.lists(st.lists(steps, min_size=3, max_size=6), min_size=THREADS, max_size=THREADS)


@dataclass
class World:
    survey: Survey
    customers: list[Customer]
    cases: list[Case]


@pytest.fixture
def world(db: Any) -> World:
    with override_settings(NPS_SEND_GATEWAY="console"):
        ContactPolicy.objects.update_or_create(
            pk=1, defaults={"max_contacts": MAX_CONTACTS, "window_days": 7}
        )
        AgentFactory(team=TeamFactory(regions=["BJ"]), capacity=CUSTOMERS)
        customers = [CustomerFactory(region="BJ") for _ in range(CUSTOMERS)]
        cases = []
        for customer in customers:
            interaction = InteractionFactory(customer=customer)
            invitation = Invitation.objects.create(
                interaction=interaction, customer=customer, status=InvitationStatus.RESPONDED
            )
            response = Response.objects.create(
                invitation=invitation,
                customer=customer,
                interaction=interaction,
                score=1,
                category=Category.DETRACTOR,
            )
            case = case_open(response=response)
            assert case is not None
            case_assign(case_id=case.pk)
            cases.append(case)
        return World(SurveyFactory(), customers, cases)


def run_in_parallel(work: list[Callable[[], None]]) -> list[BaseException]:
    """Run each callable in its own thread, released together; what any of them raised."""
    start, errors = threading.Barrier(len(work)), []

    def worker(job: Callable[[], None]) -> None:
        try:
            start.wait()
            job()
        except BaseException as error:
            errors.append(error)
        finally:
            connection.close()  # each thread has its own connection

    threads = [threading.Thread(target=worker, args=(job,)) for job in work]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return errors


def scheduled(world: World, index: int) -> Invitation:
    customer = world.customers[index]
    return Invitation.objects.create(
        interaction=InteractionFactory(customer=customer),
        customer=customer,
        survey=world.survey,
        send_at=world.survey.created_at,
    )


def thread_job(world: World, schedule: list[Step]) -> tuple[Callable[[], None], list[int]]:
    """The thread's work, and the invitations it will send (made here, before the start)."""
    plan: list[tuple[str, tuple[int, ...], list[int]]] = []
    for kind, indexes in schedule:
        invitations = [scheduled(world, i).pk for i in indexes] if kind.startswith(SURVEY) else []
        plan.append((kind, indexes, invitations))

    def job() -> None:
        for kind, indexes, invitations in plan:
            if kind == SURVEY:
                invitation_send(invitation_id=invitations[0])
            elif kind == SURVEY_BATCH:
                rows = Invitation.objects.select_related("customer", "survey")
                send_many(SURVEY_SMS, list(rows.filter(pk__in=invitations).order_by("pk")))
            elif kind == CALLBACK:
                case_id = world.cases[indexes[0]].pk
                case_attempt_log(case_id=case_id, actor=None, channel="phone", outcome="reached")
            else:
                contact = ContactKind.CAMPAIGN_SMS if kind == SMS else ContactKind.CAMPAIGN_CALL
                customers = [world.customers[i].pk for i in indexes]
                with transaction.atomic():
                    contacts_take(items=[(pk, contact, "campaign:1") for pk in customers])

    return job, [pk for _, _, invitations in plan for pk in invitations]


def assert_within_budget(customer_ids: list[int]) -> None:
    """At every contact we initiated, the contacts in the window ending at it (itself, and
    those before it in time; callbacks too) are at most the budget."""
    window = timedelta(days=ContactPolicy.current().window_days)
    contacts: dict[int, list[tuple[datetime, int, str]]] = defaultdict(list)
    rows = Contact.objects.filter(customer_id__in=customer_ids)
    for customer_id, at, pk, kind in rows.values_list("customer_id", "at", "pk", "kind"):
        contacts[customer_id].append((at, pk, kind))
    for customer_id, theirs in contacts.items():
        for at, pk, kind in theirs:
            if kind == ContactKind.CALLBACK:
                continue
            in_window = [row for row in theirs if at - window < row[0] and row[:2] <= (at, pk)]
            assert len(in_window) <= MAX_CONTACTS, (customer_id, sorted(theirs))


@hypothesis_settings(
    max_examples=6,
    deadline=None,
    derandomize=True,
    phases=[Phase.explicit, Phase.generate],  # a thread schedule does not shrink usefully
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(schedule=schedules)
def test_no_customer_is_contacted_beyond_the_budget_under_concurrent_senders(
    world: World, schedule: list[list[Step]]
) -> None:
    # Each example starts afresh on the same customers and cases. Their cases are open (a
    # callback is logged on an open case), but the in-callback flag is cleared, so that
    # the budget, not the open case, decides what meets the callbacks.
    Contact.objects.all().delete()
    Invitation.objects.exclude(status=InvitationStatus.RESPONDED).delete()
    customer_ids = [customer.pk for customer in world.customers]
    Customer.objects.filter(pk__in=customer_ids).update(in_callback=False)

    with override_settings(NPS_SEND_GATEWAY="console"):
        jobs = [thread_job(world, thread_schedule) for thread_schedule in schedule]
        errors = run_in_parallel([job for job, _ in jobs])
    assert errors == []

    assert_within_budget(customer_ids)

    invitation_ids = [pk for _, invitations in jobs for pk in invitations]
    invitations = Invitation.objects.filter(pk__in=invitation_ids)
    sources = set(Contact.objects.values_list("source", flat=True))
    for invitation in invitations:
        taken = f"invitation:{invitation.pk}" in sources
        if invitation.status == InvitationStatus.SUPPRESSED:
            assert invitation.suppressed_reason == SuppressReason.CONTACT_BUDGET
            assert not taken
        else:  # sent (the console gateway accepts every SMS), and counted
            assert invitation.status == InvitationStatus.SENT
            assert taken

    # Nothing refused while there was room: each customer got at least the budget less
    # their callbacks (a take is refused only when the budget is used up).
    for customer_id in customer_ids:
        theirs = Contact.objects.filter(customer_id=customer_id)
        callbacks = theirs.filter(kind=ContactKind.CALLBACK).count()
        initiated = theirs.exclude(kind=ContactKind.CALLBACK).count()
        index = customer_ids.index(customer_id)
        asked = sum(
            1
            for thread_schedule in schedule
            for kind, indexes in thread_schedule
            if kind != CALLBACK and index in indexes
        )
        assert initiated >= min(asked, max(MAX_CONTACTS - callbacks, 0))
