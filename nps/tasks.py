"""Celery tasks for reporting: thin wrappers around nps.reporting.rollups."""

from celery import shared_task

from nps.reporting import rollups

NIGHTLY_DAYS = 30


@shared_task
def refresh_rollups() -> int:
    # Safe to overlap: each day is recomputed whole, under a per-day lock, in one transaction.
    return rollups.rollups_refresh_recent()


@shared_task
def rebuild_recent_rollups() -> int:
    # Older days change too (a case resolved weeks after it opened): recompute a month nightly.
    return rollups.rollups_refresh_recent(days=NIGHTLY_DAYS)
