"""Scale-out on one machine: the same code with more web processes and more workers per queue.

Two comparisons, each in the same run (docs/capacity.md):

- **web**: gunicorn with `--web 1` then `--web 2`... sync worker processes, each timed
  with bench/loop.py's ingest phase (bench/webhook_ingest.py's bare one-row view and the
  signed webhook under wrk -t2 -c16, best of two runs each, no Celery worker running);
- **workers**: `--backlog` replies (each from a customer with a sent invitation, every
  fifth a detractor giving a reason) stored while no worker runs, then 1 or 2 worker
  processes per queue started (the Procfile's `worker` and `sender` queues, each a
  Celery worker with one prefork child, `-c 1`, so a process is the unit counted), with
  beat (the outbox relay every second): replies scored per second from the first score to
  the last, and every detractor's case assigned.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/bench_scale_out \\
    CELERY_BROKER_URL=redis://127.0.0.1:6379/6 \\
    .venv/bin/python bench/scaleout.py [--web 1,2] [--workers 1,2] [--backlog 3000]

`--lock FILE` holds an exclusive flock of FILE around each timed part only.
"""

import argparse
import contextlib
import fcntl
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.loop import (
    QUEUE,
    Stack,
    _django,
    _ingest,
    _load,
    _reset,
    _seed_customers,
    _seed_routing,
    _start_web,
    _unprocessed,
    _wait_log,
    stack_env,
    web_arguments,
)
from bench.webhook_ingest import _free_port, _scratch_only
from devtools.procfile import procfile_worker


def _uptime() -> str:
    return subprocess.run(["uptime"], capture_output=True, text=True, check=False).stdout.strip()


@contextlib.contextmanager
def _locked(path: str) -> Iterator[None]:
    if not path:
        yield
        return
    with open(path, "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def _start_scaled_workers(stack: Stack, per_queue: int) -> None:
    """`per_queue` single-process Celery workers on each of the Procfile's two queue sets."""
    celery = [sys.executable, "-m", "celery", "-A", "nps", "worker", "-l", "info", "-c", "1"]
    queues = {name: ",".join(procfile_worker(name, QUEUE).queues) for name in ("worker", "sender")}
    names = []
    for n in range(1, per_queue + 1):
        for name, consumed in queues.items():
            stack.start(f"{name}{n}", [*celery, "-Q", consumed, "-n", f"{name}{n}@%h"])
            names.append(f"{name}{n}")
    beat_file = str(stack.workdir / "celerybeat-schedule")
    stack.start("beat", [sys.executable, "-m", "celery", "-A", "nps", "beat", "-s", beat_file])
    for name in names:
        _wait_log(stack, name, r"\bready\.")


def _web(args: argparse.Namespace, processes: int) -> dict[str, Any]:
    workdir = Path(tempfile.mkdtemp(prefix="nps-bench-scaleout-"))
    run = argparse.Namespace(**vars(args))
    run.workers, run.web_port, sim_port = processes, _free_port(), _free_port()
    run.ingest_seconds = args.ingest_seconds
    stack = Stack(workdir, stack_env(workdir, run.web_port, sim_port))
    try:
        _start_web(stack, run, run.web_port, sim_port)
        with _locked(args.lock):
            before = _uptime()
            rates = _ingest(run, workdir, stack.env["SIMULATOR_SECRET"])
            after = _uptime()
    finally:
        stack.stop()
        shutil.rmtree(workdir, ignore_errors=True)
    return {"rates": rates, "load": (before, after)}


def _workers(args: argparse.Namespace, per_queue: int, index: int) -> dict[str, Any]:
    import redis as redis_client
    from django.conf import settings
    from django.db import connection

    from followups.models import Case
    from surveys.models import InboundMessage, Response

    redis = redis_client.Redis.from_url(settings.CELERY_BROKER_URL)
    redis.flushdb()
    _reset()
    survey = _seed_routing()
    items = _seed_customers(survey, index, args.backlog)
    connection.close()
    workdir = Path(tempfile.mkdtemp(prefix="nps-bench-scaleout-"))
    web_port, sim_port = _free_port(), _free_port()
    run = argparse.Namespace(**vars(args))
    run.workers = max(int(w) for w in args.web.split(","))
    stack = Stack(workdir, stack_env(workdir, web_port, sim_port))
    try:
        _start_web(stack, run, web_port, sim_port)
        _load(web_port, stack.env["SIMULATOR_SECRET"], items, rate=10_000, threads=args.threads)
        ids = [item.message_id for item in items]
        stored = _unprocessed(ids)  # all of them: nothing consumes yet
        with _locked(args.lock):
            before = _uptime()
            _start_scaled_workers(stack, per_queue)
            deadline = time.monotonic() + args.drain_timeout
            waiting = InboundMessage.objects.filter(processed_at__isnull=True)
            unassigned = Case.objects.filter(assigned_at__isnull=True)
            while time.monotonic() < deadline and (waiting.exists() or unassigned.exists()):
                time.sleep(1)
            after = _uptime()
        scored = Response.objects.filter(
            message__gateway="simulator", message__gateway_message_id__in=ids
        ).order_by("created_at")
        first, last, count = scored.first(), scored.last(), scored.count()
        connection.close()
    finally:
        stack.stop()
        redis.flushdb()
        shutil.rmtree(workdir, ignore_errors=True)
    span = (last.created_at - first.created_at).total_seconds() if first and last else 0.0
    return {
        "waiting before": stored,
        "scored": count,
        "span": span,
        "rate": count / span if span else 0.0,
        "unassigned": unassigned.count(),
        "load": (before, after),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--web", default="1,2", help="gunicorn processes to compare")
    parser.add_argument("--workers", default="1,2", help="worker processes per queue to compare")
    parser.add_argument("--backlog", type=int, default=3_000)
    parser.add_argument("--ingest-seconds", type=int, default=5)
    parser.add_argument("--threads", type=int, default=64)
    parser.add_argument("--drain-timeout", type=float, default=300.0)
    parser.add_argument("--lock", default="")
    web_arguments(parser, workers=False)
    args = parser.parse_args()
    os.environ.setdefault("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/bench_scale_out")
    os.environ.setdefault("CELERY_BROKER_URL", "redis://127.0.0.1:6379/6")
    _django()
    from django.conf import settings

    from bench.database import database_ready

    _scratch_only(settings.CELERY_BROKER_URL)
    database_ready(settings.DATABASES["default"])
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    print(f"start: {_uptime()}", flush=True)
    for processes in [int(w) for w in args.web.split(",")]:
        result = _web(args, processes)
        rates = result["rates"]
        print(
            f"web, {processes} gunicorn process(es): bare {rates['bare']:.0f} requests/s, "
            f"signed webhook {rates['webhook']:.0f} requests/s; load {result['load'][0]} -> "
            f"{result['load'][1]}",
            flush=True,
        )
    failed = False
    for index, per_queue in enumerate(int(w) for w in args.workers.split(",")):
        result = _workers(args, per_queue, index)
        print(
            f"workers, {per_queue} process(es) per queue: {result['scored']:,} of "
            f"{args.backlog:,} replies scored in {result['span']:.1f} s = "
            f"{result['rate']:.0f} replies/s; cases unassigned at the end "
            f"{result['unassigned']}; load {result['load'][0]} -> {result['load'][1]}",
            flush=True,
        )
        failed |= result["scored"] != args.backlog or bool(result["unassigned"])
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
