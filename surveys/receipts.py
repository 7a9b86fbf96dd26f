"""Delivery receipts: stored raw once, then applied so that status only moves forward."""

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db import transaction
from django.utils import timezone

from surveys.gateways.base import StatusReport
from surveys.models import DeliveryReceipt, Invitation, OutboundMessage
from surveys.relay import batch_process
from surveys.sendstatus import (
    FAILED,
    SENDING,
    TABLES,
    StatusTable,
    referenced,
    send_facts,
    status_advance,
    table_of,
)
from surveys.storeonce import insert_once

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class StoredReceipt:
    receipt: DeliveryReceipt
    created: bool


def receipt_store(*, gateway: str, report: StatusReport) -> StoredReceipt:
    """Keep the receipt once per (message, status); the outbox relay queues it."""
    pk = insert_once(
        DeliveryReceipt,
        conflict=("gateway", "provider_message_id", "status"),
        gateway=gateway,
        provider_message_id=report.provider_message_id,
        status=report.status,
        reference=report.reference,
        error=report.error,
        payload=report.raw,
        received_at=timezone.now(),
        outcome="",
    )
    if pk is None:
        existing = DeliveryReceipt.objects.get(
            gateway=gateway, provider_message_id=report.provider_message_id, status=report.status
        )
        return StoredReceipt(existing, created=False)
    receipt = DeliveryReceipt(
        pk=pk, gateway=gateway, provider_message_id=report.provider_message_id
    )
    receipt._state.adding = False  # stored above; built here to save a read-back
    return StoredReceipt(receipt, created=True)


def receipt_match(receipt: DeliveryReceipt) -> Invitation | OutboundMessage | None:
    """The send a receipt reports on (receipts_match for one)."""
    return receipts_match([receipt]).get(receipt.pk)


def receipts_match(
    receipts: list[DeliveryReceipt],
) -> dict[int, Invitation | OutboundMessage]:
    """The send each receipt reports on, one rule for every kind of SMS and every gateway:
    the gateway's message id (recorded on every send when the gateway answers), then our
    reference where the gateway echoes one (it may report before our record exists).
    A query per kind of SMS for the ids, and per kind for the references left."""
    found: dict[int, Invitation | OutboundMessage] = {}
    for table in TABLES:
        wanted = [r for r in receipts if r.pk not in found]
        if not wanted:
            break
        sends: dict[tuple[str, str], Invitation | OutboundMessage] = {}
        rows = table.model.objects.filter(
            gateway__in={r.gateway for r in wanted},
            provider_message_id__in={r.provider_message_id for r in wanted},
        ).order_by("pk")
        for row in rows:
            sends.setdefault((row.gateway, row.provider_message_id), row)
        for receipt in wanted:
            if (match := sends.get((receipt.gateway, receipt.provider_message_id))) is not None:
                found[receipt.pk] = match
    by_reference: dict[int, tuple[StatusTable, int]] = {}
    for receipt in receipts:
        if receipt.pk not in found and (named := referenced(receipt.reference)) is not None:
            by_reference[receipt.pk] = named
    for table in TABLES:
        pks = {pk for t, pk in by_reference.values() if t is table}
        if not pks:
            continue
        rows_by_pk = {sent.pk: sent for sent in table.model.objects.filter(pk__in=pks)}
        for receipt_pk, (t, pk) in by_reference.items():
            if t is table and pk in rows_by_pk:
                found[receipt_pk] = rows_by_pk[pk]
    return found


def receipt_apply(*, receipt_id: int) -> str:
    """Apply one receipt once; 'unmatched' stays pending until our record of the send
    exists, and recording a send applies its waiting receipts (receipts_waiting_apply)."""
    return _receipts_chunk([receipt_id]).get(receipt_id) or DeliveryReceipt.objects.values_list(
        "outcome", flat=True
    ).get(pk=receipt_id)


def _receipts_chunk(ids: list[int]) -> dict[int, str]:
    """Apply receipts in one transaction, in arrival order: the sends matched together,
    each advanced by its own conditional update, the receipts marked in one statement."""
    outcomes: dict[int, str] = {}
    with transaction.atomic():
        receipts = list(
            DeliveryReceipt.objects.select_for_update()
            .filter(pk__in=ids, processed_at__isnull=True)
            .order_by("pk")
        )
        sends, now, done = receipts_match(receipts), timezone.now(), []
        # The sends' locks in id order, kind by kind, before any is moved: recording a
        # batch of sends takes them in the same order, so the two never deadlock.
        for table in TABLES:
            pks = sorted({s.pk for s in sends.values() if isinstance(s, table.model)})
            if pks:
                list(
                    table.model.objects.select_for_update()
                    .filter(pk__in=pks)
                    .order_by("pk")
                    .values("pk")
                )
        for receipt in receipts:
            sent = sends.get(receipt.pk)
            if sent is None:
                outcomes[receipt.pk] = "unmatched"
                continue
            moved = _receipt_advance(sent, receipt, now)
            if moved:  # the next receipt for the same send sees where this one left it
                sent.status = receipt.status
            receipt.processed_at, receipt.outcome = now, "applied" if moved else "ignored"
            outcomes[receipt.pk] = receipt.outcome
            done.append(receipt)
        DeliveryReceipt.objects.bulk_update(done, ["processed_at", "outcome"])
    return outcomes


def _receipt_advance(
    sent: Invitation | OutboundMessage, receipt: DeliveryReceipt, now: datetime
) -> bool:
    """Move the send to the receipt's status, if forward, for surveys and messages alike."""
    fields: dict[str, object] = {}
    if receipt.status == FAILED:
        fields["failure_reason"] = f"receipt: {receipt.error or 'failed'}"
    elif sent.status == SENDING:
        # The receipt overtook our own record of the send, which may never come (the
        # worker died after the gateway accepted): record the send's facts here, or a
        # survey would have no reply window and its answer would find no survey.
        # Our own record, if it comes, writes the same facts again.
        fields |= send_facts(
            sent, gateway=receipt.gateway, provider_message_id=receipt.provider_message_id, at=now
        )
    return status_advance(table_of(sent), pk=sent.pk, to=receipt.status, **fields)


def receipts_waiting_apply(*, gateway: str, provider_message_ids: list[str]) -> list[str]:
    """Apply the receipts that overtook our record of these sends, as soon as it is recorded.

    Called right after the sends' facts are committed: a receipt stored before then found
    nothing to match and would otherwise wait for the relay's requeue interval; one
    stored after then matches on its first pass. The row lock in receipts_apply makes a
    concurrent relay pass and this call apply each receipt once.
    """
    waiting = DeliveryReceipt.objects.filter(
        gateway=gateway, provider_message_id__in=provider_message_ids, processed_at__isnull=True
    ).order_by("pk")
    ids = list(waiting.values_list("pk", flat=True))
    return receipts_apply(receipt_ids=ids) if ids else []


def receipts_apply(*, receipt_ids: list[int]) -> list[str]:
    """Apply a relayed batch in arrival order, a chunk per transaction (surveys.relay)."""
    return batch_process(DeliveryReceipt, receipt_ids, _receipts_chunk)


def receipts_expire(*, give_up_after: timedelta = timedelta(hours=1)) -> int:
    """Close receipts that matched no send for too long (sent by another system, say)."""
    now = timezone.now()
    return DeliveryReceipt.objects.filter(
        processed_at__isnull=True, received_at__lt=now - give_up_after
    ).update(processed_at=now, outcome="unmatched")
