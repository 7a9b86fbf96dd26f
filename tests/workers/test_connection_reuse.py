"""A worker keeps its database connection across tasks (CONN_MAX_AGE), as the web does
across requests; Celery's Django fixup alone would open a new one for every task."""

import os
import sys
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connection

from nps.celery import app as celery_app
from tests.integration.conftest import Process, wait_until

TASKS = 6

pytestmark = pytest.mark.skipif(
    connection.vendor != "postgresql",
    reason="needs PostgreSQL: SQLite connections are opened per task by design (CONN_MAX_AGE 0)",
)


def backends_serving_tasks(tmp_path: Path, conn_max_age: str) -> list[str]:
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "tests.settings",
        "NPS_TEST_DATABASE_NAME": str(connection.settings_dict["NAME"]),
        "CONN_MAX_AGE": conn_max_age,
    }
    queue = settings.CELERY_TASK_DEFAULT_QUEUE
    celery_app.control.purge()
    args = [sys.executable, "-m", "celery", "-A", "nps", "worker", "-c", "1"]
    args += ["--include", "tests.workers.probe", "--without-gossip", "--without-mingle"]
    args += ["-l", "info", "-n", f"probe-{queue}-{conn_max_age}@%h"]
    out = tmp_path / f"pids-{conn_max_age}.txt"
    worker = Process(f"worker-{conn_max_age}", args, env, tmp_path)
    try:
        wait_until(lambda: "ready" in worker.output(), timeout=30)
        for _ in range(TASKS):
            celery_app.send_task("tests.workers.probe.backend_pid_write", args=[str(out)])
        wait_until(
            lambda: out.exists() and len(out.read_text().split()) >= TASKS, timeout=30
        )
    finally:
        worker.stop()
    return out.read_text().split()


@pytest.mark.integration
@pytest.mark.django_db(transaction=True)
def test_one_connection_serves_every_task_of_a_worker(tmp_path: Path) -> None:
    assert len(set(backends_serving_tasks(tmp_path, conn_max_age="60"))) == 1


@pytest.mark.integration
@pytest.mark.django_db(transaction=True)
def test_with_conn_max_age_zero_each_task_opens_its_own(tmp_path: Path) -> None:
    # The check above could pass if the probe always saw one backend: it must not.
    assert len(set(backends_serving_tasks(tmp_path, conn_max_age="0"))) == TASKS
