"""Survey links: a link-delivery survey's SMS carries a single-use link to a mobile page.

- One link per invitation (unique), created when the invitation's SMS text is built
  (dispatch._survey_sms), get_or_create: a retry of the same invitation sends the same
  link. The token is derived from the link's random nonce with the secret key
  (salted HMAC, 128 bits, 22 URL-safe characters), never stored: the row holds its
  SHA-256, and a request is looked up by the hash of the token it brings.
- A link opens for NPS_SURVEY_LINK_DAYS (and no longer than the invitation's reply
  window: an expired invitation takes no answer), and answers once: the answer claims
  the link with a conditional UPDATE (used_at still empty, not expired), in the
  transaction that records the response under the customer's row lock (as SMS replies
  take it). A second answer, even a concurrent one, stores nothing.
- The answer goes the SMS reply's way: response_record (classification, reasons from
  the comment, `response_classified`, hence cases), then the "why?" or playbook SMS.
  The chosen reason chips are written into the comment (their names, which the seeded
  taxonomy's keywords match) and stored as the response's reasons.
- Unknown and expired tokens are one and the same 404. Every request to /s/ counts
  against a per-address limit (NPS_SURVEY_LINK_RATE_PER_MINUTE, in the default cache),
  answered 429 before any lookup: guessing is bounded and floods store nothing.
"""

import base64
import hashlib
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta
from enum import StrEnum

from django.conf import settings
from django.core.cache import cache
from django.core.exceptions import ImproperlyConfigured
from django.db import transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.crypto import get_random_string, salted_hmac

from surveys.consent import may_message
from surveys.linkwords import EN, ZH
from surveys.models import (
    Customer,
    Invitation,
    ReasonCategory,
    Response,
    SurveyLink,
)
from surveys.models import InvitationStatus as S
from surveys.replies import answer_acknowledge
from surveys.responses import response_record

TOKEN_BYTES = 16  # 128 bits
COMMENT_MAX = 1000
# The invitation states a link answer is taken in: sent, and its reply window open.
ANSWERABLE = (S.SENT, S.DELIVERED, S.FAILED)


class Outcome(StrEnum):
    RECORDED = "recorded"
    ANSWERED = "answered"  # this invitation has its answer already: nothing stored
    CLOSED = "closed"  # opted out, or the survey's reply window is over: nothing stored


def link_days() -> int:
    return settings.NPS_SURVEY_LINK_DAYS


def link_token(*, invitation_id: int, nonce: str) -> str:
    """The link's token: 22 URL-safe characters (128 bits) of an HMAC of the nonce."""
    digest = salted_hmac("surveys.links", f"{invitation_id}:{nonce}", algorithm="sha256").digest()
    return base64.urlsafe_b64encode(digest[:TOKEN_BYTES]).decode().rstrip("=")


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def link_url(token: str) -> str:
    """The absolute address the SMS carries: NPS_PUBLIC_BASE_URL + /s/<token>."""
    base = settings.NPS_PUBLIC_BASE_URL.rstrip("/")
    if not base:
        raise ImproperlyConfigured("NPS_PUBLIC_BASE_URL must be set to send survey links")
    return base + reverse("survey-link", args=[token])


def link_create(*, invitation: Invitation) -> tuple[SurveyLink, str]:
    """The invitation's link and its token: created once, the same on every call."""
    nonce, now = get_random_string(32), timezone.now()
    link, _ = SurveyLink.objects.get_or_create(
        invitation=invitation,
        defaults={
            "nonce": nonce,
            "token_hash": token_hash(link_token(invitation_id=invitation.pk, nonce=nonce)),
            "created_at": now,
            "expires_at": now + timedelta(days=link_days()),
        },
    )
    return link, link_token(invitation_id=invitation.pk, nonce=link.nonce)


def link_find(token: str) -> SurveyLink | None:
    """The live link of this token (not expired), or None: one lookup by hash."""
    if not 16 <= len(token) <= 64:
        return None
    return (
        SurveyLink.objects.select_related("invitation__customer", "invitation__survey")
        .filter(token_hash=token_hash(token), expires_at__gt=timezone.now())
        .first()
    )


def link_state(link: SurveyLink) -> Outcome | None:
    """Why the page cannot take an answer now (ANSWERED, CLOSED), or None: it can."""
    invitation = link.invitation
    if link.used_at is not None or Response.objects.filter(invitation=invitation).exists():
        return Outcome.ANSWERED
    if invitation.status not in ANSWERABLE or not may_message(
        invitation.customer, invitation.purpose
    ):
        return Outcome.CLOSED
    return None


def link_reasons() -> list[ReasonCategory]:
    """The chips: the taxonomy's active categories, in its order."""
    return list(ReasonCategory.objects.filter(is_active=True).order_by("sort_order", "code"))


def link_comment(reasons: Sequence[ReasonCategory], text: str, language: str) -> str:
    """The response's comment: the chosen chips' names on a line, then the words."""
    label_language = EN if language == EN else ZH
    separator = "; " if label_language == EN else "、"
    lines = [separator.join(r.label(label_language) for r in reasons), text.strip()]
    return "\n".join(line for line in lines if line)[:COMMENT_MAX]


def link_answer(
    *, link: SurveyLink, score: int, reasons: Sequence[ReasonCategory], text: str, language: str
) -> Outcome:
    """Record the link's one answer through the response path; stores nothing otherwise."""
    with transaction.atomic():
        # The customer's row lock serialises this with the customer's SMS replies.
        Customer.objects.select_for_update().filter(pk=link.invitation.customer_id).first()
        link = SurveyLink.objects.select_related("invitation__customer", "invitation__survey").get(
            pk=link.pk
        )
        if (refused := link_state(link)) is not None:
            return refused
        now = timezone.now()
        # Claimed by a conditional update: of two answers, one finds used_at empty.
        claimed = SurveyLink.objects.filter(
            pk=link.pk, used_at__isnull=True, expires_at__gt=now
        ).update(used_at=now)
        if claimed != 1:
            return Outcome.ANSWERED
        invitation = link.invitation
        response = response_record(
            invitation=invitation,
            score=score,
            comment=link_comment(reasons, text, language),
            reasons=reasons,
        )
        answer_acknowledge(response=response, invitation=invitation)
    return Outcome.RECORDED


# ---------------------------------------------------------------- the page's flood limit


@dataclass(frozen=True)
class Limit:
    requests: int
    seconds: int = 60


def link_rate_limit() -> Limit:
    return Limit(settings.NPS_SURVEY_LINK_RATE_PER_MINUTE)


def link_request_allowed(address: str) -> bool:
    """Count one request to /s/ from this address in the current minute (the default
    cache, shared by the web processes when it is Redis); False past the limit."""
    limit = link_rate_limit()
    window = int(time.time() // limit.seconds)
    key = f"surveys:link-requests:{address}:{window}"
    cache.add(key, 0, timeout=limit.seconds * 2)
    try:
        count = cache.incr(key)
    except ValueError:  # expired between add and incr
        cache.set(key, 1, timeout=limit.seconds * 2)
        count = 1
    return count <= limit.requests


def frame_ancestors() -> str:
    """The Content-Security-Policy frame-ancestors value: this site and the allowlist."""
    origins = settings.NPS_SURVEY_LINK_FRAME_ORIGINS
    if isinstance(origins, str):
        origins = origins.split(",")
    allowed = [o.strip().rstrip("/") for o in origins if o.strip()]
    return " ".join(["frame-ancestors 'self'", *allowed])
