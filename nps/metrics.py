"""Prometheus metrics, read from the database and the broker when Prometheus scrapes.

Why at scrape time rather than counters kept in memory: the web runs as several gunicorn
processes (and several hosts), each of which would count only its own requests, and
Prometheus' multiprocess mode needs a shared folder per host, cleared at every deploy.
The database already holds every stored webhook, send and case: one scrape asks it a
handful of index-backed questions and every process gives the same answer.

- `nps_webhook_messages_stored_total{kind}`: replies and receipts stored, as the highest
  id handed out (a counter that only grows: `rate()` of it is the webhook rate; on
  PostgreSQL a provider's retry of a message already stored takes an id too, so it
  counts webhook calls that reached the store, duplicates included).
- `nps_relay_lag_seconds{kind}`: age of the oldest stored row the outbox relay has not
  queued; `nps_unprocessed_oldest_seconds{kind}`: of the oldest not processed yet.
- `nps_queue_depth{queue}`: tasks waiting in each Celery queue (absent: broker down).
- `nps_sends{kind, status}`: invitations and conversation messages by status.
- `nps_cases{status}`: cases by state; `nps_cases_overdue`: open cases past their SLA
  (followups.sla.overdue, the one rule).

The endpoint answers only a bearer token equal to NPS_METRICS_TOKEN: without the setting
it does not exist (404), without the right token it is refused (403).
"""

import hmac
from collections.abc import Iterator

from django.conf import settings
from django.db.models import Count, Max, Model
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseForbidden
from django.utils import timezone
from django.views.decorators.http import require_GET
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from followups.models import Case, CaseStatus
from followups.sla import overdue
from nps.health import age_seconds
from surveys.models import (
    DeliveryReceipt,
    InboundMessage,
    Invitation,
    InvitationStatus,
    OutboundMessage,
    OutboundStatus,
)
from surveys.queue import queue_depth
from surveys.relay import outbox_oldest_unprocessed, outbox_oldest_unrelayed

OUTBOX: dict[str, type[Model]] = {"reply": InboundMessage, "receipt": DeliveryReceipt}


def counts_by_status(model: type[Model], statuses: list[str]) -> dict[str, int]:
    """Rows per status, every status present (a status with no row is 0, not missing)."""
    rows = model._default_manager.values_list("status").annotate(n=Count("pk")).order_by()
    return dict.fromkeys(statuses, 0) | dict(rows)


class NpsCollector(Collector):
    """Every metric of the loop, computed when collected."""

    def collect(self) -> Iterator[Metric]:
        yield from self.webhooks()
        yield from self.queues()
        yield from self.sends()
        yield from self.cases()

    def webhooks(self) -> Iterator[Metric]:
        stored = CounterMetricFamily(
            "nps_webhook_messages_stored",
            "Replies and delivery receipts stored by the webhooks (highest id handed out).",
            labels=["kind"],
        )
        lag = GaugeMetricFamily(
            "nps_relay_lag_seconds",
            "Age of the oldest stored row the outbox relay has not queued yet.",
            labels=["kind"],
        )
        oldest = GaugeMetricFamily(
            "nps_unprocessed_oldest_seconds",
            "Age of the oldest stored row not processed yet, queued or not.",
            labels=["kind"],
        )
        for kind, model in OUTBOX.items():
            top = model._default_manager.aggregate(top=Max("pk"))["top"]
            stored.add_metric([kind], top or 0)
            lag.add_metric([kind], age_seconds(outbox_oldest_unrelayed(model)))
            oldest.add_metric([kind], age_seconds(outbox_oldest_unprocessed(model)))
        yield from (stored, lag, oldest)

    def queues(self) -> Iterator[Metric]:
        depth = GaugeMetricFamily(
            "nps_queue_depth", "Tasks waiting in each Celery queue.", labels=["queue"]
        )
        for queue in settings.CELERY_TASK_QUEUES:
            waiting = queue_depth(queue.name)
            if waiting is not None:  # broker unreachable: no sample rather than a false 0
                depth.add_metric([queue.name], waiting)
        yield depth

    def sends(self) -> Iterator[Metric]:
        sends = GaugeMetricFamily(
            "nps_sends",
            "Survey invitations and conversation messages by status.",
            labels=["kind", "status"],
        )
        for kind, model, statuses in (
            ("invitation", Invitation, InvitationStatus.values),
            ("conversation", OutboundMessage, OutboundStatus.values),
        ):
            for status, n in counts_by_status(model, statuses).items():
                sends.add_metric([kind, status], n)
        yield sends

    def cases(self) -> Iterator[Metric]:
        cases = GaugeMetricFamily("nps_cases", "Callback cases by state.", labels=["status"])
        for status, n in counts_by_status(Case, CaseStatus.values).items():
            cases.add_metric([status], n)
        yield cases
        yield GaugeMetricFamily(
            "nps_cases_overdue",
            "Open cases past their SLA due time (followups.sla.overdue).",
            value=Case.objects.filter(overdue(timezone.now())).count(),
        )


def bearer_matches(request: HttpRequest, token: str) -> bool:
    supplied = request.headers.get("Authorization", "")
    return hmac.compare_digest(supplied.encode(), f"Bearer {token}".encode())


@require_GET
def metrics(request: HttpRequest) -> HttpResponse:
    """The metrics in Prometheus' text format, for the holder of NPS_METRICS_TOKEN only."""
    if not settings.NPS_METRICS_TOKEN:
        raise Http404
    if not bearer_matches(request, settings.NPS_METRICS_TOKEN):
        return HttpResponseForbidden()
    registry = CollectorRegistry(auto_describe=False)
    registry.register(NpsCollector())
    return HttpResponse(generate_latest(registry), content_type=CONTENT_TYPE_LATEST)
