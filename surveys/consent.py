"""Consent: the one way a customer's opt-out changes, and the log that proves each change.

The customer's STOP and START (surveys.replies) and staff in the admin all call
consent_change, which writes the customer's state and one ConsentChange row in the same
transaction. Staff may opt a customer back in only with a reason: proof that the customer
asked (their own START needs none, it is the normal way back).
"""

from datetime import datetime

from django.contrib.auth.models import User
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from surveys.models import ConsentChange, ConsentSource, Customer, InboundMessage


def consent_reason_required(*, opted_out: bool, source: str) -> bool:
    """Staff opting a customer back in must record why: the customer's request is the proof."""
    return source == ConsentSource.STAFF and not opted_out


def consent_change(
    *,
    customer_id: int,
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
        changed = Customer.objects.filter(pk=customer_id, opted_out_at__isnull=opted_out).update(
            opted_out_at=at if opted_out else None, updated_at=at
        )
        if not changed:
            return None
        return ConsentChange.objects.create(
            customer_id=customer_id,
            opted_out=opted_out,
            at=at,
            source=source,
            actor=actor,
            reason=reason,
            message=message,
        )
