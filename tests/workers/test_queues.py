"""Replies never wait behind sends: each kind of work has its queue, and a worker takes
from each in turn, so a reply published behind a backlog of sends runs next."""

import os
import sys
import time
from pathlib import Path

import pytest
from django.conf import settings

from nps.celery import app as celery_app
from tests.integration.conftest import Process, wait_until

BACKLOG = 8


def run_order(tmp_path: Path, *, reply_queue: str) -> list[str]:
    """Queue BACKLOG slow sends and then one reply, start a one-process worker, and
    return the order it ran them in."""
    celery_app.control.purge()
    out = tmp_path / f"order-{reply_queue}.txt"
    for n in range(BACKLOG):
        celery_app.send_task(
            "tests.workers.probe.order_record",
            args=[str(out), f"send-{n}", 0.2],
            queue=settings.NPS_QUEUES["send"],
        )
    # The filesystem broker of the embedded default orders a queue by the millisecond a
    # message was written (then by a random id): the reply goes out in a later one.
    time.sleep(0.005)
    celery_app.send_task(
        "tests.workers.probe.order_record", args=[str(out), "reply", 0.0], queue=reply_queue
    )
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "tests.settings"}
    args = [sys.executable, "-m", "celery", "-A", "nps", "worker", "-P", "solo"]
    args += ["--include", "tests.workers.probe", "--without-gossip", "--without-mingle"]
    args += ["-l", "info", "-n", f"order-{settings.CELERY_TASK_DEFAULT_QUEUE}@%h"]
    worker = Process("worker-order", args, env, tmp_path)
    try:
        wait_until(
            lambda: out.exists() and len(out.read_text().split()) == BACKLOG + 1, timeout=60
        )
    finally:
        worker.stop()
    return out.read_text().split()


@pytest.mark.integration
def test_a_reply_behind_a_backlog_of_sends_runs_next(tmp_path: Path) -> None:
    order = run_order(tmp_path, reply_queue=settings.NPS_QUEUES["replies"])
    assert order.index("reply") <= 1  # the worker may already hold one send


@pytest.mark.integration
def test_in_one_shared_queue_the_reply_waits_for_every_send(tmp_path: Path) -> None:
    # What the separate queues avoid (and proof the test above can fail).
    order = run_order(tmp_path, reply_queue=settings.NPS_QUEUES["send"])
    assert order[-1] == "reply"
