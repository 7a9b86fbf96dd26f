"""Webhook ingest benchmark: the signed inbound webhook against a bare one-row Django view.

Both are served by the same gunicorn (sync workers, 2 per core) with the same settings,
PostgreSQL database and Redis broker, in the same run, loaded by wrk with distinct
pre-signed messages. Runs bare/webhook alternately, keeps the best of each, prints both
rates, their ratio and the latencies. The webhook only stores; after each webhook run the
outbox relay is run once in-process to show every row reaches the broker (timed), and the
queued tasks are flushed. No Celery worker runs.

    .venv/bin/python bench/webhook_ingest.py [--duration 10] [--connections 16]

Needs wrk (apt-get install -y wrk). DATABASE_URL and CELERY_BROKER_URL default to
postgres://postgres@127.0.0.1:5432/nps_bench and redis://127.0.0.1:6379/15; the database
name must contain "bench" (its inbound table is truncated) and the Redis db must not be 0
(it is flushed).
"""

import argparse
import json
import os
import random
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parent.parent
LUA = ROOT / "bench" / "signed_post.lua"
PATHS = {"bare": "/bench/bare/", "webhook": "/webhooks/simulator/inbound/"}
GATEWAYS = {"bare": "bare", "webhook": "simulator"}  # the rows' gateway column per endpoint
TARGET_RATIO, TARGET_P99_MS = 0.70, 100.0
PROBE = "/bench/bare/"  # answered 405 to a GET once a worker is up; logged as a warning
ROW = "{:10}{:>10}{:>10}{:>9}{:>9}{:>9}"


@dataclass(frozen=True)
class Run:
    """One wrk run, as printed by done() in signed_post.lua."""

    endpoint: str
    requests: int
    duration_s: float
    rps: float
    p50_ms: float
    p99_ms: float
    max_ms: float
    ok2xx: int
    non2xx: int
    socket_errors: int
    exhausted: int  # wrk threads that sent all their messages before the time was up


def _django() -> None:
    sys.path.insert(0, str(ROOT))
    os.environ.setdefault("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/nps_bench")
    os.environ.setdefault("CELERY_BROKER_URL", "redis://127.0.0.1:6379/15")
    os.environ["DJANGO_SETTINGS_MODULE"] = "bench.settings"
    import django

    django.setup()


def _scratch_only(broker: str) -> None:
    if not broker.startswith("redis://") or urlsplit(broker).path.strip("/") in ("", "0"):
        sys.exit("CELERY_BROKER_URL must be redis://host:port/N with N != 0 (it is flushed)")


def _write_messages(path: Path, count: int, secret: str) -> None:
    """One "signature<TAB>body" line per message, bodies exactly as the simulator sends them."""
    from surveys.gateways.simulator_signature import sign_body

    rng = random.Random(20261122)
    received_at = datetime.now(UTC).isoformat(timespec="seconds")
    with path.open("w", encoding="utf-8") as out:
        for _ in range(count):
            payload = {
                "message_id": f"MO{uuid.uuid4().hex}",
                "from": f"+86138{rng.randrange(10**8):08d}",
                "to": "10690000",
                "text": "3",
                "received_at": received_at,
            }
            body = json.dumps(payload, ensure_ascii=False).encode()
            out.write(f"{sign_body(secret, body)}\t{body.decode()}\n")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _start_gunicorn(port: int, workers: int, log: Path) -> subprocess.Popen[bytes]:
    options = f"--bind 127.0.0.1:{port} --workers {workers} --worker-class sync --log-level warning"
    command = [sys.executable, "-m", "gunicorn", "nps.wsgi:application", *options.split()]
    with log.open("wb") as out:
        server = subprocess.Popen(command, cwd=ROOT, stdout=out, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and server.poll() is None:
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}{PROBE}", timeout=5)
        except urllib.error.HTTPError:
            return server  # 405 to a GET: Django answers
        except OSError:
            time.sleep(0.2)
    server.kill()
    sys.exit(f"gunicorn did not start:\n{log.read_text()}")


def _wrk(port: int, endpoint: str, data: Path, args: argparse.Namespace, seconds: int) -> Run:
    load = f"-t {args.threads} -c {args.connections} -d {seconds}s --timeout 5s --latency"
    url = f"http://127.0.0.1:{port}{PATHS[endpoint]}"
    command = ["wrk", *load.split(), "-s", str(LUA), url, "--", str(data), str(args.threads)]
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    found = re.search(r"^BENCH (.*)$", done.stdout, re.MULTILINE)
    if done.returncode != 0 or not found:
        sys.exit(f"wrk failed ({done.returncode}):\n{done.stdout}\n{done.stderr}")
    pairs = (item.split("=") for item in found.group(1).split())
    return Run(endpoint, **{key: float(v) if "." in v else int(v) for key, v in pairs})


def _reset(redis: Any) -> None:
    from django.db import connection

    from surveys.models import InboundMessage

    with connection.cursor() as cursor:
        cursor.execute(f'TRUNCATE "{InboundMessage._meta.db_table}" RESTART IDENTITY CASCADE')
    redis.flushdb()


def _check(run: Run, redis: Any, connections: int) -> list[str]:
    """Every 2xx has its row (at most one row per connection was in flight at the stop)."""
    from django.conf import settings

    from surveys.models import InboundMessage
    from surveys.relay import outbox_relay

    time.sleep(1)  # let requests still in flight when wrk stopped finish
    rows = InboundMessage.objects.filter(gateway=GATEWAYS[run.endpoint]).count()
    note = ""
    if run.endpoint == "webhook":
        # The webhook only stores; the outbox relay hands the rows to workers in batches.
        started = time.perf_counter()
        relayed = outbox_relay(batch=500, batches=10_000)
        seconds = time.perf_counter() - started
        pending = InboundMessage.objects.filter(enqueued_at__isnull=True).count()
        queued = int(redis.llen(settings.CELERY_TASK_DEFAULT_QUEUE))
        note = (
            f" relayed={relayed} in {seconds:.2f}s ({relayed / max(seconds, 1e-9):,.0f}/s)"
            f" as {queued} tasks, pending={pending}"
        )
    print(
        f"  {run.endpoint:8} {run.requests:7} req {run.rps:8.1f}/s p50 {run.p50_ms:6.2f} ms "
        f"p99 {run.p99_ms:6.2f} ms  2xx={run.ok2xx} rows={rows}{note}"
    )
    problems = []
    if run.non2xx or run.socket_errors:
        problems.append(f"{run.endpoint}: {run.non2xx} non-2xx, {run.socket_errors} socket errors")
    if not run.ok2xx <= rows <= run.ok2xx + connections:
        problems.append(f"{run.endpoint}: {run.ok2xx} answered 2xx but {rows} rows stored")
    if run.exhausted:  # the thread stopped early, wrk still divides by the whole duration
        problems.append(f"{run.endpoint}: ran out of messages, raise --messages")
    if run.endpoint == "webhook" and (relayed != rows or pending):
        problems.append(f"webhook: {rows} rows stored but {relayed} relayed, {pending} pending")
    return problems


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--duration", type=int, default=10, help="seconds per measured run")
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--threads", type=int, default=2, help="wrk threads")
    parser.add_argument("--rounds", type=int, default=2, help="bare/webhook pairs, best kept")
    parser.add_argument("--messages", type=int, default=60_000, help="cap per run")
    parser.add_argument("--workers", type=int, default=2 * (os.cpu_count() or 1))
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        print("wrk is missing: apt-get install -y wrk", file=sys.stderr)
        return 2
    _django()
    import redis as redis_client
    from django.conf import settings
    from django.db import connection

    from bench.database import database_ready

    db = settings.DATABASES["default"]
    _scratch_only(settings.CELERY_BROKER_URL)
    database_ready(db)
    redis = redis_client.Redis.from_url(settings.CELERY_BROKER_URL)
    redis.flushdb()
    workdir = Path(tempfile.mkdtemp(prefix="nps-bench-"))
    data = workdir / "messages.tsv"
    _write_messages(data, args.messages, settings.NPS_GATEWAYS["simulator"]["SECRET"])
    port = _free_port()
    print(
        f"gunicorn: {args.workers} sync workers on 127.0.0.1:{port}; wrk -t{args.threads} "
        f"-c{args.connections} -d{args.duration}s; {args.messages} distinct signed messages"
    )
    log = workdir / "gunicorn.log"
    server = _start_gunicorn(port, args.workers, log)
    problems: list[str] = []
    runs: list[Run] = []
    try:
        for endpoint in PATHS:  # warm-up: every worker connected to PostgreSQL and Redis
            _reset(redis)
            _wrk(port, endpoint, data, args, 2)
        for _ in range(args.rounds):
            for endpoint in PATHS:
                _reset(redis)
                runs.append(_wrk(port, endpoint, data, args, args.duration))
                problems += _check(runs[-1], redis, args.connections)
    finally:
        server.terminate()
        try:
            server.wait(timeout=15)
        except subprocess.TimeoutExpired:
            server.kill()
        redis.flushdb()
        connection.close()
        logged = log.read_text(errors="replace").splitlines()
        errors = [line for line in logged if line and f"(GET): {PROBE}" not in line]
        shutil.rmtree(workdir, ignore_errors=True)
    best = {e: max((r for r in runs if r.endpoint == e), key=lambda r: r.rps) for e in PATHS}
    print(f"\nbest of {args.rounds}:")
    print(ROW.format("endpoint", "requests", "rps", "p50 ms", "p99 ms", "non-2xx"))
    for r in best.values():
        print(ROW.format(r.endpoint, r.requests, f"{r.rps:.1f}", r.p50_ms, r.p99_ms, r.non2xx))
    ratio, p99 = best["webhook"].rps / best["bare"].rps, best["webhook"].p99_ms
    ok_ratio, ok_p99 = ratio >= TARGET_RATIO, p99 <= TARGET_P99_MS
    print(f"ratio webhook/bare = {ratio:.2f} (target >= 0.70){'' if ok_ratio else '  MISSED'}")
    print(f"webhook p99 = {p99:.0f} ms (target <= 100 ms){'' if ok_p99 else '  MISSED'}")
    if errors:
        print("gunicorn log:\n  " + "\n  ".join(errors[-20:]))
    for problem in problems:
        print(f"FAILED {problem}", file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
