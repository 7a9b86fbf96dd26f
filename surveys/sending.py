"""The sending kit, one for surveys and conversation SMS: claim, call the gateway outside
any transaction, record the send, or fail and back off. At most one SMS per attempt.

A kind of SMS brings a `SendSpec`: its status table (model, reference prefix, forward-only
statuses, surveys/sendstatus.py) and how to build its text for the gateway. What may stop a
send before the claim (quiet hours, opt-out) stays with the kind (dispatch, conversation);
what must be decided with the claim, in its transaction, is the spec's `admit` (a survey
takes a contact from the customer's budget).
"""

import logging
import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from itertools import islice
from typing import Any, Generic, TypeVar, cast

from django.conf import settings
from django.db import OperationalError, transaction
from django.db.models import F
from django.utils import timezone

from surveys.gateways.base import Composed, Gateway, GatewayError, SendResult, TemplateCall
from surveys.gateways.inflight import Flight
from surveys.gateways.routing import (
    gateway_for_sending,
    send_observed,
    send_permit,
    send_permits,
    sends_observed,
)
from surveys.gatewaytemplates import template_call
from surveys.models import Invitation, OutboundMessage
from surveys.phones import mask_phone
from surveys.receipts import receipts_waiting_apply
from surveys.rowsupdate import rows_update
from surveys.sendcost import Charge, Tariff, sms_charge, tariff_read
from surveys.sendstatus import (
    FAILED,
    SENDING,
    SENT,
    StatusTable,
    send_facts,
    status_advance,
    statuses_advance,
    statuses_advance_with,
)

log = logging.getLogger(__name__)

RECORD_ATTEMPTS = 3  # tries to write the record of sends the gateway accepted
RECORD_GATHER = 0.05  # seconds a batch's round of answers waits for more before its record

Sendable = TypeVar("Sendable", Invitation, OutboundMessage)


@dataclass(frozen=True)
class SendOutcome:
    outcome: str  # sent | failed | retry | deferred | suppressed | taken | gone | error
    retry_at: datetime | None = None  # for "retry": when to run again ...
    next_attempt: int = 0  # ... and as which attempt


@dataclass(frozen=True)
class SendSpec(Generic[Sendable]):
    table: StatusTable
    # What to send, once claimed; may record what it chose on the row (a survey's text
    # and language are picked at send time, a conversation message's when queued).
    compose: Callable[[Sendable, Gateway], Composed]
    # Which claimed first attempts may go: called with them in the claim's transaction,
    # it returns their pks and stops the others itself (a survey takes a contact from
    # the customer's budget, surveys.pressure). None: every claimed row goes.
    admit: Callable[[list[Sendable]], set[int]] | None = None
    # The gateway this row should go through when it can (the one the customer answered
    # on); None or "": the sending gateway (surveys.gateways.routing).
    preferred: Callable[[Sendable], str] | None = None
    # Fields compose sets on the row (a survey's text, language and gateway), written
    # for a whole batch in one statement before its calls.
    kept: tuple[str, ...] = ()


@dataclass(frozen=True)
class _Call:
    """One gateway call, prepared in the calling thread (it reads the database)."""

    text: str
    template: TemplateCall | None
    charge: Charge  # what the SMS will cost, recorded with the send


# What a composed SMS comes to at one gateway: its template call and its charge. The rows
# of a batch mostly say the same (one survey, one language): worked out once per wording.
_Priced = tuple[TemplateCall | None, Charge]


def _call_prepare(
    spec: SendSpec[Sendable],
    row: Sendable,
    gateway: Gateway,
    tariff: Tariff,
    priced: dict[tuple[object, ...], _Priced] | None = None,
) -> _Call:
    """The row's text (spec.compose), for a template gateway its template, and its charge
    at the gateway's tariff (read once for all the rows: surveys.sendcost). `priced`: what
    earlier rows of the batch with the same SMS came to, filled here."""
    composed: Composed = spec.compose(row, gateway)
    key = (composed.text, composed.kind, composed.language, *sorted(composed.values.items()))
    found = priced.get(key) if priced is not None else None
    if found is None:
        found = (template_call(gateway, composed), sms_charge(tariff, composed))
        if priced is not None:
            priced[key] = found
    return _Call(composed.text, *found)


def _gateway_call(gateway: Gateway, *, to: str, call: _Call, reference: str) -> SendResult:
    """One call to the gateway, within its rate, what came of it kept for its circuit
    breaker (surveys.gateways.routing). Touches no database: batch sends run it in a pool."""
    send_permit(gateway.slug)
    try:
        result = gateway.send(to=to, text=call.text, reference=reference, template=call.template)
    except GatewayError as exc:
        send_observed(gateway.slug, ok=exc.permanent)  # a refused number is no outage
        raise
    send_observed(gateway.slug, ok=True)
    return result


def backoff_seconds(attempt: int, *, base: float = 30.0, cap: float = 1800.0) -> float:
    """Capped exponential backoff with full jitter."""
    return random.uniform(0, min(cap, base * 2 ** (attempt - 1)))  # noqa: S311 (jitter, not crypto)


def send_claim(table: StatusTable, *, pk: int, attempt: int) -> bool:
    """Take the row for this attempt; a redelivered or duplicate task finds it taken.

    Attempt 1 moves it to sending (from scheduled or queued); attempt n re-takes a sending
    row whose counter still says n-1. One row updated means this call, and only this one,
    sends. The claim commits before the gateway is called.
    """
    now = timezone.now()
    if attempt == 1:
        return status_advance(table, pk=pk, to=SENDING, claimed_at=now, attempts=F("attempts") + 1)
    rows = table.model.objects.filter(pk=pk, status=SENDING, attempts=attempt - 1).update(
        claimed_at=now, attempts=F("attempts") + 1
    )
    return rows == 1


def send_stop(table: StatusTable, *, pk: int, attempt: int, to: str, **fields: Any) -> bool:
    """Stop a send before it is made (the customer opted out): attempt 1 only while no
    one has claimed it, a retry only while the row still waits for this attempt (a send
    a dead worker left), so a send in flight is never stopped under its worker."""
    rows = table.model.objects.filter(pk=pk)
    rows = rows.filter(attempts=attempt - 1) if attempt > 1 else rows.exclude(status=SENDING)
    return statuses_advance(table, rows, to=to, **fields) == 1


def send_once(spec: SendSpec[Sendable], row: Sendable, *, attempt: int) -> SendOutcome:
    """Claim, send through the sending gateway, record or fail: at most once per attempt."""
    with transaction.atomic():  # the claim and the kind's admission commit together
        if not send_claim(spec.table, pk=row.pk, attempt=attempt):
            return SendOutcome("taken")
        if spec.admit is not None and attempt == 1 and row.pk not in spec.admit([row]):
            return SendOutcome("suppressed")
    gateway = gateway_for_sending(spec.preferred(row) if spec.preferred else "")
    reference, phone = spec.table.reference(row.pk), row.customer.phone
    tariff = tariff_read(gateway)
    # No transaction is open here: the network call holds no lock and no transaction.
    try:
        prepared = _call_prepare(spec, row, gateway, tariff)
        _composed_keep(spec, [row])
        result = _gateway_call(gateway, to=phone, call=prepared, reference=reference)
    except GatewayError as exc:
        log.warning("send %s to %s failed: %s", reference, mask_phone(phone), exc)
        return send_failed(spec.table, pk=row.pk, attempt=attempt, error=exc)
    send_record(
        spec.table,
        row,
        gateway=gateway.slug,
        provider_message_id=result.provider_message_id,
        charge=prepared.charge,
    )
    return SendOutcome("sent")


def send_many(
    spec: SendSpec[Sendable], rows: Sequence[Sendable], *, concurrency: int = 8
) -> list[SendOutcome]:
    """send_once for many first attempts, the gateway called for up to `concurrency` at a
    time over the process's pooled connections: the claims are one statement (and the
    kind's admission one call for the batch), the texts and records are written here in
    this thread, only the network calls run in the pool (they touch no database).

    Each row keeps send_once's guarantee: claimed (committed) before its call, at most one
    SMS for the attempt, recorded or failed with backoff as soon as its call comes back.
    Outcomes in row order.
    """
    stopped: set[int] = set()
    with transaction.atomic():  # the claims and the kind's admission commit together
        claimed_pks = sends_claim(spec.table, pks=[row.pk for row in rows])
        if spec.admit is not None and claimed_pks:
            admitted = spec.admit([row for row in rows if row.pk in claimed_pks])
            claimed_pks, stopped = admitted, claimed_pks - admitted
    outcomes = {pk: SendOutcome("suppressed") for pk in stopped}
    # Each row's gateway (the one its customer answered on, or the sending gateway);
    # the rows of one gateway are called and recorded together.
    by_gateway: dict[str, tuple[Gateway, list[Sendable]]] = {}
    for row in rows:
        if row.pk in claimed_pks:
            gateway = gateway_for_sending(spec.preferred(row) if spec.preferred else "")
            by_gateway.setdefault(gateway.slug, (gateway, []))[1].append(row)
    for gateway, gateway_rows in by_gateway.values():
        outcomes |= _send_through(spec, gateway, gateway_rows, concurrency=concurrency)
    return [outcomes.get(row.pk, SendOutcome("taken")) for row in rows]


# One call of a batch: the row, its prepared call (or why it cannot be made), its
# reference and phone number.
_Item = tuple[Sendable, _Call | GatewayError, str, str]


def _send_through(
    spec: SendSpec[Sendable], gateway: Gateway, rows: list[Sendable], *, concurrency: int
) -> dict[int, SendOutcome]:
    """send_many's calls through one gateway, for rows claimed already: outcomes by pk."""
    calls: list[tuple[Sendable, _Call | GatewayError, str, str]] = []
    tariff = tariff_read(gateway)  # once for the batch: its price is the same for every row
    priced: dict[tuple[object, ...], _Priced] = {}
    for row in rows:
        try:
            prepared: _Call | GatewayError = _call_prepare(spec, row, gateway, tariff, priced)
        except GatewayError as exc:
            prepared = exc
        calls.append((row, prepared, spec.table.reference(row.pk), row.customer.phone))
    _composed_keep(spec, rows)
    outcomes: dict[int, SendOutcome] = {}
    if not calls:
        return outcomes

    def start(flight: Flight[_Item[Sendable]], items: list[_Item[Sendable]]) -> None:
        """Start these calls, each at its moment at the gateway's rate: one reservation
        for all (routing.send_permits); one that may not go within the wait allowed, or
        any when the rate cannot be kept, ends as a retryable failure without a call."""
        callable_items = [item for item in items if isinstance(item[1], _Call)]
        try:
            delays = iter(send_permits(gateway.slug, len(callable_items)))
        except GatewayError as exc:
            delays, items = iter([]), [(i[0], exc, i[2], i[3]) for i in items]
        for item in items:
            _, prepared, reference, phone = item
            if isinstance(prepared, GatewayError):
                flight.refuse(item, prepared)
            elif (delay := next(delays)) is None:
                flight.refuse(
                    item,
                    GatewayError(
                        f"gateway {gateway.slug}: at its rate this SMS would wait more than "
                        f"{settings.NPS_GATEWAY_RATE_MAX_WAIT:g} s; sent later"
                    ),
                )
            else:
                flight.start(
                    item,
                    delay=delay,
                    to=phone,
                    text=prepared.text,
                    reference=reference,
                    template=prepared.template,
                )

    # What has come back is recorded as it comes back (all that came back since the last
    # record, in one transaction), and a new call starts only for one recorded: at any
    # moment at most `concurrency` calls are in flight or answered and not yet recorded,
    # so a worker killed mid-batch leaves at most that many for the stuck-send sweep to
    # send again, not the batch. The answers of calls started together come back within
    # moments of each other: those that come within RECORD_GATHER of the first are
    # recorded with it, one transaction for the round instead of one for each answer
    # (and calls started a little apart fall into step: one round, not two).
    waiting = iter(calls)
    with Flight[_Item[Sendable]](gateway, concurrency=concurrency) as flight:
        start(flight, list(islice(waiting, concurrency)))
        while flight.pending:
            done = flight.answers(RECORD_GATHER)
            sent: list[Sent] = []
            observed: list[tuple[float, bool]] = []  # (when, ok) of each call made
            for (row, prepared, reference, phone), result, at in done:
                if isinstance(result, SendResult):
                    # Only a prepared call reached the gateway, so only one has a result.
                    sent.append((row, result.provider_message_id, cast(_Call, prepared).charge))
                    observed.append((at, True))
                    outcomes[row.pk] = SendOutcome("sent")
                elif isinstance(result, GatewayError):
                    if isinstance(prepared, _Call) and result is not prepared:
                        observed.append((at, result.permanent))  # a refused number: no outage
                    log.warning("send %s to %s failed: %s", reference, mask_phone(phone), result)
                    outcomes[row.pk] = send_failed(spec.table, pk=row.pk, attempt=1, error=result)
                else:
                    # As when send_once raises: the row stays claimed, and the stuck-send
                    # sweep retries it as attempt 2 (the others' outcomes are recorded).
                    log.error("send %s failed unexpectedly", reference, exc_info=result)
                    outcomes[row.pk] = SendOutcome("error")
            sends_observed(gateway.slug, [ok for _, ok in sorted(observed)])
            sends_record(spec.table, sent, gateway=gateway.slug)
            start(flight, list(islice(waiting, len(done))))
    return outcomes


def _composed_keep(spec: SendSpec[Sendable], rows: Sequence[Sendable]) -> None:
    """Write what compose chose on the rows (spec.kept) for all of them in one statement,
    before any of them is sent."""
    if spec.kept and rows:
        rows_update(
            spec.table.model, {row.pk: {f: getattr(row, f) for f in spec.kept} for row in rows}
        )


def sends_claim(table: StatusTable, *, pks: list[int]) -> set[int]:
    """send_claim for the first attempts of many rows: one update, then the rows it moved
    (their claim time is this call's own: a concurrent claim has another)."""
    now = timezone.now()
    rows = table.model.objects.filter(pk__among=pks)
    statuses_advance(table, rows, to=SENDING, claimed_at=now, attempts=F("attempts") + 1)
    return set(rows.filter(status=SENDING, claimed_at=now).values_list("pk", flat=True))


def send_record(
    table: StatusTable,
    row: Invitation | OutboundMessage,
    *,
    gateway: str,
    provider_message_id: str,
    charge: Charge,
) -> None:
    """Record one send (sends_record)."""
    sends_record(table, [(row, provider_message_id, charge)], gateway=gateway)


# A send the gateway took: the row, the gateway's message id, its segments and cost.
Sent = tuple[Invitation | OutboundMessage, str, Charge]


def sends_record(table: StatusTable, sent: Sequence[Sent], *, gateway: str) -> None:
    """Record sends, each (row, the gateway's message id, its charge), in one transaction,
    then apply the receipts that overtook these records. The charge (segments and cost,
    surveys.sendcost) is written by our record only: a receipt does not know the text.

    The facts are written whatever the status: a fast receipt may already have moved it
    past "sent", and the status must not go back (only the advance is conditional).
    Two statements however many rows: the lock, then the facts with the advance
    (sendstatus.statuses_advance_with: one new version of each row).
    """
    if not sent:
        return
    now = timezone.now()
    values: dict[int, dict[str, Any]] = {}
    for row, provider_message_id, charge in sent:
        facts = send_facts(row, gateway=gateway, provider_message_id=provider_message_id, at=now)
        facts |= {"failure_reason": "", "segments": charge.segments, "cost": charge.cost}
        for name, value in facts.items():
            setattr(row, name, value)
        values[row.pk] = facts
    pks = sorted(values)
    manager: Any = table.model.objects  # Invitation or OutboundMessage, as the rows
    for attempt in range(1, RECORD_ATTEMPTS + 1):
        try:
            with transaction.atomic():
                # Locks in id order, as receipts take them: two writers never wait in a circle.
                list(manager.select_for_update().filter(pk__among=pks).order_by("pk").values("pk"))
                statuses_advance_with(table, values, to=SENT)  # the facts, and sent
            break
        except OperationalError:
            # The SMS went: its record must be written, or the stuck-send sweep sends it
            # again. A lock timeout or a lost connection is worth another try.
            if attempt == RECORD_ATTEMPTS:
                raise
            log.warning("recording %s sends failed (attempt %s); again", len(values), attempt)
    receipts_waiting_apply(gateway=gateway, provider_message_ids=[pmid for _, pmid, _ in sent])


def send_failed(table: StatusTable, *, pk: int, attempt: int, error: GatewayError) -> SendOutcome:
    """A permanent error (4xx) or the last attempt ends in failed with the reason; any
    other error is retried as the next attempt after a jittered backoff."""
    reason = f"attempt {attempt}: {error}"[:1000]
    if error.permanent or attempt >= settings.NPS_SEND_MAX_ATTEMPTS:
        status_advance(table, pk=pk, to=FAILED, failure_reason=reason)
        return SendOutcome("failed")
    table.model.objects.filter(pk=pk).update(failure_reason=reason)
    retry_at = timezone.now() + timedelta(seconds=backoff_seconds(attempt))
    return SendOutcome("retry", retry_at=retry_at, next_attempt=attempt + 1)


def sends_stuck(table: StatusTable, *, limit: int) -> list[tuple[int, int]]:
    """(pk, attempts) of sends claimed long ago and never finished: the worker died
    between claim and outcome. Retried as attempt n+1; the claim lets one retry through."""
    stale = timezone.now() - timedelta(seconds=settings.NPS_SEND_STUCK_SECONDS)
    stuck = table.model.objects.filter(status=SENDING, claimed_at__lt=stale)
    return list(stuck.order_by("pk").values_list("pk", "attempts")[:limit])
