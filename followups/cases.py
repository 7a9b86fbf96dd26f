"""Opening cases: one per detractor response, prioritised, with an SLA due time."""

from datetime import datetime

from django.db import IntegrityError, transaction
from django.db.models import Exists, OuterRef
from django.utils import timezone

from followups.history import case_event_record, case_events_record
from followups.models import OPEN_STATUSES, UNTOUCHED_STATUSES, Case, CaseStatus, Priority
from followups.routing import Router
from followups.sla import sla_clock_restart, sla_due_times
from surveys.models import Category, Customer, Response, Tier
from surveys.queue import task_queue_row


def case_priority(*, tier: str, score: int) -> Priority:
    """A-tier and very unhappy first: A 0-3 is P1; A 4-6 and B 0-3 are P2; the rest P3."""
    very_unhappy = score <= 3
    if tier == Tier.A:
        return Priority.P1 if very_unhappy else Priority.P2
    if tier == Tier.B and very_unhappy:
        return Priority.P2
    return Priority.P3


def case_open(*, response: Response) -> Case | None:
    """Open the response's case once (unique in the database) and queue its assignment."""

    if response.category != Category.DETRACTOR:
        return None
    existing = Case.objects.filter(response=response).first()
    if existing is not None:
        return existing
    case = _case_new(response, router=Router(), opened_at=timezone.now(), due={})
    try:
        with transaction.atomic():
            case.save(force_insert=True)
    except IntegrityError:
        return Case.objects.get(response=response)
    case_event_record(case_id=case.pk, kind="opened", priority=case.priority, score=response.score)
    customer_callback_refresh(customer_id=case.customer_id)
    task_queue_row("followups.tasks.assign_cases", case.pk)
    return case


DueTimes = dict[tuple[str, str, int | None], tuple[datetime, datetime]]


def _case_new(response: Response, *, router: Router, opened_at: datetime, due: DueTimes) -> Case:
    """The case a detractor's response opens, not saved yet: its priority (tier and score),
    the routed team from the start (none: the unrouted queue, followups.queries.unrouted)
    and the due times counted in that team's hours, kept if the case moves later. `due`
    keeps the due times per priority, tier and team for cases opened at the same time."""
    tier = response.customer.tier
    priority = case_priority(tier=tier, score=response.score)
    team = router.team(
        region=response.customer.region, tier=tier, touchpoint=response.interaction.touchpoint
    )
    key = (priority, tier, team.pk if team else None)
    if key not in due:
        due[key] = sla_due_times(priority=priority, tier=tier, opened_at=opened_at, team=team)
    contact_due, resolution_due = due[key]
    return Case(
        response=response,
        customer=response.customer,
        priority=priority,
        team=team,
        unit_id=response.interaction.unit_id,  # the unit that served: responsible unless moved
        sla_due_at=contact_due,
        resolution_due_at=resolution_due,
    )


def cases_open(*, responses: list[Response]) -> list[Case]:
    """case_open for many new responses at once (the set-based reply path): the detractors'
    cases by the same rule (_case_new), inserted together with their "opened" events, their
    customers flagged, their assignment queued as one task.

    Routing reads its rules and teams once; due times are worked out once per priority,
    tier and team (every case of the batch opens now). If any of them has a case already
    (a race with the sweeper), each is opened by case_open instead.
    """
    detractors = [r for r in responses if r.category == Category.DETRACTOR]
    if not detractors:
        return []
    router, now = Router(), timezone.now()
    due: DueTimes = {}
    cases = [_case_new(r, router=router, opened_at=now, due=due) for r in detractors]
    try:
        with transaction.atomic():
            cases = Case.objects.bulk_create(cases)
    except IntegrityError:
        return [case for r in detractors if (case := case_open(response=r)) is not None]
    case_events_record(
        [
            (case.pk, "opened", {"priority": case.priority, "score": case.response.score})
            for case in cases
        ]
    )
    customers_callback_refresh(customer_ids=[case.customer_id for case in cases])
    for case in cases:
        task_queue_row("followups.tasks.assign_cases", case.pk)
    return cases


def case_follow_response(*, response: Response) -> Case | None:
    """Open, reopen or close the response's case to match its (possibly corrected) category."""

    case = Case.objects.filter(response=response).first()
    if response.category == Category.DETRACTOR:
        if case is None:
            return case_open(response=response)
        # A new SLA clock from the reopening, as for every reopened case.
        clock = sla_clock_restart(
            priority=case.priority, tier=response.customer.tier, team=case.team, at=timezone.now()
        )
        reopened = Case.objects.filter(pk=case.pk, closed_by_correction=True).update(
            status=CaseStatus.NEW,
            agent=None,
            assigned_at=None,
            closed_at=None,
            close_reason="",
            closed_by_correction=False,
            **clock,
        )
        if reopened:
            case_event_record(case_id=case.pk, kind="reopened", reason="score corrected")
            customer_callback_refresh(customer_id=case.customer_id)
            task_queue_row("followups.tasks.assign_cases", case.pk)
        return case
    if case is not None:
        # Nobody has called yet: the customer's corrected score makes the callback moot.
        closed = Case.objects.filter(pk=case.pk, status__in=UNTOUCHED_STATUSES).update(
            status=CaseStatus.CLOSED,
            closed_at=timezone.now(),
            close_reason=f"Customer corrected the score to {response.score}",
            closed_by_correction=True,
        )
        if closed:
            case_event_record(case_id=case.pk, kind="closed", reason="score corrected")
            customer_callback_refresh(customer_id=case.customer_id)
    return case


def customer_callback_refresh(*, customer_id: int) -> None:
    """Tell surveys whether the customer has an open case (no survey is sent meanwhile)."""
    customers_callback_refresh(customer_ids=[customer_id])


def customers_callback_refresh(*, customer_ids: list[int]) -> None:
    """customer_callback_refresh for many customers: one statement."""
    open_case = Case.objects.filter(customer_id=OuterRef("pk"), status__in=OPEN_STATUSES)
    Customer.objects.filter(pk__in=customer_ids).update(in_callback=Exists(open_case))


def customers_callback_reconcile() -> int:
    """Repair the in-callback flag wherever it drifted from the cases (periodic)."""
    open_ids = Case.objects.filter(status__in=OPEN_STATUSES).values("customer_id")
    flagged = Customer.objects.filter(in_callback=True).exclude(pk__in=open_ids)
    missing = Customer.objects.filter(in_callback=False, pk__in=open_ids)
    return flagged.update(in_callback=False) + missing.update(in_callback=True)


def cases_open_missing(*, limit: int = 500) -> int:
    """Open a case for every detractor response that has none (a lost signal loses no case)."""
    missing = Response.objects.filter(
        category=Category.DETRACTOR, case__isnull=True
    ).select_related("customer")[:limit]
    opened = 0
    for response in missing:
        with transaction.atomic():
            opened += case_open(response=response) is not None
    return opened


def cases_unit_attribute(*, interaction_ids: list[int], unit_id: int) -> int:
    """The cases of these interactions that have no responsible unit get `unit_id` (a CRM id
    mapped after they opened); a case someone gave a unit keeps it. Returns how many."""
    return Case.objects.filter(
        response__interaction_id__in=interaction_ids, unit__isnull=True
    ).update(unit_id=unit_id)
