"""One run at a time per import job: Redis hands an unacknowledged task out again once it
is older than CELERY_VISIBILITY_TIMEOUT, and a file of millions of rows runs longer than
that. A delivery that finds the job's run alive waits; one that finds its run gone runs
it again; a copy of a task that already ran is dropped."""

from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import time_machine
from celery.exceptions import Retry
from django.utils import timezone

from surveys import tasks
from surveys.importfiles import ImportFileError
from surveys.interactions_import import (
    import_delivery,
    interaction_import_upload,
    interactions_import_run,
    interactions_import_start,
)
from surveys.models import ImportStatus, Interaction, InteractionImport

pytestmark = pytest.mark.django_db

LOCAL = (timezone.now() + timedelta(hours=6)).strftime("%Y-%m-%d %H:%M:%S")  # 2 h ago, +08
FILE = "工单号,手机号,触点,发生时间\n" + "".join(
    f"L-{n},1380013{n:04d},hotline,{LOCAL}\n" for n in range(1, 7)
)


@pytest.fixture(autouse=True)
def import_dir(settings: Any, tmp_path: Path) -> None:
    settings.NPS_IMPORT_DIR = tmp_path / "imports"
    settings.NPS_IMPORT_CHUNK = 2  # three chunks: three heartbeats
    settings.NPS_IMPORT_LEASE_SECONDS = 120


def queued() -> InteractionImport:
    """An uploaded file whose import was started (interactions_import_start's status)."""
    job = interaction_import_upload(chunks=[FILE.encode()], filename="calls.csv")
    InteractionImport.objects.filter(pk=job.pk).update(status=ImportStatus.QUEUED)
    return job


def test_a_queued_job_is_run_by_its_task() -> None:
    job = queued()

    assert tasks.import_interactions.apply(args=[job.pk]).get() == ImportStatus.DONE

    job.refresh_from_db()
    assert (job.status, job.rows_added) == (ImportStatus.DONE, 6)


def test_a_second_delivery_while_the_run_renews_its_heartbeat_waits_and_reads_nothing() -> None:
    job = queued()
    assert import_delivery(job.pk) == "run"  # the first delivery holds the job now

    assert import_delivery(job.pk) == "wait"
    with pytest.raises(Retry):
        tasks.import_interactions.apply(args=[job.pk], throw=True)

    job.refresh_from_db()
    assert (job.status, job.rows_done, job.rows_added) == (ImportStatus.RUNNING, 0, 0)
    assert not Interaction.objects.exists()


def test_a_run_whose_heartbeat_stopped_is_run_again() -> None:
    job = queued()
    assert import_delivery(job.pk) == "run"  # then its worker is lost: no more heartbeats

    with time_machine.travel(timezone.now() + timedelta(seconds=119)):
        assert import_delivery(job.pk) == "wait"
    with time_machine.travel(timezone.now() + timedelta(seconds=121)):
        assert tasks.import_interactions.apply(args=[job.pk]).get() == ImportStatus.DONE

    assert Interaction.objects.count() == 6


def test_a_copy_of_a_task_that_already_ran_is_dropped() -> None:
    job = queued()
    tasks.import_interactions.apply(args=[job.pk]).get()
    job.refresh_from_db()
    finished, errors = job.finished_at, Path(job.errors_file).stat().st_mtime_ns

    assert tasks.import_interactions.apply(args=[job.pk]).get() == "drop"

    job.refresh_from_db()
    assert (job.status, job.finished_at) == (ImportStatus.DONE, finished)
    assert Path(job.errors_file).stat().st_mtime_ns == errors  # the file was not read again


def test_the_run_renews_the_heartbeat_with_every_chunk() -> None:
    job = queued()
    beats = []

    def progress(_job: InteractionImport) -> None:
        beats.append(InteractionImport.objects.get(pk=job.pk).heartbeat_at)

    with time_machine.travel(timezone.now(), tick=True):
        interactions_import_run(job_id=job.pk, progress=progress)

    assert len(beats) == 3
    assert None not in beats
    assert beats == sorted(beats)
    assert len(set(beats)) == 3


def test_a_job_whose_run_is_alive_is_not_started_again() -> None:
    job = queued()
    assert import_delivery(job.pk) == "run"
    mapping = {"工单号": "external_id", "手机号": "customer.phone", "触点": "touchpoint",
               "发生时间": "occurred_at"}  # fmt: skip

    with pytest.raises(ImportFileError, match="being imported now"):
        interactions_import_start(job=job, mapping=mapping, dry_run=False)

    assert InteractionImport.objects.get(pk=job.pk).status == ImportStatus.RUNNING
    with time_machine.travel(timezone.now() + timedelta(seconds=121)):  # its run is gone
        interactions_import_start(job=job, mapping=mapping, dry_run=False)
        assert InteractionImport.objects.get(pk=job.pk).status == ImportStatus.QUEUED


def test_a_job_left_running_without_a_heartbeat_is_taken_over() -> None:
    job = queued()  # a run from before heartbeats, whose worker was lost
    InteractionImport.objects.filter(pk=job.pk).update(status=ImportStatus.RUNNING)

    assert import_delivery(job.pk) == "run"
    assert import_delivery(job.pk) == "wait"
