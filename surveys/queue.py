"""How a service queues background work: the task is named, never imported.

Tasks call services; services never import a tasks module, so no module pair imports
each other (tests/test_architecture.py). A service that needs work done later calls
`task_queue` with the task's registered name (`"surveys.tasks.send_invitation"`).

By default the task is published after the current transaction commits, and robustly:
a dead broker does not fail or roll back the caller. Every queued job has a sweeper that
finds its work again from the database (invitations_dispatch_due, messages_sweep, the
relay, sweep_cases), so a lost publish delays the work, never loses it.
"""

from datetime import datetime
from typing import Any

from celery import current_app
from celery.app.task import Task
from django.db import transaction


def registered_task(name: str) -> Task:
    """The task registered under `name`, importing the tasks modules on first use."""
    tasks = current_app.tasks
    if name not in tasks:
        current_app.loader.import_default_modules()
    return tasks[name]


def task_queue(
    name: str, *args: Any, after_commit: bool = True, eta: datetime | None = None
) -> None:
    """Publish the task `name` with `args`: after commit (default) or now, at `eta` if given."""

    def publish() -> None:
        task = registered_task(name)
        if eta is None:
            task.delay(*args)
        else:
            task.apply_async(args, eta=eta)

    if after_commit:
        transaction.on_commit(publish, robust=True)
    else:
        publish()
