"""Delivery receipts: stored raw once, then applied so that status only moves forward."""

from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from surveys.gateways.base import StatusReport
from surveys.lifecycle import invitation_advance
from surveys.models import DeliveryReceipt, Invitation, OutboundMessage, OutboundStatus
from surveys.models import InvitationStatus as S


@dataclass(frozen=True)
class StoredReceipt:
    receipt: DeliveryReceipt
    created: bool


def receipt_store(*, gateway: str, report: StatusReport) -> StoredReceipt:
    """Keep the receipt once per (message, status) and queue it after commit."""
    from surveys import tasks

    try:
        with transaction.atomic():
            receipt = DeliveryReceipt.objects.create(
                gateway=gateway,
                provider_message_id=report.provider_message_id,
                status=report.status,
                reference=report.reference,
                error=report.error,
                payload=report.raw,
            )
    except IntegrityError:
        existing = DeliveryReceipt.objects.get(
            gateway=gateway, provider_message_id=report.provider_message_id, status=report.status
        )
        return StoredReceipt(existing, created=False)
    transaction.on_commit(lambda: tasks.apply_receipt.delay(receipt.pk), robust=True)
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
        if receipt.status == S.SENT and invitation.status == S.SENDING:
            fields["sent_at"] = now  # the receipt overtook our own record of the send
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


def receipts_sweep(*, limit: int = 1000, give_up_after: timedelta = timedelta(hours=1)) -> int:
    """Queue receipts never applied; close those that matched no send for too long."""
    from surveys import tasks

    now = timezone.now()
    DeliveryReceipt.objects.filter(
        processed_at__isnull=True, received_at__lt=now - give_up_after
    ).update(processed_at=now, outcome="unmatched")
    ids = list(
        DeliveryReceipt.objects.filter(
            processed_at__isnull=True,
            received_at__lt=now - timedelta(seconds=settings.NPS_SWEEP_GRACE_SECONDS),
        ).values_list("pk", flat=True)[:limit]
    )
    for pk in ids:
        tasks.apply_receipt.delay(pk)
    return len(ids)
