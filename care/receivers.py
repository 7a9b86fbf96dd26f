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
- post_save of surveys.Interaction, and surveys.signals.interactions_recorded for many
  stored at once (a file's import): a complaint enters "complaint"; the customer's
  PoolPolicy.repeat_contacts-th interaction within repeat_days enters "repeated_contacts"
  (interactions_pool_enter, one rule for one and for many).
"""

from collections import defaultdict
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from django.db.models.signals import post_save

from care.models import EntryReason, ExitReason, PoolPolicy
from care.pool import Entry, pool_enter, pool_entries_open, pool_leave
from care.segments import OWN_INTERACTION_PREFIX
from followups.models import CaseEvent, CaseStatus
from surveys.models import Category, Interaction, InteractionKind, Purpose, Response
from surveys.signals import interactions_recorded, response_classified, responses_recorded

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
    if created:
        interactions_pool_enter([instance])


def on_interactions_recorded(
    sender: type[Interaction], interactions: list[Interaction], **kwargs: Any
) -> None:
    interactions_pool_enter(interactions)


def interactions_pool_enter(interactions: Sequence[Interaction]) -> None:
    """The stays new interactions open: a complaint enters "complaint"; the customer's
    PoolPolicy.repeat_contacts-th interaction within repeat_days enters "repeated_contacts".

    Set-based for any number of new interactions (a file's chunk, or the one just saved):
    the policy once, the customers' contacts near them in one query, one insert per reason.
    Each interaction is judged on the contacts recorded up to it (by id), as if they had
    been saved and announced one after another.
    """
    contacts = sorted(
        (i for i in interactions if not i.external_id.startswith(OWN_INTERACTION_PREFIX)),
        key=lambda i: i.pk,
    )  # a campaign's own post-survey is not the customer coming to us
    if not contacts:
        return
    complaints = [
        Entry(i.customer_id, i.occurred_at, f"interaction:{i.pk}")
        for i in contacts
        if i.kind == InteractionKind.COMPLAINT
    ]
    if complaints:
        pool_entries_open(entries=complaints, reason=EntryReason.COMPLAINT)
    policy = PoolPolicy.current()
    within = timedelta(days=policy.repeat_days)
    # Windows that could hold an interaction: up to `within` either side of it. The CRM
    # may send contacts out of order, so a late one can complete an earlier window.
    near: dict[int, list[tuple[int, datetime]]] = defaultdict(list)
    rows = (
        Interaction.objects.filter(
            customer_id__in={i.customer_id for i in contacts},
            occurred_at__gt=min(i.occurred_at for i in contacts) - within,
            occurred_at__lt=max(i.occurred_at for i in contacts) + within,
            pk__lte=contacts[-1].pk,
        )
        .exclude(external_id__startswith=OWN_INTERACTION_PREFIX)
        .values_list("customer_id", "pk", "occurred_at")
    )
    for customer_id, pk, at in rows:
        near[customer_id].append((pk, at))
    repeated = []
    for i in contacts:
        times = [
            at
            for pk, at in near[i.customer_id]
            if pk <= i.pk and i.occurred_at - within < at < i.occurred_at + within
        ]
        if len(times) < policy.repeat_contacts:
            continue
        reached = repeated_contacts_at(
            times, including=i.occurred_at, at_least=policy.repeat_contacts, within=within
        )
        if reached is not None:
            repeated.append(Entry(i.customer_id, reached, f"interaction:{i.pk}"))
    if repeated:
        pool_entries_open(entries=repeated, reason=EntryReason.REPEATED_CONTACTS)


def pool_receivers_connect() -> None:
    """Connect the pool's receivers (care.apps ready(); connecting twice is a no-op)."""
    response_classified.connect(on_response_classified, dispatch_uid="care-pool")
    responses_recorded.connect(on_responses_recorded, dispatch_uid="care-pool")
    post_save.connect(on_case_event_saved, sender=CaseEvent, dispatch_uid="care-pool-case")
    post_save.connect(on_interaction_saved, sender=Interaction, dispatch_uid="care-pool-contact")
    interactions_recorded.connect(on_interactions_recorded, dispatch_uid="care-pool-contacts")
