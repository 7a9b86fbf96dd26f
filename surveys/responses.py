"""Answers: recorded once per invitation, re-scored and commented inside the reply window.

Every change of category is announced through `response_classified`, so the closed
loop follows the customer's latest word.
"""

from collections.abc import Sequence

from django.db import IntegrityError, transaction
from django.utils import timezone

from surveys.models import Category, InboundMessage, Invitation, ReasonCategory, Response
from surveys.models import InvitationStatus as S
from surveys.reasons import response_categorise, response_reasons_add, responses_categorise
from surveys.sendstatus import INVITATIONS, invitation_advance, statuses_advance
from surveys.signals import response_classified, responses_recorded
from surveys.voice import voice_of


def response_record(
    *,
    invitation: Invitation,
    score: int,
    comment: str = "",
    message: InboundMessage | None = None,
    reasons: Sequence[ReasonCategory] = (),
) -> Response:
    """Store the answer (one per invitation), classify it and tell the listeners.

    `reasons`: categories the customer chose (a survey page's chips), stored with those
    the comment matches, before the listeners hear of the answer."""
    try:
        with transaction.atomic():
            response = Response.objects.create(
                invitation=invitation,
                customer_id=invitation.customer_id,
                interaction_id=invitation.interaction_id,
                score=score,
                category=Category.for_score(score),
                comment=comment,
                voice=voice_of(comment, Category.for_score(score)),
                message=message,
            )
    except IntegrityError:
        return Response.objects.get(invitation=invitation)
    invitation_advance(invitation_id=invitation.pk, to=S.RESPONDED, responded_at=timezone.now())
    _comment_categorise(response)
    if reasons:
        response_reasons_add(response=response, categories=reasons)
    response_classified.send(sender=Response, response=response, created=True)
    return response


def responses_record(
    *, answers: list[tuple[Invitation, int, str, InboundMessage]]
) -> list[Response]:
    """response_record for many first answers, each (invitation, score, comment, message)
    to a different invitation that has none yet: one insert, one status update, one
    categorisation, one `responses_recorded` signal. Call it inside a transaction that
    locks the invitations' customers (the reply path does): a conflicting answer raises
    IntegrityError and the caller takes the one-at-a-time path instead.
    """
    if not answers:
        return []
    responses = Response.objects.bulk_create(
        Response(
            invitation=invitation,
            customer=invitation.customer,  # read with the invitation: no query per answer
            interaction=invitation.interaction,
            score=score,
            category=Category.for_score(score),
            comment=comment,
            voice=voice_of(comment, Category.for_score(score)),  # in the same insert
            message=message,
        )
        for invitation, score, comment, message in answers
    )
    invited = Invitation.objects.filter(pk__in=[response.invitation_id for response in responses])
    # Locked in id order first, as receipts lock the sends they move: an UPDATE alone
    # takes its rows in the table's physical order and could deadlock with them.
    list(invited.select_for_update().order_by("pk").values_list("pk", flat=True))
    statuses_advance(INVITATIONS, invited, to=S.RESPONDED, responded_at=timezone.now())
    responses_categorise(responses=responses)
    responses_recorded.send(sender=Response, responses=responses)
    return responses


def response_rescore(*, response: Response, score: int) -> Response:
    """A corrected score replaces the old one; the category and the loop follow it."""
    previous = response.category
    response.score, response.category = score, Category.for_score(score)
    response.voice = voice_of(response.comment, response.category)  # praise <-> problem
    response.save(update_fields=["score", "category", "voice", "updated_at"])
    if response.category != previous:
        response_classified.send(
            sender=Response, response=response, created=False, previous_category=previous
        )
    return response


def response_comment(*, response: Response, text: str) -> Response:
    """Add the customer's words to the response's comment and categorise them."""
    text = text.strip()
    if not text:
        return response
    response.comment = f"{response.comment}\n{text}" if response.comment else text
    response.voice = voice_of(response.comment, response.category)
    response.save(update_fields=["comment", "voice", "updated_at"])
    _comment_categorise(response)
    return response


def _comment_categorise(response: Response) -> None:
    if response.comment:
        response_categorise(response=response)
