"""From interaction to SMS: plan the invitation, then send it at most once."""

import logging
import time
from collections import defaultdict
from datetime import datetime, timedelta
from enum import Enum
from typing import Any
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Count, Max, Q, QuerySet
from django.utils import timezone

from surveys.consent import may_message
from surveys.eligibility import TierCap, sample_draw, suppress_reason
from surveys.gateways.base import Composed, Gateway
from surveys.gateways.routing import gateway_first
from surveys.gatewaytemplates import invitation_waits, sends_waiting
from surveys.links import link_create, link_url
from surveys.models import (
    SURVEY_LINK_TEMPLATE,
    SURVEY_TEMPLATE,
    ContactKind,
    Customer,
    Delivery,
    Interaction,
    Invitation,
    Purpose,
    SuppressReason,
    Survey,
)
from surveys.models import InvitationStatus as S
from surveys.pressure import contacts_take
from surveys.queue import queue_waiting, task_queue
from surveys.sending import (
    SendOutcome,
    SendSpec,
    send_many,
    send_once,
    send_stop,
    sends_stuck,
)
from surveys.sendstatus import INVITATIONS, statuses_advance
from surveys.texts import survey_link_text, survey_text
from surveys.timewindows import next_allowed_send

log = logging.getLogger(__name__)


def survey_for(touchpoint: str) -> Survey | None:
    return next((s for s in Survey.objects.filter(is_active=True) if s.covers(touchpoint)), None)


def invitation_plan(*, interaction: Interaction) -> Invitation:
    """Create the interaction's one invitation: scheduled, or suppressed with the reason."""
    return invitations_plan(interactions=[interaction])[0]


def invitations_plan(*, interactions: list[Interaction]) -> list[Invitation]:
    """Plan each interaction's one invitation, in order, as if planned one after another.

    Surveys and the customers' earlier invitations are read once for the whole list (a
    file's import plans thousands at a time); a customer met twice in the list has the
    first invitation counted when the second is planned, as planning them one by one would.
    """
    now, surveys = timezone.now(), dict[str, Survey | None]()
    histories = _survey_histories([i.customer for i in interactions], now)
    planned = []
    for interaction in interactions:
        customer, touchpoint = interaction.customer, interaction.touchpoint
        if touchpoint not in surveys:
            surveys[touchpoint] = survey_for(touchpoint)
        survey = surveys[touchpoint]
        invitation = _invitation_decide(interaction, survey, histories[customer.pk], now)
        if invitation.status != S.SUPPRESSED:
            _history_add(histories[customer.pk], now)
        planned.append(invitation)
    invitations_insert(planned)
    due = [i.pk for i in planned if i.status == S.SCHEDULED and i.send_at and i.send_at <= now]
    if due:
        invitation_enqueue(invitation_ids=due)
    return planned


def invitations_insert(invitations: list[Invitation]) -> None:
    """bulk_create for many planned invitations: on PostgreSQL their ids are drawn from
    the table's sequence and the rows go in by COPY (a file's chunk plans thousands), the
    attributes as they are (psycopg adapts them; the time stamps set as save() sets them)."""
    if connection.vendor != "postgresql" or len(invitations) < 2:
        Invitation.objects.bulk_create(invitations)
        return
    meta, qn = Invitation._meta, connection.ops.quote_name
    fields = list(meta.concrete_fields)
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT nextval(pg_get_serial_sequence(%s, %s)) FROM generate_series(1, %s)",
            [meta.db_table, meta.pk.column, len(invitations)],
        )
        for invitation, (pk,) in zip(invitations, cursor.fetchall(), strict=True):
            invitation.pk = pk
        columns = ", ".join(qn(f.column) for f in fields)
        stamped = [
            f for f in fields if getattr(f, "auto_now", False) or getattr(f, "auto_now_add", False)
        ]
        with cursor.copy(f"COPY {qn(meta.db_table)} ({columns}) FROM STDIN") as copy:
            for invitation in invitations:
                for f in stamped:
                    f.pre_save(invitation, True)
                values = [getattr(invitation, f.attname) for f in fields]
                copy.write_row([v.value if isinstance(v, Enum) else v for v in values])
    for invitation in invitations:
        invitation._state.adding, invitation._state.db = False, connection.alias


def _invitation_decide(
    interaction: Interaction, survey: Survey | None, history: dict[str, Any], now: datetime
) -> Invitation:
    """The invitation the rules give this interaction (not saved yet)."""
    customer = interaction.customer
    base = {"interaction": interaction, "customer": customer}
    if survey is None:
        return Invitation(**base, status=S.SUPPRESSED, suppressed_reason=SuppressReason.NO_SURVEY)
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
        **history,
    )
    if reason is not None:
        return Invitation(**base, survey=survey, status=S.SUPPRESSED, suppressed_reason=reason)
    send_at = max(interaction.occurred_at + timedelta(minutes=survey.delay_minutes), now)
    send_at = next_allowed_send(
        send_at, tz=customer.time_zone, quiet_start=survey.quiet_start, quiet_end=survey.quiet_end
    )
    return Invitation(**base, survey=survey, send_at=send_at)


def _survey_histories(customers: list[Customer], now: datetime) -> dict[int, dict[str, Any]]:
    """What the do-not-disturb rules need to know about earlier surveys, per customer.

    One query for all: the latest survey sent (which also says whether one went out since
    the customer's local midnight) and the count within each tier cap's window.
    """
    caps = {
        tier: TierCap(cap["surveys"], cap["days"]) for tier, cap in settings.NPS_TIER_CAPS.items()
    }
    windows = {
        f"in_{cap.days}": Count("pk", filter=Q(created_at__gte=now - timedelta(days=cap.days)))
        for cap in caps.values()
    }
    sent = (
        Invitation.objects.filter(customer__in={c.pk for c in customers})
        .exclude(status=S.SUPPRESSED)
        .values("customer_id")
        .annotate(last=Max("created_at"), **windows)
    )
    found = {row["customer_id"]: row for row in sent}
    histories, midnights = {}, dict[str, datetime]()  # customers share a few time zones
    for customer in customers:
        row, cap = found.get(customer.pk, {}), caps.get(customer.tier)
        if (local_midnight := midnights.get(customer.time_zone)) is None:
            local_midnight = now.astimezone(ZoneInfo(customer.time_zone)).replace(
                hour=0, minute=0, second=0, microsecond=0
            )
            midnights[customer.time_zone] = local_midnight
        last = row.get("last")
        histories[customer.pk] = {
            "last_surveyed_at": last,
            "surveyed_today": last is not None and last >= local_midnight,
            "recent_surveys": row.get(f"in_{cap.days}", 0) if cap else 0,
            "tier_cap": cap,
        }
    return histories


def _history_add(history: dict[str, Any], now: datetime) -> None:
    """Count an invitation just planned, as the next interaction of the customer will see it."""
    history["last_surveyed_at"] = now
    history["surveyed_today"] = True
    if history["tier_cap"] is not None:
        history["recent_surveys"] += 1


def invitation_plan_verification(*, interaction: Interaction, survey: Survey) -> Invitation:
    """Ask again after a resolved case: opt-out and quiet hours apply, fatigue rules do not
    (the contact budget does, when it is sent: invitations_admit)."""
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


SEND_BATCH = 500  # invitations per send task: one claim, the calls in a pool, records per round
SEND_CONCURRENCY = 64  # gateway calls in flight per send task (http.POOL_SIZE keeps them)


def invitation_enqueue(*, invitation_ids: list[int]) -> None:
    """Queue first sends after commit, SEND_BATCH to a task; a lost task's invitations are
    found again by invitations_dispatch_due."""
    Invitation.objects.filter(pk__among=invitation_ids).update(enqueued_at=timezone.now())
    for start in range(0, len(invitation_ids), SEND_BATCH):
        task_queue("surveys.tasks.send_invitations", invitation_ids[start : start + SEND_BATCH])


DISPATCH_BUDGET_SECONDS = 5.0  # one dispatch run queues for at most this long


def invitations_dispatch_due(
    *, limit: int = 1000, budget_seconds: float = DISPATCH_BUDGET_SECONDS
) -> int:
    """Queue due invitations never queued (or queued long ago and lost), `limit` at a time
    until none is left or `budget_seconds` have passed, so a backlog is handed to the
    workers at their pace, not a thousand per beat tick; then queue the retries of sends a
    dead worker left. Safe to run twice, also at once."""
    now = timezone.now()
    pending = Q(enqueued_at__isnull=True)
    # Queued long ago and still scheduled: its task was lost, unless tasks still wait in
    # the queue (it may be one of them; queueing it again under overload is a retry storm).
    if queue_waiting("surveys.tasks.send_invitations") == 0:
        pending |= Q(enqueued_at__lt=now - timedelta(seconds=settings.NPS_SEND_STUCK_SECONDS))
    due = Invitation.objects.filter(status=S.SCHEDULED, send_at__lte=now)
    if (waiting := _waiting_for_templates(due)) is not None:
        due = due.exclude(waiting)
    queued, started = 0, time.monotonic()
    while True:
        with transaction.atomic():
            ids = list(
                # Skip rows another dispatcher holds: two beats never queue one invitation twice.
                due.select_for_update(skip_locked=True, of=("self",))
                .filter(pending)
                .order_by("send_at")
                .values_list("pk", flat=True)[:limit]
            )
            invitation_enqueue(invitation_ids=ids)  # queued as these rows commit
        queued += len(ids)
        if len(ids) < limit or time.monotonic() - started >= budget_seconds:
            break
    # Sending again is safe where the gateway keeps our reference as an idempotency key.
    stuck = sends_stuck(INVITATIONS, limit=limit)
    for pk, attempts in stuck:
        invitation_retry_enqueue(invitation_id=pk, attempt=attempts + 1)
    return queued + len(stuck)


def _waiting_for_templates(due: QuerySet[Invitation]) -> Q | None:
    """The due invitations that wait because the active gateway lacks an approved template
    their survey needs (surveys.gatewaytemplates): they stay scheduled, unclaimed, and go
    once staff add the template. Logged once per run, as an error: sending has stopped."""
    try:
        waiting = sends_waiting(gateway_first())
    except LookupError:  # no sending gateway: the sends themselves say so
        return None
    if not waiting.lacking:
        return None
    held = Q()
    for survey_id, languages in waiting.languages_by_survey().items():
        held |= Q(survey_id=survey_id, customer__language__in=languages)
    counts = due.filter(held).values_list("survey_id", "customer__language").annotate(n=Count("pk"))
    pairs = {(survey_id, language): n for survey_id, language, n in counts}
    if pairs:
        log.error(
            "%s due invitations wait for approved templates: %s",
            sum(pairs.values()),
            "; ".join(str(missing) for missing in waiting.missing(pairs)),
        )
    return held


def invitation_retry_enqueue(
    *, invitation_id: int, attempt: int, eta: datetime | None = None
) -> None:
    task_queue("surveys.tasks.send_invitation", invitation_id, attempt, after_commit=False, eta=eta)


def _quiet_until(invitation: Invitation) -> datetime | None:
    now, survey = timezone.now(), invitation.asked_survey
    allowed = next_allowed_send(
        now,
        tz=invitation.customer.time_zone,
        quiet_start=survey.quiet_start,
        quiet_end=survey.quiet_end,
    )
    return allowed if allowed > now else None


def _survey_sms(invitation: Invitation, gateway: Gateway) -> Composed:
    """The survey's text in the customer's language, chosen (and kept: SURVEY_SMS.kept,
    written by the kit for the batch) when it is sent.

    A survey delivered by link gets the invitation's one link here (surveys.links: the
    same link on a retry); the text kept on the invitation shows it without its token."""
    survey, customer = invitation.asked_survey, invitation.customer
    if survey.delivery != Delivery.LINK:
        text, language = survey_text(survey=survey, customer=customer)
        kept, kind, values = text, SURVEY_TEMPLATE, {}
    else:
        _, token = link_create(invitation=invitation)
        url = link_url(token)
        text, language = survey_link_text(survey=survey, customer=customer, url=url)
        kept, kind, values = text.replace(token, "…"), SURVEY_LINK_TEMPLATE, {"link": url}
    invitation.text, invitation.language, invitation.gateway = kept, language, gateway.slug
    return Composed(text, kind, language, values)


# Every survey we send is a contact we initiate: verification and campaign surveys too.
CONTACT_KINDS = {
    Purpose.SURVEY: ContactKind.SURVEY,
    Purpose.VERIFICATION: ContactKind.VERIFICATION,
    Purpose.CAMPAIGN: ContactKind.CAMPAIGN_SURVEY,
}


def invitations_admit(invitations: list[Invitation]) -> set[int]:
    """Claimed invitations take their contact (surveys.pressure) as they are sent: the pks
    allowed; the others are suppressed with the reason (the contact budget, or an opt-out
    or open case that came after planning).

    The budget is absolute for what we initiate, so a verification survey is refused like
    any other (only callbacks are owed), and so is a survey while another case of the
    customer is open. One contacts_take for the batch; a customer with two invitations in
    it gets them decided one after the other (one more take each). The contact stays
    taken if the gateway then fails the send (the budget errs on the quiet side).
    """
    admitted: set[int] = set()
    refused: dict[str, list[int]] = defaultdict(list)
    waiting = invitations
    while waiting:
        first: dict[int, Invitation] = {}
        later: list[Invitation] = []
        for invitation in waiting:
            if invitation.customer_id in first:
                later.append(invitation)
            else:
                first[invitation.customer_id] = invitation
        decisions = contacts_take(
            items=[
                (customer_id, CONTACT_KINDS[Purpose(inv.purpose)], f"invitation:{inv.pk}")
                for customer_id, inv in first.items()
            ]
        )
        for customer_id, invitation in first.items():
            if (reason := decisions[customer_id]) is None:
                admitted.add(invitation.pk)
            else:
                refused[reason].append(invitation.pk)
        waiting = later
    for reason, pks in refused.items():
        statuses_advance(
            INVITATIONS,
            Invitation.objects.filter(pk__among=pks),
            to=S.SUPPRESSED,
            suppressed_reason=reason,
        )
    return admitted


SURVEY_SMS = SendSpec[Invitation](
    INVITATIONS,
    compose=_survey_sms,
    admit=invitations_admit,
    kept=("text", "language", "gateway"),
)


def invitation_send(*, invitation_id: int, attempt: int = 1) -> SendOutcome:
    """Send one invitation's SMS: at most once per attempt, never in quiet hours, never
    beyond the customer's contact budget (taken with the claim: invitations_admit)."""
    invitation = (
        Invitation.objects.select_related("customer", "survey").filter(pk=invitation_id).first()
    )
    if invitation is None:  # a task outlived its row (deleted, or a stale queue): nothing to do
        return SendOutcome("gone")
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
    if not may_message(invitation.customer, invitation.purpose):
        stopped = send_stop(
            INVITATIONS,
            pk=invitation_id,
            attempt=attempt,
            to=S.SUPPRESSED,
            suppressed_reason=SuppressReason.OPTED_OUT,
        )
        return SendOutcome("suppressed" if stopped else "taken")
    gateway = gateway_first(SURVEY_SMS.preferred(invitation) if SURVEY_SMS.preferred else "")
    if missing := invitation_waits(
        gateway, survey=invitation.asked_survey, customer=invitation.customer
    ):
        # Unclaimed: a first attempt goes back to the dispatcher, which holds it while
        # the template is missing; a retry is found again by the stuck-send sweep.
        log.warning("invitation %s waits: %s", invitation_id, "; ".join(map(str, missing)))
        if attempt == 1:
            Invitation.objects.filter(pk=invitation_id, status=S.SCHEDULED).update(enqueued_at=None)
        return SendOutcome("deferred")
    return send_once(SURVEY_SMS, invitation, attempt=attempt)


def invitations_send(*, invitation_ids: list[int]) -> list[str]:
    """First attempts for many invitations, sent together through the kit (send_many):
    each stopped first as invitation_send would stop it (gone, taken, quiet hours,
    opted out); a retry goes on as its own task. Outcomes in id order."""
    rows = (
        Invitation.objects.select_related("customer")
        # The batch's surveys and their texts read once, each survey one object for all
        # its invitations (select_related would build one per invitation).
        .prefetch_related("survey__texts")
        .filter(pk__among=invitation_ids)
    )
    invitations = sorted(rows, key=lambda invitation: invitation.pk)
    outcomes: dict[int, SendOutcome] = {}
    sendable: list[Invitation] = []
    gateway = gateway_first()  # whether templates are missing, as invitation_send asks
    for invitation in invitations:
        if invitation.status != S.SCHEDULED:  # a first attempt: claimed or ended already
            outcomes[invitation.pk] = SendOutcome("taken")
        elif quiet_until := _quiet_until(invitation):
            Invitation.objects.filter(pk=invitation.pk, status=S.SCHEDULED).update(
                send_at=quiet_until, enqueued_at=None
            )
            outcomes[invitation.pk] = SendOutcome("deferred")
        elif not may_message(invitation.customer, invitation.purpose):
            stopped = send_stop(
                INVITATIONS,
                pk=invitation.pk,
                attempt=1,
                to=S.SUPPRESSED,
                suppressed_reason=SuppressReason.OPTED_OUT,
            )
            outcomes[invitation.pk] = SendOutcome("suppressed" if stopped else "taken")
        elif missing := invitation_waits(
            gateway, survey=invitation.asked_survey, customer=invitation.customer
        ):
            # Unclaimed, back to the dispatcher, which holds it while the template is missing.
            log.warning("invitation %s waits: %s", invitation.pk, "; ".join(map(str, missing)))
            Invitation.objects.filter(pk=invitation.pk, status=S.SCHEDULED).update(enqueued_at=None)
            outcomes[invitation.pk] = SendOutcome("deferred")
        else:
            sendable.append(invitation)
    sent = send_many(SURVEY_SMS, sendable, concurrency=SEND_CONCURRENCY)
    for invitation, outcome in zip(sendable, sent, strict=True):
        outcomes[invitation.pk] = outcome
        if outcome.outcome == "retry":
            invitation_retry_enqueue(
                invitation_id=invitation.pk, attempt=outcome.next_attempt, eta=outcome.retry_at
            )
    return [outcomes[invitation.pk].outcome for invitation in invitations]


def invitations_expire() -> int:
    """Close invitations whose reply window has passed."""
    past = Invitation.objects.filter(expires_at__lt=timezone.now())
    return statuses_advance(INVITATIONS, past, to=S.EXPIRED)
