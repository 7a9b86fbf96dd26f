"""Customer replies: store raw first, then understand, match, classify, announce."""

import logging
from dataclasses import dataclass

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from surveys.consent import consent_change
from surveys.conversation import message_queue
from surveys.gateways.base import InboundSMS
from surveys.models import (
    Category,
    ConsentSource,
    Customer,
    InboundMessage,
    Invitation,
    OutboundKind,
    Purpose,
    Response,
    Survey,
)
from surveys.models import InvitationStatus as S
from surveys.parsing import Reply, ReplyKind, parse_reply
from surveys.phones import InvalidPhone, mask_phone, phone_parse
from surveys.relay import batch_process
from surveys.responses import response_comment, response_record, response_rescore
from surveys.storeonce import insert_once
from surveys.texts import callback_hours

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Stored:
    message: InboundMessage
    created: bool


def reply_store(*, gateway: str, sms: InboundSMS) -> Stored:
    """Keep the raw message once per gateway message id; the outbox relay queues it."""
    try:
        phone = phone_parse(sms.phone, region=settings.NPS_DEFAULT_REGION).e164
    except InvalidPhone:
        phone = sms.phone[:20]  # kept as sent: an unknown sender is still a message
    # A retry of the same gateway message id is a no-op: the unique constraint decides.
    pk = insert_once(
        InboundMessage,
        conflict=("gateway", "gateway_message_id"),
        gateway=gateway,
        gateway_message_id=sms.message_id,
        phone=phone,
        text=sms.text,
        payload=sms.raw,
        received_at=timezone.now(),
        outcome="",
    )
    if pk is None:
        existing = InboundMessage.objects.get(gateway=gateway, gateway_message_id=sms.message_id)
        return Stored(existing, created=False)
    message = InboundMessage(
        pk=pk, gateway=gateway, gateway_message_id=sms.message_id, phone=phone, text=sms.text
    )
    message._state.adding = False  # stored above; built here to save a read-back
    return Stored(message, created=True)


def conversation_invitation(customer: Customer) -> Invitation | None:
    """The customer's latest survey whose reply window is still open, answered or not."""
    return (
        Invitation.objects.filter(
            customer=customer,
            status__in=[S.SENT, S.DELIVERED, S.FAILED, S.RESPONDED],
            expires_at__gt=timezone.now(),
        )
        .select_related("survey")
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
        message.processed_at, message.outcome = timezone.now(), outcome
        message.invitation = invitation
        message.save(update_fields=["processed_at", "outcome", "invitation"])
    log.info("reply %s from %s: %s", message.pk, mask_phone(message.phone), outcome)
    return outcome


def _apply(message: InboundMessage) -> tuple[str, Invitation | None]:
    # The customer row lock serialises one customer's messages across workers.
    customer = Customer.objects.select_for_update().filter(phone=message.phone).first()
    if customer is None:
        return "unknown_sender", None
    reply = parse_reply(message.text)
    if reply.kind in _KEYWORD_HANDLERS:
        return _KEYWORD_HANDLERS[reply.kind](customer, message), None
    if customer.is_opted_out:
        return "opted_out_customer", None  # kept, never answered: opt-out is absolute
    invitation = conversation_invitation(customer)
    if invitation is None:
        return "no_open_survey", None
    response = Response.objects.filter(invitation=invitation).first()
    score = reply.score if reply.kind == ReplyKind.SCORE else None
    if score is not None and response is not None and _is_correction(reply):
        previous = response.category
        response_rescore(response=response, score=score)
        if response.category != previous:
            _playbook(response, invitation)  # once per survey (unique): a repeat sends nothing
        return "rescored", invitation
    if score is not None and response is None:
        comment = reply.comment or _earlier_words(invitation)
        response = response_record(
            invitation=invitation,
            score=score,
            comment=comment,
            message=message,
        )
        if not response.comment and (
            response.category in invitation.asked_survey.followup_categories
        ):
            message_queue(
                customer=customer, kind=OutboundKind.FOLLOWUP_QUESTION, invitation=invitation
            )
        else:
            _playbook(response, invitation)
        return "scored", invitation
    if response is not None:  # words after the score, e.g. the answer to "why?"
        response_comment(response=response, text=message.text)
        _playbook(response, invitation)  # once per survey (unique), after the "why?"
        return "commented", invitation
    if message_queue(customer=customer, kind=OutboundKind.CLARIFICATION, invitation=invitation):
        return "clarification_sent", invitation
    return "not_understood", invitation  # a second time: stored, left alone, never a loop


def _playbook(response: Response, invitation: Invitation) -> None:
    """Passives get a care message, promoters a thank-you with a referral invitation, and a
    detractor who gave a reason is told when we will call."""
    customer = response.customer
    if invitation.purpose != Purpose.SURVEY:
        return
    survey = invitation.asked_survey
    if response.category == Category.PASSIVE and survey.passive_care:
        message_queue(customer=customer, kind=OutboundKind.CARE, invitation=invitation)
    elif response.category == Category.PROMOTER and survey.promoter_thanks:
        message_queue(customer=customer, kind=OutboundKind.THANKS, invitation=invitation)
    elif _promises_a_call(response, survey):
        kind = OutboundKind.CALLBACK_PROMISE
        message_queue(customer=customer, kind=kind, invitation=invitation)


def _promises_a_call(response: Response, survey: Survey) -> bool:
    """A detractor with a reason, a survey that says so, and a call still to make."""
    if response.category != Category.DETRACTOR or not response.comment:
        return False
    return survey.callback_promise and callback_hours(response.customer) is not None


def _is_correction(reply: Reply) -> bool:
    """After a score, only a bare number or one said as a correction changes it.

    "等了10分钟" is a reason, not a new score (the parser reads no score in it); what a
    correction looks like ("抱歉，是8分", "sorry, I meant 8") is the parser's rule.
    """
    return not reply.comment or reply.correction


def _earlier_words(invitation: Invitation) -> str:
    """Words the customer sent before giving a score become the response's comment."""
    texts = invitation.inbound.filter(
        outcome__in=["clarification_sent", "not_understood"]
    ).values_list("text", flat=True)
    return "\n".join(t.strip() for t in texts.order_by("received_at") if t.strip())


def _opt_out(customer: Customer, message: InboundMessage) -> str:
    # Absolute and immediate: marked first; confirmed once, when the state changes.
    change = consent_change(
        customer=customer, opted_out=True, source=ConsentSource.SMS, message=message
    )
    if change is not None:
        message_queue(customer=customer, kind=OutboundKind.OPT_OUT_CONFIRMATION, trigger=message)
    return "opted_out"


def _opt_in(customer: Customer, message: InboundMessage) -> str:
    change = consent_change(
        customer=customer, opted_out=False, source=ConsentSource.SMS, message=message
    )
    if change is not None:
        message_queue(customer=customer, kind=OutboundKind.OPT_IN_CONFIRMATION, trigger=message)
    return "opted_in"


def _help(customer: Customer, message: InboundMessage) -> str:
    message_queue(customer=customer, kind=OutboundKind.HELP, trigger=message)
    return "help"


_KEYWORD_HANDLERS = {ReplyKind.OPT_OUT: _opt_out, ReplyKind.OPT_IN: _opt_in, ReplyKind.HELP: _help}


def replies_process(*, message_ids: list[int]) -> list[str]:
    """Process a relayed batch in arrival order, holding its lease (surveys.relay)."""
    return batch_process(InboundMessage, message_ids, lambda pk: reply_process(message_id=pk))
