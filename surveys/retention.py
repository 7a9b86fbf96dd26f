"""Retention: personal data in raw traffic and comments is anonymised after a set age.

Scores, categories, reasons and every count stay, so aggregates do not change.
"""

from dataclasses import dataclass
from datetime import timedelta

from django.db import transaction
from django.db.models import Value
from django.utils import timezone

from surveys.models import DeliveryReceipt, InboundMessage, OutboundMessage, Response
from surveys.phones import mask_phone

ANONYMISED = "[anonymised]"


@dataclass(frozen=True)
class Anonymised:
    inbound: int
    receipts: int
    outbound: int
    comments: int


def personal_data_anonymise(*, older_than_days: int) -> Anonymised:
    """Blank texts, payloads and numbers of traffic and comments older than the cut-off."""
    cutoff = timezone.now() - timedelta(days=older_than_days)
    with transaction.atomic():
        inbound = 0
        old_inbound = InboundMessage.objects.filter(received_at__lt=cutoff).exclude(text=ANONYMISED)
        for pk, phone in old_inbound.values_list("pk", "phone").iterator():
            inbound += InboundMessage.objects.filter(pk=pk).update(
                text=ANONYMISED, payload={}, phone=mask_phone(phone)
            )
        receipts = (
            DeliveryReceipt.objects.filter(received_at__lt=cutoff)
            .exclude(payload={})
            .update(payload={})
        )
        outbound = (
            OutboundMessage.objects.filter(created_at__lt=cutoff)
            .exclude(text=ANONYMISED)
            .update(text=Value(ANONYMISED))
        )
        comments = (
            Response.objects.filter(created_at__lt=cutoff)
            .exclude(comment="")
            .exclude(comment=ANONYMISED)
            .update(comment=ANONYMISED)
        )
    return Anonymised(inbound, receipts, outbound, comments)
