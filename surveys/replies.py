"""Customer replies: store raw first, then understand, match, classify, announce."""

import logging
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from surveys.gateways.base import InboundSMS
from surveys.lifecycle import invitation_advance
from surveys.models import Category, Customer, InboundMessage, Invitation, Response
from surveys.models import InvitationStatus as S
from surveys.parsing import ReplyKind, parse_reply
from surveys.phones import InvalidPhone, mask_phone, phone_parse
from surveys.signals import response_classified

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Stored:
    message: InboundMessage
    created: bool


def reply_store(*, gateway: str, sms: InboundSMS) -> Stored:
    """Keep the raw message once per gateway message id and queue it after commit."""
    from surveys import tasks

    try:
        phone = phone_parse(sms.phone, region=settings.NPS_DEFAULT_REGION).e164
    except InvalidPhone:
        phone = sms.phone[:20]  # kept as sent: an unknown sender is still a message
    try:
        # A retry of the same gateway message id is a no-op: the unique constraint
        # decides, inside a savepoint, so concurrent copies cannot both insert.
        with transaction.atomic():
            message = InboundMessage.objects.create(
                gateway=gateway,
                gateway_message_id=sms.message_id,
                phone=phone,
                text=sms.text,
                payload=sms.raw,
            )
    except IntegrityError:
        existing = InboundMessage.objects.get(gateway=gateway, gateway_message_id=sms.message_id)
        return Stored(existing, created=False)
    transaction.on_commit(lambda: tasks.process_reply.delay(message.pk), robust=True)
    return Stored(message, created=True)


def open_invitation(customer: Customer) -> Invitation | None:
    """The customer's latest survey still waiting for an answer."""
    return (
        Invitation.objects.filter(
            customer=customer,
            status__in=[S.SENT, S.DELIVERED, S.FAILED],
            expires_at__gt=timezone.now(),
        )
        .order_by("-sent_at")
        .first()
    )


def reply_process(*, message_id: int) -> str:
    """Understand one stored reply exactly once; returns the outcome recorded on it."""
    with transaction.atomic():
        message = InboundMessage.objects.select_for_update().get(pk=message_id)
        if message.processed_at is not None:
            return message.outcome
        outcome, invitation = _apply(message)
        message.processed_at, message.outcome, message.invitation = (
            timezone.now(),
            outcome,
            invitation,
        )
        message.save(update_fields=["processed_at", "outcome", "invitation"])
    log.info("reply %s from %s: %s", message.pk, mask_phone(message.phone), outcome)
    return outcome


def _apply(message: InboundMessage) -> tuple[str, Invitation | None]:
    customer = Customer.objects.select_for_update().filter(phone=message.phone).first()
    if customer is None:
        return "unknown_sender", None
    reply = parse_reply(message.text)
    if reply.kind == ReplyKind.OPT_OUT:
        # Absolute and immediate: marked before anything else can read the customer.
        Customer.objects.filter(pk=customer.pk, opted_out_at__isnull=True).update(
            opted_out_at=timezone.now()
        )
        return "opted_out", None
    if reply.kind == ReplyKind.OPT_IN:
        Customer.objects.filter(pk=customer.pk).update(opted_out_at=None)
        return "opted_in", None
    invitation = open_invitation(customer)
    if invitation is None:
        return "no_open_survey", None
    if reply.kind != ReplyKind.SCORE or reply.score is None:
        return "not_understood", invitation
    response_record(
        invitation=invitation, score=reply.score, comment=reply.comment, message=message
    )
    return "scored", invitation


def response_record(
    *, invitation: Invitation, score: int, comment: str = "", message: InboundMessage | None = None
) -> Response:
    """Store the answer (one per invitation), classify it and tell the listeners."""
    try:
        with transaction.atomic():
            response = Response.objects.create(
                invitation=invitation,
                customer_id=invitation.customer_id,
                interaction_id=invitation.interaction_id,
                score=score,
                category=Category.for_score(score),
                comment=comment,
                message=message,
            )
    except IntegrityError:
        return Response.objects.get(invitation=invitation)
    invitation_advance(invitation_id=invitation.pk, to=S.RESPONDED, responded_at=timezone.now())
    response_classified.send(sender=Response, response=response, created=True)
    return response


def replies_sweep(*, limit: int = 1000) -> int:
    """Queue stored replies that were never processed (the broker was down, a task was lost)."""
    from surveys import tasks

    cutoff = timezone.now() - timedelta(seconds=settings.NPS_SWEEP_GRACE_SECONDS)
    ids = list(
        InboundMessage.objects.filter(processed_at__isnull=True, received_at__lt=cutoff)
        .order_by("received_at")
        .values_list("pk", flat=True)[:limit]
    )
    for pk in ids:
        tasks.process_reply.delay(pk)
    return len(ids)
