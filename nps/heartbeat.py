"""Beat's heartbeat: a periodic task stamps the time, the health check reads its age.

The stamp is kept in the broker, the one store every process (web, worker, beat) already
shares whatever the deployment: a Redis key beside the queues, or a file in the folder of
the embedded filesystem broker. A database row would need a table for one value, and the
cache is per process by default. The stamp is written by the worker that runs the task
beat sent, so a fresh stamp says beat is scheduling and a worker is taking periodic work.
"""

from datetime import UTC, datetime
from pathlib import Path

from celery import current_app
from django.conf import settings


def _key() -> str:
    # Named after the run's queue prefix, so two deployments (or test runs) sharing one
    # Redis database never read each other's stamp.
    return f"{settings.CELERY_TASK_DEFAULT_QUEUE}.beat-heartbeat"


def _stamp_file() -> Path | None:
    """The stamp's file with the filesystem broker, None with any other broker."""
    folder = settings.CELERY_BROKER_TRANSPORT_OPTIONS.get("data_folder_in")
    if not settings.CELERY_BROKER_URL.startswith("filesystem") or not folder:
        return None
    # Messages are the folder's "*.msg" files; this name is never read as one.
    return Path(folder) / _key()


def heartbeat_record(*, at: datetime) -> None:
    """Keep `at` as beat's latest heartbeat (a later call replaces it)."""
    value = f"{at.timestamp():.3f}"
    stamp = _stamp_file()
    if stamp is not None:
        # Written beside and renamed: a reader never sees half a number.
        partial = stamp.with_suffix(".partial")
        partial.write_text(value, encoding="ascii")
        partial.replace(stamp)
        return
    with (
        current_app.connection_for_write() as connection,
        connection.default_channel.conn_or_acquire() as client,
    ):
        client.set(_key(), value)


def heartbeat_last() -> datetime | None:
    """When beat's latest heartbeat was recorded (None: never, or the broker is down)."""
    stamp = _stamp_file()
    if stamp is not None:
        try:
            value: str | bytes | None = stamp.read_text(encoding="ascii")
        except FileNotFoundError:
            return None
    else:
        with current_app.connection_for_read() as connection:
            connection.ensure_connection(max_retries=1)  # a dead broker must not hang a probe
            with connection.default_channel.conn_or_acquire() as client:
                value = client.get(_key())
    return None if value is None else datetime.fromtimestamp(float(value), tz=UTC)
