"""Conversation messages (clarification, "why?", confirmations, help): queued once, sent once.

Opt-out is absolute: only the opt-out confirmation may reach an opted-out customer.
These answer the customer's own message, so quiet hours do not hold them back.
"""

from datetime import timedelta

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from surveys.consent import may_message
from surveys.gateways.base import Gateway
from surveys.models import (
    Customer,
    InboundMessage,
    Invitation,
    OutboundMessage,
    OutboundStatus,
)
from surveys.queue import queue_waiting, task_queue
from surveys.sending import SendOutcome, SendSpec, send_once, send_stop, sends_stuck
from surveys.sendstatus import MESSAGES
from surveys.texts import conversation_text


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


def _stored_text(message: OutboundMessage, gateway: Gateway) -> str:
    return message.text  # written when queued, in the customer's language


CONVERSATION_SMS = SendSpec[OutboundMessage](MESSAGES, text=_stored_text)


def message_send(*, message_id: int, attempt: int = 1) -> SendOutcome:
    """Send one conversation message at most once per attempt."""
    message = OutboundMessage.objects.select_related("customer").filter(pk=message_id).first()
    if message is None:  # a task outlived its row: nothing to do
        return SendOutcome("gone")
    if not may_message(message.customer, message.kind):
        stopped = send_stop(MESSAGES, pk=message_id, attempt=attempt, to=OutboundStatus.SKIPPED)
        return SendOutcome("suppressed" if stopped else "taken")
    return send_once(CONVERSATION_SMS, message, attempt=attempt)


def messages_sweep(*, limit: int = 500) -> int:
    """Queue conversation messages whose task was lost (broker down when they were written),
    and retry sends a dead worker left claimed (as invitations_dispatch_due does)."""
    cutoff = timezone.now() - timedelta(seconds=settings.NPS_SWEEP_GRACE_SECONDS)
    ids: list[int] = []
    # While send tasks wait in the queue, a queued message's task may be one of them:
    # queueing it again would only add work when the workers are already behind.
    if queue_waiting("surveys.tasks.send_message") == 0:
        ids = list(
            OutboundMessage.objects.filter(status=OutboundStatus.QUEUED, created_at__lt=cutoff)
            .order_by("pk")
            .values_list("pk", flat=True)[:limit]
        )
    for pk in ids:
        task_queue("surveys.tasks.send_message", pk, 1, after_commit=False)
    stuck = sends_stuck(MESSAGES, limit=limit)
    for pk, attempts in stuck:
        task_queue("surveys.tasks.send_message", pk, attempts + 1, after_commit=False)
    return len(ids) + len(stuck)
