"""The Celery application. Configuration comes from Django settings (CELERY_*)."""

import logging
import os
from typing import Any

from celery import Celery, signals
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.db import close_old_connections
from django.utils.log import configure_logging

from nps.folders import folders_create
from surveys.gateways.registry import gateways_refuse_unsafe_start

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "nps.settings")

app = Celery("nps")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


@signals.setup_logging.connect
def log_through_django_settings(loglevel: int | str | None = None, **kwargs: Any) -> None:
    """Worker and beat log through settings.LOGGING (numbers masked), not Celery's handlers."""
    configure_logging(settings.LOGGING_CONFIG, settings.LOGGING)
    if loglevel:
        logging.getLogger().setLevel(loglevel)


@app.on_after_configure.connect
def create_folders(**kwargs: Any) -> None:
    """When a process first uses Celery (worker, beat, a publisher): the filesystem
    broker's folders and the beat schedule's folder."""
    folders_create()


@signals.worker_init.connect
@signals.beat_init.connect
def refuse_unsafe_gateways(**kwargs: Any) -> None:
    """With DEBUG off a development gateway secret stops the worker and beat at startup."""
    try:
        gateways_refuse_unsafe_start()
    except ImproperlyConfigured as exc:
        # Celery logs and ignores exceptions raised by signal handlers; SystemExit stops it.
        raise SystemExit(f"ImproperlyConfigured: {exc}") from exc


@signals.task_prerun.connect
@signals.task_postrun.connect
def close_old_database_connections(sender: Any = None, **kwargs: Any) -> None:
    """Around every task, what Django does around every request: close a connection that
    is past CONN_MAX_AGE or unusable, keep the others (CELERY_DB_REUSE_MAX stops Celery
    from closing them all). On SQLite (CONN_MAX_AGE 0) every task still opens its own."""
    if getattr(getattr(sender, "request", None), "is_eager", False):
        return
    close_old_connections()
