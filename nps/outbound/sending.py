"""Sending the webhook outbox: at least once, with capped exponential backoff.

Each attempt is claimed first with a conditional UPDATE (the row must still be due; the
claim moves its next attempt a lease ahead and counts the attempt), so two workers never
send the same attempt, and the network call happens after that claim committed, outside
any transaction. The outcome is recorded only if the row is still that attempt's (a
replay in the meantime starts a new one).

Duplicates: a receiver may see an event twice when an attempt's outcome was unknown to
us (the worker died mid-request, or the answer was lost or came after the timeout): the
lease expires and the event is sent again with the same event id. A receiver that
ignores event ids it has already processed sees each event once. When the outcome is
known (an answer arrived) an event is never sent again unless someone replays it.
"""

import logging
import random
from datetime import datetime, timedelta
from typing import Any

import requests
from django.conf import settings
from django.db.models import F
from django.utils import timezone

from nps.models import DeliveryStatus, WebhookDelivery, WebhookKind
from nps.outbound.events import DELIVER_TASK, TASK_SIZE
from nps.outbound.formats import Event, request_build
from surveys.gateways.http import session
from surveys.queue import task_queue

log = logging.getLogger(__name__)

OPEN = (DeliveryStatus.PENDING, DeliveryStatus.FAILED)


def _setting(name: str, default: Any) -> Any:
    return getattr(settings, name, default)


def retry_delay(attempts: int) -> timedelta:
    """After the `attempts`-th failure: base doubling per attempt, capped, plus 0-10% jitter."""
    base = float(_setting("NPS_WEBHOOK_RETRY_BASE_SECONDS", 30))
    cap = float(_setting("NPS_WEBHOOK_RETRY_CAP_SECONDS", 3600))
    delay = min(base * 2 ** max(attempts - 1, 0), cap)
    return timedelta(seconds=delay * random.uniform(1.0, 1.1))  # noqa: S311 (jitter, not crypto)


def deliveries_due(*, now: datetime | None = None, limit: int = 1000) -> list[int]:
    """Ids of the outbox rows whose next attempt has come, oldest first."""
    now = now or timezone.now()
    due = WebhookDelivery.objects.filter(status__in=OPEN, next_attempt_at__lte=now)
    return list(due.order_by("next_attempt_at", "pk").values_list("pk", flat=True)[:limit])


def deliveries_sweep() -> int:
    """Queue the due rows for sending (beat): lost tasks, retries whose time has come."""
    ids = deliveries_due()
    for start in range(0, len(ids), TASK_SIZE):
        task_queue(DELIVER_TASK, ids[start : start + TASK_SIZE], after_commit=False)
    return len(ids)


def delivery_claim(pk: int, *, now: datetime) -> WebhookDelivery | None:
    """Take the due row `pk` for one attempt, or None if it is not due (sent, claimed by
    another worker, or waiting for its backoff). The UPDATE's condition is the claim."""
    lease = timedelta(seconds=float(_setting("NPS_WEBHOOK_LEASE_SECONDS", 120)))
    claimed = WebhookDelivery.objects.filter(
        pk=pk, status__in=OPEN, next_attempt_at__lte=now
    ).update(attempts=F("attempts") + 1, next_attempt_at=now + lease)
    if claimed != 1:
        return None
    return WebhookDelivery.objects.select_related("subscription").get(pk=pk)


def deliveries_send(*, ids: list[int]) -> int:
    """Attempt each due row of `ids` once; how many were delivered."""
    return sum(delivery_attempt(pk) for pk in ids)


def delivery_attempt(pk: int) -> bool:
    """One attempt at the row `pk` if it is due: claim, send, record. True if delivered."""
    delivery = delivery_claim(pk, now=timezone.now())
    if delivery is None:
        return False
    subscription = delivery.subscription
    event = Event(delivery.event_type, str(delivery.event_id), delivery.at, delivery.payload)
    request = request_build(
        kind=subscription.kind, url=subscription.url, secret=subscription.secret,
        event=event, now=timezone.now(),
    )  # fmt: skip
    code, error = _post(subscription.kind, request.url, request.body, request.headers)
    _record(delivery, code=code, error=error, body=request.body.decode(errors="replace"))
    return not error


def _post(kind: str, url: str, body: bytes, headers: dict[str, str]) -> tuple[int | None, str]:
    """(HTTP status or None, error or "" when delivered)."""
    timeout = float(_setting("NPS_WEBHOOK_TIMEOUT", 5.0))
    try:
        answer = session().post(url, data=body, headers=headers, timeout=timeout)
    except requests.RequestException as exc:
        return None, f"{exc.__class__.__name__}: {str(exc)[:300]}"
    if not 200 <= answer.status_code < 300:
        return answer.status_code, f"HTTP {answer.status_code}: {answer.text[:300]}"
    if kind == WebhookKind.GENERIC:
        return answer.status_code, ""
    # The group bots answer 200 with an errcode: only 0 is a message posted.
    try:
        errcode = answer.json().get("errcode")
    except (ValueError, AttributeError):
        return answer.status_code, f"not JSON: {answer.text[:300]}"
    if errcode != 0:
        return answer.status_code, f"errcode {errcode}: {answer.text[:300]}"
    return answer.status_code, ""


def _record(delivery: WebhookDelivery, *, code: int | None, error: str, body: str) -> None:
    now = timezone.now()
    mine = WebhookDelivery.objects.filter(
        pk=delivery.pk, attempts=delivery.attempts, status__in=OPEN
    )
    if not error:
        mine.update(
            status=DeliveryStatus.DELIVERED, delivered_at=now, last_status_code=code,
            last_error="", last_request=body,
        )  # fmt: skip
        return
    max_attempts = int(_setting("NPS_WEBHOOK_MAX_ATTEMPTS", 15))
    max_age = timedelta(seconds=float(_setting("NPS_WEBHOOK_MAX_AGE_SECONDS", 86400)))
    give_up = delivery.attempts >= max_attempts or now >= delivery.queued_at + max_age
    mine.update(
        status=DeliveryStatus.DEAD if give_up else DeliveryStatus.FAILED,
        next_attempt_at=now + retry_delay(delivery.attempts),
        last_status_code=code, last_error=error, last_request=body,
    )  # fmt: skip
    log.warning(
        "webhook %s to subscription %s: attempt %s failed%s: %s",
        delivery.event_id, delivery.subscription_id, delivery.attempts,
        " (given up)" if give_up else "", error[:200],
    )  # fmt: skip


def deliveries_replay(*, ids: list[int]) -> int:
    """Send these rows again, whatever their state: a new round of attempts, the same
    event id (the receiver may have seen it). Queued after commit."""
    now = timezone.now()
    count = WebhookDelivery.objects.filter(pk__in=ids).update(
        status=DeliveryStatus.PENDING, attempts=0, queued_at=now, next_attempt_at=now,
        delivered_at=None,
    )  # fmt: skip
    for start in range(0, len(ids), TASK_SIZE):
        task_queue(DELIVER_TASK, ids[start : start + TASK_SIZE])
    return count
