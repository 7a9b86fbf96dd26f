"""A long reporting job does not delay a reply: the rollups have a queue and a worker of
their own (settings.NPS_QUEUES["reporting"]).

The processes are started as the Procfile starts them, each with its -Q: replies and
assignment; sends and the default queue; reporting; and beat (the outbox relay). The
"long job" is the real rollup task (`nps.tasks.refresh_rollup_days`), kept running for
as long as the test likes: the test holds the day's advisory lock the refresh takes
(nps.reporting.refresh), so the task waits inside its transaction, as a rebuild of many
days keeps its worker busy. Then a customer answers "3": the reply is processed and the
"why?" question sent within seconds, while the job still runs. The second test routes
the same job to the default queue, as before the reporting queue existed, and shows the
"why?" waiting behind it: the first test could fail.
"""

import os
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from django.db import connection
from django.test import override_settings
from django.utils import timezone

from devtools.procfile import procfile_worker
from nps.celery import app as celery_app
from nps.reporting.refresh import LOCK_NAMESPACE
from surveys.dispatch import invitation_send
from surveys.gateways.base import InboundSMS
from surveys.interactions import interaction_record
from surveys.models import InboundMessage, Invitation, OutboundMessage, OutboundStatus
from surveys.replies import reply_store
from tests.integration.conftest import Process, wait_until

pytestmark = [
    pytest.mark.integration,
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(
        connection.vendor != "postgresql",
        reason="needs PostgreSQL: on SQLite one writer at a time (IMMEDIATE transactions), "
        "so a rollup rebuild holds up every write whatever the queues; the locks this "
        "test holds a rollup job with are PostgreSQL's advisory locks",
    ),
]

PHONE = "+8613800138000"
DAY = date(2026, 3, 1)  # the day the held rollup job recomputes
SENDER_PROCESSES = 2  # the sender's concurrency (-c), and the rollup jobs that fill it
REPLY_SECONDS = 5.0  # "a few seconds": the relay runs every 0.5 s here
WHY_SECONDS = 10.0  # the reply processed, then the "why?" queued, claimed and sent


def queue_of(kind: str) -> str:
    return settings.NPS_QUEUES[kind] if kind != "default" else settings.CELERY_TASK_DEFAULT_QUEUE


def procfile_processes(tmp_path: Path) -> list[Process]:
    """The Procfile's workers and beat, on this run's queues and test database."""
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "tests.settings",
        "NPS_TEST_DATABASE_NAME": str(connection.settings_dict["NAME"]),
        "NPS_SEND_GATEWAY": "console",
        "NPS_RELAY_INTERVAL": "0.5",
    }
    celery = [sys.executable, "-m", "celery", "-A", "nps"]
    quiet = ["--without-gossip", "--without-mingle", "-l", "info"]
    run = settings.CELERY_TASK_DEFAULT_QUEUE
    processes = []
    for name in ("worker", "sender", "reporting"):
        worker = procfile_worker(name, run)
        # The sender's processes, as many as the rollup jobs that fill them.
        concurrency = SENDER_PROCESSES if name == "sender" else worker.concurrency
        args = ["-Q", ",".join(worker.queues)]
        args += ["-c", str(concurrency)] if concurrency is not None else []
        args += [*quiet, "-n", f"{name}-{run}@%h"]
        processes.append(Process(name, [*celery, "worker", *args], env, tmp_path))
    beat = [*celery, "beat", "-l", "info", "-s", str(tmp_path / "beat-schedule")]
    processes.append(Process("beat", beat, env, tmp_path))
    return processes


@contextmanager
def running(processes: list[Process]) -> Iterator[None]:
    try:
        for process in processes[:-1]:  # the workers; beat prints no "ready"
            wait_until(lambda p=process: "ready" in p.output(), timeout=90)
        yield
    except AssertionError:
        for process in processes:
            print(process.log.name, process.output())
        raise
    finally:
        for process in processes:
            process.stop()


@contextmanager
def day_held(day: date) -> Iterator[None]:
    """Hold the advisory lock a refresh of `day` takes: the job waits while this lasts."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_lock(%s, %s)", [LOCK_NAMESPACE, day.toordinal()])
    try:
        yield
    finally:
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_unlock(%s, %s)", [LOCK_NAMESPACE, day.toordinal()])


def rollup_jobs_waiting() -> int:
    """Rollup jobs inside their transaction, waiting for the day this test holds."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted"
            " AND classid = %s AND objid = %s",
            [LOCK_NAMESPACE, DAY.toordinal()],
        )
        return int(cursor.fetchone()[0])


@pytest.fixture
def surveyed(survey: Any) -> Invitation:
    """A survey sent to the customer just now (console gateway)."""
    with override_settings(NPS_SEND_GATEWAY="console"):
        recorded = interaction_record(
            external_id="CRM-Q1",
            customer={"phone": PHONE, "tier": "B", "region": "BJ"},
            touchpoint="hotline",
            occurred_at=timezone.now() - timedelta(minutes=5),
        )
        invitation = recorded.interaction.invitations.get()
        invitation_send(invitation_id=invitation.pk)
    celery_app.control.purge()  # the send task queued above: already sent, nothing to do
    return invitation


def reply_while_rollups_run(
    tmp_path: Path, invitation: Invitation, *, rollup_queue: str | None
) -> tuple[InboundMessage, OutboundMessage]:
    """Start the Procfile's processes, fill `rollup_queue`'s worker (None: the routing
    decides) with rollup jobs held on DAY, then receive a detractor's "3". The reply and
    its "why?" a little after the reply is processed, the jobs still held."""
    with running(procfile_processes(tmp_path)), day_held(DAY):
        for _ in range(SENDER_PROCESSES):
            options = {} if rollup_queue is None else {"queue": rollup_queue}
            celery_app.send_task(
                "nps.tasks.refresh_rollup_days", args=[[DAY.isoformat()]], **options
            )
        wait_until(rollup_jobs_waiting, timeout=60)  # the long job is running
        # The reply comes in on the gateway the survey went out through: the "why?" goes
        # back through the one the customer answered on (surveys.gateways.routing).
        stored = reply_store(gateway="console", sms=InboundSMS("MO-Q1", PHONE, "3"))
        reply = wait_until(
            lambda: InboundMessage.objects.filter(
                pk=stored.message.pk, processed_at__isnull=False
            ).first(),
            timeout=60,
        )
        why = OutboundMessage.objects.get(invitation=invitation, kind="followup_question")
        deadline = time.monotonic() + WHY_SECONDS  # sent or not by then: the caller judges
        while time.monotonic() < deadline and why.sent_at is None:
            time.sleep(0.2)
            why.refresh_from_db()
        assert rollup_jobs_waiting() >= 1  # the reporting job ran all along
    return reply, why


def test_a_long_rollup_job_does_not_delay_a_reply_or_its_answer(
    tmp_path: Path, surveyed: Invitation
) -> None:
    reply, why = reply_while_rollups_run(tmp_path, surveyed, rollup_queue=None)
    assert celery_app.amqp.router.route({}, "nps.tasks.refresh_rollup_days")["queue"].name == (
        queue_of("reporting")
    )
    assert reply.outcome == "scored"
    processing = (reply.processed_at - reply.received_at).total_seconds()  # type: ignore[operator]
    answered = (why.sent_at - reply.received_at).total_seconds() if why.sent_at else None
    print(f"reply processed after {processing:.2f} s, its why? sent after {answered} s")
    assert processing < REPLY_SECONDS
    assert why.status == OutboundStatus.SENT
    assert answered is not None
    assert answered < WHY_SECONDS


def test_on_the_default_queue_the_rollup_job_holds_up_the_why_question(
    tmp_path: Path, surveyed: Invitation
) -> None:
    # As before reporting had its own queue: the jobs fill the sender's processes.
    reply, why = reply_while_rollups_run(tmp_path, surveyed, rollup_queue=queue_of("default"))
    assert reply.outcome == "scored"  # the reply itself has its own worker already
    assert why.status == OutboundStatus.QUEUED
