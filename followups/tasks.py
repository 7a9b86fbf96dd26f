"""Celery tasks for follow-ups: thin wrappers around services."""

from celery import shared_task

from followups import assignment, cases


@shared_task(acks_late=True)
def assign_case(case_id: int) -> int | None:
    agent = assignment.case_assign(case_id=case_id)
    return agent.pk if agent else None


@shared_task
def sweep_cases() -> int:
    return cases.cases_open_missing() + assignment.cases_assign_waiting()
