"""Retention and erasure of what follow-ups hold about people (surveys/retention.py: the rest).

A case's free text (action taken, resolution note, close reason), its attempts' notes and
the personal parts of its history (notes, reasons, agents' names, email addresses) become
"[anonymised]"; statuses, priorities, times, root causes, scores and the kinds of events
stay, so every figure of the closed loop is the same afterwards. Open cases are never
touched: someone is still working them.
"""

from datetime import datetime
from typing import Any

from django.db import transaction
from django.db.models import Exists, OuterRef, QuerySet

from followups.models import (
    OPEN_STATUSES,
    Case,
    CaseEvent,
    CaseStatus,
    ContactAttempt,
    DigestDelivery,
    Priority,
)
from surveys.models import Customer
from surveys.retention import ANONYMISED

# History detail keys that hold no person: everything else (note, reason, action_taken,
# agent, error, an escalation's "to" addresses, keys added later) is anonymised.
KEPT_DETAIL = {
    "from",
    "priority",
    "score",
    "level",
    "clock",
    "channel",
    "outcome",
    "attempt",
    "root_cause",
    "failed_attempts",
    "automatic",
    "invitation",
    "recovered",
    "team",
}
STATES = {*CaseStatus.values, *Priority.values}  # "to" is a state, or a list of addresses


def detail_anonymise(detail: dict[str, Any]) -> dict[str, Any]:
    """A history line's detail with every value that could name or quote a person replaced."""
    return {
        key: value
        if key in KEPT_DETAIL or (key == "to" and isinstance(value, str) and value in STATES)
        else ANONYMISED
        for key, value in detail.items()
    }


def _cases_anonymise(cases: QuerySet[Case]) -> dict[str, int]:
    done = {"case texts": 0}
    for field in ("action_taken", "resolution_note", "close_reason"):
        blank_or_done = {f"{field}__in": ["", ANONYMISED]}
        done["case texts"] += cases.exclude(**blank_or_done).update(**{field: ANONYMISED})
    attempts = ContactAttempt.objects.filter(case__in=cases).exclude(note__in=["", ANONYMISED])
    done["attempt notes"] = attempts.update(note=ANONYMISED)
    changed = []
    for event in CaseEvent.objects.filter(case__in=cases).exclude(detail={}).iterator():
        if (scrubbed := detail_anonymise(event.detail)) != event.detail:
            event.detail = scrubbed
            changed.append(event)
    CaseEvent.objects.bulk_update(changed, ["detail"], batch_size=500)
    done["history lines"] = len(changed)
    return done


def cases_anonymise(*, before: datetime) -> dict[str, int]:
    """Anonymise finished cases with no activity since `before`, and older digest errors."""
    mine = OuterRef("pk")
    quiet = (
        Case.objects.filter(opened_at__lt=before)
        .exclude(status__in=OPEN_STATUSES)
        .exclude(Exists(CaseEvent.objects.filter(case=mine, at__gte=before)))
        .exclude(Exists(ContactAttempt.objects.filter(case=mine, at__gte=before)))
    )
    with transaction.atomic():
        done = _cases_anonymise(quiet)
        digests = DigestDelivery.objects.filter(claimed_at__lt=before).exclude(
            error__in=["", ANONYMISED]
        )
        done["digest errors"] = digests.update(error=ANONYMISED)  # they quote addresses
    return done


def customers_without_case_activity(
    customers: QuerySet[Customer], *, before: datetime
) -> QuerySet[Customer]:
    """Of `customers`, those with no open case and no case activity since `before`."""
    mine = OuterRef("pk")
    return customers.exclude(
        Exists(Case.objects.filter(customer=mine, status__in=OPEN_STATUSES))
    ).exclude(Exists(CaseEvent.objects.filter(case__customer=mine, at__gte=before)))


def customer_open_case_ids(*, customer_id: int) -> list[int]:
    cases = Case.objects.filter(customer_id=customer_id, status__in=OPEN_STATUSES)
    return list(cases.values_list("pk", flat=True))


def customer_cases_anonymise(*, customer_id: int) -> dict[str, int]:
    """Anonymise every case of one customer, whatever its age (erasure on request)."""
    with transaction.atomic():
        return _cases_anonymise(Case.objects.filter(customer_id=customer_id))
