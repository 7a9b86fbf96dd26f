"""Celery tasks for reporting: thin wrappers around nps.reporting (rollups, the digest)."""

from datetime import date, timedelta

from celery import shared_task
from django.conf import settings
from django.utils import timezone

from nps import alerts, heartbeat, problem_checks
from nps.outbound import sending
from nps.reporting import digest, rebuild, refresh
from nps.reporting.days import local_today
from nps.reports import schedule as reports_schedule

NIGHTLY_DAYS = 30


@shared_task
def refresh_rollups() -> int:
    """Every minute: today, and the older days whose cases changed in the lookback."""
    # Safe to overlap: each day is recomputed whole, under a per-day lock, in one transaction.
    lookback = timedelta(seconds=settings.NPS_ROLLUP_CHANGE_LOOKBACK_SECONDS)
    return refresh.rollups_refresh_recent(days=1, changed_since=timezone.now() - lookback)


@shared_task
def refresh_recent_rollups() -> int:
    """Every few minutes: the last NPS_ROLLUP_REFRESH_DAYS days (late receipts and replies
    to yesterday's surveys change yesterday's funnel). Recomputing them every minute would
    keep a core busy at tens of thousands of answers a day (docs/benchmarks.md)."""
    return refresh.rollups_refresh_recent()


@shared_task
def rebuild_recent_rollups() -> int:
    # A safety net for changes no case history records: recompute a month nightly, in
    # spans as a rebuild does (quiet days together, a busy day alone).
    today = local_today()
    return rebuild.rollups_rebuild(start=today - timedelta(days=NIGHTLY_DAYS - 1), end=today)


@shared_task
def refresh_rollup_days(days: list[str]) -> int:
    """These local days (ISO dates), e.g. after a CRM id mapped later attributed their rows."""
    # Safe to overlap with the periodic refreshes: the same per-day lock and whole-day rewrite.
    return rebuild.rollups_refresh_days(days=[date.fromisoformat(day) for day in days])


@shared_task
def send_digests() -> int:
    # Safe to overlap: each day's digest is claimed by a unique DigestDelivery insert.
    return digest.digests_send()


@shared_task
def deliver_webhooks(ids: list[int]) -> int:
    # Safe to run twice: each attempt is claimed by a conditional update first.
    return sending.deliveries_send(ids=ids)


@shared_task
def sweep_webhooks() -> int:
    # Retries whose backoff has passed and rows whose task was lost; safe to overlap.
    return sending.deliveries_sweep()


@shared_task
def generate_reports() -> int:
    # Safe to overlap: a report row is unique per unit, cadence, period and language, and
    # each subscriber's period is claimed by a conditional update before the email leaves.
    return reports_schedule.reports_generate_due()


@shared_task
def check_problems() -> int:
    """Hourly: verification figures of the problems being verified, from the rollups."""
    # Safe to overlap: it stores the latest figures; the closure is proposed once.
    return problem_checks.problems_check()


@shared_task
def evaluate_alerts() -> int:
    # Safe to overlap and to run on several schedulers: an alert is raised by the one
    # insert its unique (rule, key, window_start) lets through (nps.alerts.alerts_raise).
    return len(alerts.alerts_evaluate())


@shared_task
def beat_heartbeat() -> None:
    # Beat's heartbeat for the health check (nps.health): a later stamp replaces an earlier
    # one, so running twice is harmless.
    heartbeat.heartbeat_record(at=timezone.now())
