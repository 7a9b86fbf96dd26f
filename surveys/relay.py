"""The outbox relay: stored replies and receipts go to the workers in batches.

Webhooks only insert a row (one statement) and answer; the unprocessed rows are the
outbox. Every NPS_RELAY_INTERVAL seconds this relay claims the rows nobody has queued
(or queued long ago and lost), marks them, and publishes one task per batch after
commit. Publishing once per batch instead of once per request is what keeps ingest
close to a bare insert; a batch is processed in arrival order, one transaction per row.
"""

from collections.abc import Callable
from datetime import timedelta

from django.conf import settings
from django.db import models, transaction
from django.db.models import Q
from django.utils import timezone

from surveys.models import DeliveryReceipt, InboundMessage


def _claim(model: type[models.Model], limit: int) -> list[int]:
    """Mark up to `limit` pending rows as queued; a concurrent relay skips locked rows."""
    stale = timezone.now() - timedelta(seconds=settings.NPS_RELAY_REQUEUE_SECONDS)
    ids = list(
        model._default_manager.select_for_update(skip_locked=True)
        .filter(processed_at__isnull=True)
        .filter(Q(enqueued_at__isnull=True) | Q(enqueued_at__lt=stale))
        .order_by("pk")
        .values_list("pk", flat=True)[:limit]
    )
    if ids:
        model._default_manager.filter(pk__in=ids).update(enqueued_at=timezone.now())
    return ids


def _relay(model: type[models.Model], publish: Callable[[list[int]], object], limit: int) -> int:
    with transaction.atomic():
        ids = _claim(model, limit)
        if ids:
            # If the broker is down the claim still commits; after the requeue window the
            # rows are claimed again, so nothing stored is ever lost.
            transaction.on_commit(lambda: publish(ids), robust=True)
    return len(ids)


def outbox_relay(*, batch: int = 200, batches: int = 20) -> int:
    """Queue every pending reply and receipt, a batch per task; safe to run twice at once."""
    from surveys import tasks

    relayed = 0
    for model, task in (
        (InboundMessage, tasks.process_replies),
        (DeliveryReceipt, tasks.apply_receipts),
    ):
        for _ in range(batches):
            count = _relay(model, task.delay, batch)
            relayed += count
            if count < batch:
                break
    return relayed
