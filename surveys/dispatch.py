"""From interaction to SMS: plan the invitation, then send it at most once."""

import logging
import random
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone

from surveys.consent import may_message
from surveys.eligibility import TierCap, sample_draw, suppress_reason
from surveys.gateways.base import GatewayError, sending_gateway
from surveys.lifecycle import invitation_advance, send_facts
from surveys.models import Customer, Interaction, Invitation, Purpose, SuppressReason, Survey
from surveys.models import InvitationStatus as S
from surveys.phones import mask_phone
from surveys.queue import task_queue
from surveys.receipts import receipts_waiting_apply
from surveys.texts import survey_text
from surveys.timewindows import next_allowed_send

log = logging.getLogger(__name__)


def survey_for(touchpoint: str) -> Survey | None:
    return next((s for s in Survey.objects.filter(is_active=True) if s.covers(touchpoint)), None)


def invitation_plan(*, interaction: Interaction) -> Invitation:
    """Create the interaction's one invitation: scheduled, or suppressed with the reason."""
    customer, now = interaction.customer, timezone.now()
    survey = survey_for(interaction.touchpoint)
    if survey is None:
        return Invitation.objects.create(
            interaction=interaction,
            customer=customer,
            status=S.SUPPRESSED,
            suppressed_reason=SuppressReason.NO_SURVEY,
        )
    reason = suppress_reason(
        opted_out=not may_message(customer, Purpose.SURVEY),
        is_mobile=customer.is_mobile,
        now=now,
        fatigue_days=survey.fatigue_days,
        sampling_rate=survey.sampling_rate,
        draw=sample_draw(interaction.external_id),
        in_callback=customer.in_callback,
        occurred_at=interaction.occurred_at,
        max_age_hours=survey.max_age_hours,
        **_survey_history(customer, now),
    )
    if reason is not None:
        return Invitation.objects.create(
            interaction=interaction,
            customer=customer,
            survey=survey,
            status=S.SUPPRESSED,
            suppressed_reason=reason,
        )
    send_at = max(interaction.occurred_at + timedelta(minutes=survey.delay_minutes), now)
    send_at = next_allowed_send(
        send_at, tz=customer.time_zone, quiet_start=survey.quiet_start, quiet_end=survey.quiet_end
    )
    invitation = Invitation.objects.create(
        interaction=interaction, customer=customer, survey=survey, send_at=send_at
    )
    if send_at <= now:
        invitation_enqueue(invitation_ids=[invitation.pk])
    return invitation


def _survey_history(customer: Customer, now: datetime) -> dict[str, Any]:
    """What the do-not-disturb rules need to know about earlier surveys of this customer."""
    sent = Invitation.objects.filter(customer=customer).exclude(status=S.SUPPRESSED)
    cap = settings.NPS_TIER_CAPS.get(customer.tier)
    tier_cap = TierCap(cap["surveys"], cap["days"]) if cap else None
    local_midnight = now.astimezone(ZoneInfo(customer.time_zone)).replace(
        hour=0, minute=0, second=0, microsecond=0
    )
    return {
        "last_surveyed_at": sent.order_by("-created_at")
        .values_list("created_at", flat=True)
        .first(),
        "surveyed_today": sent.filter(created_at__gte=local_midnight).exists(),
        "recent_surveys": sent.filter(created_at__gte=now - timedelta(days=tier_cap.days)).count()
        if tier_cap
        else 0,
        "tier_cap": tier_cap,
    }


def invitation_plan_verification(*, interaction: Interaction, survey: Survey) -> Invitation:
    """Ask again after a resolved case: opt-out and quiet hours apply, fatigue rules do not."""
    customer, now = interaction.customer, timezone.now()
    opted_out = not may_message(customer, Purpose.VERIFICATION)
    if opted_out or not customer.is_mobile:
        reason = SuppressReason.OPTED_OUT if opted_out else SuppressReason.INVALID_NUMBER
        return Invitation.objects.create(
            interaction=interaction,
            customer=customer,
            survey=survey,
            purpose=Purpose.VERIFICATION,
            status=S.SUPPRESSED,
            suppressed_reason=reason,
        )
    send_at = next_allowed_send(
        now, tz=customer.time_zone, quiet_start=survey.quiet_start, quiet_end=survey.quiet_end
    )
    invitation = Invitation.objects.create(
        interaction=interaction,
        customer=customer,
        survey=survey,
        purpose=Purpose.VERIFICATION,
        send_at=send_at,
    )
    if send_at <= now:
        invitation_enqueue(invitation_ids=[invitation.pk])
    return invitation


def invitation_enqueue(*, invitation_ids: list[int]) -> None:
    """Queue sends after commit; a lost message is found again by invitations_dispatch_due."""
    Invitation.objects.filter(pk__in=invitation_ids).update(enqueued_at=timezone.now())
    for pk in invitation_ids:
        task_queue("surveys.tasks.send_invitation", pk, 1)


def invitations_dispatch_due(*, limit: int = 1000) -> int:
    """Queue due invitations never queued (or queued long ago and lost); safe to run twice."""
    now = timezone.now()
    stale = now - timedelta(seconds=settings.NPS_SEND_STUCK_SECONDS)
    with transaction.atomic():
        ids = list(
            # Skip rows another dispatcher holds: two beats never queue one invitation twice.
            Invitation.objects.select_for_update(skip_locked=True)
            .filter(status=S.SCHEDULED, send_at__lte=now)
            .filter(Q(enqueued_at__isnull=True) | Q(enqueued_at__lt=stale))
            .order_by("send_at")
            .values_list("pk", flat=True)[:limit]
        )
        invitation_enqueue(invitation_ids=ids)
        stuck = list(
            Invitation.objects.filter(status=S.SENDING, claimed_at__lt=stale).values_list(
                "pk", "attempts"
            )[:limit]
        )
    # A worker died between claim and outcome. Sending again is safe where the gateway
    # keeps our reference as an idempotency key; the claim lets only one retry through.
    for pk, attempts in stuck:
        invitation_retry_enqueue(invitation_id=pk, attempt=attempts + 1)
    return len(ids) + len(stuck)


def invitation_retry_enqueue(
    *, invitation_id: int, attempt: int, eta: datetime | None = None
) -> None:
    task_queue("surveys.tasks.send_invitation", invitation_id, attempt, after_commit=False, eta=eta)


def backoff_seconds(attempt: int, *, base: float = 30.0, cap: float = 1800.0) -> float:
    """Capped exponential backoff with full jitter."""
    return random.uniform(0, min(cap, base * 2 ** (attempt - 1)))  # noqa: S311 (jitter, not crypto)


def _claim(invitation_id: int, attempt: int) -> bool:
    """Take the invitation for this attempt; a redelivered or duplicate task finds it taken.

    Attempt 1 moves scheduled -> sending; attempt n re-takes a sending invitation whose
    counter still says n-1. One row updated means this call, and only this one, sends.
    """
    now = timezone.now()
    if attempt == 1:
        return invitation_advance(
            invitation_id=invitation_id, to=S.SENDING, claimed_at=now, attempts=1
        )
    rows = Invitation.objects.filter(
        pk=invitation_id, status=S.SENDING, attempts=attempt - 1
    ).update(claimed_at=now, attempts=F("attempts") + 1)
    return rows == 1


@dataclass(frozen=True)
class SendOutcome:
    outcome: str  # sent | failed | retry | deferred | suppressed | taken | gone
    retry_at: datetime | None = None  # for "retry": when to run again ...
    next_attempt: int = 0  # ... and as which attempt


def _quiet_until(invitation: Invitation) -> datetime | None:
    now, survey = timezone.now(), invitation.survey
    allowed = next_allowed_send(
        now,
        tz=invitation.customer.time_zone,
        quiet_start=survey.quiet_start,
        quiet_end=survey.quiet_end,
    )
    return allowed if allowed > now else None


def invitation_send(*, invitation_id: int, attempt: int = 1) -> SendOutcome:
    """Send one invitation's SMS: at most once per attempt, never in quiet hours."""
    invitation = (
        Invitation.objects.select_related("customer", "survey").filter(pk=invitation_id).first()
    )
    if invitation is None:  # a task outlived its row (deleted, or a stale queue): nothing to do
        return SendOutcome("gone")
    customer = invitation.customer
    if invitation.status not in (S.SCHEDULED, S.SENDING):
        return SendOutcome("taken")
    quiet_until = _quiet_until(invitation)
    if quiet_until and attempt == 1:  # a late task must not wake anyone up
        Invitation.objects.filter(pk=invitation_id, status=S.SCHEDULED).update(
            send_at=quiet_until, enqueued_at=None
        )
        return SendOutcome("deferred")
    if quiet_until:  # a retry that fell into quiet hours runs again, same attempt, after them
        return SendOutcome("retry", retry_at=quiet_until, next_attempt=attempt)
    if not may_message(customer, invitation.purpose):
        moved = invitation_advance(
            invitation_id=invitation_id, to=S.SUPPRESSED, suppressed_reason=SuppressReason.OPTED_OUT
        )
        return SendOutcome("suppressed" if moved else "taken")
    if not _claim(invitation_id, attempt):
        return SendOutcome("taken")
    gateway = sending_gateway()
    text, language = survey_text(survey=invitation.survey, customer=customer)
    Invitation.objects.filter(pk=invitation_id).update(
        text=text, language=language, gateway=gateway.slug
    )
    # The claim is committed before the network call: never call a gateway in a transaction.
    try:
        result = gateway.send(to=customer.phone, text=text, reference=f"inv-{invitation_id}")
    except GatewayError as exc:
        return _send_failed(invitation_id, attempt, customer.phone, exc)
    now = timezone.now()
    # Facts of the send are recorded whatever the status: a fast receipt may already
    # have moved it past "sent", and the status must not go back.
    facts = send_facts(invitation, provider_message_id=result.provider_message_id, at=now)
    Invitation.objects.filter(pk=invitation_id).update(**facts, failure_reason="")
    invitation_advance(invitation_id=invitation_id, to=S.SENT)
    receipts_waiting_apply(gateway=gateway.slug, provider_message_id=result.provider_message_id)
    return SendOutcome("sent")


def _send_failed(invitation_id: int, attempt: int, phone: str, exc: GatewayError) -> SendOutcome:
    log.warning("send inv-%s to %s failed: %s", invitation_id, mask_phone(phone), exc)
    reason = f"attempt {attempt}: {exc}"[:1000]
    if exc.permanent or attempt >= settings.NPS_SEND_MAX_ATTEMPTS:
        invitation_advance(
            invitation_id=invitation_id,
            to=S.FAILED,
            failed_at=timezone.now(),
            failure_reason=reason,
        )
        return SendOutcome("failed")
    Invitation.objects.filter(pk=invitation_id).update(failure_reason=reason)
    retry_at = timezone.now() + timedelta(seconds=backoff_seconds(attempt))
    return SendOutcome("retry", retry_at=retry_at, next_attempt=attempt + 1)


def invitations_expire() -> int:
    """Close invitations whose reply window has passed."""
    return Invitation.objects.filter(
        status__in=[S.SENT, S.DELIVERED], expires_at__lt=timezone.now()
    ).update(status=S.EXPIRED)
