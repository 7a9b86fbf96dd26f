"""Recording interactions from the CRM: idempotent on the CRM's external id."""

from dataclasses import dataclass, replace
from datetime import datetime
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction

from surveys.dispatch import invitation_plan
from surveys.models import Customer, Interaction, InteractionKind
from surveys.phones import phone_parse
from surveys.preferences import customer_preferences_record
from surveys.tiers import tier_from_crm
from surveys.units import unit_for_code


@dataclass(frozen=True)
class Recorded:
    interaction: Interaction
    created: bool


@dataclass(frozen=True)
class Conflict:
    index: int  # position in the batch (0 for a single interaction)
    external_id: str
    fields: list[str]  # the payload's names: "touchpoint", "customer.phone", ...


class InteractionConflict(Exception):
    """A known external id posted again with other values: the CRM's data disagree."""

    def __init__(self, conflicts: list[Conflict]) -> None:
        super().__init__(", ".join(f"{c.external_id}: {', '.join(c.fields)}" for c in conflicts))
        self.conflicts = conflicts


def interaction_differences(
    interaction: Interaction, *, customer: dict[str, Any], **fields: Any
) -> list[str]:
    """The payload fields whose values differ from the recorded interaction, after normalising.

    The customer is the interaction's by phone number (compared as E.164, so "138 0013 8000"
    and "+8613800138000" agree); the customer's other attributes describe the customer as
    the CRM sees them now and may change between two posts, so they are not compared.
    """
    differ = [name for name, value in fields.items() if getattr(interaction, name) != value]
    phone = phone_parse(customer["phone"], region=settings.NPS_DEFAULT_REGION).e164
    if phone != interaction.customer.phone:
        differ.insert(0, "customer.phone")
    return differ


def _repeated(interaction: Interaction, payload: dict[str, Any]) -> Recorded:
    differ = interaction_differences(interaction, **payload)
    if differ:
        raise InteractionConflict([Conflict(0, interaction.external_id, differ)])
    return Recorded(interaction, created=False)


def customer_upsert(
    *,
    phone: str,
    tier: str | None = None,
    arpu: Decimal | None = None,
    preferences: dict[str, float] | None = None,
    **attributes: Any,
) -> Customer:
    """Find the customer by number and refresh what the CRM told us about them.

    The tier is the CRM's if it sends one, else derived from the ARPU it sends
    (surveys/tiers.py), else left as it is (C for a new customer). Preference values go to
    the preference store (surveys/preferences.py).
    """
    parsed = phone_parse(phone, region=settings.NPS_DEFAULT_REGION)
    fields = {k: v for k, v in attributes.items() if v not in (None, "")}
    if arpu is not None:
        fields["arpu"] = arpu
    if (derived := tier_from_crm(tier=tier, arpu=arpu)) is not None:
        fields["tier"] = derived
    fields["is_mobile"] = parsed.is_mobile
    customer, _ = Customer.objects.update_or_create(phone=parsed.e164, defaults=fields)
    if preferences:
        customer_preferences_record(customer=customer, values=preferences)
    return customer


def interaction_record(
    *,
    external_id: str,
    customer: dict[str, Any],
    touchpoint: str,
    occurred_at: datetime,
    kind: str = InteractionKind.SERVICE,
    channel: str = "",
    business_type: str = "",
    staff_id: str = "",
    staff_name: str = "",
    unit_code: str = "",
) -> Recorded:
    """Store an interaction once per external id and plan its survey; a repeat changes nothing.

    A repeat with the same values (after normalising) is answered as recorded; with other
    values it raises InteractionConflict naming the fields, and nothing changes.
    """
    payload = {
        "customer": customer, "touchpoint": touchpoint, "occurred_at": occurred_at,
        "kind": kind, "channel": channel, "business_type": business_type, "staff_id": staff_id,
        "staff_name": staff_name, "unit_code": unit_code,
    }  # fmt: skip
    existing = Interaction.objects.select_related("customer").filter(external_id=external_id)
    if (found := existing.first()) is not None:
        return _repeated(found, payload)
    try:
        # A savepoint, so a concurrent insert of the same id fails alone.
        with transaction.atomic():
            interaction = Interaction.objects.create(
                external_id=external_id,
                customer=customer_upsert(**customer),
                touchpoint=touchpoint,
                occurred_at=occurred_at,
                kind=kind,
                channel=channel,
                business_type=business_type,
                staff_id=staff_id,
                staff_name=staff_name,
                unit_code=unit_code,
                unit_id=unit_for_code(unit_code),
            )
            invitation_plan(interaction=interaction)
    except IntegrityError:  # a concurrent post of the same id won: compare with it
        return _repeated(existing.get(), payload)
    return Recorded(interaction, created=True)


def interactions_record(*, items: list[dict[str, Any]]) -> list[Recorded]:
    """Record a batch all or nothing; every conflicting item is named before it rolls back."""
    recorded, conflicts = [], []
    with transaction.atomic():
        for index, item in enumerate(items):
            try:
                recorded.append(interaction_record(**item))
            except InteractionConflict as exc:
                conflicts += [replace(c, index=index) for c in exc.conflicts]
        if conflicts:
            raise InteractionConflict(conflicts)  # inside the block: the batch rolls back
    return recorded
