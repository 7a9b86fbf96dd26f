"""Recording interactions from the CRM: idempotent on the CRM's external id."""

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction

from surveys.dispatch import invitation_plan
from surveys.models import Customer, Interaction
from surveys.phones import phone_parse


@dataclass(frozen=True)
class Recorded:
    interaction: Interaction
    created: bool


def customer_upsert(*, phone: str, **attributes: Any) -> Customer:
    """Find the customer by number and refresh what the CRM told us about them."""
    parsed = phone_parse(phone, region=settings.NPS_DEFAULT_REGION)
    fields = {k: v for k, v in attributes.items() if v not in (None, "")}
    fields["is_mobile"] = parsed.is_mobile
    customer, _ = Customer.objects.update_or_create(phone=parsed.e164, defaults=fields)
    return customer


def interaction_record(
    *,
    external_id: str,
    customer: dict[str, Any],
    touchpoint: str,
    occurred_at: datetime,
    channel: str = "",
    business_type: str = "",
    staff_id: str = "",
    staff_name: str = "",
) -> Recorded:
    """Store an interaction once per external id and plan its survey; a repeat changes nothing."""
    existing = Interaction.objects.filter(external_id=external_id).first()
    if existing is not None:
        return Recorded(existing, created=False)
    try:
        # A savepoint, so a concurrent insert of the same id fails alone.
        with transaction.atomic():
            interaction = Interaction.objects.create(
                external_id=external_id,
                customer=customer_upsert(**customer),
                touchpoint=touchpoint,
                occurred_at=occurred_at,
                channel=channel,
                business_type=business_type,
                staff_id=staff_id,
                staff_name=staff_name,
            )
            invitation_plan(interaction=interaction)
    except IntegrityError:
        return Recorded(Interaction.objects.get(external_id=external_id), created=False)
    return Recorded(interaction, created=True)


def interactions_record(*, items: list[dict[str, Any]]) -> list[Recorded]:
    """Record a batch all or nothing."""
    with transaction.atomic():
        return [interaction_record(**item) for item in items]
