"""Who enters the pool explicitly, and who leaves it on a later answer.

Each receiver runs inside the transaction of the write that caused it (an answer, a case's
history line, an interaction), so a stay opens or closes with that write or not at all;
none calls the network.

- surveys.signals.response_classified / responses_recorded: a survey's detractor answer
  enters "detractor"; a promoter or passive answer closes every stay the customer entered
  before it ("later_answer").
- post_save of followups.CaseEvent (every case change writes one, followups.history): a case
  given up as unreachable enters "case_unreachable"; closed without a resolution,
  "case_unresolved"; a verification answer that shows no recovery, "not_recovered".
- post_save of surveys.Interaction: a complaint enters "complaint"; the customer's
  PoolPolicy.repeat_contacts-th interaction within repeat_days enters "repeated_contacts".
"""

from collections import defaultdict
from datetime import datetime, timedelta
from typing import Any

from django.db.models.signals import post_save

from care.models import EntryReason, ExitReason, PoolPolicy
from care.pool import Entry, pool_enter, pool_entries_open, pool_leave
from care.segments import OWN_INTERACTION_PREFIX
from followups.models import CaseEvent, CaseStatus
from surveys.models import Category, Interaction, InteractionKind, Purpose, Response
from surveys.signals import response_classified, responses_recorded

SATISFIED = (Category.PROMOTER, Category.PASSIVE)


def _surveyed(response: Response) -> bool:
    # Verification answers belong to their case, campaign answers to their campaign.
    return response.invitation.purpose == Purpose.SURVEY


def on_response_classified(
    sender: type[Response], response: Response, created: bool = True, **kwargs: Any
) -> None:
    if not _surveyed(response):
        return
    at = response.created_at if created else response.updated_at
    if response.category == Category.DETRACTOR:
        pool_enter(
            customer_ids=[response.customer_id],
            reason=EntryReason.DETRACTOR,
            at=at,
            source=f"response:{response.pk}",
            detail=response.comment,
        )
    elif response.category in SATISFIED:
        pool_leave(
            customer_ids=[response.customer_id],
            reason=ExitReason.LATER_ANSWER,
            at=at,
            entered_before=at,
        )


def on_responses_recorded(sender: type[Response], responses: list[Response], **kwargs: Any) -> None:
    """Many first answers at once: one statement for the exits of each answer time, one
    insert for the detractors."""
    surveyed = [r for r in responses if _surveyed(r)]
    leaving: dict[datetime, list[int]] = defaultdict(list)
    for response in surveyed:
        if response.category in SATISFIED:
            leaving[response.created_at].append(response.customer_id)
    if leaving:
        # A batch's answers share their insert, so their times are (nearly) one: the
        # latest stands for all, as the answers arrived together.
        at = max(leaving)
        customer_ids = [pk for pks in leaving.values() for pk in pks]
        pool_leave(
            customer_ids=customer_ids, reason=ExitReason.LATER_ANSWER, at=at, entered_before=at
        )
    entries = [
        Entry(r.customer_id, r.created_at, f"response:{r.pk}", r.comment)
        for r in surveyed
        if r.category == Category.DETRACTOR
    ]
    if entries:
        pool_entries_open(entries=entries, reason=EntryReason.DETRACTOR)


def _case_entry(event: CaseEvent) -> str | None:
    detail = event.detail or {}
    if event.kind == "unreachable":
        return EntryReason.CASE_UNREACHABLE
    # Closed from unreachable: given up without a resolution. (A case closed because the
    # customer corrected the score carries no "from": the customer's answer decides then.)
    if event.kind == "closed" and detail.get("from") == CaseStatus.UNREACHABLE:
        return EntryReason.CASE_UNRESOLVED
    if event.kind == "verified" and detail.get("recovered") is False:
        return EntryReason.NOT_RECOVERED
    return None


def on_case_event_saved(
    sender: type[CaseEvent], instance: CaseEvent, created: bool, **kwargs: Any
) -> None:
    if not created or (reason := _case_entry(instance)) is None:
        return
    detail = instance.detail or {}
    customer_id = instance.case.customer_id
    note = detail.get("reason") or ""
    pool_enter(
        customer_ids=[customer_id],
        reason=reason,
        at=instance.at,
        source=f"case:{instance.case_id}",
        detail=str(note),
    )


def repeated_contacts_at(
    times: list[datetime], *, including: datetime, at_least: int, within: timedelta
) -> datetime | None:
    """When `at_least` of these contact times, `including` among them, first fell less than
    `within` apart (the latest of them), or None."""
    times = sorted(times)
    for first in range(len(times) - at_least + 1):
        last = first + at_least - 1
        if times[first] <= including <= times[last] and times[last] - times[first] < within:
            return times[last]
    return None


def on_interaction_saved(
    sender: type[Interaction], instance: Interaction, created: bool, **kwargs: Any
) -> None:
    if not created or instance.external_id.startswith(OWN_INTERACTION_PREFIX):
        return  # a campaign's own post-survey is not the customer coming to us
    source = f"interaction:{instance.pk}"
    if instance.kind == InteractionKind.COMPLAINT:
        pool_enter(
            customer_ids=[instance.customer_id],
            reason=EntryReason.COMPLAINT,
            at=instance.occurred_at,
            source=source,
        )
    policy = PoolPolicy.current()
    within = timedelta(days=policy.repeat_days)
    # Windows that could hold this interaction: up to `within` either side of it. The CRM
    # may send contacts out of order, so a late one can complete an earlier window.
    times = list(
        Interaction.objects.filter(
            customer_id=instance.customer_id,
            occurred_at__gt=instance.occurred_at - within,
            occurred_at__lt=instance.occurred_at + within,
        )
        .exclude(external_id__startswith=OWN_INTERACTION_PREFIX)
        .values_list("occurred_at", flat=True)
    )
    if len(times) < policy.repeat_contacts:
        return
    reached = repeated_contacts_at(
        times, including=instance.occurred_at, at_least=policy.repeat_contacts, within=within
    )
    if reached is not None:
        pool_enter(
            customer_ids=[instance.customer_id],
            reason=EntryReason.REPEATED_CONTACTS,
            at=reached,
            source=source,
        )


def pool_receivers_connect() -> None:
    """Connect the pool's receivers (care.apps ready(); connecting twice is a no-op)."""
    response_classified.connect(on_response_classified, dispatch_uid="care-pool")
    responses_recorded.connect(on_responses_recorded, dispatch_uid="care-pool")
    post_save.connect(on_case_event_saved, sender=CaseEvent, dispatch_uid="care-pool-case")
    post_save.connect(on_interaction_saved, sender=Interaction, dispatch_uid="care-pool-contact")
