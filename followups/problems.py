"""Problems and their lifecycle (followups.models.problems): the one place that changes them.

Every change writes a ProblemEvent and sends `followups.signals.problems_changed` in the
same transaction (nps turns it into webhook events).
"""

from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Any

from django.contrib.auth.models import User
from django.db import transaction
from django.utils import timezone

from followups.models import Case, Problem, ProblemEvent, ProblemSource
from followups.signals import problems_changed
from surveys.models import ReasonCategory, Unit

DEFAULT_DEADLINE = timedelta(days=10)  # a ten-day cycle, unless the opener sets one


def problem_event_record(
    problem: Problem, kind: str, *, actor: User | None = None, **detail: Any
) -> ProblemEvent:
    event = ProblemEvent.objects.create(problem=problem, kind=kind, actor=actor, detail=detail)
    problems_changed.send(sender=ProblemEvent, events=[event])
    return event


def problem_open(
    *,
    title: str,
    responsible_unit: Unit,
    source: str = ProblemSource.PERSON,
    reason: ReasonCategory | None = None,
    place_unit: Unit | None = None,
    touchpoint: str = "",
    region: str = "",
    owner: User | None = None,
    opened_by: User | None = None,
    deadline: datetime | None = None,
    cases: Iterable[Case] = (),
    **detail: Any,
) -> Problem:
    """Open a problem for `responsible_unit`; its deadline is DEFAULT_DEADLINE from now unless
    given. `detail` goes to the "opened" history line (e.g. the alert that raised it)."""
    now = timezone.now()
    with transaction.atomic():
        problem = Problem.objects.create(
            title=title[:200],
            responsible_unit=responsible_unit,
            source=source,
            reason=reason,
            place_unit=place_unit,
            touchpoint=touchpoint,
            region=region,
            owner=owner,
            opened_by=opened_by,
            deadline=deadline or now + DEFAULT_DEADLINE,
        )
        linked = list(cases)
        if linked:
            problem.cases.add(*linked)
        problem_event_record(
            problem, "opened", actor=opened_by, source=source, cases=[c.pk for c in linked],
            **detail,
        )  # fmt: skip
    return problem
