"""Who joined a care campaign, and how: the reply keyword, the care call, the offer code.

- replies_claim: surveys' reply path asks it (settings.NPS_REPLY_CLAIM names it) for each
  chunk of replies before reading them as survey answers: a reply equal to the join
  keyword of a running campaign the customer is treated in (compared by NFKC, so
  full-width and half-width letters are one, and case-insensitively) joins them, and
  the reply's outcome is "campaign". One query per chunk finds the candidates.
- care_call_log: an agent logs the call's outcome; "joined" joins.
- offer_redeem: the offer code redeemed (the API, care.api) joins.

Joining raises the customer's preference for the campaign's channel feature (learned):
halfway from its value (0 without one) to 1.
"""

import logging
import unicodedata
from collections.abc import Sequence
from datetime import datetime

from django.contrib.auth.models import User
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from care.campaigns import CampaignError
from care.models import (
    Arm,
    CallOutcome,
    CallStatus,
    CampaignMember,
    CampaignStatus,
    CareCall,
    CustomerPreference,
    Participation,
    PreferenceSource,
)
from care.preferences import preferences_record
from followups.roles import is_supervisor, led_team_ids
from surveys.models import Customer, InboundMessage

log = logging.getLogger(__name__)

CLAIMED = "campaign"  # the reply's outcome
KEYWORD_MAX = 20  # Campaign.join_keyword's length: longer replies are never a keyword


def keyword_normal(text: str) -> str:
    """A keyword as compared: NFKC (full-width ＪＯＩＮ is JOIN), trimmed, case-folded."""
    return unicodedata.normalize("NFKC", text).strip().casefold()


def preference_learn(*, customer: Customer, feature_code: str) -> None:
    """Halfway from the customer's value (0 without one) to 1, marked learned."""
    current = (
        CustomerPreference.objects.filter(customer=customer, feature__code=feature_code)
        .values_list("value", flat=True)
        .first()
    )
    value = round((current or 0.0) + (1 - (current or 0.0)) / 2, 4)
    preferences_record(
        customer=customer, values={feature_code: value}, source=PreferenceSource.LEARNED
    )


def member_participate(*, member: CampaignMember, how: str, at: datetime | None = None) -> bool:
    """Mark a treated member as joined, once (the first way counts); True if it was new.
    A finished campaign's members no longer change: its results are kept as they were."""
    if member.arm != Arm.TREATED or member.campaign.status == CampaignStatus.FINISHED:
        return False  # the control group is not offered anything; a finished one is kept
    at = at or timezone.now()
    joined = CampaignMember.objects.filter(pk=member.pk, participated_at__isnull=True).update(
        participated_at=at, participation=Participation(how)
    )
    if not joined:
        return False
    member.participated_at, member.participation = at, how
    feature = member.campaign.channel_feature
    if feature is not None:
        preference_learn(customer=member.customer, feature_code=feature.code)
    return True


# ---------------------------------------------------------------- the reply keyword


def replies_claim(
    *, messages: Sequence[InboundMessage], customers: dict[str, Customer]
) -> dict[int, str]:
    """The replies that join a running campaign: {message id: outcome}. Called inside the
    reply chunk's transaction, its customers locked."""
    candidates = {
        message.pk: (message, customers[message.phone])
        for message in messages
        if message.phone in customers and 0 < len(message.text.strip()) <= KEYWORD_MAX * 2
    }
    if not candidates:
        return {}
    members = (
        CampaignMember.objects.filter(
            customer__in=[customer for _m, customer in candidates.values()],
            arm=Arm.TREATED,
            campaign__status=CampaignStatus.RUNNING,
        )
        .exclude(campaign__join_keyword="")
        .select_related("campaign__channel_feature", "customer")
        .order_by("pk")
    )
    by_customer: dict[int, list[CampaignMember]] = {}
    for member in members:
        by_customer.setdefault(member.customer_id, []).append(member)
    claimed: dict[int, str] = {}
    for pk, (message, customer) in candidates.items():
        said = keyword_normal(message.text)
        for member in by_customer.get(customer.pk, []):
            if said == keyword_normal(member.campaign.join_keyword):
                member_participate(member=member, how=Participation.KEYWORD)
                claimed[pk] = CLAIMED
                break
    return claimed


# ---------------------------------------------------------------- care calls


def care_call_log(*, call_id: int, outcome: str, actor: User | None, note: str = "") -> CareCall:
    """The agent's outcome of a care call; "joined" makes the member a participant."""
    outcome = CallOutcome(outcome)
    with transaction.atomic():
        call = (
            CareCall.objects.select_for_update(of=("self",))
            .select_related("member__campaign__channel_feature", "member__customer", "agent")
            .get(pk=call_id)
        )
        if call.status not in (CallStatus.WAITING, CallStatus.ASSIGNED):
            raise CampaignError(_("This call has been logged already."))
        others = call.agent is not None and call.agent.user_id not in (
            None,
            getattr(actor, "pk", None),
        )
        if actor is not None and not actor.is_superuser and others and not _leads(actor, call):
            raise CampaignError(_("This call is another agent's."))
        now = timezone.now()
        call.status, call.outcome, call.called_at = CallStatus.DONE, outcome, now
        call.note = "\n".join(text for text in (call.note, note.strip()) if text)
        call.save(update_fields=["status", "outcome", "called_at", "note"])
        if outcome == CallOutcome.JOINED:
            member_participate(member=call.member, how=Participation.CALL, at=now)
    return call


def _leads(actor: User, call: CareCall) -> bool:
    return is_supervisor(actor) or call.team_id in set(led_team_ids(actor))


# ---------------------------------------------------------------- the offer code


def offer_redeem(*, code: str, at: datetime | None = None) -> tuple[CampaignMember | None, bool]:
    """(the member holding the code, whether this redemption made them a participant):
    a code redeemed again changes nothing; (None, False) for a code nobody holds."""
    code = code.strip().upper()
    if not code or len(code) > 16:
        return None, False
    with transaction.atomic():
        member = (
            CampaignMember.objects.select_for_update(of=("self",))
            .select_related("campaign__channel_feature", "customer")
            .filter(offer_code=code)
            .first()
        )
        if member is None:
            return None, False
        joined = member_participate(member=member, how=Participation.OFFER, at=at)
    return member, joined
