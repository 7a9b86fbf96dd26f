"""Sending benchmark (issue 18): due invitations sent end to end, against a per-message
Celery no-op task ceiling measured in the same run.

Starts, as subprocesses on this machine: a loopback SMS gateway that answers each send
after --delay-ms (bench/slow_gateway.py, the simulator's send API) and Celery prefork
workers consuming the send queue (`-Q <queue>.send`, --concurrency processes each, as the
Procfile's sender). Then, with the same workers:

0. **Dispatcher alone**: `invitations_dispatch_due` in a loop until every invitation is
   queued, no worker running; the tasks are then dropped and the rows made due again.
1. **Ceiling**: --noop-count no-op tasks (bench/tasks.py, one per message, as a
   per-message send task would be) are published while no worker consumes; the rate is
   the count over the time from the workers' "ready" until the queue is empty.
2. **Sending**: --count customers each with an invitation due now; the driver runs
   `invitations_dispatch_due` in a loop (beat's job, without its 10 s tick) and the rate
   is the count over the time from the first dispatch until every invitation is sent.

It checks that the gateway got one request per invitation (no reference twice) and that
every invitation records its send, and prints both rates and their ratio, how fast the
dispatcher queued them all (running beside the workers), and the CPU the gateway, the
workers, this database's PostgreSQL backends and the driver took over the sending (from
/proc: the gateway must not be the bottleneck; on 2 cores the rest is what the rate costs).

    .venv/bin/python bench/dispatch.py [--count 100000] [--noop-count 20000] \\
        [--concurrency 4] [--delay-ms 50]

DATABASE_URL and CELERY_BROKER_URL default to postgres://postgres@127.0.0.1:5432/
nps_bench_dispatch and redis://127.0.0.1:6379/13; the database name must contain "bench"
(its customer and survey tables are truncated) and the Redis db must not be 0 (flushed).
"""

import argparse
import json
import os
import sys
import tempfile
import threading
import time
import urllib.request
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.database import postgres_cpu
from bench.loop import Stack, _wait_http, _wait_log
from bench.webhook_ingest import _free_port, _scratch_only

ROOT = Path(__file__).resolve().parent.parent
QUEUE = "nps-bench-dispatch"


def _django() -> None:
    os.environ.setdefault("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/nps_bench_dispatch")
    os.environ.setdefault("CELERY_BROKER_URL", "redis://127.0.0.1:6379/13")
    os.environ["DJANGO_SETTINGS_MODULE"] = "bench.settings"
    os.environ["CELERY_QUEUE"] = QUEUE
    os.environ["NPS_GATEWAYS"] = "simulator"
    os.environ["NPS_SEND_GATEWAY"] = "simulator"
    import django

    django.setup()


def _reset() -> None:
    from django.db import connection

    from surveys.models import Customer, Survey

    tables = ", ".join(f'"{m._meta.db_table}"' for m in (Customer, Survey))
    with connection.cursor() as cursor:
        cursor.execute(f"TRUNCATE {tables} RESTART IDENTITY CASCADE")


def _seed(count: int) -> None:
    """A survey with quiet hours off and `count` customers, each with an invitation due now."""
    from django.utils import timezone

    from surveys.models import (
        Customer,
        Interaction,
        Invitation,
        InvitationStatus,
        Survey,
        Touchpoint,
    )

    midnight = datetime.min.time()
    survey = Survey.objects.create(
        name="Bench dispatch NPS", quiet_start=midnight, quiet_end=midnight, fatigue_days=0
    )
    now = timezone.now()
    for start in range(0, count, 10_000):
        numbers = range(start, min(start + 10_000, count))
        customers = Customer.objects.bulk_create(Customer(phone=f"+86139{n:08d}") for n in numbers)
        interactions = Interaction.objects.bulk_create(
            Interaction(
                external_id=f"bench-dispatch-{n}",
                customer=c,
                touchpoint=Touchpoint.values[0],
                occurred_at=now - timedelta(minutes=5),
            )
            for n, c in zip(numbers, customers, strict=True)
        )
        Invitation.objects.bulk_create(
            Invitation(
                interaction=i,
                customer=i.customer,
                survey=survey,
                status=InvitationStatus.SCHEDULED,
                send_at=now - timedelta(minutes=1),
            )
            for i in interactions
        )


def _queue_length(redis: Any, queue: str) -> int:
    return int(redis.llen(queue))


def _sent() -> int:
    from surveys.models import Invitation, InvitationStatus

    started = (InvitationStatus.SENT, InvitationStatus.DELIVERED)
    return Invitation.objects.filter(status__in=started).count()


def _cpu_seconds(pid: int) -> float:
    """CPU (user + system) of a process and its children, as /proc has them now: the
    process's own, its waited-for children's, and its live children's."""
    ticks = os.sysconf("SC_CLK_TCK")

    def own(p: int) -> float:
        try:
            fields = Path(f"/proc/{p}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            return 0.0
        return sum(int(f) for f in fields[11:15]) / ticks  # utime stime cutime cstime

    children = Path(f"/proc/{pid}/task/{pid}/children")
    kids = [int(k) for k in children.read_text().split()] if children.exists() else []
    return own(pid) + sum(own(k) for k in kids)


def _gateway_count(port: int) -> dict[str, int]:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/count", timeout=10) as answer:
        counts: dict[str, int] = json.load(answer)
        return counts


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--count", type=int, default=100_000, help="invitations to send")
    parser.add_argument("--noop-count", type=int, default=20_000, help="no-op tasks")
    parser.add_argument("--concurrency", type=int, default=4, help="prefork processes")
    parser.add_argument("--delay-ms", type=float, default=50.0, help="the gateway's answer")
    parser.add_argument("--timeout", type=float, default=1800.0, help="seconds per phase")
    args = parser.parse_args()
    _django()
    import redis as redis_client
    from django.conf import settings
    from django.db import connection

    from bench.database import database_ready
    from surveys.dispatch import invitations_dispatch_due
    from surveys.models import Invitation

    _scratch_only(settings.CELERY_BROKER_URL)
    database_ready(settings.DATABASES["default"])
    redis = redis_client.Redis.from_url(settings.CELERY_BROKER_URL)
    redis.flushdb()
    _reset()
    print(f"seeding {args.count:,} due invitations ...", flush=True)
    _seed(args.count)
    # 0. The dispatcher alone: every due invitation claimed for queueing and its task
    # published, no worker running; then the tasks are dropped and the rows made due again.
    send_queue = settings.NPS_QUEUES["send"]
    started = time.monotonic()
    alone = 0
    while alone < args.count and (n := invitations_dispatch_due()):
        alone += n
    dispatch_alone = alone / (time.monotonic() - started)
    print(f"dispatcher alone: {alone:,} queued at {dispatch_alone:,.0f}/s", flush=True)
    redis.delete(send_queue)
    Invitation.objects.update(enqueued_at=None)
    connection.close()
    workdir = Path(tempfile.mkdtemp(prefix="nps-bench-dispatch-"))
    gateway_port = _free_port()
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])),
        "SIMULATOR_URL": f"http://127.0.0.1:{gateway_port}",
        "SIMULATOR_SECRET": settings.NPS_GATEWAYS["simulator"]["SECRET"],
        "SIMULATOR_API_KEY": settings.NPS_GATEWAYS["simulator"]["API_KEY"],
        "NPS_VAR_DIR": str(workdir),
    }
    stack = Stack(workdir, env)
    try:
        gateway = [sys.executable, "bench/slow_gateway.py", "--port", str(gateway_port)]
        stack.start("gateway", [*gateway, "--delay-ms", str(args.delay_ms)])
        _wait_http(stack, "gateway", gateway_port, "/count")
        # 1. The ceiling: no-op tasks published before any worker consumes them.
        from bench.tasks import noop

        for n in range(args.noop_count):
            noop.apply_async((n,), queue=send_queue)
        celery = [sys.executable, "-m", "celery", "-A", "nps", "worker", "-l", "info"]
        worker = [*celery, "-Q", send_queue, "-c", str(args.concurrency), "-I", "bench.tasks"]
        stack.start("worker", worker)
        _wait_log(stack, "worker", r"\bready\.")
        started = time.monotonic()
        deadline = started + args.timeout
        while _queue_length(redis, send_queue) and time.monotonic() < deadline:
            time.sleep(0.05)
        noop_rate = args.noop_count / (time.monotonic() - started)
        print(f"no-op tasks: {args.noop_count:,} at {noop_rate:,.0f}/s", flush=True)
        # 2. Sending: the driver dispatches as beat would, without waiting for its tick.
        done = threading.Event()
        queued = {"count": 0, "took": 0.0}

        def dispatch() -> None:
            while not done.is_set():
                n = invitations_dispatch_due()
                queued["count"] += n
                if queued["count"] >= args.count and not queued["took"]:
                    queued["took"] = time.monotonic() - started
                if n == 0:
                    time.sleep(0.5)
            connection.close()

        cpu_before = {name: _cpu_seconds(stack.procs[name].pid) for name in ("gateway", "worker")}
        database = settings.DATABASES["default"]["NAME"]
        backends_before = postgres_cpu(database)
        driver_before = time.process_time()
        started = time.monotonic()
        dispatcher = threading.Thread(target=dispatch, daemon=True)
        dispatcher.start()
        deadline = started + args.timeout
        # A backend ends when its connection reaches CONN_MAX_AGE (60 s) and a new one
        # takes over, so each backend's CPU is read every second while the sending runs
        # and its last reading kept: an ended backend's CPU is counted up to then.
        backends_seen, read_at = dict(backends_before), 0.0
        while (sent := _sent()) < args.count and time.monotonic() < deadline:
            if time.monotonic() - read_at >= 1.0:
                backends_seen.update(postgres_cpu(database))
                read_at = time.monotonic()
            time.sleep(0.2)
        took = time.monotonic() - started
        done.set()
        dispatcher.join(timeout=30)
        send_rate = sent / took
        cpu = {
            name: _cpu_seconds(stack.procs[name].pid) - before
            for name, before in cpu_before.items()
        }
        backends_seen.update(postgres_cpu(database))
        cpu["postgres"] = sum(t - backends_before.get(pid, 0.0) for pid, t in backends_seen.items())
        cpu["driver"] = time.process_time() - driver_before
        counts = _gateway_count(gateway_port)
    finally:
        stack.stop()
    print(f"sent: {sent:,} of {args.count:,} in {took:.1f} s: {send_rate:,.0f}/s")
    print(f"gateway: {counts}")
    print(f"dispatcher alone: {dispatch_alone:,.0f}/s (target >= 1,000/s)")
    if queued["took"]:
        rate = queued["count"] / queued["took"]
        print(f"dispatcher: {queued['count']:,} queued in {queued['took']:.1f} s: {rate:,.0f}/s")
    for name, seconds in cpu.items():
        share = seconds / took / (os.cpu_count() or 1)
        print(
            f"cpu {name}: {seconds:.1f} s, {seconds / max(sent, 1) * 1000:.2f} ms per message,"
            f" {share:.0%} of the machine's cores over the sending"
        )
    print(
        f"ratio: sending {send_rate:,.0f}/s against the no-op ceiling {noop_rate:,.0f}/s"
        f" = {send_rate / noop_rate:.2f}x (target >= 2x and >= 1,000/s)"
    )
    failed = []
    if sent != args.count:
        failed.append(f"{args.count - sent} invitations not sent")
    if counts["repeated"] or counts["references"] != args.count:
        failed.append(f"gateway requests {counts}")
    for line in failed:
        print(f"FAILED {line}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
