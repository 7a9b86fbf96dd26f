"""Conversation messages (clarification, "why?", confirmations, help): queued once, sent once.

Opt-out is absolute: only the opt-out confirmation may reach an opted-out customer.
These answer the customer's own message, so quiet hours do not hold them back.
"""

import logging
from datetime import timedelta

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Prefetch, QuerySet
from django.utils import timezone

from surveys.consent import may_message
from surveys.gateways.base import Composed, Gateway
from surveys.gateways.routing import gateway_first
from surveys.gatewaytemplates import templates_lacking
from surveys.models import (
    Customer,
    InboundMessage,
    Invitation,
    OutboundKind,
    OutboundMessage,
    OutboundStatus,
)
from surveys.queue import queue_waiting, task_queue, task_queue_row
from surveys.sending import (
    SendOutcome,
    SendSpec,
    send_many,
    send_once,
    send_stop,
    sends_stuck,
)
from surveys.sendstatus import MESSAGES
from surveys.texts import callback_hours, conversation_text

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
    # One send task for all the messages a batch of replies queues (surveys.queue.task_batch).
    task_queue_row("surveys.tasks.send_messages", message.pk)
    return message


# Gateway calls in flight per batch send. The calls that came back are recorded together
# (one transaction per round: surveys.sending), so the more in flight, the fewer rounds: at
# 8, about 3 sends per round and most of the sender's CPU in the rounds; at 32, about 8
# (bench/loop_stages.py). A worker killed mid-batch leaves at most this many sends for
# the stuck-send sweep to make again (surveys: 64).
SEND_CONCURRENCY = 32
SWEEP_BATCH = 50  # messages per send task queued by the sweep


def messages_queue(*, items: list[tuple[Customer, str, Invitation]]) -> None:
    """message_queue for many (customer, kind, invitation): one insert, one send task per
    batch (surveys.queue.task_batch). If a unique rule refuses any of them (one was sent
    already), each is queued by message_queue instead, which skips that one."""
    rows = []
    for customer, kind, invitation in items:
        text = conversation_text(kind=kind, customer=customer, survey=invitation.survey)
        rows.append(
            OutboundMessage(
                customer=customer,
                invitation=invitation,
                kind=kind,
                language=text.language,
                text=text.text,
            )
        )
    try:
        with transaction.atomic():
            created = OutboundMessage.objects.bulk_create(rows)
    except IntegrityError:
        for customer, kind, invitation in items:
            message_queue(customer=customer, kind=kind, invitation=invitation)
        return
    for message in created:
        task_queue_row("surveys.tasks.send_messages", message.pk)


def _stored_text(message: OutboundMessage, gateway: Gateway) -> Composed:
    # The text was written when queued, in the customer's language.
    values = {}
    if message.kind == OutboundKind.CALLBACK_PROMISE and gateway.uses_templates:
        values["hours"] = str(callback_hours(message.customer) or "")
    return Composed(message.text, message.kind, message.language, values)


def answered_on(message: OutboundMessage) -> str:
    """The gateway the customer answered on, so the conversation goes on there: the one of
    the reply this message answers, else of the latest reply to its survey, else the one
    the survey went out through ("" when none: the sending gateway)."""
    if message.trigger is not None:
        return message.trigger.gateway
    if message.invitation is None:
        return ""
    # The invitation's replies: prefetched for a batch by _messages_to_send, else one query.
    replies = message.invitation.inbound.all()
    latest = max(replies, key=lambda reply: (reply.received_at, reply.pk), default=None)
    return latest.gateway if latest is not None else message.invitation.gateway


CONVERSATION_SMS = SendSpec[OutboundMessage](MESSAGES, compose=_stored_text, preferred=answered_on)


def _messages_to_send() -> QuerySet[OutboundMessage]:
    """With their customer, and the reply and the survey they answer and the survey's
    replies (answered_on): a query for the batch, not one per message."""
    replies = InboundMessage.objects.only("gateway", "received_at", "invitation_id")
    return OutboundMessage.objects.select_related(
        "customer", "trigger", "invitation"
    ).prefetch_related(Prefetch("invitation__inbound", queryset=replies))


def messages_waiting(messages: list[OutboundMessage]) -> set[int]:
    """The messages whose gateway lacks an approved template of their kind and language
    (surveys.gatewaytemplates): they are not claimed, so they wait, queued (or, a retry,
    for the stuck-send sweep), and go once staff add the template. Logged once per call."""
    by_gateway: dict[str, tuple[Gateway, list[OutboundMessage]]] = {}
    for message in messages:
        preferred = CONVERSATION_SMS.preferred(message) if CONVERSATION_SMS.preferred else ""
        gateway = gateway_first(preferred)
        by_gateway.setdefault(gateway.slug, (gateway, []))[1].append(message)
    waiting: set[int] = set()
    for gateway, rows in by_gateway.values():
        lacking = templates_lacking(gateway, {(m.kind, m.language) for m in rows})
        if lacking:
            waiting |= {m.pk for m in rows if (m.kind, m.language) in lacking}
            log.error(
                "%s conversation messages wait: %s has no approved template for %s",
                sum(1 for m in rows if m.pk in waiting),
                gateway.slug,
                ", ".join(f"{kind} ({language})" for kind, language in sorted(lacking)),
            )
    return waiting


def message_send(*, message_id: int, attempt: int = 1) -> SendOutcome:
    """Send one conversation message at most once per attempt."""
    message = _messages_to_send().filter(pk=message_id).first()
    if message is None:  # a task outlived its row: nothing to do
        return SendOutcome("gone")
    if not may_message(message.customer, message.kind):
        stopped = send_stop(MESSAGES, pk=message_id, attempt=attempt, to=OutboundStatus.SKIPPED)
        return SendOutcome("suppressed" if stopped else "taken")
    if messages_waiting([message]):
        return SendOutcome("deferred")
    return send_once(CONVERSATION_SMS, message, attempt=attempt)


def messages_send(*, message_ids: list[int]) -> list[str]:
    """First attempts for many messages, sent together through the kit (send_many); an
    opted-out customer's are stopped first, as message_send does. Outcomes in id order."""
    rows = _messages_to_send().filter(pk__in=message_ids)
    messages = sorted(rows, key=lambda m: m.pk)
    outcomes: dict[int, SendOutcome] = {}
    sendable = []
    for message in messages:
        if may_message(message.customer, message.kind):
            sendable.append(message)
            continue
        stopped = send_stop(MESSAGES, pk=message.pk, attempt=1, to=OutboundStatus.SKIPPED)
        outcomes[message.pk] = SendOutcome("suppressed" if stopped else "taken")
    waiting = messages_waiting(sendable)
    outcomes |= {pk: SendOutcome("deferred") for pk in waiting}
    sendable = [message for message in sendable if message.pk not in waiting]
    for message, outcome in zip(
        sendable, send_many(CONVERSATION_SMS, sendable, concurrency=SEND_CONCURRENCY), strict=True
    ):
        outcomes[message.pk] = outcome
        if outcome.outcome == "retry":
            task_queue(
                "surveys.tasks.send_message", message.pk, outcome.next_attempt,
                after_commit=False, eta=outcome.retry_at,
            )  # fmt: skip
    return [outcomes[m.pk].outcome for m in messages]


def messages_sweep(*, limit: int = 500) -> int:
    """Queue conversation messages whose task was lost (broker down when they were written),
    and retry sends a dead worker left claimed (as invitations_dispatch_due does)."""
    cutoff = timezone.now() - timedelta(seconds=settings.NPS_SWEEP_GRACE_SECONDS)
    ids: list[int] = []
    # While send tasks wait in the queue, a queued message's task may be one of them:
    # queueing it again would only add work when the workers are already behind.
    if queue_waiting("surveys.tasks.send_messages") == 0:
        ids = list(
            OutboundMessage.objects.filter(status=OutboundStatus.QUEUED, created_at__lt=cutoff)
            .order_by("pk")
            .values_list("pk", flat=True)[:limit]
        )
    for start in range(0, len(ids), SWEEP_BATCH):
        batch = ids[start : start + SWEEP_BATCH]
        task_queue("surveys.tasks.send_messages", batch, after_commit=False)
    stuck = sends_stuck(MESSAGES, limit=limit)
    for pk, attempts in stuck:
        task_queue("surveys.tasks.send_message", pk, attempts + 1, after_commit=False)
    return len(ids) + len(stuck)
