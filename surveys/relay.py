"""The outbox relay: stored replies and receipts go to the workers in batches.

Webhooks only insert a row (one statement) and answer; the unprocessed rows are the
outbox. Every NPS_RELAY_INTERVAL seconds this relay claims the rows nobody has queued,
marks them (`enqueued_at`), and publishes one task per batch after commit. Publishing once
per batch instead of once per request is what keeps ingest close to a bare insert; a
batch is processed in arrival order, one transaction per row.

`enqueued_at` is also a lease. A worker renews it when it starts a batch and every
LEASE_RENEW_FRACTION of NPS_RELAY_REQUEUE_SECONDS while it works through it
(`batch_process`), so a row is handed out again only when its lease has run out **and**
the queue its task went to is empty: the worker is gone and no task is waiting for it (a
broker that lost the task). Under overload, batches waiting in the queue are not handed
out a second time: the backlog drains once.

Under overload the relay also hands out whole batches only. While tasks already wait in
the queue, a worker would not reach a part batch before the next relay run anyway, so the
rows of a part batch stay in the outbox until they fill a batch or the oldest of them has
waited HOLD_INTERVALS relay intervals: a backlog is worked off in full batches (as a
backlog stored while no worker ran is), not in the small ones each relay run found. With
an empty queue every row goes out at once, so a reply's wait is unchanged when the
workers keep up. A relay run that waited in the queue longer than one interval is not run
at all (`expires` in the beat schedule, nps/settings.py): the next one does its work.
"""

import logging
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import TypeVar

from django.conf import settings
from django.db import models, transaction
from django.db.models import Q
from django.utils import timezone

from surveys.models import DeliveryReceipt, InboundMessage
from surveys.queue import queue_waiting, task_queue

log = logging.getLogger(__name__)

LEASE_RENEW_FRACTION = 0.25
CHUNK = 50  # rows per transaction of a batch
HOLD_INTERVALS = 2  # the longest a part batch is held back while tasks wait in the queue


def _claim(
    model: type[models.Model], limit: int, *, expired_too: bool, whole_only: bool = False
) -> list[int]:
    """Mark up to `limit` pending rows as queued; a concurrent relay skips locked rows.

    Rows never queued always; rows whose lease expired only when `expired_too`. With
    `whole_only`, fewer than `limit` rows are left pending (nothing is marked) unless the
    oldest of them has waited HOLD_INTERVALS relay intervals."""
    pending = Q(enqueued_at__isnull=True)
    if expired_too:
        expired = timezone.now() - timedelta(seconds=settings.NPS_RELAY_REQUEUE_SECONDS)
        pending |= Q(enqueued_at__lt=expired)
    rows = list(
        model._default_manager.select_for_update(skip_locked=True)
        .filter(processed_at__isnull=True)
        .filter(pending)
        .order_by("pk")
        .values_list("pk", "received_at")[:limit]
    )
    if whole_only and 0 < len(rows) < limit:
        held_until = min(received for _, received in rows) + timedelta(
            seconds=settings.NPS_RELAY_INTERVAL * HOLD_INTERVALS
        )
        if timezone.now() < held_until:
            return []
    ids = [pk for pk, _ in rows]
    if ids:
        model._default_manager.filter(pk__in=ids).update(enqueued_at=timezone.now())
    return ids


def _relay(
    model: type[models.Model],
    task_name: str,
    limit: int,
    *,
    expired_too: bool,
    whole_only: bool = False,
) -> int:
    with transaction.atomic():
        ids = _claim(model, limit, expired_too=expired_too, whole_only=whole_only)
        if ids:
            # If the broker is down the claim still commits; after the requeue window the
            # rows are claimed again, so nothing stored is ever lost.
            task_queue(task_name, ids)
    return len(ids)


def outbox_relay(*, batch: int = 200, batches: int = 20) -> int:
    """Queue every pending reply and receipt, a batch per task; safe to run twice at once."""
    relayed = 0
    for model, task_name in (
        (InboundMessage, "surveys.tasks.process_replies"),
        (DeliveryReceipt, "surveys.tasks.apply_receipts"),
    ):
        # Expired leases count only when nothing waits in the queue: else their task may
        # be one of those waiting, and handing the rows out again is a retry storm. While
        # tasks wait, only whole batches go out (see above).
        waiting = queue_waiting(task_name)
        expired_too, whole_only = waiting == 0, bool(waiting)
        for _ in range(batches):
            count = _relay(model, task_name, batch, expired_too=expired_too, whole_only=whole_only)
            relayed += count
            if count < batch:
                break
    return relayed


def outbox_oldest_unrelayed(model: type[models.Model]) -> datetime | None:
    """When the oldest stored row nobody has queued yet arrived (None: none waits): the
    relay's lag. Read from the partial index of unprocessed rows, so it stays cheap however
    large the table grows (health checks and metrics ask every few seconds)."""
    rows = model._default_manager.filter(processed_at__isnull=True, enqueued_at__isnull=True)
    return rows.order_by("received_at").values_list("received_at", flat=True).first()


def outbox_oldest_unprocessed(model: type[models.Model]) -> datetime | None:
    """When the oldest row not processed yet arrived, queued or not (None: all done)."""
    rows = model._default_manager.filter(processed_at__isnull=True)
    return rows.order_by("received_at").values_list("received_at", flat=True).first()


def lease_renew(model: type[models.Model], ids: list[int]) -> None:
    """The worker holds these rows: their lease starts again now.

    Rows another transaction has locked are being processed right now and are skipped:
    a plain UPDATE would lock the rest in the table's physical order, and waiting so
    against a chunk that locks in id order can deadlock."""
    with transaction.atomic():
        rows = model._default_manager.filter(pk__in=ids, processed_at__isnull=True)
        free = list(
            rows.select_for_update(skip_locked=True).order_by("pk").values_list("pk", flat=True)
        )
        model._default_manager.filter(pk__in=free).update(enqueued_at=timezone.now())


Row = TypeVar("Row", bound=models.Model)


def chunk_lock(model: type[Row], ids: list[int]) -> list[Row]:
    """A chunk's rows not processed yet, locked in id order (inside its transaction): a
    duplicate task waits, then finds them processed; two chunks never wait in a circle."""
    rows = model._default_manager.select_for_update().filter(pk__in=ids, processed_at__isnull=True)
    return list(rows.order_by("pk"))


def batch_process(
    model: type[models.Model],
    ids: list[int],
    process: Callable[[list[int]], dict[int, str]],
    *,
    chunk: int = CHUNK,
) -> list[str]:
    """Process a relayed batch in arrival order, `chunk` rows per call of `process` (one
    transaction each, returning an outcome per row it processed), holding the batch's lease:
    renewed at the start and, between chunks, once LEASE_RENEW_FRACTION of the requeue
    window has passed. A chunk that fails is processed again one row at a time, so one bad
    row never blocks the others: it stays unprocessed and is handed out again once its
    lease expires. Outcomes in the order of `ids` ("error" for a row that failed)."""
    every = timedelta(seconds=settings.NPS_RELAY_REQUEUE_SECONDS * LEASE_RENEW_FRACTION)
    lease_renew(model, ids)
    renewed = timezone.now()
    outcomes: dict[int, str] = {}

    def run(part: list[int]) -> None:
        nonlocal renewed
        if timezone.now() - renewed >= every:
            lease_renew(model, ids[ids.index(part[0]) :])
            renewed = timezone.now()
        outcomes.update(process(part))

    for start in range(0, len(ids), chunk):
        part = ids[start : start + chunk]
        try:
            run(part)
        except Exception:
            if len(part) == 1:
                log.exception("%s %s failed; it will be retried", model._meta.model_name, part[0])
                continue
            log.exception(
                "%s %s..%s failed; one at a time", model._meta.model_name, *part[:: len(part) - 1]
            )
            for pk in part:
                try:
                    run([pk])
                except Exception:
                    log.exception("%s %s failed; it will be retried", model._meta.model_name, pk)
    return [outcomes.get(pk, "error") for pk in ids]
