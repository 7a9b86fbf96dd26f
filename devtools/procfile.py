"""The Procfile's Celery workers as the benchmarks and the tests start them.

Which process consumes which queue is the Procfile's `-Q` and nowhere else: bench/loop.py,
bench/scaleout.py and tests/workers/ read it here, so a change of the routing there
changes what they start.
"""

import re
import shlex
from dataclasses import dataclass
from pathlib import Path

PROCFILE = Path(__file__).resolve().parent.parent / "Procfile"
QUEUE_VARIABLE = re.compile(r"\$\{CELERY_QUEUE:-[^}]*\}")


@dataclass(frozen=True)
class ProcfileWorker:
    """A Procfile process that runs `celery worker`."""

    name: str
    queues: tuple[str, ...]  # its -Q, in order; empty: no -Q, it consumes every queue
    concurrency: int | None = None  # its -c
    hostname: str | None = None  # its -n

    def arguments(self) -> list[str]:
        """Its -Q, -c and -n as it has them (the log level and the rest: the caller's)."""
        found = ["-Q", ",".join(self.queues)] if self.queues else []
        if self.concurrency is not None:
            found += ["-c", str(self.concurrency)]
        if self.hostname is not None:
            found += ["-n", self.hostname]
        return found


def procfile_workers(prefix: str, procfile: Path = PROCFILE) -> dict[str, ProcfileWorker]:
    """The Procfile's Celery workers by process name, `${CELERY_QUEUE:-nps}` read as
    `prefix` (this run's queue, settings.CELERY_TASK_DEFAULT_QUEUE)."""
    workers = {}
    for line in procfile.read_text().splitlines():
        name, _, command = line.partition(":")
        words = shlex.split(QUEUE_VARIABLE.sub(lambda _: prefix, command))
        if "worker" not in words:
            continue

        def option(flag: str, words: list[str] = words) -> str | None:
            return words[words.index(flag) + 1] if flag in words else None

        queues, concurrency = option("-Q"), option("-c")
        workers[name.strip()] = ProcfileWorker(
            name=name.strip(),
            queues=tuple(queues.split(",")) if queues else (),
            concurrency=int(concurrency) if concurrency is not None else None,
            hostname=option("-n"),
        )
    return workers


def procfile_worker(name: str, prefix: str, procfile: Path = PROCFILE) -> ProcfileWorker:
    """The Procfile's process `name`, a Celery worker (KeyError if it is none)."""
    return procfile_workers(prefix, procfile)[name]
