"""Freshness under load: how long a new answer takes to reach the dashboard (docs/capacity.md).

bench/loop.py's stack (gunicorn, the Procfile's reply and send workers, beat, the SMS
simulator) on PostgreSQL and Redis; answers posted as signed simulator webhooks at
`--rate` a second for `--seconds` (open loop, each from a distinct customer with a sent
invitation, every fifth a detractor giving a reason), as bench/loop.py does; the load
stops at `--seconds` whatever is left, so a loaded machine gives a lower rate (printed)
rather than a longer run.

The rollup refresh is the product's task body, `nps.tasks.refresh_rollups`, run every
`--refresh-every` seconds (beat's interval, `NPS_ROLLUP_REFRESH_SECONDS`, 30) by a
thread of this process instead of the reporting worker: its CPU is then its thread's CPU
time plus that of its own PostgreSQL backend (read from /proc), which a Celery worker
running other tasks too would not let us attribute. The reporting queue gets no
worker, so beat's copies of the task wait unconsumed. Its CPU share is that CPU over
the wall time of the load.

Another thread reads what the dashboard shows, `nps.reporting.queries.nps_counts` for
today (the rollup read of the page's NPS widget), every `--poll` seconds. The n-th answer
posted is taken to be on the dashboard at the first read counting n new answers: answers
are scored in about the order they arrive, so this is exact for the distribution up to
the few seconds by which the scoring order can differ from the posting order.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/bench_scale_fresh \\
    CELERY_BROKER_URL=redis://127.0.0.1:6379/6 \\
    .venv/bin/python bench/freshness.py [--rate 100] [--seconds 600] [--refresh-every 30]

The timed part (from the first answer posted to the last read) runs under an exclusive
flock of `--lock` when given, so that timed runs of several benchmarks do not overlap.
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
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.loop import (
    Stack,
    _django,
    _load,
    _seed_customers,
    _start_web,
    _start_workers,
    _warm_up,
    scratch_start,
    stack_env,
    web_arguments,
)
from bench.webhook_ingest import _free_port


@dataclass
class Refresh:
    started: float
    wall: float
    cpu_own: float
    cpu_database: float


@dataclass
class Readings:
    stop: threading.Event = field(default_factory=threading.Event)
    refreshes: list[Refresh] = field(default_factory=list)
    counts: list[tuple[float, int]] = field(default_factory=list)  # (time.time(), answers)
    errors: list[str] = field(default_factory=list)


def _backend_cpu(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _refresher(readings: Readings, every: float) -> None:
    """nps.tasks.refresh_rollups every `every` seconds, its CPU and its backend's measured."""
    from django.db import connection

    from nps.tasks import refresh_rollups

    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_backend_pid()")
            backend = cursor.fetchone()[0]
        next_run = time.monotonic()
        while not readings.stop.is_set():
            started, own, database = time.time(), time.thread_time(), _backend_cpu(backend)
            wall = time.perf_counter()
            refresh_rollups()
            readings.refreshes.append(
                Refresh(
                    started,
                    time.perf_counter() - wall,
                    time.thread_time() - own,
                    _backend_cpu(backend) - database,
                )
            )
            next_run += every
            readings.stop.wait(max(0.0, next_run - time.monotonic()))
    except Exception as failed:  # reported with the results; the load goes on
        readings.errors.append(f"refresh: {type(failed).__name__}: {failed}")
    finally:
        connection.close()


def _poller(readings: Readings, every: float) -> None:
    """What the dashboard's NPS widget counts for today, every `every` seconds."""
    from django.db import connection

    from nps.reporting.contract import Filters
    from nps.reporting.days import local_today
    from nps.reporting.queries import nps_counts

    try:
        while not readings.stop.is_set():
            today = local_today()
            readings.counts.append((time.time(), nps_counts(Filters(start=today, end=today)).n))
            readings.stop.wait(every)
    except Exception as failed:
        readings.errors.append(f"poll: {type(failed).__name__}: {failed}")
    finally:
        connection.close()


def _pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def delays(posted: list[float], counts: list[tuple[float, int]], baseline: int) -> list[float]:
    """Seconds from each answer's POST to the first read counting it (posted in order;
    answers never counted are left out)."""
    found: list[float] = []
    reads = iter(counts)
    seen_at, seen = next(reads, (0.0, -1))
    for n, at in enumerate(sorted(posted), start=1):
        while seen < baseline + n:
            step = next(reads, None)
            if step is None:
                return found
            seen_at, seen = step
        found.append(max(0.0, seen_at - at))
    return found


def _scored_delays(items: list[Any]) -> list[float]:
    """Seconds from each answer's POST to its Response.created_at (scored by a worker)."""
    from surveys.models import Response

    posted = {item.message_id: item.at for item in items}
    rows = Response.objects.filter(message__gateway_message_id__in=list(posted)).values_list(
        "message__gateway_message_id", "created_at"
    )
    return [created.timestamp() - posted[mid] for mid, created in rows]


def _uptime() -> str:
    return subprocess.run(["uptime"], capture_output=True, text=True, check=False).stdout.strip()


def _summary(name: str, values: list[float]) -> str:
    if not values:
        return f"{name}: none"
    return (
        f"{name}: p50 {_pct(values, 0.5):.1f} s, p90 {_pct(values, 0.9):.1f} s, "
        f"p99 {_pct(values, 0.99):.1f} s, max {max(values):.1f} s"
    )


def run(args: argparse.Namespace) -> int:
    from django.conf import settings
    from django.db import connection

    redis, survey = scratch_start()
    count = args.rate * args.seconds
    items = _seed_customers(survey, 0, count)
    connection.close()
    workdir = Path(tempfile.mkdtemp(prefix="nps-bench-freshness-"))
    args.web_port, sim_port = _free_port(), _free_port()
    # the Procfile's workers as bench/loop.py starts them, no CPU quota, no nice
    args.one_worker, args.worker_cpu, args.worker_cpu_each, args.sender_nice = False, 0.0, 0.0, 0
    env = stack_env(workdir, args.web_port, sim_port)
    stack = Stack(workdir, env)
    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    readings = Readings()
    lock = open(args.lock, "w") if args.lock else None  # noqa: SIM115 (held to the end)
    try:
        secret = settings.NPS_GATEWAYS["simulator"]["SECRET"]
        _start_web(stack, args, args.web_port, sim_port)
        _start_workers(stack, args)
        _warm_up(args.web_port, secret, 4 * args.workers)
        if lock is not None:
            print(f"waiting for {args.lock}", flush=True)
            fcntl.flock(lock, fcntl.LOCK_EX)
        print(
            f"{count:,} answers at {args.rate}/s for {args.seconds} s; refresh every "
            f"{args.refresh_every:.0f} s; {_uptime()}",
            flush=True,
        )
        threads = [
            threading.Thread(target=_poller, args=(readings, args.poll), daemon=True),
            threading.Thread(target=_refresher, args=(readings, args.refresh_every), daemon=True),
        ]
        for thread in threads:
            thread.start()
        while not readings.refreshes and not readings.errors:  # the rollups current first
            time.sleep(0.2)
        time.sleep(2 * args.poll)
        baseline_at, baseline = readings.counts[-1]
        load_start = time.monotonic()
        late = _load(args.web_port, secret, items, args.rate, args.threads, args.seconds)
        load_wall = time.monotonic() - load_start
        items = [item for item in items if item.status]  # the ones posted
        load_after = _uptime()
        ok = [item for item in items if 200 <= item.status < 300]
        deadline = time.monotonic() + args.tail
        while time.monotonic() < deadline:
            if readings.counts and readings.counts[-1][1] >= baseline + len(ok):
                break
            time.sleep(1)
        readings.stop.set()
        for thread in threads:
            thread.join(timeout=120)
        if lock is not None:
            fcntl.flock(lock, fcntl.LOCK_UN)
        end_load = _uptime()
    except KeyboardInterrupt:
        print("interrupted: stopping the stack", file=sys.stderr)
        return 130
    finally:
        readings.stop.set()
        stack.stop()
        redis.flushdb()
        if lock is not None:
            lock.close()
        if not args.keep_logs:
            shutil.rmtree(workdir, ignore_errors=True)
    reads = [(at, n) for at, n in readings.counts if at >= baseline_at]
    found = delays([item.at for item in ok], reads, baseline)
    scored = _scored_delays(ok)
    connection.close()
    during = [r for r in readings.refreshes if r.started - items[0].at < load_wall]
    cpu = sum(r.cpu_own + r.cpu_database for r in during)
    print(
        f"sent {len(items):,} answers ({len(items) / load_wall:.1f}/s achieved of {args.rate} "
        f"offered), {len(ok):,} answered 2xx; the sender fell at most {late:.1f} s behind its "
        f"schedule; load wall {load_wall:.0f} s"
    )
    print(f"load average at the end of the load: {load_after}; at the end: {end_load}")
    print(_summary("POST -> scored (Response.created_at)", scored))
    print(_summary("POST -> on the dashboard (nps_counts for today)", found))
    if found:
        within = sum(1 for d in found if d <= args.target) / len(found)
        print(
            f"  on the dashboard within {args.target:.0f} s: {within:.2%} of {len(found):,} "
            f"counted ({len(ok) - len(found):,} never counted before the end)"
        )
    for r in readings.refreshes:
        print(
            f"  refresh at +{r.started - items[0].at:.0f} s: wall {r.wall:.2f} s, CPU "
            f"{r.cpu_own:.2f} s (process) + {r.cpu_database:.2f} s (its PostgreSQL backend)"
        )
    print(
        f"refresh CPU during the load: {cpu:.1f} s over {load_wall:.0f} s wall = "
        f"{cpu / load_wall:.1%} of one core ({len(during)} refreshes)"
    )
    for error in readings.errors:
        print(f"FAILED {error}", file=sys.stderr)
    missing = len(ok) - len(found)
    if missing or len(ok) < len(items):
        print(f"FAILED {missing:,} answers never on the dashboard", file=sys.stderr)
    return 1 if readings.errors or missing or len(ok) < len(items) else 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rate", type=int, default=100, help="answers per second")
    parser.add_argument("--seconds", type=int, default=600, help="load duration")
    parser.add_argument("--refresh-every", type=float, default=30.0, help="seconds (beat's)")
    parser.add_argument("--poll", type=float, default=1.0, help="seconds between reads")
    parser.add_argument("--target", type=float, default=60.0, help="seconds")
    parser.add_argument("--tail", type=float, default=150.0, help="seconds to wait after")
    web_arguments(parser)
    parser.add_argument("--threads", type=int, default=64, help="sender threads")
    parser.add_argument("--lock", default="", help="flock this file for the timed part")
    parser.add_argument("--keep-logs", action="store_true")
    args = parser.parse_args()
    os.environ.setdefault("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/bench_scale_fresh")
    os.environ.setdefault("CELERY_BROKER_URL", "redis://127.0.0.1:6379/6")
    _django()
    with contextlib.suppress(BrokenPipeError):
        return run(args)
    return 1


if __name__ == "__main__":
    sys.exit(main())
