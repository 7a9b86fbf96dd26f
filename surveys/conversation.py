"""Conversation messages (clarification, "why?", confirmations, help): queued once, sent once.

Opt-out is absolute: only the opt-out confirmation may reach an opted-out customer.
These answer the customer's own message, so quiet hours do not hold them back.
"""

import logging
from datetime import timedelta

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone

from surveys.consent import may_message
from surveys.dispatch import SendOutcome, backoff_seconds
from surveys.gateways.base import GatewayError, sending_gateway
from surveys.lifecycle import message_advance, message_send_facts
from surveys.models import (
    Customer,
    InboundMessage,
    Invitation,
    OutboundMessage,
    OutboundStatus,
)
from surveys.phones import mask_phone
from surveys.queue import task_queue
from surveys.receipts import receipts_waiting_apply
from surveys.texts import conversation_text

log = logging.getLogger(__name__)


def message_queue(
    *,
    customer: Customer,
    kind: str,
    invitation: Invitation | None = None,
    trigger: InboundMessage | None = None,
) -> OutboundMessage | None:
    """Queue one message; None when the unique rules say it was already sent (never a loop)."""
    text = conversation_text(
        kind=kind, customer=customer, survey=invitation.survey if invitation else None
    )
    try:
        with transaction.atomic():
            message = OutboundMessage.objects.create(
                customer=customer,
                invitation=invitation,
                trigger=trigger,
                kind=kind,
                language=text.language,
                text=text.text,
            )
    except IntegrityError:
        return None
    task_queue("surveys.tasks.send_message", message.pk, 1)
    return message


def _claim(message_id: int, attempt: int) -> bool:
    """queued -> sending for attempt 1, or attempts n-1 -> n: one caller wins (see dispatch)."""
    status = OutboundStatus.QUEUED if attempt == 1 else OutboundStatus.SENDING
    rows = OutboundMessage.objects.filter(
        pk=message_id, status=status, attempts=attempt - 1
    ).update(status=OutboundStatus.SENDING, attempts=F("attempts") + 1, claimed_at=timezone.now())
    return rows == 1


def message_send(*, message_id: int, attempt: int = 1) -> SendOutcome:
    """Send one conversation message at most once per attempt."""
    message = OutboundMessage.objects.select_related("customer").filter(pk=message_id).first()
    if message is None:  # a task outlived its row: nothing to do
        return SendOutcome("gone")
    customer = message.customer
    if not may_message(customer, message.kind):
        OutboundMessage.objects.filter(pk=message_id, status=OutboundStatus.QUEUED).update(
            status=OutboundStatus.SKIPPED
        )
        return SendOutcome("suppressed")
    if not _claim(message_id, attempt):
        return SendOutcome("taken")
    gateway = sending_gateway()
    try:
        result = gateway.send(to=customer.phone, text=message.text, reference=f"msg-{message_id}")
    except GatewayError as exc:
        log.warning("send msg-%s to %s failed: %s", message_id, mask_phone(customer.phone), exc)
        final = exc.permanent or attempt >= settings.NPS_SEND_MAX_ATTEMPTS
        OutboundMessage.objects.filter(pk=message_id).update(
            failure_reason=f"attempt {attempt}: {exc}"[:1000],
            **({"status": OutboundStatus.FAILED} if final else {}),
        )
        if final:
            return SendOutcome("failed")
        retry_at = timezone.now() + timedelta(seconds=backoff_seconds(attempt))
        return SendOutcome("retry", retry_at=retry_at, next_attempt=attempt + 1)
    # The facts are recorded whatever the status (a fast receipt may already have moved it
    # past "sent"); then the receipts that overtook this record are applied (see receipts).
    facts = message_send_facts(
        gateway=gateway.slug, provider_message_id=result.provider_message_id, at=timezone.now()
    )
    OutboundMessage.objects.filter(pk=message_id).update(**facts)
    message_advance(message_id=message_id, to=OutboundStatus.SENT)
    receipts_waiting_apply(gateway=gateway.slug, provider_message_id=result.provider_message_id)
    return SendOutcome("sent")


def messages_sweep(*, limit: int = 500) -> int:
    """Queue conversation messages whose task was lost (broker down when they were written)."""
    cutoff = timezone.now() - timedelta(seconds=settings.NPS_SWEEP_GRACE_SECONDS)
    ids = list(
        OutboundMessage.objects.filter(status=OutboundStatus.QUEUED, created_at__lt=cutoff)
        .order_by("pk")
        .values_list("pk", flat=True)[:limit]
    )
    for pk in ids:
        task_queue("surveys.tasks.send_message", pk, 1, after_commit=False)
    return len(ids)
