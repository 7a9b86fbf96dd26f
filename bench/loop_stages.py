"""The closed loop's stages one by one, in this process: CPU per reply of each.

bench/loop.py measures the whole stack under load, each process's CPU as one figure. This
runs each stage's own function here, over a realistic batch, so that a change to one
stage can be measured (and profiled) on its own in seconds:

- webhook: the signed inbound webhook and the delivery receipt webhook through Django's
  WSGI handler (middleware, view, one insert), without gunicorn or a socket, in the same
  run: with no middleware (the least any stack can do), with the site's whole middleware,
  and through the project's application (nps/wsgi.py: webhooks with their own);
- relay: the outbox relay handing the stored rows out (no worker: tasks left in Redis);
- replies: surveys.replies.replies_process over the relay's batches;
- send: surveys.conversation.messages_send over the send tasks the replies queued, to the
  SMS simulator (a subprocess, its receipts posted to a gunicorn of this checkout);
- receipts: surveys.receipts.receipts_apply over the receipts the simulator posted;
- assign: followups.assignment.cases_assign over the detractors' cases.

CPU is this process's (all its threads) and its PostgreSQL backend's, per reply.
`--profile STAGE` prints that stage's cProfile (CPU of the calling thread, cumulative,
top 40).

    .venv/bin/python bench/loop_stages.py [--count 1000] [--profile send]

DATABASE_URL and CELERY_BROKER_URL default to postgres://postgres@127.0.0.1:5432/
nps_bench_stages and redis://127.0.0.1:6379/13 (a bench database; a Redis db not 0:
both are emptied).
"""

import argparse
import cProfile
import io
import json
import os
import pstats
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.webhook_ingest import _free_port

INBOUND, STATUS = "/webhooks/simulator/inbound/", "/webhooks/simulator/status/"
RELAY_BATCH = 100  # replies a relay tick hands out at 100 replies a second
Environ = dict[str, Any]


def _django() -> None:
    os.environ.setdefault("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/nps_bench_stages")
    os.environ.setdefault("CELERY_BROKER_URL", "redis://127.0.0.1:6379/13")
    os.environ["DJANGO_SETTINGS_MODULE"] = "bench.settings"
    os.environ["NPS_GATEWAYS"] = "simulator"
    os.environ["NPS_SEND_GATEWAY"] = "simulator"
    import django

    django.setup()


def _backend_seconds() -> float:
    """CPU seconds used so far by this connection's PostgreSQL backend (same machine)."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        pid = cursor.fetchone()[0]
    stat = Path(f"/proc/{pid}/stat").read_text()
    fields = stat[stat.rindex(")") + 2 :].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


class Stages:
    def __init__(self, count: int, profile: str) -> None:
        self.count, self.profile = count, profile
        self.rows: list[tuple[str, float, float]] = []

    @contextmanager
    def stage(self, name: str, count: int = 0) -> Iterator[None]:
        """CPU of the block, per reply (`count` of them; default the run's)."""
        count = count or self.count
        profiled = any(name.startswith(p) for p in self.profile.split(",") if p)
        profiler = cProfile.Profile(time.thread_time) if profiled else None
        pg, cpu = _backend_seconds(), time.process_time()
        if profiler:
            profiler.enable()
        yield
        if profiler:
            profiler.disable()
        cpu, pg = time.process_time() - cpu, _backend_seconds() - pg
        self.rows.append((name, cpu * 1000 / count, pg * 1000 / count))
        print(f"{name:30} {cpu * 1000 / count:9.3f} ms {pg * 1000 / count:9.3f} ms", flush=True)
        if profiler:
            out = io.StringIO()
            pstats.Stats(profiler, stream=out).sort_stats("cumulative").print_stats(40)
            print(out.getvalue())


def _environ(path: str, body: bytes, secret: str) -> Environ:
    from surveys.gateways.simulator_signature import sign_body

    return {
        "REQUEST_METHOD": "POST",
        "PATH_INFO": path,
        "SCRIPT_NAME": "",
        "QUERY_STRING": "",
        "CONTENT_TYPE": "application/json",
        "CONTENT_LENGTH": str(len(body)),
        "SERVER_NAME": "127.0.0.1",
        "SERVER_PORT": "8000",
        "SERVER_PROTOCOL": "HTTP/1.1",
        "REMOTE_ADDR": "127.0.0.1",
        "HTTP_HOST": "127.0.0.1",
        "HTTP_X_SIMULATOR_SIGNATURE": sign_body(secret, body),
        "wsgi.input": io.BytesIO(body),
        "wsgi.errors": sys.stderr,
        "wsgi.url_scheme": "http",
        "wsgi.version": (1, 0),
        "wsgi.multithread": True,
        "wsgi.multiprocess": True,
        "wsgi.run_once": False,
    }


def _call(application: Callable[..., Any], environ: Environ) -> int:
    status: list[str] = []
    chunks = application(environ, lambda s, h, *a: status.append(s))
    b"".join(chunks)
    if hasattr(chunks, "close"):
        chunks.close()
    return int(status[0].split()[0])


def _applications() -> dict[str, Callable[..., Any]]:
    """Django's WSGI handler with the site's whole middleware, the project's WSGI
    application (webhooks with their own: surveys.webhooks.with_webhooks), and Django's
    handler with no middleware at all."""
    from django.core.handlers.wsgi import WSGIHandler
    from django.test import override_settings

    from surveys.webhooks import with_webhooks

    with override_settings(MIDDLEWARE=[]):
        bare = WSGIHandler()
    site = WSGIHandler()
    return {"no middleware": bare, "site middleware": site, "nps.wsgi": with_webhooks(site)}


def _inbound_bodies(phones: list[str], prefix: str) -> list[bytes]:
    bodies = []
    for n, phone in enumerate(phones):
        payload = {
            "message_id": f"MO{prefix}{n:08d}",
            "from": phone,
            "to": "10690000",
            "text": "3 排队太久" if n % 5 == 0 else "9",
            "received_at": datetime.now(UTC).isoformat(timespec="seconds"),
        }
        bodies.append(json.dumps(payload, ensure_ascii=False).encode())
    return bodies


def run(args: argparse.Namespace) -> None:
    from django.conf import settings
    from django.db import connection

    from bench.loop import Stack, _seed_customers, _wait_http, scratch_start, stack_env
    from followups.assignment import cases_assign
    from followups.models import Case, CaseStatus
    from surveys.conversation import messages_send
    from surveys.models import DeliveryReceipt, InboundMessage, OutboundMessage, OutboundStatus
    from surveys.receipts import receipts_apply
    from surveys.relay import outbox_relay
    from surveys.replies import replies_process

    redis, survey = scratch_start()
    secret = settings.NPS_GATEWAYS["simulator"]["SECRET"]
    stages = Stages(args.count, args.profile)
    applications = _applications()
    print(f"{args.count} replies; ms of CPU per reply: {'this process':>15} {'PostgreSQL':>10}")

    # Webhooks: each application stores its own customers' replies, the last run's stay.
    for run_index, name in enumerate(applications):
        items = _seed_customers(survey, run_index, args.count)
        bodies = _inbound_bodies([item.phone for item in items], f"{run_index}x")
        application = applications[name]
        for body in bodies[:20]:  # warm: imports, caches, the connection
            _call(application, _environ(INBOUND, body, secret))
        with stages.stage(f"webhook reply, {name}", len(bodies) - 20):
            for body in bodies[20:]:
                assert _call(application, _environ(INBOUND, body, secret)) == 200
        # A delivery receipt for an SMS we never sent: stored, then left alone.
        receipts = [
            json.dumps({"message_id": f"SM{run_index}x{n:08d}", "status": "delivered"}).encode()
            for n in range(args.count)
        ]
        with stages.stage(f"webhook receipt, {name}"):
            for body in receipts:
                assert _call(application, _environ(STATUS, body, secret)) == 200
    DeliveryReceipt.objects.update(processed_at=datetime.now(UTC), outcome="bench")
    if args.webhooks_only:
        return
    phones = [item.phone for item in items]
    # Only the last run's replies are processed; the others are left processed already.
    InboundMessage.objects.exclude(phone__in=phones).update(
        processed_at=datetime.now(UTC), outcome="bench"
    )
    ids = list(
        InboundMessage.objects.filter(processed_at__isnull=True)
        .order_by("pk")
        .values_list("pk", flat=True)
    )
    from surveys.queue import registered_task

    registered_task("surveys.tasks.process_replies")  # the tasks modules imported first
    with stages.stage("relay"):
        outbox_relay()
    redis.flushdb()  # no worker: the relay's tasks are run below
    with stages.stage("replies (worker)"):
        for start in range(0, len(ids), RELAY_BATCH):
            replies_process(message_ids=ids[start : start + RELAY_BATCH])
    redis.flushdb()
    # The send tasks the replies queued: one per reply chunk (surveys.relay.CHUNK) of
    # replies, with that chunk's messages.
    from surveys.relay import CHUNK

    queued = list(
        OutboundMessage.objects.filter(status=OutboundStatus.QUEUED, customer__phone__in=phones)
        .order_by("pk")
        .values_list("pk", flat=True)
    )
    cases = list(
        Case.objects.filter(status=CaseStatus.NEW, customer__phone__in=phones)
        .order_by("pk")
        .values_list("pk", flat=True)
    )
    print(f"  {len(queued)} SMS queued, {len(cases)} cases opened")

    workdir = Path(tempfile.mkdtemp(prefix="nps-bench-stages-"))
    web_port, sim_port = args.web_port, args.sim_port
    stack = Stack(workdir, stack_env(workdir, web_port, sim_port))
    python = sys.executable
    gunicorn = [python, "-m", "gunicorn", "nps.wsgi:application", "--bind", f"127.0.0.1:{web_port}"]
    gunicorn += ["--workers", "2", "--worker-class", "gthread", "--threads", "8"]
    stack.start("gunicorn", [*gunicorn, "--keep-alive", "5", "--log-level", "warning"])
    simulator = ["--no-auto-reply", "--port", str(sim_port)]
    simulator += ["--webhook-base", f"http://127.0.0.1:{web_port}"]
    stack.start("simulator", [python, "manage.py", "run_simulator", *simulator])
    try:
        _wait_http(stack, "gunicorn", web_port, "/bench/bare/")
        _wait_http(stack, "simulator", sim_port, "/")
        from surveys import conversation, sending

        conversation.SEND_CONCURRENCY = args.send_concurrency or conversation.SEND_CONCURRENCY
        record, rounds = sending.sends_record, []

        def counted(*a: Any, **k: Any) -> None:
            rounds.append(1)
            record(*a, **k)

        sending.sends_record = counted
        with stages.stage("send (sender)"):
            for start in range(0, len(queued), CHUNK):
                messages_send(message_ids=queued[start : start + CHUNK])
        sending.sends_record = record
        print(f"  {len(rounds)} rounds of records, {conversation.SEND_CONCURRENCY} calls at a time")
        expected = 2 * len(queued)
        deadline = time.monotonic() + 120
        mine = DeliveryReceipt.objects.exclude(outcome="bench")
        stored = mine.count()
        while stored < expected and time.monotonic() < deadline:
            time.sleep(0.5)
            stored = mine.count()
    finally:
        stack.stop()
    waiting = list(
        DeliveryReceipt.objects.filter(processed_at__isnull=True)
        .order_by("pk")
        .values_list("pk", flat=True)
    )
    print(f"  {stored} receipts stored, {stored - len(waiting)} applied by the sender")
    relay_batch = 200
    with stages.stage("receipts (worker)"):
        for start in range(0, len(waiting), relay_batch):
            receipts_apply(receipt_ids=waiting[start : start + relay_batch])
    per_chunk = max(1, len(cases) * CHUNK // max(len(ids), 1))
    with stages.stage("assign (worker)"):
        for start in range(0, len(cases), per_chunk):
            cases_assign(case_ids=cases[start : start + per_chunk])
    redis.flushdb()
    connection.close()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--count", type=int, default=1000, help="replies")
    parser.add_argument(
        "--profile",
        default="",
        help="stages (the start of their names, comma-separated): print their profiles",
    )
    parser.add_argument("--webhooks-only", action="store_true", help="the webhook stage only")
    parser.add_argument("--send-concurrency", type=int, default=0, help="calls at a time")
    args = parser.parse_args()
    args.web_port, args.sim_port = _free_port(), _free_port()
    os.environ["SIMULATOR_URL"] = f"http://127.0.0.1:{args.sim_port}"
    _django()
    run(args)
    return 0


if __name__ == "__main__":
    sys.exit(main())
