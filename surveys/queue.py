"""How a service queues background work: the task is named, never imported.

Tasks call services; services never import a tasks module, so no module pair imports
each other (tests/test_architecture.py). A service that needs work done later calls
`task_queue` with the task's registered name (`"surveys.tasks.send_invitation"`).

By default the task is published after the current transaction commits, and robustly:
a dead broker does not fail or roll back the caller. Every queued job has a sweeper that
finds its work again from the database (invitations_dispatch_due, messages_sweep, the
relay, sweep_cases), so a lost publish delays the work, never loses it.
"""

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import datetime
from typing import Any

from amqp.exceptions import ChannelError
from celery import current_app
from celery.app.task import Task
from django.db import transaction

log = logging.getLogger(__name__)


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


def queue_waiting(task_name: str) -> int | None:
    """How many tasks wait in the broker queue `task_name` is routed to (None: unknown)."""
    return queue_depth(current_app.amqp.router.route({}, task_name)["queue"].name)


def queue_depth(queue: str) -> int | None:
    """How many tasks wait in the broker queue named `queue` (None: broker unreachable)."""
    try:
        with current_app.connection_for_read() as connection:
            connection.ensure_connection(max_retries=1)  # a dead broker must not hang beat
            return int(connection.default_channel.queue_declare(queue=queue, passive=True)[1])
    except ChannelError as exc:  # Redis: an empty queue is no key at all (AMQP's NOT_FOUND)
        return 0 if "NOT_FOUND" in str(exc) else None
    except Exception:  # broker down: publishing would fail too (the relay hands nothing out)
        log.warning("queue %s: broker unreachable", queue)
        return None


# ---------------------------------------------------------------- work on many rows at once

_batch: ContextVar[dict[str, list[int]] | None] = ContextVar("task_batch", default=None)


def task_queue_row(name: str, pk: int) -> None:
    """Queue the batch task `name` (it takes a list of ids) for one row.

    Inside `task_batch()` the row joins the batch's list and one task is published for all
    of them when the batch ends; elsewhere `name([pk])` is published after commit.
    """
    collected = _batch.get()
    if collected is None:
        task_queue(name, [pk])
    else:
        collected.setdefault(name, []).append(pk)


@contextmanager
def task_batch(*, size: int = 200) -> Iterator[None]:
    """Collect the rows queued with `task_queue_row` and publish one task per `size` rows
    of each name when the block ends without an error, after commit as task_queue does
    (at once when no transaction is open around the block; enter it outside the
    transaction that writes the rows, so that is when it committed). A row written in a
    savepoint that rolled back may be in a list: its task finds no row and does nothing.
    A dead broker loses no work: the sweepers find the rows again (see above).
    """
    token = _batch.set({})
    try:
        yield
        collected = _batch.get() or {}
    finally:
        _batch.reset(token)
    for name, pks in collected.items():
        for start in range(0, len(pks), size):
            task_queue(name, pks[start : start + size])
