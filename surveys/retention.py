"""Retention and erasure of what the surveys app holds about people.

Personal data leaves in two ways: by age (`surveys_rows_anonymise` and
`customers_anonymise`, run daily by `manage.py retention`) and on a person's request
(`phone_erase`, `manage.py customer_erase`). Both keep every score, category, reason,
status, time and dimension the dashboard counts, so the rollups stay the same.

- Customer.name: blank. Customer.phone: its keyed pseudonym (surveys/pseudonyms.py) and
  `is_mobile` off, so nothing is ever sent to it; an opted-out customer keeps the number,
  the suppression record that keeps STOP absolute if the CRM sends the person again.
- Interaction.external_id: its pseudonym (the CRM's id would find the person again);
  Interaction.staff_name: blank (staff_id stays: it is the dashboard's agent dimension).
- InboundMessage: phone pseudonymised, text "[anonymised]", payload {}.
- OutboundMessage.text and Response.comment: "[anonymised]"; DeliveryReceipt.payload: {}.
- ConsentChange.reason (staff's note of how the customer asked): "[anonymised]"; the
  change itself (when, which way, source, who) stays as the proof.
- Failure reasons and receipt errors: phone numbers in them masked (gateways quote them).
- The admin's history of customers and interactions: the anonymised name.

Pseudonyms are deterministic, so one customer's rows still join after any number of runs
(the customer's and their messages' phone hold the same pseudonym), and a second run
changes nothing. Everything here is idempotent and safe to interrupt.
"""

from collections.abc import Callable, Iterator
from datetime import datetime
from typing import Any

from django.contrib.admin.models import LogEntry
from django.contrib.contenttypes.models import ContentType
from django.db import models, transaction
from django.db.models import Exists, OuterRef, Q, QuerySet

from surveys.models import (
    ConsentChange,
    Customer,
    DeliveryReceipt,
    InboundMessage,
    Interaction,
    Invitation,
    OutboundMessage,
    Response,
)
from surveys.phones import mask_phones_in
from surveys.pseudonyms import PREFIX, is_pseudonym, pseudonym

ANONYMISED = "[anonymised]"
CHUNK = 500


def _in_chunks(rows: QuerySet[Any]) -> Iterator[list[Any]]:
    # The keys first: rows are rewritten while we go, and a cursor over a table being
    # updated may skip rows on SQLite.
    keys = list(rows.order_by("pk").values_list("pk", flat=True))
    for start in range(0, len(keys), CHUNK):
        yield list(rows.model.objects.filter(pk__in=keys[start : start + CHUNK]))


def _rewrite(
    rows: QuerySet[Any],
    field: str,
    change: Callable[[str], str],
    *,
    then: Callable[[list[Any]], None] | None = None,
) -> int:
    """Apply `change` to `field` of every row, writing (and passing `then`) the rows it changes."""
    done = 0
    for chunk in _in_chunks(rows.exclude(**{field: ""})):
        changed = [row for row in chunk if change(getattr(row, field)) != getattr(row, field)]
        for row in changed:
            setattr(row, field, change(getattr(row, field)))
        rows.model.objects.bulk_update(changed, [field])
        if then is not None:
            then(changed)
        done += len(changed)
    return done


def _pseudonym_once(value: str) -> str:
    return value if is_pseudonym(value) else pseudonym(value)


def _blank(value: str) -> str:
    return ""


def _admin_history_rename(objects: list[models.Model]) -> None:
    """The admin's history names objects by their str(): give it the anonymised one."""
    if not objects:
        return
    by_key = {str(obj.pk): obj for obj in objects}
    kind = ContentType.objects.get_for_model(objects[0])
    logged = LogEntry.objects.filter(content_type=kind, object_id__in=by_key)
    for key in set(logged.values_list("object_id", flat=True)):
        logged.filter(object_id=key).update(object_repr=str(by_key[key])[:200])


def _rows_anonymise(
    *,
    interactions: QuerySet[Interaction],
    inbound: QuerySet[InboundMessage],
    outbound: QuerySet[OutboundMessage],
    receipts: QuerySet[DeliveryReceipt],
    invitations: QuerySet[Invitation],
    responses: QuerySet[Response],
    consent_changes: QuerySet[ConsentChange],
) -> dict[str, int]:
    staff_names = _rewrite(interactions, "staff_name", _blank)
    crm_ids = _rewrite(
        interactions.exclude(external_id__startswith=PREFIX),
        "external_id",
        _pseudonym_once,
        then=_admin_history_rename,
    )
    _rewrite(inbound.exclude(phone__startswith=PREFIX), "phone", _pseudonym_once)
    return {
        "interactions (CRM id)": crm_ids,
        "interactions (staff name)": staff_names,
        "inbound messages": inbound.exclude(text=ANONYMISED).update(text=ANONYMISED, payload={}),
        "conversation messages": outbound.exclude(text=ANONYMISED).update(text=ANONYMISED),
        "receipts": receipts.exclude(payload={}).update(payload={}),
        "comments": responses.exclude(comment="")
        .exclude(comment=ANONYMISED)
        .update(comment=ANONYMISED),
        # The change itself (when, which way, source, who) stays as proof; the staff's note
        # of how the customer asked may name or quote them.
        "consent reasons": consent_changes.exclude(reason="")
        .exclude(reason=ANONYMISED)
        .update(reason=ANONYMISED),
        "failure reasons": _rewrite(invitations, "failure_reason", mask_phones_in)
        + _rewrite(outbound, "failure_reason", mask_phones_in)
        + _rewrite(receipts, "error", mask_phones_in),
    }


def surveys_rows_anonymise(*, before: datetime) -> dict[str, int]:
    """Anonymise the personal fields of every surveys row older than `before` (counts by kind)."""
    with transaction.atomic():
        return _rows_anonymise(
            interactions=Interaction.objects.filter(occurred_at__lt=before),
            inbound=InboundMessage.objects.filter(received_at__lt=before),
            outbound=OutboundMessage.objects.filter(created_at__lt=before),
            receipts=DeliveryReceipt.objects.filter(received_at__lt=before),
            invitations=Invitation.objects.filter(created_at__lt=before),
            responses=Response.objects.filter(created_at__lt=before),
            consent_changes=ConsentChange.objects.filter(at__lt=before),
        )


def customers_inactive(*, before: datetime) -> QuerySet[Customer]:
    """Customers with nothing in surveys since `before`: no interaction, survey, answer or SMS."""
    mine = OuterRef("pk")
    recent_interaction = Q(occurred_at__gte=before) | Q(created_at__gte=before)
    return (
        Customer.objects.filter(created_at__lt=before)
        .exclude(Exists(Interaction.objects.filter(recent_interaction, customer=mine)))
        .exclude(Exists(Invitation.objects.filter(customer=mine, created_at__gte=before)))
        .exclude(Exists(Response.objects.filter(customer=mine, updated_at__gte=before)))
        .exclude(Exists(OutboundMessage.objects.filter(customer=mine, created_at__gte=before)))
        .exclude(
            Exists(InboundMessage.objects.filter(phone=OuterRef("phone"), received_at__gte=before))
        )
    )


def customers_anonymise(*, customers: QuerySet[Customer]) -> int:
    """Blank the names and pseudonymise the numbers (an opted-out customer's number stays)."""
    pending = ~Q(name="") | (Q(opted_out_at__isnull=True) & ~Q(phone__startswith=PREFIX))
    done = 0
    with transaction.atomic():
        for chunk in _in_chunks(customers.filter(pending)):
            for customer in chunk:
                customer.name = ""
                if customer.opted_out_at is None:
                    customer.phone = _pseudonym_once(customer.phone)
                    customer.is_mobile = False  # nothing is ever sent to a pseudonym
            Customer.objects.bulk_update(chunk, ["name", "phone", "is_mobile"])
            _admin_history_rename(chunk)
            done += len(chunk)
    return done


def customer_find(*, phone: str) -> Customer | None:
    """The customer with this number, or whose number was already pseudonymised."""
    return Customer.objects.filter(phone__in=[phone, pseudonym(phone)]).first()


def phone_erase(*, phone: str) -> dict[str, int]:
    """Anonymise everything surveys holds about one number, whatever its age (counts by kind)."""
    customer = customer_find(phone=phone)
    numbers = [phone, pseudonym(phone)]
    inbound = InboundMessage.objects.filter(phone__in=numbers)
    if customer is None:
        with transaction.atomic():
            return _rows_anonymise(
                interactions=Interaction.objects.none(),
                inbound=inbound,
                outbound=OutboundMessage.objects.none(),
                receipts=DeliveryReceipt.objects.none(),
                invitations=Invitation.objects.none(),
                responses=Response.objects.none(),
                consent_changes=ConsentChange.objects.none(),
            )
    invitations = Invitation.objects.filter(customer=customer)
    outbound = OutboundMessage.objects.filter(customer=customer)
    sent_ids = {
        *invitations.exclude(provider_message_id="").values_list("provider_message_id", flat=True),
        *outbound.exclude(provider_message_id="").values_list("provider_message_id", flat=True),
    }
    with transaction.atomic():
        done = _rows_anonymise(
            interactions=Interaction.objects.filter(customer=customer),
            inbound=InboundMessage.objects.filter(
                Q(phone__in=numbers) | Q(invitation__customer=customer)
            ),
            outbound=outbound,
            receipts=DeliveryReceipt.objects.filter(provider_message_id__in=sent_ids),
            invitations=invitations,
            responses=Response.objects.filter(customer=customer),
            consent_changes=ConsentChange.objects.filter(customer=customer),
        )
        done["customers"] = customers_anonymise(customers=Customer.objects.filter(pk=customer.pk))
    return done
