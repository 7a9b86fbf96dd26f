"""Events into the webhook outbox: one WebhookDelivery row per event and subscription,
written in the transaction that made the event, and sent after it commits.

The outbox is what makes delivery at least once: a process that dies after the commit
leaves the rows, and the sweeper (nps.outbound.sending.deliveries_due) sends them. No
receiver here calls the network.
"""

import uuid
from collections.abc import Iterable
from datetime import datetime
from typing import Any

from django.db.models import Prefetch
from django.utils import timezone

from followups.models import Case, CaseEvent, Problem, ProblemEvent
from nps.models import EventType, WebhookDelivery, WebhookSubscription
from nps.outbound.formats import Event
from surveys.models import ReasonCategory, Response
from surveys.phones import mask_phone, mask_phones_in
from surveys.queue import task_queue

DELIVER_TASK = "nps.tasks.deliver_webhooks"
TASK_SIZE = 50  # deliveries per task: a task sends them one after the other
CASE_EVENTS = {
    "opened": EventType.CASE_OPENED,
    "assigned": EventType.CASE_ASSIGNED,
    "resolved": EventType.CASE_RESOLVED,
    "closed": EventType.CASE_CLOSED,
}


def subscribers(event_types: Iterable[str]) -> dict[str, list[int]]:
    """The active subscriptions' ids for each of `event_types` (one query)."""
    wanted = set(event_types)
    found: dict[str, list[int]] = {}
    for pk, types in WebhookSubscription.objects.filter(active=True).values_list(
        "pk", "event_types"
    ):
        for event_type in wanted.intersection(types or []):
            found.setdefault(event_type, []).append(pk)
    return found


def events_publish(events: list[Event], *, to: dict[str, list[int]] | None = None) -> list[int]:
    """Write the outbox rows for `events` (one insert) and queue their sending after commit.

    `to`: the subscribers already looked up for these event types (else looked up here).
    Call it inside the transaction that made the events: the rows commit or roll back
    with them.
    """
    to = subscribers({e.event_type for e in events}) if to is None else to
    now = timezone.now()
    rows = [
        WebhookDelivery(
            subscription_id=subscription_id, event_type=e.event_type, event_id=e.event_id,
            at=e.at, payload=e.payload, queued_at=now, next_attempt_at=now,
        )
        for e in events
        for subscription_id in to.get(e.event_type, [])
    ]  # fmt: skip
    if not rows:
        return []
    written = WebhookDelivery.objects.bulk_create(rows)
    ids = [row.pk for row in written if row.pk is not None]
    # Ids the database did not return are found by the sweeper within a minute.
    for start in range(0, len(ids), TASK_SIZE):
        task_queue(DELIVER_TASK, ids[start : start + TASK_SIZE])
    return ids


def event_publish(*, event_type: str, payload: dict[str, Any], at: datetime) -> list[int]:
    """Tell every active subscription of `event_type` (for alerts, problems and the like).

    `payload` is JSON-ready; a bot's message shows its "title" and "text". Returns the
    outbox rows' ids. Call it inside the transaction that made the event.
    """
    if event_type not in EventType.values:
        raise ValueError(f"unknown event type {event_type!r}")
    return events_publish([Event(event_type, str(uuid.uuid4()), at, payload)])


# ---------------------------------------------------------------- answers


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def response_payload(response: Response) -> dict[str, Any]:
    interaction, customer = response.interaction, response.customer
    return {
        "response_id": response.pk,
        "purpose": response.invitation.purpose,
        "score": response.score,
        "category": response.category,
        "comment": mask_phones_in(response.comment)[:1000],
        "reasons": [
            {"code": r.code, "name_en": r.name_en, "name_zh": r.name_zh}
            for r in response.reasons.all()
        ],
        "customer_phone": mask_phone(customer.phone),
        "region": customer.region,
        "tier": customer.tier,
        "interaction": interaction.external_id if interaction else None,
        "touchpoint": interaction.touchpoint if interaction else "",
        "channel": interaction.channel if interaction else "",
        "answered_at": _iso(response.created_at),
    }


def responses_publish(response_ids: list[int]) -> list[int]:
    """response.recorded for these answers: one query for subscribers, then (only if any)
    one for the answers and one for their reasons, one insert."""
    to = subscribers([EventType.RESPONSE_RECORDED])
    if not to or not response_ids:
        return []
    reasons = ReasonCategory.objects.only("code", "name_en", "name_zh", "sort_order")
    responses = (
        Response.objects.filter(pk__in=response_ids)
        .select_related("customer", "interaction", "invitation")
        .prefetch_related(Prefetch("reasons", queryset=reasons))
        .order_by("pk")
    )
    events = [
        Event(EventType.RESPONSE_RECORDED, str(uuid.uuid4()), r.created_at, response_payload(r))
        for r in responses
    ]
    return events_publish(events, to=to)


def on_response_classified(
    sender: type[Response], response: Response, created: bool = False, **kwargs: Any
) -> None:
    if created:
        responses_publish([response.pk])


def on_responses_recorded(sender: type[Response], responses: list[Response], **kwargs: Any) -> None:
    responses_publish([r.pk for r in responses])


# ---------------------------------------------------------------- cases


def case_payload(case: Case, event: CaseEvent) -> dict[str, Any]:
    detail = {k: mask_phones_in(v) if isinstance(v, str) else v for k, v in event.detail.items()}
    interaction = case.response.interaction
    return {
        "case_id": case.pk,
        "event": event.kind,
        "detail": detail,
        "status": case.status,
        "priority": case.priority,
        "team": case.team.name if case.team else "",
        "agent": case.agent.name if case.agent else "",
        "customer_phone": mask_phone(case.customer.phone),
        "interaction": interaction.external_id if interaction else None,
        "opened_at": _iso(case.opened_at),
        "first_contact_due_at": _iso(case.sla_due_at),
        "resolution_due_at": _iso(case.resolution_due_at),
        "resolved_at": _iso(case.resolved_at),
        "closed_at": _iso(case.closed_at),
        "close_reason": case.close_reason,
    }


def on_case_events_recorded(
    sender: type[CaseEvent], events: list[CaseEvent], **kwargs: Any
) -> None:
    """case.opened / assigned / resolved / closed for the lines that are one of those."""
    wanted = [e for e in events if e.kind in CASE_EVENTS]
    if not wanted:
        return
    to = subscribers({CASE_EVENTS[e.kind] for e in wanted})
    wanted = [e for e in wanted if CASE_EVENTS[e.kind] in to]
    if not wanted:
        return
    cases = Case.objects.select_related(
        "customer", "team", "agent", "response__interaction"
    ).in_bulk({e.case_id for e in wanted})
    published = [
        Event(CASE_EVENTS[e.kind], str(uuid.uuid4()), e.at, case_payload(cases[e.case_id], e))
        for e in wanted
        if e.case_id in cases
    ]
    events_publish(published, to=to)


# ---------------------------------------------------------------- problems


def problem_payload(problem: Problem, event: ProblemEvent) -> dict[str, Any]:
    """What other systems learn of a problem's change: no personal data (no owner)."""
    unit = problem.responsible_unit
    return {
        "problem_id": problem.pk,
        "event": event.kind,
        "title": problem.title,
        "status": problem.status,
        "responsible_unit": {"id": unit.pk, "name": unit.name},
        "deadline": _iso(problem.deadline),
        "closed_verified": problem.closed_verified,
    }


def on_problems_changed(
    sender: type[ProblemEvent], events: list[ProblemEvent], **kwargs: Any
) -> None:
    """problem.changed for every line of a problem's history, in the same transaction."""
    to = subscribers([EventType.PROBLEM_CHANGED])
    if not to or not events:
        return
    problems = Problem.objects.select_related("responsible_unit").in_bulk(
        {e.problem_id for e in events}
    )
    kind = EventType.PROBLEM_CHANGED
    published = [
        Event(kind, str(uuid.uuid4()), e.at, problem_payload(problems[e.problem_id], e))
        for e in events
        if e.problem_id in problems
    ]
    events_publish(published, to=to)


def subscriptions_test(*, subscription_ids: list[int]) -> list[int]:
    """A test event to each of these subscriptions (active or not), to check an address."""
    event = Event(EventType.TEST, str(uuid.uuid4()), timezone.now(), {})
    return events_publish([event], to={EventType.TEST: list(subscription_ids)})
