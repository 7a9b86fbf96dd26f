"""Customer replies: store raw first, then understand, match, classify, announce."""

import logging
from collections import Counter
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import QuerySet
from django.utils import timezone
from django.utils.module_loading import import_string

from surveys.consent import consent_change
from surveys.conversation import message_queue, messages_queue
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
from surveys.queue import task_batch
from surveys.relay import batch_process, chunk_lock
from surveys.responses import (
    response_comment,
    response_record,
    response_rescore,
    responses_record,
)
from surveys.rowsupdate import objects_update
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
    return conversation_invitations([customer]).first()


def conversation_invitations(customers: list[Customer]) -> QuerySet[Invitation]:
    """The customers' surveys whose reply window is still open, each customer's latest first."""
    return (
        Invitation.objects.filter(
            customer__in=customers,
            status__in=[S.SENT, S.DELIVERED, S.FAILED, S.RESPONDED],
            expires_at__gt=timezone.now(),
        )
        .select_related("survey")
        .order_by("customer_id", "-sent_at")
    )


def reply_process(*, message_id: int) -> str:
    """Understand one stored reply exactly once; returns the outcome recorded on it."""
    with task_batch(), transaction.atomic():
        message = InboundMessage.objects.select_for_update().get(pk=message_id)
        if message.processed_at is not None:
            return message.outcome
        # The customer row lock serialises one customer's messages across workers.
        customer = Customer.objects.select_for_update().filter(phone=message.phone).first()
        claims = replies_claim([message], {customer.phone: customer} if customer else {})
        if message.pk in claims:
            outcome, invitation = claims[message.pk], None
        else:
            outcome, invitation = _apply(message, customer)
        message.processed_at, message.outcome = timezone.now(), outcome
        message.invitation = invitation
        message.save(update_fields=["processed_at", "outcome", "invitation"])
    log.info("reply %s from %s: %s", message.pk, mask_phone(message.phone), outcome)
    return outcome


def replies_process(*, message_ids: list[int]) -> list[str]:
    """Process a relayed batch, a chunk of replies per transaction (surveys.relay).

    Each chunk locks its replies and then their customers (in id order, so two workers
    never wait on each other in a circle), records the first scores set-based
    (_first_scores), understands every other reply as reply_process does, in a savepoint
    of its own, marks them processed in one statement, and commits once; the "why?" and
    thank-you SMS and the case assignments it queued go out as one send task and one
    assignment task after the commit (surveys.queue.task_batch).

    Order per customer: a reply whose customer has an earlier reply still waiting outside
    this chunk (another batch not yet done) is put back for the next relay round instead
    of overtaking it; a reply waiting longer than ORDER_WAIT no longer holds the later ones.
    """
    return batch_process(InboundMessage, message_ids, _chunk)


ORDER_WAIT = timedelta(minutes=5)


def _chunk(ids: list[int]) -> dict[int, str]:
    with task_batch():
        return _chunk_process(ids)


def _chunk_process(ids: list[int]) -> dict[int, str]:
    outcomes: dict[int, str] = {}
    with transaction.atomic():
        messages = chunk_lock(InboundMessage, ids)
        phones = {message.phone for message in messages}
        customers = {
            c.phone: c
            for c in Customer.objects.select_for_update().filter(phone__in=phones).order_by("pk")
        }
        behind = _behind_earlier(messages, ids)
        now, done = timezone.now(), []
        ready = [message for message in messages if message.pk not in behind]
        claims = replies_claim(ready, customers)
        first = _first_scores([m for m in ready if m.pk not in claims], customers)
        if first:
            try:
                with transaction.atomic():  # a savepoint: on a conflict, one at a time below
                    _first_scores_record(first)
            except IntegrityError:
                log.warning("first scores %s: a conflict; one at a time", list(first))
                first = {}
        for message in messages:
            if message.pk in behind:
                outcomes[message.pk] = "waits_for_earlier"
                continue
            if message.pk in claims:
                message.processed_at, message.outcome = now, claims[message.pk]
                done.append(message)
                outcomes[message.pk] = claims[message.pk]
                continue
            if message.pk in first:
                message.processed_at, message.outcome = now, "scored"
                message.invitation = first[message.pk][0]
                done.append(message)
                outcomes[message.pk] = "scored"
                continue
            try:
                with transaction.atomic():  # a savepoint: a failing reply rolls back alone
                    outcome, invitation = _apply(message, customers.get(message.phone))
            except Exception:
                log.exception("reply %s failed; it will be retried", message.pk)
                outcomes[message.pk] = "error"
                continue
            message.processed_at, message.outcome, message.invitation = now, outcome, invitation
            done.append(message)
            outcomes[message.pk] = outcome
        objects_update(InboundMessage, done, ["processed_at", "outcome", "invitation"])
        if behind:  # the next relay round hands them out again
            InboundMessage.objects.filter(pk__in=behind).update(enqueued_at=None)
    for message in done:
        log.info("reply %s from %s: %s", message.pk, mask_phone(message.phone), message.outcome)
    return outcomes


def replies_claim(messages: list[InboundMessage], customers: dict[str, Customer]) -> dict[int, str]:
    """The replies another app takes before they are read as survey answers, with the
    outcome it gives each: {message id: outcome}. The app's function is named by the
    setting NPS_REPLY_CLAIM (None: no app claims any; surveys imports none of them), called
    with the chunk's messages and its locked customers by phone, once per chunk (one query
    of its own for the chunk, not one per message). Care claims a running campaign's join
    keyword (care.participation.replies_claim)."""
    path = getattr(settings, "NPS_REPLY_CLAIM", None)
    if not path or not messages:
        return {}
    claims: dict[int, str] = import_string(path)(messages=messages, customers=customers)
    return claims


def _first_scores(
    messages: list[InboundMessage], customers: dict[str, Customer]
) -> dict[int, tuple[Invitation, Reply, InboundMessage]]:
    """The replies `_apply` would record as a first score with nothing else to look at:
    a score from a known customer who may be messaged, alone in the chunk, to the open
    survey invitation not answered yet, with a reason or no earlier words to add. Read
    for the whole chunk in three queries; the rest go one at a time."""
    per_phone = Counter(message.phone for message in messages)
    candidates: list[tuple[InboundMessage, Customer, Reply]] = []
    for message in messages:
        customer = customers.get(message.phone)
        if customer is None or per_phone[message.phone] > 1 or customer.is_opted_out:
            continue
        reply = parse_reply(message.text)
        if reply.kind == ReplyKind.SCORE and reply.score is not None:
            candidates.append((message, customer, reply))
    if not candidates:
        return {}
    latest: dict[int, Invitation] = {}
    for invitation in (
        conversation_invitations([customer for _, customer, _ in candidates])
        .select_related("interaction")
        .prefetch_related("survey__texts")
    ):
        latest.setdefault(invitation.customer_id, invitation)
    invited = [invitation.pk for invitation in latest.values()]
    answered = set(
        Response.objects.filter(invitation_id__in=invited).values_list("invitation_id", flat=True)
    )
    with_words = set(
        InboundMessage.objects.filter(
            invitation_id__in=invited, outcome__in=EARLIER_WORDS
        ).values_list("invitation_id", flat=True)
    )
    first: dict[int, tuple[Invitation, Reply, InboundMessage]] = {}
    for message, customer, reply in candidates:
        open_survey = latest.get(customer.pk)
        if open_survey is None or open_survey.purpose != Purpose.SURVEY:
            continue
        if open_survey.pk in answered or (not reply.comment and open_survey.pk in with_words):
            continue
        if reply.score is not None and reply.score < open_survey.asked_survey.lowest_score:
            continue  # not an answer on this survey's scale: the one-at-a-time path asks again
        open_survey.customer = customer
        first[message.pk] = (open_survey, reply, message)
    return first


def _first_scores_record(first: dict[int, tuple[Invitation, Reply, InboundMessage]]) -> None:
    """Record the first scores together: the responses (and through them the cases), then
    the "why?" or playbook SMS, as `_apply` does for each."""
    responses = responses_record(
        answers=[
            (invitation, reply.score, reply.comment, message)
            for invitation, reply, message in first.values()
            if reply.score is not None
        ]
    )
    sms = []
    for response in responses:
        if kind := _first_score_kind(response, response.invitation):
            sms.append((response.invitation.customer, kind, response.invitation))
    messages_queue(items=sms)


def _behind_earlier(messages: list[InboundMessage], ids: list[int]) -> set[int]:
    """The replies with an earlier unprocessed reply from the same phone outside `ids`."""
    if not messages:
        return set()
    earlier = (
        InboundMessage.objects.filter(
            phone__in={m.phone for m in messages},
            processed_at__isnull=True,
            pk__lt=messages[-1].pk,
            received_at__gte=timezone.now() - ORDER_WAIT,
        )
        .exclude(pk__in=ids)
        .values_list("phone", "pk")
    )
    first: dict[str, int] = {}
    for phone, pk in earlier:
        first[phone] = min(pk, first.get(phone, pk))
    return {m.pk for m in messages if m.phone in first and first[m.phone] < m.pk}


def _apply(message: InboundMessage, customer: Customer | None) -> tuple[str, Invitation | None]:
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
    if score is not None and score < invitation.asked_survey.lowest_score:
        score = None  # 0 on a 1-10 satisfaction survey: not an answer, asked again
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
        if kind := _first_score_kind(response, invitation):
            message_queue(customer=customer, kind=kind, invitation=invitation)
        return "scored", invitation
    if response is not None:  # words after the score, e.g. the answer to "why?"
        response_comment(response=response, text=message.text)
        _playbook(response, invitation)  # once per survey (unique), after the "why?"
        return "commented", invitation
    if message_queue(customer=customer, kind=OutboundKind.CLARIFICATION, invitation=invitation):
        return "clarification_sent", invitation
    return "not_understood", invitation  # a second time: stored, left alone, never a loop


def answer_acknowledge(*, response: Response, invitation: Invitation) -> None:
    """Queue what a first score is answered with, as for an SMS reply (a survey page's
    answer too): "why?" or the playbook's message, once per survey."""
    if kind := _first_score_kind(response, invitation):
        message_queue(customer=response.customer, kind=kind, invitation=invitation)


def _first_score_kind(response: Response, invitation: Invitation) -> str | None:
    """What a first score is answered with: "why?" when the survey asks it after this
    category and no reason came with the score, else the playbook's message."""
    survey = invitation.asked_survey
    if not response.comment and response.category in survey.followup_categories:
        return OutboundKind.FOLLOWUP_QUESTION
    return _playbook_kind(response, invitation)


def _playbook(response: Response, invitation: Invitation) -> None:
    if kind := _playbook_kind(response, invitation):
        message_queue(customer=response.customer, kind=kind, invitation=invitation)


def _playbook_kind(response: Response, invitation: Invitation) -> str | None:
    """Passives get a care message, promoters a thank-you with a referral invitation, and a
    detractor who gave a reason is told when we will call."""
    if invitation.purpose != Purpose.SURVEY:
        return None
    survey = invitation.asked_survey
    if response.category == Category.PASSIVE and survey.passive_care:
        return OutboundKind.CARE
    if response.category == Category.PROMOTER and survey.promoter_thanks:
        return OutboundKind.THANKS
    if _promises_a_call(response, survey):
        return OutboundKind.CALLBACK_PROMISE
    return None


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


EARLIER_WORDS = ["clarification_sent", "not_understood"]  # outcomes of words before a score


def _earlier_words(invitation: Invitation) -> str:
    """Words the customer sent before giving a score become the response's comment."""
    texts = invitation.inbound.filter(outcome__in=EARLIER_WORDS).values_list("text", flat=True)
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
