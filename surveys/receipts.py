"""Delivery receipts: stored raw once, then applied so that status only moves forward."""

import logging
from dataclasses import dataclass
from datetime import timedelta

from django.db import transaction
from django.utils import timezone

from surveys.gateways.base import StatusReport
from surveys.inserts import insert_once
from surveys.lifecycle import invitation_advance, send_facts
from surveys.models import DeliveryReceipt, Invitation, OutboundMessage, OutboundStatus
from surveys.models import InvitationStatus as S

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


def _invitation_for(receipt: DeliveryReceipt) -> Invitation | None:
    if receipt.reference.startswith("inv-") and receipt.reference[4:].isdigit():
        return Invitation.objects.filter(pk=int(receipt.reference[4:])).first()
    return Invitation.objects.filter(
        gateway=receipt.gateway, provider_message_id=receipt.provider_message_id
    ).first()


def receipt_apply(*, receipt_id: int) -> str:
    """Apply one receipt once; 'unmatched' stays pending (our send may not be recorded yet)."""
    with transaction.atomic():
        receipt = DeliveryReceipt.objects.select_for_update().get(pk=receipt_id)
        if receipt.processed_at is not None:
            return receipt.outcome
        if receipt.reference.startswith("msg-"):
            return _conversation_receipt(receipt)
        invitation = _invitation_for(receipt)
        if invitation is None:
            return "unmatched"
        now = timezone.now()
        fields: dict[str, object] = {}
        if receipt.status == S.DELIVERED:
            fields["delivered_at"] = now
        elif receipt.status == S.FAILED:
            fields = {"failed_at": now, "failure_reason": f"receipt: {receipt.error or 'failed'}"}
        if receipt.status in (S.SENT, S.DELIVERED) and invitation.status == S.SENDING:
            # The receipt overtook our own record of the send, which may never come (the
            # worker died after the gateway accepted): record the send's facts here, or
            # the invitation would have no reply window and its answer would find no survey.
            # Our own record, if it comes, writes the same facts again.
            fields |= send_facts(
                invitation, provider_message_id=receipt.provider_message_id, at=now
            )
        moved = invitation_advance(invitation_id=invitation.pk, to=receipt.status, **fields)
        receipt.processed_at, receipt.outcome = now, "applied" if moved else "ignored"
        receipt.save(update_fields=["processed_at", "outcome"])
    return receipt.outcome


# A conversation message's status moves forward only, like an invitation's.
_MESSAGE_SOURCES = {
    OutboundStatus.SENT: [OutboundStatus.SENDING],
    OutboundStatus.DELIVERED: [OutboundStatus.SENDING, OutboundStatus.SENT],
    OutboundStatus.FAILED: [OutboundStatus.SENDING, OutboundStatus.SENT],
}


def _conversation_receipt(receipt: DeliveryReceipt) -> str:
    pk = receipt.reference[4:]
    moved = pk.isdigit() and OutboundMessage.objects.filter(
        pk=int(pk), status__in=_MESSAGE_SOURCES[receipt.status]
    ).update(status=receipt.status)
    receipt.processed_at, receipt.outcome = timezone.now(), "applied" if moved else "ignored"
    receipt.save(update_fields=["processed_at", "outcome"])
    return receipt.outcome


def receipts_apply(*, receipt_ids: list[int]) -> list[str]:
    """Apply a relayed batch; one bad row never blocks the others."""
    outcomes = []
    for pk in receipt_ids:
        try:
            outcomes.append(receipt_apply(receipt_id=pk))
        except Exception:  # the row stays unprocessed and is relayed again later
            log.exception("receipt %s failed; it will be retried", pk)
            outcomes.append("error")
    return outcomes


def receipts_expire(*, give_up_after: timedelta = timedelta(hours=1)) -> int:
    """Close receipts that matched no send for too long (sent by another system, say)."""
    now = timezone.now()
    return DeliveryReceipt.objects.filter(
        processed_at__isnull=True, received_at__lt=now - give_up_after
    ).update(processed_at=now, outcome="unmatched")
