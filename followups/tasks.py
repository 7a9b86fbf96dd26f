"""Celery tasks for follow-ups: thin wrappers around services."""

from celery import shared_task
from django.utils import timezone

from followups import assignment, cases, escalation, handover, problem_escalation, verification


@shared_task(acks_late=True)
def assign_case(case_id: int) -> int | None:
    agent = assignment.case_assign(case_id=case_id)
    return agent.pk if agent else None


@shared_task(acks_late=True)
def assign_cases(case_ids: list[int]) -> int:
    return assignment.cases_assign(case_ids=case_ids)


@shared_task
def sweep_cases() -> int:
    opened = cases.cases_open_missing() + assignment.cases_assign_waiting()
    return opened + cases.customers_callback_reconcile()


@shared_task
def escalate_breaches() -> int:
    # Safe to overlap: each escalation level is claimed with a conditional update.
    return escalation.cases_escalate()


@shared_task
def send_verifications() -> int:
    # Safe to overlap: each case is locked (skip locked) and re-checked before planning.
    return verification.verifications_send()


@shared_task
def remind_appointments() -> int:
    # Safe to overlap: each reminder is claimed by stamping appointment_reminded_at.
    return handover.appointments_remind()


@shared_task
def escalate_overdue_problems() -> int:
    # Safe to overlap: each problem's escalation is claimed with a conditional update.
    return problem_escalation.problems_escalate_overdue(timezone.now())
