"""The Procfile's workers against the routing: every queue a task goes to has a process
that consumes it, and the reply worker consumes nothing that would hold the replies up.

The queues are `settings.NPS_QUEUES` (routes in `CELERY_TASK_ROUTES`); which process
consumes which is the Procfile's `-Q`. A queue no process consumes keeps its tasks for
ever in production, and a test started with `-Q` of its own would not notice.
"""

from pathlib import Path

from django.conf import settings

from devtools.procfile import procfile_workers


def procfile_queues() -> dict[str, set[str]]:
    """Each Procfile worker's queues, `${CELERY_QUEUE:-nps}` read as this run's queue."""
    declared = {queue.name for queue in settings.CELERY_TASK_QUEUES}
    return {
        name: set(worker.queues) or declared  # no -Q: every queue
        for name, worker in procfile_workers(settings.CELERY_TASK_DEFAULT_QUEUE).items()
    }


def test_every_routed_queue_has_a_procfile_worker() -> None:
    consumed = set().union(*procfile_queues().values())
    routed = {route["queue"] for route in settings.CELERY_TASK_ROUTES.values()}
    declared = {queue.name for queue in settings.CELERY_TASK_QUEUES}
    assert routed <= declared
    assert declared - consumed == set()


def test_the_reply_worker_consumes_only_replies_and_assignment() -> None:
    """Receipts, sends, the default queue's jobs and reporting run elsewhere: a batch of
    sends waits on the gateway, a rebuild takes minutes, and every conversation SMS brings
    two receipts back (docs/benchmarks.md, "Receipts apart"); a reply waits behind none."""
    queues = procfile_queues()
    replies = [name for name, taken in queues.items() if settings.NPS_QUEUES["replies"] in taken]
    assert replies == ["worker"]
    assert queues["worker"] == {settings.NPS_QUEUES["replies"], settings.NPS_QUEUES["assign"]}
    receipts = settings.CELERY_TASK_ROUTES["surveys.tasks.apply_receipts"]["queue"]
    assert receipts == settings.NPS_QUEUES["receipts"]
    assert receipts in queues["sender"]


def test_the_reader_takes_each_workers_queues_and_options(tmp_path: Path) -> None:
    procfile = tmp_path / "Procfile"
    procfile.write_text(
        "web: gunicorn nps.wsgi -w ${WEB_CONCURRENCY:-4}\n"
        "beat: celery -A nps beat -l info\n"
        "some: celery -A nps worker -l info -Q ${CELERY_QUEUE:-nps}.a,${CELERY_QUEUE:-nps}"
        " -c 3 -n some@%h\n"
        "every: celery -A nps worker -l info\n"
    )
    workers = procfile_workers("run-1", procfile)
    assert set(workers) == {"some", "every"}
    assert workers["some"].queues == ("run-1.a", "run-1")
    assert workers["some"].arguments() == ["-Q", "run-1.a,run-1", "-c", "3", "-n", "some@%h"]
    assert workers["every"].arguments() == []
