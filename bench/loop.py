"""Closed-loop benchmark (issue 19): signed replies at a steady rate through the whole stack.

Starts the production stack as subprocesses on this machine: gunicorn (sync workers),
one Celery worker consuming every queue (default prefork concurrency), Celery beat (the
outbox relay and the sweepers) and the SMS gateway simulator, which receives the
conversation SMS (why?, thanks, care, callback promise) over real HTTP. Seeds a default
route team open around the clock with enough agents that assignment is never
capacity-bound, a survey, and one customer with a sent invitation per reply to come.

For each rate, an open-loop generator (threads on a fixed schedule: a slow answer does
not slow the next send) posts signed simulator inbound webhooks for --seconds, each
from a distinct customer, 20% detractors giving a reason ("3 排队太久"), the rest "9".
Then it waits (at most --drain-timeout) until every reply is processed and every
detractor's case is assigned, and prints from the database, per rate:

    replies/s | reply -> response p50/p99 | detractor -> case assigned p50/p99 | backlog
    at the end of the load | drained in

measured from the moment each webhook was posted, plus the checks (each reply stored
once and scored, one response per reply, one case per detractor, assigned), the rows the
outbox relay handed out against the rows stored, the conversation SMS by status and the
tasks the worker received (the last two from its log).

    .venv/bin/python bench/loop.py [--rates 25,50,100] [--seconds 30]

DATABASE_URL and CELERY_BROKER_URL default to postgres://postgres@127.0.0.1:5432/
nps_bench_loop and redis://127.0.0.1:6379/14; the database name must contain "bench"
(its survey and follow-up tables are truncated) and the Redis db must not be 0 (it is
flushed).
"""

import argparse
import contextlib
import http.client
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
import uuid
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.database import postgres_cpu
from bench.webhook_ingest import _free_port, _scratch_only
from devtools.procfile import procfile_worker

ROOT = Path(__file__).resolve().parent.parent
INBOUND = "/webhooks/simulator/inbound/"
PROBE = "/bench/bare/"  # answered 405 to a GET once a gunicorn worker is up
QUEUE = "nps-bench-loop"
AGENTS, AGENT_CAPACITY = 40, 10_000
DETRACTOR_SHARE, DETRACTOR_TEXT, OTHER_TEXT = 0.2, "3 排队太久", "9"
TASK_RECEIVED = re.compile(r"Task ([\w.]+)\[[^\]]+\] received")
# The runtime's digits may come masked (the log masks digit runs like phone numbers).
RELAYED = re.compile(r"Task surveys\.tasks\.relay_outbox\[[^\]]+\] succeeded in \S+: (\d+)$", re.M)
WORKERS = ("worker", "sender")  # the Celery workers' names in the stack
HEADER = "{:>10} | {:>27} | {:>37} | {:>16} | {:>10}"


@dataclass
class Sent:
    """One posted reply: when (epoch seconds, just before the request), whose, the answer."""

    message_id: str
    phone: str
    detractor: bool
    at: float = 0.0
    status: int = 0
    seconds: float = 0.0  # the webhook's answer time


@dataclass
class Result:
    rate: int
    sent: list[Sent]
    late_s: float  # the most a send started after its scheduled time
    backlog: int  # replies not yet processed when the load ended
    drained_s: float | None  # after the load ended; None: not within the timeout
    response_s: list[float] = field(default_factory=list)
    assigned_s: list[float] = field(default_factory=list)
    tasks: Counter[str] = field(default_factory=Counter)
    # Rows the outbox relay handed out, replies and receipts. A receipt that overtook its
    # send is applied by the send, not relayed: more than stored is a lower bound on rows
    # handed out twice; fewer is normal.
    relayed: int = 0
    receipts: int = 0  # delivery receipts stored meanwhile (for the conversation SMS)
    inbound: int = 0  # the backlog: replies stored in all (its own and any other)
    sms: Counter[str] = field(default_factory=Counter)  # conversation SMS by status
    problems: list[str] = field(default_factory=list)
    sms_left: int = 0  # conversation SMS not yet sent and confirmed when the load ended
    done_s: float = 0.0  # from the end of the load until the last of them (or the wait's end)
    # Replies and receipts processed from the first reply scored (backlog) or the end of the
    # load (a steady rate), and the seconds until the last of them: rows/s worked through.
    rows_from: float = 0.0
    rows: int = 0
    rows_s: float = 0.0
    cpu: dict[str, float] = field(default_factory=dict)  # the drain's ms of CPU per reply


def _django() -> None:
    os.environ.setdefault("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/nps_bench_loop")
    os.environ.setdefault("CELERY_BROKER_URL", "redis://127.0.0.1:6379/14")
    os.environ["DJANGO_SETTINGS_MODULE"] = "bench.settings"
    os.environ["CELERY_QUEUE"] = QUEUE
    os.environ["NPS_GATEWAYS"] = "simulator"
    os.environ["NPS_SEND_GATEWAY"] = "simulator"
    import django

    django.setup()


class Stack:
    """The processes this benchmark starts; stop() ends them all, group by group."""

    def __init__(self, workdir: Path, env: dict[str, str]) -> None:
        self.workdir, self.env = workdir, env
        self.procs: dict[str, subprocess.Popen[bytes]] = {}

    def log(self, name: str) -> Path:
        return self.workdir / f"{name}.log"

    def start(self, name: str, command: list[str]) -> None:
        with self.log(name).open("wb") as out:
            self.procs[name] = subprocess.Popen(
                command,
                cwd=ROOT,
                env=self.env,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # its own process group: prefork children end too
            )

    def alive(self, name: str) -> bool:
        return self.procs[name].poll() is None

    def fail(self, name: str, what: str) -> None:
        tail = self.log(name).read_text(errors="replace").splitlines()[-30:]
        raise SystemExit(f"{name} {what}:\n  " + "\n  ".join(tail))

    def stop(self) -> None:
        for proc in self.procs.values():
            if proc.poll() is None:
                proc.terminate()  # the leader shuts its own workers down (warm shutdown)
        deadline = time.monotonic() + 15
        for proc in self.procs.values():
            with contextlib.suppress(subprocess.TimeoutExpired):
                proc.wait(timeout=max(deadline - time.monotonic(), 0.1))
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(timeout=10)
            else:  # children left behind by a leader that exited (prefork pool)
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(proc.pid, signal.SIGKILL)


def _wait_http(stack: Stack, name: str, port: int, path: str) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and stack.alive(name):
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=5)
            return
        except urllib.error.HTTPError:
            return  # an answer, whatever its status: the server is up
        except OSError:
            time.sleep(0.2)
    stack.fail(name, "did not start")


def _wait_log(stack: Stack, name: str, pattern: str) -> None:
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline and stack.alive(name):
        if re.search(pattern, stack.log(name).read_text(errors="replace")):
            return
        time.sleep(0.3)
    stack.fail(name, "did not start")


def _start_web(stack: Stack, args: argparse.Namespace, web: int, sim: int) -> None:
    python = sys.executable
    bind = f"--bind 127.0.0.1:{web} --workers {args.workers} --worker-class {args.worker_class}"
    if args.worker_class == "gthread":  # keep-alive: the simulator's receipts reuse connections
        bind += f" --threads {args.web_threads} --keep-alive 5"
    gunicorn = [python, "-m", "gunicorn", "nps.wsgi:application", *bind.split()]
    stack.start("gunicorn", [*gunicorn, "--log-level", "warning"])
    base = f"http://127.0.0.1:{web}"
    simulator = ["--no-auto-reply", "--port", str(sim), "--webhook-base", base]
    stack.start("simulator", [python, "manage.py", "run_simulator", *simulator])
    _wait_http(stack, "gunicorn", web, PROBE)
    _wait_http(stack, "simulator", sim, "/")


def _worker_cgroup(args: argparse.Namespace, name: str) -> list[str]:
    """A prefix that starts a command inside a CPU cgroup, or nothing.

    With --worker-cpu every Celery process (the workers and beat) joins one group whose
    quota is that many cores between them; with --worker-cpu-each each joins a group of
    its own (`name`) with that many cores, as a deployment gives each its own share. The
    shell joins the group before it execs the command, so every process the command forks
    (a prefork pool) is in it too.
    """
    cores = args.worker_cpu_each or args.worker_cpu
    if not cores:
        return []
    suffix = f"-{name}" if args.worker_cpu_each else ""
    group = Path(f"/sys/fs/cgroup/cpu/nps-bench-loop-{os.getpid()}{suffix}")
    if not group.exists():
        try:
            group.mkdir()
            period = int((group / "cpu.cfs_period_us").read_text())
            (group / "cpu.cfs_quota_us").write_text(str(int(period * cores)))
        except OSError as error:
            why = f"--worker-cpu needs a writable cgroup v1 cpu controller: {error}"
            raise SystemExit(why) from error
    args.worker_cgroups = {*getattr(args, "worker_cgroups", set()), group}
    return ["sh", "-c", f'echo $$ > {group}/cgroup.procs && exec "$@"', "sh"]


def _worker_cgroup_remove(args: argparse.Namespace) -> None:
    for group in getattr(args, "worker_cgroups", ()):
        with contextlib.suppress(OSError):
            group.rmdir()  # empty once the stack has stopped


def _start_workers(stack: Stack, args: argparse.Namespace) -> None:
    python = sys.executable
    # With --worker-cpu the workers and beat share that many cores (a cgroup's quota), so
    # that the rest of the machine can offer them more than they sustain; with
    # --worker-cpu-each each has that many of its own.
    celery = [python, "-m", "celery", "-A", "nps", "worker", "-l", "info"]
    if args.one_worker:
        stack.start("worker", [*_worker_cgroup(args, "worker"), *celery])
    else:  # as the Procfile: replies and assignment; apart from them sends, receipts, the rest
        worker = [*_worker_cgroup(args, "worker"), *celery]
        stack.start("worker", [*worker, *procfile_worker("worker", QUEUE).arguments()])
        # --sender-nice: the conversation SMS and receipts yield the CPU (inside the quota) to
        # the replies and assignment, so that under overload the replies go first.
        nice = ["nice", "-n", str(args.sender_nice)] if args.sender_nice else []
        sender = [*_worker_cgroup(args, "sender"), *nice, *celery]
        stack.start("sender", [*sender, *procfile_worker("sender", QUEUE).arguments()])
    beat_file = str(stack.workdir / "celerybeat-schedule")
    beat = [python, "-m", "celery", "-A", "nps", "beat", "-s", beat_file]
    stack.start("beat", [*_worker_cgroup(args, "beat"), *beat])
    for name in WORKERS:
        if name in stack.procs:
            _wait_log(stack, name, r"\bready\.")
    time.sleep(1)
    if not stack.alive("beat"):
        stack.fail("beat", "exited")


def _ingest(args: argparse.Namespace, workdir: Path, secret: str) -> dict[str, float]:
    """bench/webhook_ingest.py's two endpoints on this run's gunicorn, before any worker
    runs: requests/s of the bare one-row view and of the signed webhook (best of two)."""
    from django.db import connection

    from bench.webhook_ingest import _write_messages, _wrk
    from surveys.models import InboundMessage

    data = workdir / "ingest.tsv"
    _write_messages(data, 60_000, secret)
    load = argparse.Namespace(threads=2, connections=16)
    rates: dict[str, float] = {}
    for endpoint in ("bare", "webhook", "bare", "webhook"):
        run = _wrk(args.web_port, endpoint, data, load, args.ingest_seconds)
        rates[endpoint] = max(rates.get(endpoint, 0.0), run.rps)
        time.sleep(1)  # requests wrk left in gunicorn's queue are answered (and stored) first
        with connection.cursor() as cursor:  # the next run's rows are new again
            cursor.execute(f'TRUNCATE "{InboundMessage._meta.db_table}" CASCADE')
    return rates


def _procs() -> dict[int, tuple[int, str, float]]:
    """Every process now: pid -> parent, name, CPU seconds of its own and its reaped children."""
    ticks = os.sysconf("SC_CLK_TCK")
    procs: dict[int, tuple[int, str, float]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text()
        except OSError:
            continue
        name_end = stat.rindex(")")
        fields = stat[name_end + 2 :].split()
        used = sum(int(fields[n]) for n in (11, 12, 13, 14)) / ticks
        procs[int(entry)] = (int(fields[1]), stat[stat.index("(") + 1 : name_end], used)
    return procs


def _machine_busy() -> float:
    """CPU seconds the whole machine has been busy (every core, all but idle and iowait)."""
    fields = [int(n) for n in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    return (sum(fields[:8]) - fields[3] - fields[4]) / os.sysconf("SC_CLK_TCK")


def _postgres_read(seen: dict[int, float]) -> None:
    """Keep the latest CPU of each of this run's PostgreSQL processes in `seen`: a backend
    ends when its connection reaches CONN_MAX_AGE (60 s), and what it used is kept as of
    its last reading instead of leaving the sum (read every second while a phase runs)."""
    from django.conf import settings

    seen.update(postgres_cpu(settings.DATABASES["default"]["NAME"], writers=True))


def _cpu_seconds(stack: Stack, postgres: dict[int, float]) -> dict[str, float]:
    """CPU seconds used so far (user + system, read from /proc), per process of the stack
    with all its children (the children that ended included), this run's PostgreSQL
    backends and its writers together (bench.database.postgres_cpu; `postgres` keeps each
    one's latest reading, so pass the same dict at both ends of a phase and to
    _postgres_read between), and this benchmark's own process (the load generator)."""
    from django.conf import settings

    procs = _procs()
    children: dict[int, list[int]] = {}
    for pid, (parent, _, _) in procs.items():
        children.setdefault(parent, []).append(pid)

    def tree(pid: int) -> float:
        return procs.get(pid, (0, "", 0.0))[2] + sum(tree(c) for c in children.get(pid, []))

    seconds = {name: tree(proc.pid) for name, proc in stack.procs.items()}
    postgres.update(postgres_cpu(settings.DATABASES["default"]["NAME"], writers=True, pids=procs))
    seconds["PostgreSQL"] = sum(postgres.values())
    seconds["load generator"] = procs.get(os.getpid(), (0, "", 0.0))[2]
    seconds["machine"] = _machine_busy()
    return seconds


def _drain(stack: Stack, args: argparse.Namespace, survey: Any, count: int) -> Result:
    """`count` replies stored while no worker runs, then the workers started: how fast
    the whole loop works through a backlog (replies scored, cases assigned, SMS sent)."""
    from django.conf import settings
    from django.db.models import Min

    from followups.models import Case
    from surveys.models import DeliveryReceipt, InboundMessage, Response

    items = _seed_customers(survey, 9, count)
    secret = settings.NPS_GATEWAYS["simulator"]["SECRET"]
    _load(args.web_port, secret, items, rate=10_000, threads=args.threads)
    ids = [item.message_id for item in items]
    result = Result(0, items, 0.0, _unprocessed(ids), None)
    started = time.time()
    postgres: dict[int, float] = {}
    cpu_before = _cpu_seconds(stack, postgres)
    _start_workers(stack, args)
    deadline = time.monotonic() + args.drain_timeout
    # Only the backlog's rows exist yet: whole-table counts, cheap enough not to steal the
    # CPU this measures (a query over 10,000 ids twice a second took a sixth of it).
    waiting = InboundMessage.objects.filter(processed_at__isnull=True)
    unassigned = Case.objects.filter(assigned_at__isnull=True)
    while time.monotonic() < deadline and (waiting.exists() or unassigned.exists()):
        _postgres_read(postgres)
        time.sleep(1)
    stored = InboundMessage.objects.filter(gateway="simulator", gateway_message_id__in=ids)
    scored = Response.objects.filter(message__in=stored).order_by("created_at")
    first, last = scored.first(), scored.last()
    if first is not None and last is not None and _unprocessed(ids) == 0:
        result.drained_s = last.created_at.timestamp() - first.created_at.timestamp()
        result.late_s = first.created_at.timestamp() - started  # workers' start to first score
        # A batch marks its replies processed a moment before it stamps their responses.
        began = stored.aggregate(began=Min("processed_at"))["began"]
        result.rows_from = began.timestamp() if began else first.created_at.timestamp()
    while _sms_pending([item.phone for item in items]) and time.monotonic() < deadline:
        _postgres_read(postgres)
        time.sleep(1)
    cpu_after, wall = _cpu_seconds(stack, postgres), time.time() - started
    if result.rows_from:
        result.rows, result.rows_s = _rows_processed(result.rows_from)
    result.cpu = {
        name: (cpu_after[name] - cpu_before.get(name, 0.0)) * 1000 / count for name in cpu_after
    }
    result.cpu["wall"] = wall * 1000 / count
    time.sleep(2)
    tasks, result.relayed = _worker_counts(stack)
    result.tasks = tasks
    # Every row stored so far, the backlog's and any other (the tables held none before
    # it but what the ingest phase's last requests may have left).
    result.receipts = DeliveryReceipt.objects.count()
    result.inbound = InboundMessage.objects.count()
    _measure(result)
    result.problems = [p.replace("0/s:", "backlog:", 1) for p in result.problems]
    return result


def _reset() -> None:
    """Empty the loop's tables: customers, teams, surveys and everything hanging off them."""
    from django.db import connection

    from followups.models import Team
    from surveys.models import Customer, DeliveryReceipt, InboundMessage, Survey

    tables = ", ".join(
        f'"{m._meta.db_table}"' for m in (Customer, Team, Survey, InboundMessage, DeliveryReceipt)
    )
    with connection.cursor() as cursor:
        cursor.execute(f"TRUNCATE {tables} RESTART IDENTITY CASCADE")


def _seed_routing() -> Any:
    """A default route team open around the clock, agents on shift all day, a survey."""
    from followups.models import Agent, Team
    from surveys.models import Survey

    midnight = datetime.min.time()
    team = Team.objects.create(
        name="Bench loop", is_default_route=True, day_start=midnight, day_end=midnight
    )
    Agent.objects.bulk_create(
        Agent(
            name=f"Bench agent {n}",
            team=team,
            capacity=AGENT_CAPACITY,
            shift_start=midnight,
            shift_end=midnight,
        )
        for n in range(1, AGENTS + 1)
    )
    # Quiet hours off (equal start and end), as the demo does: the loop answers at any hour.
    return Survey.objects.create(
        name="Bench loop NPS", quiet_start=midnight, quiet_end=midnight, fatigue_days=0
    )


def _seed_customers(survey: Any, rate_index: int, count: int) -> list[Sent]:
    """`count` fresh customers, each with a sent invitation awaiting an answer."""
    from django.utils import timezone

    from surveys.models import Customer, Interaction, Invitation, InvitationStatus, Touchpoint

    now = timezone.now()
    phones = [f"+8613{rate_index % 10}{n:08d}" for n in range(count)]
    customers = Customer.objects.bulk_create(Customer(phone=p) for p in phones)
    interactions = Interaction.objects.bulk_create(
        Interaction(
            external_id=f"bench-loop-{rate_index}-{n}",
            customer=c,
            touchpoint=Touchpoint.values[0],
            occurred_at=now - timedelta(minutes=5),
        )
        for n, c in enumerate(customers)
    )
    Invitation.objects.bulk_create(
        Invitation(
            interaction=i,
            customer=i.customer,
            survey=survey,
            status=InvitationStatus.SENT,
            language="zh-hans",
            text="bench",
            gateway="simulator",
            provider_message_id=f"SM{uuid.uuid4().hex}",
            sent_at=now - timedelta(minutes=1),
            expires_at=now + timedelta(hours=48),
        )
        for i in interactions
    )
    every = round(1 / DETRACTOR_SHARE)
    return [Sent(f"MO{uuid.uuid4().hex}", p, n % every == 0) for n, p in enumerate(phones)]


def _post(conn: http.client.HTTPConnection, secret: str, item: Sent) -> None:
    """POST one reply on the sending thread's connection, kept alive when gunicorn keeps it
    (gthread workers; a sync worker closes it after each answer and the next POST opens a
    new one). A kept connection the server closed meanwhile is retried once on a new one:
    the webhook stores a message id once."""
    from surveys.gateways.simulator_signature import HEADER as SIGNATURE
    from surveys.gateways.simulator_signature import sign_body

    payload = {
        "message_id": item.message_id,
        "from": item.phone,
        "to": "10690000",
        "text": DETRACTOR_TEXT if item.detractor else OTHER_TEXT,
        "received_at": datetime.now(UTC).isoformat(timespec="seconds"),
    }
    body = json.dumps(payload, ensure_ascii=False).encode()
    headers = {"Content-Type": "application/json", SIGNATURE: sign_body(secret, body)}
    item.at = time.time()
    item.status = -1
    for attempt in range(2):
        reused = conn.sock is not None
        try:
            conn.request("POST", INBOUND, body=body, headers=headers)
            answer = conn.getresponse()
            answer.read()
            item.status = answer.status
            break
        except (OSError, http.client.HTTPException):
            conn.close()
            if not reused or attempt:
                break
    item.seconds = time.time() - item.at


def _load(
    port: int,
    secret: str,
    items: list[Sent],
    rate: int,
    threads: int,
    seconds: float = 0.0,
    nice: int = 0,
) -> float:
    """Post items[n] at start + n/rate (open loop); returns the worst lateness in seconds.
    With `seconds`, stop after that long whatever is left (a loaded machine may not keep up:
    bench/freshness.py then reports a lower rate rather than a longer run). With `nice`,
    the sending threads run at that nice value (negative: ahead of the stack, so that the
    rate offered is the rate asked although the stack fills the cores; root only)."""
    lock, cursor, late = threading.Lock(), iter(range(len(items))), [0.0]
    start = time.monotonic() + 0.5
    stop_at = start + seconds if seconds else float("inf")

    def run() -> None:
        if nice:
            os.setpriority(os.PRIO_PROCESS, 0, nice)  # on Linux: this thread only
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        while True:
            with lock:
                n = next(cursor, None) if time.monotonic() < stop_at else None
            if n is None:
                conn.close()
                return
            due = start + n / rate
            wait = due - time.monotonic()
            if wait > 0:
                time.sleep(wait)
            else:
                late[0] = max(late[0], -wait)
            _post(conn, secret, items[n])

    pool = [threading.Thread(target=run, daemon=True) for _ in range(threads)]
    for thread in pool:
        thread.start()
    for thread in pool:
        thread.join()
    return late[0]


def _warm_up(port: int, secret: str, count: int) -> None:
    """Replies from unknown senders, until processed: every process connected and loaded."""
    items = [Sent(f"MO{uuid.uuid4().hex}", f"+86150{n:08d}", False) for n in range(count)]
    _load(port, secret, items, rate=count, threads=count)
    deadline = time.monotonic() + 60
    while _unprocessed([item.message_id for item in items]) and time.monotonic() < deadline:
        time.sleep(0.5)


def _unprocessed(ids: list[str]) -> int:
    from surveys.models import InboundMessage

    rows = InboundMessage.objects.filter(gateway="simulator", gateway_message_id__in=ids)
    stored = rows.count()
    return rows.filter(processed_at__isnull=True).count() + (len(ids) - stored)


def _unassigned(phones: list[str]) -> int:
    from followups.models import Case

    cases = Case.objects.filter(customer__phone__in=phones)
    return len(phones) - cases.filter(assigned_at__isnull=False).count()


def _sms_pending(phones: list[str]) -> int:
    """Conversation SMS not yet sent, plus receipts not yet processed."""
    from surveys.models import DeliveryReceipt, OutboundMessage, OutboundStatus

    waiting = [OutboundStatus.QUEUED, OutboundStatus.SENDING]
    sms = OutboundMessage.objects.filter(customer__phone__in=phones, status__in=waiting)
    return sms.count() + DeliveryReceipt.objects.filter(processed_at__isnull=True).count()


def _rows_processed(since: float) -> tuple[int, float]:
    """Replies and receipts processed at or after `since` (epoch seconds), and the seconds
    from `since` to the last of them: the relay's rows worked through per second."""
    from datetime import UTC, datetime

    from django.db.models import Count, Max

    from surveys.models import DeliveryReceipt, InboundMessage

    after = datetime.fromtimestamp(since, tz=UTC)
    count, last = 0, since
    for model in (InboundMessage, DeliveryReceipt):
        rows = model.objects.filter(processed_at__gte=after)
        found = rows.aggregate(n=Count("pk"), last=Max("processed_at"))
        count += found["n"]
        last = max(last, found["last"].timestamp()) if found["last"] else last
    return count, last - since


def _worker_counts(stack: Stack) -> tuple[Counter[str], int]:
    """Tasks received by name, and rows relayed, so far (from the workers' logs)."""
    logged = "".join(
        stack.log(name).read_text(errors="replace") for name in WORKERS if name in stack.procs
    )
    return Counter(TASK_RECEIVED.findall(logged)), sum(map(int, RELAYED.findall(logged)))


def _run_rate(stack: Stack, args: argparse.Namespace, survey: Any, index: int, rate: int) -> Result:
    from django.conf import settings

    from followups.models import Case
    from surveys.models import DeliveryReceipt, InboundMessage, OutboundMessage

    waiting = InboundMessage.objects.filter(processed_at__isnull=True)
    unassigned = Case.objects.filter(assigned_at__isnull=True)
    items = _seed_customers(survey, index, rate * args.seconds)
    phones = [item.phone for item in items]
    secret = settings.NPS_GATEWAYS["simulator"]["SECRET"]
    ids = [item.message_id for item in items]
    detractors = [item.phone for item in items if item.detractor]
    tasks_before, relayed_before = _worker_counts(stack)
    receipts_before = DeliveryReceipt.objects.count()
    # With every earlier row done, whole-table checks tell when these are, cheaply: the
    # same checks over this rate's ids (tens of thousands, twice a second) took PostgreSQL
    # CPU from the cores the drain is measured on.
    earlier_done = not (waiting.exists() or unassigned.exists())
    late = _load(args.web_port, secret, items, rate, args.threads, nice=args.generator_nice)
    ended, ended_at = time.monotonic(), time.time()
    backlog, sms_left = _unprocessed(ids), _sms_pending(phones)
    drained: float | None = None
    deadline, assigned_at = ended + args.drain_timeout, None
    while time.monotonic() < deadline:
        if drained is None and not (waiting.exists() if earlier_done else _unprocessed(ids)):
            drained = time.monotonic() - ended
        if (
            drained is not None
            and assigned_at is None
            and not (unassigned.exists() if earlier_done else _unassigned(detractors))
        ):
            assigned_at = time.monotonic()
        # The SMS and their receipts get another minute at most: an unmatched receipt would
        # wait for the hourly expiry; what is left shows in the counts.
        if assigned_at is not None and (
            _sms_pending(phones) == 0 or time.monotonic() > assigned_at + 60
        ):
            break
        time.sleep(0.5)
    done = time.monotonic() - ended
    time.sleep(2)  # a task received late (a duplicate) still shows in the count
    result = Result(rate, items, late, backlog, drained, sms_left=sms_left, done_s=done)
    result.rows, result.rows_s = _rows_processed(ended_at)
    tasks, relayed = _worker_counts(stack)
    result.tasks, result.relayed = tasks - tasks_before, relayed - relayed_before
    result.receipts = DeliveryReceipt.objects.count() - receipts_before
    result.sms = Counter(
        OutboundMessage.objects.filter(customer__phone__in=phones).values_list("status", flat=True)
    )
    _measure(result)
    return result


def _measure(result: Result) -> None:
    from followups.models import Case
    from surveys.models import InboundMessage, Response

    by_id = {item.message_id: item for item in result.sent}
    rows = list(
        InboundMessage.objects.filter(
            gateway="simulator", gateway_message_id__in=list(by_id)
        ).values_list("gateway_message_id", "invitation_id", "processed_at", "outcome")
    )
    invitation_of = {mid: inv for mid, inv, _, _ in rows if inv is not None}
    invitations = list(invitation_of.values())
    responded = dict(
        Response.objects.filter(invitation_id__in=invitations).values_list(
            "invitation_id", "created_at"
        )
    )
    assigned = dict(
        Case.objects.filter(response__invitation_id__in=invitations).values_list(
            "response__invitation_id", "assigned_at"
        )
    )
    for mid, invitation in invitation_of.items():
        at = by_id[mid].at
        if invitation in responded:
            result.response_s.append(responded[invitation].timestamp() - at)
        case_assigned = assigned.get(invitation)
        if by_id[mid].detractor and case_assigned is not None:
            result.assigned_s.append(case_assigned.timestamp() - at)
    failed = sum(1 for item in result.sent if not 200 <= item.status < 300)
    detractors = sum(1 for item in result.sent if item.detractor)
    outcomes = Counter(outcome for _, _, _, outcome in rows)
    checks = [
        (failed == 0, f"{failed} webhook posts not answered 2xx"),
        (len(rows) == len(by_id), f"{len(rows)} replies stored for {len(by_id)} posted"),
        (outcomes == Counter(scored=len(by_id)), f"outcomes {dict(outcomes)}"),
        (len(responded) == len(by_id), f"{len(responded)} responses for {len(by_id)} replies"),
        (len(assigned) == detractors, f"{len(assigned)} cases for {detractors} detractors"),
        (len(result.assigned_s) == detractors, f"{len(result.assigned_s)} cases assigned"),
    ]
    result.problems = [f"{result.rate}/s: {text}" for ok, text in checks if not ok]


def _pct(values: list[float], q: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q * len(ordered) + 0.5) - 1))]


def _pair(values: list[float]) -> str:
    p50, p99 = _pct(values, 0.50), _pct(values, 0.99)
    return "-" if p50 is None or p99 is None else f"{p50:.2f} s / {p99:.2f} s"


def _row(r: Result) -> str:
    drained = f"{r.drained_s:.1f} s" if r.drained_s is not None else "not drained"
    return HEADER.format(r.rate, _pair(r.response_s), _pair(r.assigned_s), r.backlog, drained)


def _tasks(r: Result) -> str:
    return ", ".join(f"{name.rsplit('.', 1)[-1]}={n}" for name, n in sorted(r.tasks.items()))


def _details(r: Result, backlog: Result | None = None) -> str:
    """A rate's details; with the run's `backlog`, the drain after the load against it."""
    webhook = [item.seconds for item in r.sent]
    p50, p99 = _pct(webhook, 0.50) or 0.0, _pct(webhook, 0.99) or 0.0
    tasks = _tasks(r)
    sms = ", ".join(f"{status}={n}" for status, n in sorted(r.sms.items()))
    posted = [item.at for item in r.sent if item.at]
    span = max(posted) - min(posted) if len(posted) > 1 else 0.0
    offered = f" over {span:.1f} s ({len(posted) / span:.0f}/s)" if span else ""
    drain = ""
    if r.drained_s and r.backlog:
        drain = (
            f", backlog of {r.backlog} drained at {r.backlog / r.drained_s:.0f}/s beside"
            f" {r.sms_left} conversation SMS and receipts waiting, all done"
            f" {r.done_s:.1f} s after the load"
        )
    if r.rows_s:
        drain += f"; {r.rows} replies and receipts processed after the load, {_rows_rate(r)}"
    if backlog is not None and backlog.drained_s and backlog.rows_s and r.drained_s and r.rows_s:
        # The sustainable rate is the backlog's; the whole loop's work is its rows (a reply
        # and the receipts of its SMS), the replies alone are what was scored.
        replies = (r.backlog / r.drained_s) / (len(backlog.sent) / backlog.drained_s)
        rows = (r.rows / r.rows_s) / (backlog.rows / backlog.rows_s)
        drain += f" (against the backlog's: replies {replies:.2f}x, rows {rows:.2f}x)"
    return (
        f"  {r.rate}/s: {len(r.sent)} replies{offered}, webhook p50 {p50 * 1000:.0f} ms p99 "
        f"{p99 * 1000:.0f} ms, sender at most {r.late_s:.2f} s late{drain}\n"
        f"  relay handed out {r.relayed} rows for {len(r.sent)} replies + {r.receipts} receipts"
        f" stored (handed out again: at least {max(0, r.relayed - len(r.sent) - r.receipts)});"
        f" conversation SMS {sms}\n"
        f"  worker received {tasks}"
    )


def _rows_rate(r: Result) -> str:
    return f"{r.rows / r.rows_s:.0f} rows/s" if r.rows_s else "no rows"


OVERALL = ("wall", "machine")  # not a process of the run: left out of the processes' total


def _drain_row(r: Result, ingest: dict[str, float]) -> str:
    if r.drained_s is None:
        return f"backlog of {len(r.sent)} replies: not drained within the timeout"
    rate = len(r.sent) / r.drained_s
    ratio = f" = {rate / ingest['bare']:.2f}x the bare ingest rate" if ingest else ""
    tasks = _tasks(r)
    return (
        f"backlog of {len(r.sent)} replies stored with no worker running; workers started, the"
        f" first scored after {r.late_s:.1f} s, then all in {r.drained_s:.1f} s:"
        f" {rate:.0f} replies/s{ratio}; {r.rows} replies and receipts processed from the first"
        f" score in {r.rows_s:.1f} s: {_rows_rate(r)}\n"
        f"  relay handed out {r.relayed} rows for {r.inbound} replies + {r.receipts} receipts"
        f" stored (handed out again: at least {max(0, r.relayed - r.inbound - r.receipts)});"
        f" worker received {tasks}\n"
        "  CPU per reply, start of the workers to the last SMS and receipt: "
        + ", ".join(f"{name} {ms:.1f} ms" for name, ms in r.cpu.items() if name not in OVERALL)
        + f"; total {sum(ms for n, ms in r.cpu.items() if n not in OVERALL):.1f} ms"
        + f" (the whole machine busy {r.cpu.get('machine', 0):.1f} ms)"
        + f" in {r.cpu.get('wall', 0):.1f} ms of wall time per reply on {os.cpu_count()} cores"
    )


def stack_env(workdir: Path, web_port: int, sim_port: int) -> dict[str, str]:
    """The environment of the stack's processes: this checkout on the path, the simulator on
    `sim_port`, our web on `web_port`, state under `workdir`."""
    from django.conf import settings

    return {
        **os.environ,
        "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])),
        "SIMULATOR_URL": f"http://127.0.0.1:{sim_port}",
        "SIMULATOR_SECRET": settings.NPS_GATEWAYS["simulator"]["SECRET"],
        "SIMULATOR_API_KEY": settings.NPS_GATEWAYS["simulator"]["API_KEY"],
        "NPS_PUBLIC_BASE_URL": f"http://127.0.0.1:{web_port}",
        "NPS_VAR_DIR": str(workdir),
    }


def scratch_start() -> tuple[Any, Any]:
    """The benchmark's scratch database and Redis db checked, emptied and seeded with the
    routing and survey: (the Redis client, the survey)."""
    import redis as redis_client
    from django.conf import settings

    from bench.database import database_ready

    _scratch_only(settings.CELERY_BROKER_URL)
    database_ready(settings.DATABASES["default"])
    redis = redis_client.Redis.from_url(settings.CELERY_BROKER_URL)
    redis.flushdb()
    _reset()
    return redis, _seed_routing()


def web_arguments(parser: argparse.ArgumentParser, *, workers: bool = True) -> None:
    """gunicorn's options, for every benchmark that starts the stack with `_start_web`
    (`workers=False`: the benchmark sets the number of gunicorn workers itself)."""
    if workers:
        parser.add_argument("--workers", type=int, default=4, help="gunicorn workers")
    parser.add_argument(
        "--worker-class",
        choices=("sync", "gthread"),
        default="sync",
        help="gunicorn's: sync (a connection per request) or gthread (threads, keep-alive)",
    )
    parser.add_argument("--web-threads", type=int, default=8, help="threads per gthread worker")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--rates",
        default="25,50,100",
        help="replies per second, comma-separated; '2x': twice the rate the backlog drained "
        "at earlier in the same run (the sustainable rate)",
    )
    parser.add_argument("--seconds", type=int, default=30, help="load duration per rate")
    web_arguments(parser)
    parser.add_argument("--threads", type=int, default=64, help="sender threads")
    parser.add_argument(
        "--generator-nice",
        type=int,
        default=0,
        help="nice value of the sender threads at the steady rates (e.g. -10, as root: the "
        "rate offered stays the rate asked when the stack fills the cores)",
    )
    parser.add_argument(
        "--worker-cpu",
        type=float,
        default=0.0,
        help="cores the Celery workers and beat may use together (a cgroup's CPU quota, as "
        "root; e.g. 0.4: the rest of the machine can offer them twice what they sustain)",
    )
    parser.add_argument(
        "--worker-cpu-each",
        type=float,
        default=0.0,
        help="cores each Celery worker and beat may use, each in a cgroup of its own (as "
        "root): the replies' worker is not short of CPU when the sender has SMS to catch up",
    )
    parser.add_argument(
        "--sender-nice",
        type=int,
        default=0,
        help="nice value of the sender worker (conversation SMS and the default queue), e.g. "
        "10: the replies and assignment go first when the workers are short of CPU",
    )
    parser.add_argument("--drain-timeout", type=float, default=600.0, help="seconds")
    parser.add_argument("--keep-logs", action="store_true", help="keep the processes' logs")
    parser.add_argument(
        "--backlog",
        type=int,
        default=10_000,
        help="replies stored before the workers start, to time the drain (0: none)",
    )
    parser.add_argument(
        "--ingest-seconds",
        type=int,
        default=5,
        help="seconds per wrk run of the ingest endpoints (0: not measured)",
    )
    parser.add_argument(
        "--one-worker",
        action="store_true",
        help="one Celery worker for every queue (default: the Procfile's two)",
    )
    args = parser.parse_args()
    try:  # a rate, or a multiple ("2x") of the backlog's drain rate, known after the backlog
        rates = [_rate(rate) for rate in args.rates.split(",") if rate.strip()]
    except ValueError:
        parser.error(f"rates: numbers or multiples such as 2x, not {args.rates!r}")
    if not rates or min(rates) <= 0 or args.seconds <= 0:
        parser.error("rates and seconds must be positive")
    if any(isinstance(rate, float) for rate in rates) and not args.backlog:
        parser.error("a rate such as 2x needs --backlog: it is a multiple of the backlog's rate")
    _django()
    from django.conf import settings
    from django.db import connection

    redis, survey = scratch_start()
    connection.close()  # the seeding connection is not kept open during the load
    workdir = Path(tempfile.mkdtemp(prefix="nps-bench-loop-"))
    args.web_port, sim_port = _free_port(), _free_port()
    env = {**stack_env(workdir, args.web_port, sim_port), "NPS_BENCH_RELAY_TICKS": "1"}
    workers = (
        f"one Celery worker (all queues of {QUEUE})"
        if args.one_worker
        else f"Celery workers for {QUEUE}.replies+assign and {QUEUE}.send+receipts+default"
    )
    if args.worker_cpu_each:
        workers += f", each of them and beat held to {args.worker_cpu_each:g} cores of its own"
    elif args.worker_cpu:
        workers += f", with beat held to {args.worker_cpu:g} cores between them (cgroup quota)"
    if args.sender_nice and not args.one_worker:
        workers += f", the sender at nice {args.sender_nice}"
    web = f"{args.workers} {args.worker_class} workers"
    if args.worker_class == "gthread":
        web += f" of {args.web_threads} threads"
    print(
        f"gunicorn: {web} on 127.0.0.1:{args.web_port}; {workers}, "
        f"beat, simulator on 127.0.0.1:{sim_port}; "
        f"{args.seconds} s per rate, {args.threads} sender threads, {AGENTS} agents"
    )
    stack = Stack(workdir, env)
    # Stop the stack on Ctrl-C (even if the caller ignored it) and on a kill too.
    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    results: list[Result] = []
    try:
        secret = settings.NPS_GATEWAYS["simulator"]["SECRET"]
        _start_web(stack, args, args.web_port, sim_port)
        ingest = _ingest(args, workdir, secret) if args.ingest_seconds else {}
        if ingest:
            print(
                f"ingest (bench/webhook_ingest.py's endpoints, wrk -t2 -c16, no worker running): "
                f"bare view {ingest['bare']:.0f} requests/s, signed webhook "
                f"{ingest['webhook']:.0f} requests/s",
                flush=True,
            )
        if args.backlog:
            drained = _drain(stack, args, survey, args.backlog)
            results.append(drained)
            print(_drain_row(drained, ingest), flush=True)
        else:
            _start_workers(stack, args)
        _warm_up(args.web_port, secret, 4 * args.workers)
        print(_header(), flush=True)
        for index, asked in enumerate(rates):
            rate = asked if isinstance(asked, int) else _multiple(asked, results[0])
            results.append(_run_rate(stack, args, survey, index, rate))
            print(_row(results[-1]))
            backlog = results[0] if isinstance(asked, float) else None  # an overload
            print(_details(results[-1], backlog), flush=True)
    except KeyboardInterrupt:
        print("interrupted: stopping the stack", file=sys.stderr)
        return 130
    finally:
        stack.stop()
        _worker_cgroup_remove(args)
        redis.flushdb()
        connection.close()
        errors = [
            f"{name}: {line}"
            for name in ("gunicorn", *WORKERS, "beat", "simulator")
            if stack.log(name).exists()
            for line in stack.log(name).read_text(errors="replace").splitlines()
            if re.search(r"\b(ERROR|CRITICAL|Traceback)\b", line)
        ]
        if errors:
            print("errors logged:\n  " + "\n  ".join(errors[-20:]), file=sys.stderr)
        if args.keep_logs:
            print(f"logs kept in {workdir}", file=sys.stderr)
        else:
            shutil.rmtree(workdir, ignore_errors=True)
    problems = [p for r in results for p in r.problems]
    for problem in problems:
        print(f"FAILED {problem}", file=sys.stderr)
    return 1 if problems else 0


def _rate(text: str) -> int | float:
    """'200' is 200 replies/s; '2x' is 2.0, a multiple of the backlog's drain rate."""
    text = text.strip().lower()
    return float(text[:-1]) if text.endswith("x") else int(text)


def _multiple(factor: float, backlog: Result) -> int:
    if backlog.drained_s is None:
        raise SystemExit("the backlog did not drain: no sustainable rate to take a multiple of")
    sustained = len(backlog.sent) / backlog.drained_s
    rate = round(factor * sustained)
    print(f"{factor:g}x the backlog's {sustained:.0f} replies/s: {rate} replies/s", flush=True)
    return rate


def _header() -> str:
    titles = ("replies/s", "reply → response p50 / p99", "detractor → case assigned p50 / p99")
    return HEADER.format(*titles, "backlog at end", "drained in")


if __name__ == "__main__":
    sys.exit(main())
