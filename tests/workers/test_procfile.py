"""The Procfile's workers against the routing: every queue a task goes to has a process
that consumes it, and the reply worker consumes nothing that would hold the replies up.

The queues are `settings.NPS_QUEUES` (routes in `CELERY_TASK_ROUTES`); which process
consumes which is the Procfile's `-Q`. A queue no process consumes keeps its tasks for
ever in production, and a test started with `-Q` of its own would not notice.
"""

import re
import shlex
from pathlib import Path

from django.conf import settings

PROCFILE = Path(settings.BASE_DIR) / "Procfile"


def procfile_queues() -> dict[str, set[str]]:
    """Each Procfile worker's queues, `${CELERY_QUEUE:-nps}` read as this run's queue."""
    consumed: dict[str, set[str]] = {}
    for line in PROCFILE.read_text().splitlines():
        name, _, command = line.partition(":")
        words = shlex.split(re.sub(r"\$\{CELERY_QUEUE:-[^}]*\}", "{q}", command))
        if "worker" not in words:
            continue
        queues = words[words.index("-Q") + 1] if "-Q" in words else None
        default = settings.CELERY_TASK_DEFAULT_QUEUE
        consumed[name.strip()] = (
            {q.format(q=default) for q in queues.split(",")}
            if queues
            else {queue.name for queue in settings.CELERY_TASK_QUEUES}
        )
    return consumed


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
