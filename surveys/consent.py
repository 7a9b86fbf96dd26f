"""Consent: the one home of a customer's opt-out: how it changes, and what it allows.

Every change goes through consent_change: the customer's STOP and START (surveys.replies)
and staff in the admin (the two actions and their confirmation form). It writes the
customer's state and one ConsentChange row in the same transaction. Staff may opt a
customer back in only with a reason: proof that the customer asked (their own START needs
none, it is the normal way back).

Every send asks may_message: when planning a survey (surveys.eligibility's opted-out rule)
and again at send time, for surveys and conversation messages alike, so an opt-out stops
whatever was queued before it.
"""

from datetime import datetime

from django.contrib.auth.models import User
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from surveys.models import ConsentChange, ConsentSource, Customer, InboundMessage, OutboundKind

# Opt-out is absolute: the one SMS an opted-out customer still gets confirms that they are out.
SENT_WHEN_OPTED_OUT = frozenset({OutboundKind.OPT_OUT_CONFIRMATION})


def may_message(customer: Customer, kind: str) -> bool:
    """Whether an SMS of this kind (an OutboundKind, or an invitation's Purpose) may reach them."""
    return customer.opted_out_at is None or kind in SENT_WHEN_OPTED_OUT


def consent_reason_required(*, opted_out: bool, source: str) -> bool:
    """Staff opting a customer back in must record why: the customer's request is the proof."""
    return source == ConsentSource.STAFF and not opted_out


def consent_change(
    *,
    customer: Customer,
    opted_out: bool,
    source: str,
    actor: User | None = None,
    reason: str = "",
    message: InboundMessage | None = None,
    at: datetime | None = None,
) -> ConsentChange | None:
    """Opt the customer out or back in and log it; None (nothing written) if already so."""
    reason = reason.strip()
    if consent_reason_required(opted_out=opted_out, source=source) and not reason:
        raise ValidationError(
            {"reason": _("Say how the customer asked to hear from us again.")}, code="required"
        )
    at = at or timezone.now()
    with transaction.atomic():
        # Conditional update: of two changes at once only one finds the old state, and logs.
        changed = Customer.objects.filter(pk=customer.pk, opted_out_at__isnull=opted_out).update(
            opted_out_at=at if opted_out else None, updated_at=at
        )
        if not changed:
            return None
        change = ConsentChange.objects.create(
            customer=customer,
            opted_out=opted_out,
            at=at,
            source=source,
            actor=actor,
            reason=reason,
            message=message,
        )
    # The caller's copy of the customer follows (e.g. the reply being processed goes on with it).
    customer.opted_out_at, customer.updated_at = (at if opted_out else None), at
    return change
