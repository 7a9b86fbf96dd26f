"""Delivery receipts: stored raw once, then applied so that status only moves forward."""

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.db import transaction
from django.utils import timezone

from surveys.gateways.base import StatusReport
from surveys.models import DeliveryReceipt, Invitation, OutboundMessage
from surveys.relay import batch_process, chunk_lock
from surveys.rowsupdate import objects_update
from surveys.sendstatus import (
    FAILED,
    SENDING,
    TABLES,
    StatusTable,
    referenced,
    send_facts,
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
    """Apply receipts in one transaction, in arrival order.

    The sends are matched together and locked in id order, kind by kind (recording a
    batch of sends takes them in the same order, so the two never deadlock); with their
    statuses read under the lock, each receipt's move is decided here by the table's
    forward-only rule, and the moves are written at the end: one update per kind and
    status for the plain ones, one per send that carries more (a failure's reason, the
    facts of a send whose own record has not come yet). The receipts are marked in one
    statement.
    """
    outcomes: dict[int, str] = {}
    with transaction.atomic():
        receipts = chunk_lock(DeliveryReceipt, ids)
        sends, now, done = receipts_match(receipts), timezone.now(), []
        for table in TABLES:
            mine = {s.pk: s for s in sends.values() if isinstance(s, table.model)}
            locked = table.model.objects.select_for_update().filter(pk__in=sorted(mine))
            for pk, status in locked.order_by("pk").values_list("pk", "status"):
                mine[pk].status = status
        changes: dict[tuple[str, int], dict[str, Any]] = {}
        for receipt in receipts:
            sent = sends.get(receipt.pk)
            if sent is None:
                outcomes[receipt.pk] = "unmatched"
                continue
            table = table_of(sent)
            moved = sent.status in table.sources.get(receipt.status, ())
            if moved:
                change = changes.setdefault((table.prefix, sent.pk), {})
                change |= _receipt_fields(sent, receipt, table, now)
                sent.status = change["status"] = receipt.status
            receipt.processed_at, receipt.outcome = now, "applied" if moved else "ignored"
            outcomes[receipt.pk] = receipt.outcome
            done.append(receipt)
        _changes_write(changes)
        objects_update(DeliveryReceipt, done, ["processed_at", "outcome"])
    return outcomes


def _receipt_fields(
    sent: Invitation | OutboundMessage, receipt: DeliveryReceipt, table: StatusTable, at: datetime
) -> dict[str, Any]:
    """What moving the send to the receipt's status writes besides the status."""
    fields: dict[str, Any] = {}
    if receipt.status in table.stamps:
        fields[table.stamps[receipt.status]] = at
    if receipt.status == FAILED:
        fields["failure_reason"] = f"receipt: {receipt.error or 'failed'}"
    elif sent.status == SENDING:
        # The receipt overtook our own record of the send, which may never come (the
        # worker died after the gateway accepted): record the send's facts here, or a
        # survey would have no reply window and its answer would find no survey.
        # Our own record, if it comes, writes the same facts again.
        fields |= send_facts(
            sent, gateway=receipt.gateway, provider_message_id=receipt.provider_message_id, at=at
        )
    return fields


def _changes_write(changes: dict[tuple[str, int], dict[str, Any]]) -> None:
    """The decided moves, per kind of SMS (its reference prefix) and send: sends with the
    same change together, one update each."""
    tables = {table.prefix: table for table in TABLES}
    same: dict[tuple[str, tuple[tuple[str, Any], ...]], list[int]] = {}
    for (prefix, pk), change in changes.items():
        if "provider_message_id" in change:  # a send's own facts: an update of its own
            tables[prefix].model.objects.filter(pk=pk).update(**change)
        else:
            same.setdefault((prefix, tuple(sorted(change.items()))), []).append(pk)
    for (prefix, key), pks in same.items():
        tables[prefix].model.objects.filter(pk__in=pks).update(**dict(key))


def receipts_waiting_apply(*, gateway: str, provider_message_ids: list[str]) -> list[str]:
    """Apply the receipts that overtook our record of these sends, as soon as it is recorded.

    Called right after the sends' facts are committed: a receipt the relay handed out
    before then found nothing to match and would otherwise wait for the relay's requeue
    interval. One the relay has not handed out yet is left to it: it matches on its first
    pass (taking it here made the sender apply most receipts, a batch of one or two at a
    time, in a record's round of a few sends). The row lock in receipts_apply makes a
    concurrent relay pass and this call apply each receipt once.
    """
    waiting = DeliveryReceipt.objects.filter(
        gateway=gateway,
        provider_message_id__among=provider_message_ids,
        processed_at__isnull=True,
        enqueued_at__isnull=False,
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
