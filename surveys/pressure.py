"""Contact pressure: the one rule that decides whether we may contact a customer now.

Every contact we initiate (a survey or verification survey when it is sent, a care
campaign's SMS, call or survey) asks `contacts_take` (or `contact_take` for one customer):

- "opted_out": the customer opted out (surveys.consent.may_message, the one home of it);
- "open_case": a callback case of theirs is open (Customer.in_callback);
- "contact_budget": they already have ContactPolicy.max_contacts contacts in the last
  ContactPolicy.window_days days (every kind counts, callbacks included);
- None: allowed, and the contact is written (it counts from now on).

Callbacks are the exception: a detractor is owed the call, so `contact_record` logs it
(it counts against the budget for everything else) and never refuses it.

Conversation messages (the why? question, thanks, clarifications, opt-out confirmations)
answer the customer and are not contacts.

Concurrency: the customers' rows are locked (in id order, so two takers never wait in a
circle) before counting, and the contact is written under that lock, so two takes for one
customer at once see each other; the lock is held until the caller's transaction ends. A
contact's time is taken under the lock, so contacts of one customer are in time order as
they were decided. Contacts later than the window's start count whatever their time (a
contact logged with a time in the past still sees the ones made after it).
"""

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from django.db import transaction
from django.db.models import Count
from django.utils import timezone

from surveys.consent import may_message
from surveys.models import Contact, ContactKind, ContactPolicy, Customer, SuppressReason
from surveys.rowsupdate import rows_insert

# The reasons a contact is refused, spelled as the invitation's SuppressReason.
OPTED_OUT = SuppressReason.OPTED_OUT.value
OPEN_CASE = SuppressReason.OPEN_CASE.value
CONTACT_BUDGET = SuppressReason.CONTACT_BUDGET.value

SOURCE_LENGTH = Contact._meta.get_field("source").max_length or 64


def _locked(customer_ids: Sequence[int]) -> dict[int, Customer]:
    """Lock the customers' rows in id order (one statement) and read what the rule needs.

    FOR NO KEY UPDATE: takes and the in-callback flag's updates wait for each other, rows
    that only refer to the customer (a new invitation, a contact) do not wait."""
    rows = (
        Customer.objects.select_for_update(no_key=True)
        .filter(pk__among=customer_ids)
        .order_by("pk")
        .only("pk", "opted_out_at", "in_callback")
    )
    return {customer.pk: customer for customer in rows}


def _recent_counts(customer_ids: Sequence[int], *, since: datetime) -> dict[int, int]:
    """Contacts per customer later than `since` (one query)."""
    counts = (
        Contact.objects.filter(customer_id__among=customer_ids, at__gt=since)
        .order_by()
        .values("customer_id")
        .annotate(n=Count("pk"))
        .values_list("customer_id", "n")
    )
    return dict(counts)


def contacts_take(
    *, items: Sequence[tuple[int, str, str]], at: datetime | None = None
) -> dict[int, str | None]:
    """Decide each (customer_id, ContactKind, source): None when allowed (its Contact is
    written), else why not ("opted_out", "open_case", "contact_budget").

    One item per customer. Set-based: one locking statement, one count, one insert
    (rowsupdate.rows_insert: no model instance per contact). Runs
    in the caller's transaction (opens one if there is none); the customers stay locked
    until it ends. `at` defaults to now, read once the locks are held.
    """
    if not items:
        return {}
    customer_ids = sorted({customer_id for customer_id, _, _ in items})
    if len(customer_ids) != len(items):
        raise ValueError("contacts_take: one item per customer")
    if any(kind == ContactKind.CALLBACK for _, kind, _ in items):
        raise ValueError("contacts_take: a callback is recorded (contact_record), not taken")
    with transaction.atomic():
        customers = _locked(customer_ids)
        if missing := set(customer_ids) - set(customers):
            raise Customer.DoesNotExist(f"no customer {sorted(missing)}")
        policy = ContactPolicy.current()
        at = at or timezone.now()
        counts = _recent_counts(customer_ids, since=at - timedelta(days=policy.window_days))
        decisions: dict[int, str | None] = {}
        allowed: list[dict[str, Any]] = []
        for customer_id, kind, source in items:
            customer = customers[customer_id]
            if not may_message(customer, kind):
                decisions[customer_id] = OPTED_OUT
            elif customer.in_callback:
                decisions[customer_id] = OPEN_CASE
            elif counts.get(customer_id, 0) >= policy.max_contacts:
                decisions[customer_id] = CONTACT_BUDGET
            else:
                decisions[customer_id] = None
                allowed.append(
                    {
                        "customer": customer_id,
                        "kind": kind,
                        "at": at,
                        "source": source[:SOURCE_LENGTH],
                    }
                )
        rows_insert(Contact, allowed)
    return decisions


def contact_take(
    *, customer_id: int, kind: str, source: str = "", at: datetime | None = None
) -> str | None:
    """contacts_take for one customer: None when allowed (and written), else the reason."""
    return contacts_take(items=[(customer_id, kind, source)], at=at)[customer_id]


def contact_record(
    *, customer_id: int, kind: str, source: str = "", at: datetime | None = None
) -> None:
    """Log a callback: never refused (a detractor is owed the call, opted out of surveys or
    over the budget alike), but it counts against the budget for every later contact.

    Takes the same customer lock as contacts_take, so a take deciding at the same moment
    either sees this contact or is seen by it.
    """
    with transaction.atomic():
        if not _locked([customer_id]):
            raise Customer.DoesNotExist(f"no customer {customer_id}")
        Contact.objects.create(
            customer_id=customer_id,
            kind=kind,
            at=at or timezone.now(),
            source=source[:SOURCE_LENGTH],
        )
