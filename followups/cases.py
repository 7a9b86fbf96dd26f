"""Opening cases: one per detractor response, prioritised, with an SLA due time."""

from datetime import timedelta

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from followups.models import Case, Priority
from surveys.models import Category, Response, Tier


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
    from followups import tasks

    if response.category != Category.DETRACTOR:
        return None
    existing = Case.objects.filter(response=response).first()
    if existing is not None:
        return existing
    priority = case_priority(tier=response.customer.tier, score=response.score)
    due = timezone.now() + timedelta(hours=settings.NPS_CASE_SLA_HOURS[priority])
    try:
        with transaction.atomic():
            case = Case.objects.create(
                response=response, customer=response.customer, priority=priority, sla_due_at=due
            )
    except IntegrityError:
        return Case.objects.get(response=response)
    transaction.on_commit(lambda: tasks.assign_case.delay(case.pk), robust=True)
    return case


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
