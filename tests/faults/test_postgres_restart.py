"""Issue 6, fault 7: PostgreSQL restarted under load. The web and the workers recover
without anyone restarting them, and every reply the webhook acknowledged is processed,
once. PostgreSQL pass only.

Everything is real and private to the test: a PostgreSQL cluster made with initdb in a
temporary folder on a free port (the shared cluster on 5432 is never touched), a
redis-server, the web under gunicorn (two sync workers, the production database
settings: CONN_MAX_AGE 60 with CONN_HEALTH_CHECKS) and a Celery worker with its beat
(the outbox relay runs from beat). Two restarts:

1. under load: signed simulator replies stream in from three threads while PostgreSQL is
   stopped (fast shutdown), left down for OUTAGE_SECONDS and started again. Requests
   during the outage may fail with 5xx (the gateway retries them later, as the test
   does); a reply answered 2xx must never be lost.
2. while idle (`pg_ctl restart`): the web processes hold connections PostgreSQL has
   closed, and no failed request has told them so.

The naive designs it catches:

- persistent connections without CONN_HEALTH_CHECKS: after the idle restart the first
  request in each web process runs on its dead connection and answers 500 (checked: with
  CONN_HEALTH_CHECKS off this test fails with [500, 500, 200, ...]). Asserted: every
  request made once PostgreSQL accepts connections again is answered 2xx, in both phases.
- acknowledging before the reply is durable (the webhook queues it on the broker or in
  memory) together with tasks that are acknowledged although their database write
  failed and are never retried: the write fails during the outage and the reply is gone.
  Asserted: every acknowledged reply ends up processed with a Response, within a bound.
- processing that is not idempotent when a batch runs again (the relay hands rows whose
  task failed over again): asserted one response per reply, one case per detractor, one
  "why?" per detractor without a comment, never two.
- a worker, beat or web process that dies or wedges on a broken connection: asserted the
  same processes are alive at the end (no gunicorn worker was replaced) and processed
  the replies that came after each restart.

docs/reliability.md records the recovery times this test prints.
"""

import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import psycopg
import pytest
import requests
from django.db import connection

from surveys.gateways.simulator_signature import HEADER, sign_body
from tests.faults.services import PrivateRedis
from tests.integration.conftest import ROOT, Process, free_port, wait_until


def _newest_postgres_bin() -> Path | None:
    found = [p for p in Path("/usr/lib/postgresql").glob("*/bin") if (p / "initdb").exists()]
    return max(found, key=lambda p: [int(x) for x in p.parent.name.split(".")], default=None)


PG_BIN = _newest_postgres_bin()
# initdb and postgres refuse to run as root: run them as `postgres` when we are root.
AS_POSTGRES = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []

pytestmark = [
    pytest.mark.integration,
    pytest.mark.skipif(
        connection.vendor != "postgresql", reason="restarts a private PostgreSQL: PostgreSQL pass"
    ),
    pytest.mark.skipif(
        PG_BIN is None or shutil.which("redis-server") is None,
        reason="needs PostgreSQL server binaries (/usr/lib/postgresql/*/bin) and redis-server",
    ),
]
CUSTOMERS = 200  # more than the stream can use: 3 senders, a pause of 0.1 s each
SENDERS, PAUSE = 3, 0.1
OUTAGE_SECONDS = 2.0
QUIET_REPLIES = 6  # after the idle restart, one at a time
REQUEUE_SECONDS = 3


class PrivatePostgres:
    """A throwaway cluster: initdb into a temporary folder owned by postgres, trust auth,
    a free port on 127.0.0.1 and its socket in that folder."""

    def __init__(self) -> None:
        assert PG_BIN is not None
        self.bin = PG_BIN
        self.dir = Path(tempfile.mkdtemp(prefix="nps-pg-"))  # short: it holds the socket
        if AS_POSTGRES:
            shutil.chown(self.dir, "postgres", "postgres")
        self.data = self.dir / "data"
        self.port = free_port()
        self.url = f"postgres://postgres@127.0.0.1:{self.port}/nps"

    def _run(self, tool: str, *args: str) -> None:
        log = self.dir / "ctl.log"  # a file, not a pipe: the server must not inherit a pipe
        with log.open("ab") as out:
            done = subprocess.run(
                [*AS_POSTGRES, str(self.bin / tool), *args],
                stdout=out,
                stderr=subprocess.STDOUT,
                timeout=60,
                check=False,
            )
        if done.returncode:
            server_log = self.dir / "server.log"
            tail = server_log.read_text(errors="replace")[-2000:] if server_log.exists() else ""
            raise AssertionError(f"{tool} {args} failed:\n{log.read_text()[-2000:]}\n{tail}")

    def create(self) -> None:
        self._run("initdb", "-D", str(self.data), "-U", "postgres", "-A", "trust", "--no-sync")
        self.start()
        self._run("createdb", "-h", "127.0.0.1", "-p", str(self.port), "-U", "postgres", "nps")

    def start(self) -> None:
        # fsync off: a throwaway cluster; a fast or immediate stop keeps what was committed.
        options = f"-p {self.port} -c listen_addresses=127.0.0.1 -k {self.dir} -c fsync=off"
        log = str(self.dir / "server.log")
        self._run("pg_ctl", "-D", str(self.data), "-l", log, "-o", options, "-w", "start")

    def stop(self, mode: str = "fast") -> None:
        self._run("pg_ctl", "-D", str(self.data), "-m", mode, "-w", "stop")

    def restart(self) -> None:
        log = str(self.dir / "server.log")
        self._run("pg_ctl", "-D", str(self.data), "-l", log, "-m", "fast", "-w", "restart")

    def destroy(self) -> None:
        try:
            if (self.data / "postmaster.pid").exists():
                self.stop("immediate")
        finally:
            shutil.rmtree(self.dir, ignore_errors=True)

    def query(self, sql: str) -> list[tuple]:
        with psycopg.connect(self.url, autocommit=True, connect_timeout=5) as conn:
            return conn.execute(sql).fetchall()  # type: ignore[arg-type]


@pytest.fixture
def postgres() -> Iterator[PrivatePostgres]:
    server = PrivatePostgres()
    try:
        server.create()
        yield server
    finally:
        server.destroy()


def child_env(postgres: PrivatePostgres, redis: PrivateRedis) -> dict[str, str]:
    """The test settings, but on the private PostgreSQL and Redis."""
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "tests.settings",
        "DATABASE_URL": postgres.url,
        "CELERY_BROKER_URL": redis.url,
        "CELERY_VISIBILITY_TIMEOUT": str(REQUEUE_SECONDS),
        "NPS_RELAY_INTERVAL": "0.5",
        "NPS_RELAY_REQUEUE_SECONDS": str(REQUEUE_SECONDS),
        "NPS_SEND_GATEWAY": "console",
    }
    env.pop("NPS_TEST_DATABASE_NAME", None)  # would point the children at pytest's database
    return env


SEED = """
import sys
from datetime import UTC, datetime, timedelta
import django
django.setup()
from django.core.management import call_command
from surveys.models import Customer, Interaction, Invitation, InvitationStatus
from tests.factories import SurveyFactory

call_command("migrate", verbosity=0)
survey, now = SurveyFactory(), datetime.now(UTC)
customers = Customer.objects.bulk_create(
    Customer(phone=phone, language="zh-hans") for phone in sys.argv[1:]
)
interactions = Interaction.objects.bulk_create(
    Interaction(external_id=f"CRM-{c.pk}", customer=c, touchpoint="hotline", occurred_at=now)
    for c in customers
)
Invitation.objects.bulk_create(
    Invitation(
        interaction=i, customer=i.customer, survey=survey, status=InvitationStatus.SENT,
        language="zh-hans", text="0-10?", attempts=1, gateway="console", sent_at=now,
        expires_at=now + timedelta(days=3),
    )
    for i in interactions
)
"""


def seed(env: dict[str, str], count: int) -> list[str]:
    """Migrate the private database; `count` customers, each with a survey sent and
    waiting for the answer (made directly: the send path is not what is tested here)."""
    phones = [f"+86139{n:08d}" for n in range(count)]
    done = subprocess.run(
        [sys.executable, "-c", SEED, *phones],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-4000:]
    return phones


def start_web(env: dict[str, str], tmp: Path) -> tuple[Process, str]:
    """gunicorn with two sync workers (each its own persistent database connection)."""
    port = free_port()
    args = [sys.executable, "-m", "gunicorn", "nps.wsgi:application", "-w", "2"]
    args += ["-b", f"127.0.0.1:{port}", "--timeout", "30", "--error-logfile", "-"]
    return Process("web", args, env, tmp), f"http://127.0.0.1:{port}"


def web_ready(url: str) -> bool:
    try:
        return requests.get(f"{url}/webhooks/simulator/inbound/", timeout=5).status_code == 405
    except requests.RequestException:
        return False


def full_log(process: Process) -> str:
    return process.log.read_text(errors="replace")  # Process.output() is only its tail


def start_worker(env: dict[str, str], tmp: Path) -> Process:
    """A Celery worker with its beat, as in test_worker_faults."""
    args = [sys.executable, "-m", "celery", "-A", "nps", "worker", "-P", "solo", "-B"]
    args += ["-s", str(tmp / "beat-schedule"), "-n", "pgr@%h", "--without-gossip"]
    args += ["--without-mingle", "-l", "info"]
    return Process("worker", args, env, tmp)


@dataclass
class Sent:
    message_id: str
    phone: str
    text: str
    started: float
    finished: float
    status: int  # 0: no HTTP answer at all

    @property
    def acknowledged(self) -> bool:
        return 200 <= self.status < 300


def post_reply(url: str, message_id: str, phone: str, text: str) -> int:
    body = json.dumps({"message_id": message_id, "from": phone, "text": text}).encode()
    headers = {HEADER: sign_body("sim-dev-secret", body), "Content-Type": "application/json"}
    try:
        return requests.post(
            f"{url}/webhooks/simulator/inbound/", data=body, headers=headers, timeout=10
        ).status_code
    except requests.RequestException:
        return 0


class Stream:
    """Replies from a few senders at once, each customer answering once, until stopped."""

    def __init__(self, url: str) -> None:
        self.url, self.lock = url, threading.Lock()
        self.sent: list[Sent] = []
        self.phones: list[str] = []  # one reply each, in order
        self.todo: Iterator[tuple[int, str]] = iter(())
        self.halt = threading.Event()
        self.threads = [threading.Thread(target=self._send) for _ in range(SENDERS)]

    def _send(self) -> None:
        while not self.halt.is_set():
            with self.lock:
                item = next(self.todo, None)
            if item is None:
                return
            n, phone = item
            message_id, text = f"MO{n}", str(n % 11)
            started = time.monotonic()
            status = post_reply(self.url, message_id, phone, text)
            with self.lock:
                self.sent.append(Sent(message_id, phone, text, started, time.monotonic(), status))
            self.halt.wait(PAUSE)

    def start(self) -> None:
        self.todo = iter(enumerate(self.phones))
        for thread in self.threads:
            thread.start()

    def stop(self) -> list[Sent]:
        self.halt.set()
        for thread in self.threads:
            if thread.ident is not None:  # started
                thread.join(timeout=30)
        return sorted(self.sent, key=lambda s: s.started)

    def acknowledged_since(self, since: float) -> int:
        with self.lock:
            return sum(1 for s in self.sent if s.acknowledged and s.started >= since)


def answered(postgres: PrivatePostgres) -> set[str]:
    """Message ids stored, processed and turned into a Response."""
    rows = postgres.query(
        "SELECT m.gateway_message_id FROM surveys_inboundmessage m"
        " JOIN surveys_response r ON r.message_id = m.id WHERE m.processed_at IS NOT NULL"
    )
    return {row[0] for row in rows}


def test_replies_acknowledged_around_postgres_restarts_are_all_processed_once(
    postgres: PrivatePostgres, redis: PrivateRedis, tmp_path: Path
) -> None:
    env = child_env(postgres, redis)
    web, url = start_web(env, tmp_path)  # they start while the database is seeded
    worker = start_worker(env, tmp_path)
    stream = Stream(url)
    try:
        stream.phones = seed(env, CUSTOMERS)
        wait_until(lambda: web_ready(url), timeout=30)
        wait_until(lambda: " ready." in full_log(worker), timeout=30)
        # 1. Under load: stopped (fast shutdown), down for OUTAGE_SECONDS, started again.
        stream.start()
        wait_until(lambda: stream.acknowledged_since(0) >= 15, timeout=30)
        stopping_at = time.monotonic()
        postgres.stop("fast")  # sessions are terminated; new connections refused
        down_at = time.monotonic()
        time.sleep(OUTAGE_SECONDS)
        postgres.start()  # returns once the server accepts connections
        up_at = time.monotonic()
        wait_until(lambda: stream.acknowledged_since(up_at) >= 20, timeout=30)
        sent = stream.stop()

        acknowledged = {s.message_id for s in sent if s.acknowledged}
        refused = [s for s in sent if not s.acknowledged]
        assert refused, "no request fell into the outage: the restart was not under load"
        assert {s.status for s in refused} <= {500, 502, 503, 504}, sent
        after = [s for s in sent if s.started >= up_at]
        assert all(s.acknowledged for s in after), [s for s in after if not s.acknowledged]
        first_ok = min(s.finished for s in sent if s.acknowledged and s.started >= down_at)
        wait_until(lambda: acknowledged <= answered(postgres), timeout=60)
        all_done = time.monotonic()
        print(
            f"\npostgres stopped under load: {len(sent)} replies, {len(refused)} refused"
            f" ({up_at - stopping_at:.1f}s down); first 2xx {first_ok - stopping_at:.1f}s"
            f" after the stop ({first_ok - up_at:+.2f}s from back up); every acknowledged"
            f" reply processed {all_done - stopping_at:.1f}s after the stop"
            f" ({all_done - up_at:.1f}s from back up)"
        )

        # The gateway delivers the refused ones again: accepted now, each processed once
        # (one of them may have been stored before its request failed).
        assert {post_reply(url, s.message_id, s.phone, s.text) for s in refused} == {200}
        every = {s.message_id for s in sent}
        wait_until(lambda: answered(postgres) == every, timeout=60)

        # 2. Restarted while idle: the web processes still hold connections PostgreSQL has
        # closed, and no failed request has told them so. The next requests must not use
        # them (a persistent connection without a health check answers 500 here).
        restarting_at = time.monotonic()
        postgres.restart()
        codes, first_quiet = [], 0.0
        for n in range(len(sent), len(sent) + QUIET_REPLIES):
            codes.append(post_reply(url, f"MO{n}", stream.phones[n], str(n % 11)))
            first_quiet = first_quiet or time.monotonic()
            every.add(f"MO{n}")
        assert codes == [200] * QUIET_REPLIES, codes
        wait_until(lambda: answered(postgres) == every, timeout=60)
        print(
            f"postgres restarted while idle: {QUIET_REPLIES} replies all acknowledged, the"
            f" first answered {first_quiet - restarting_at:.1f}s after the restart began; all"
            f" processed {time.monotonic() - restarting_at:.1f}s after it"
        )

        assert web.proc.poll() is None, web.output()
        assert worker.proc.poll() is None, worker.output()
        booted = full_log(web).count("Booting worker")
        assert booted == 2, web.output()  # no gunicorn worker died and was replaced
    except AssertionError:
        print(web.output(), worker.output(), sep="\n")
        raise
    finally:
        stream.stop()
        worker.stop()
        web.stop()

    assert_each_once(postgres, len(every))


def assert_each_once(postgres: PrivatePostgres, count: int) -> None:
    """One stored message and one response per reply; one case per detractor; one "why?"
    per detractor without a comment: nothing was processed twice."""
    ((messages, scored, responses, detractors, asked, whys, cases),) = postgres.query(
        """
        SELECT
          (SELECT count(*) FROM surveys_inboundmessage),
          (SELECT count(*) FROM surveys_inboundmessage WHERE outcome = 'scored'),
          (SELECT count(*) FROM surveys_response),
          (SELECT count(*) FROM surveys_response WHERE category = 'detractor'),
          (SELECT count(*) FROM surveys_response WHERE category = 'detractor' AND comment = ''),
          (SELECT count(*) FROM surveys_outboundmessage WHERE kind = 'followup_question'),
          (SELECT count(*) FROM followups_case)
        """
    )
    assert messages == scored == responses == count
    assert detractors > 0
    assert whys == asked
    assert cases == detractors
