"""A task only test workers load (`celery worker --include tests.workers.probe`)."""

import time
from pathlib import Path

from celery import shared_task
from django.db import connection


@shared_task
def backend_pid_write(path: str) -> None:
    """Append the PostgreSQL backend serving this task's connection to `path`."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        (pid,) = cursor.fetchone()
    with Path(path).open("a", encoding="utf-8") as out:
        out.write(f"{pid}\n")


@shared_task
def order_record(path: str, label: str, seconds: float) -> None:
    """Take `seconds`, then append `label` to `path`: the order a worker ran tasks in."""
    time.sleep(seconds)
    with Path(path).open("a", encoding="utf-8") as out:
        out.write(f"{label}\n")
