"""Issue 6, fault 2 for dispatch: a worker SIGKILLed in the middle of a batch of sends.

Real parts: the SMS simulator as its own process (`manage.py run_simulator`), a private
redis-server as the broker, a Celery beat process (as in the Procfile; it outlives the
worker) whose `dispatch_due` tick queues the batch, and Celery workers the test
SIGKILLs and replaces. Both profiles' databases (the broker is the private Redis in both).

Between the workers and the simulator sits a transparent tap (in this process). It
forwards every `POST /messages` to the simulator and records it, so the test counts the
raw requests that reached the gateway, not only the messages the simulator kept (it
keeps one message per reference `inv-<id>`, its idempotency key). The tap holds the
answer to a send of the batch's second round of calls after the simulator has accepted
it, and the test SIGKILLs the worker then: the worst moment, the gateway has the SMS and
our database does not know.

The guarantee checked, per invitation:
- the simulator holds exactly one message, for one phone (no SMS twice, none lost);
- our database records that very message (provider id), the send time and the reply
  window, whether the facts came from our own send or from the gateway's receipt;
- the gateway received one request, except the invitation in flight at the kill, which
  may be requested a second time, with the same reference, by the stuck-send sweeper
  (attempt 2 after `NPS_SEND_STUCK_SECONDS`); the simulator answers it with the first
  message (200, not 201). So "no SMS twice" for the one in flight rests on the
  gateway's idempotency key: a gateway without one (Twilio) could send it twice
  (docs/architecture.md, Gateways).

Two variants: the simulator's receipts reach us (they finish the in-flight invitation
before the sweeper would), or they are lost (the sweeper must re-send it).

Naive designs it catches: a claimed send whose worker died is never picked up again
(the invitation stays `sending`: lost; checked by removing the stuck-send sweeper); tasks
acknowledged before sending with no sweeper behind them (lost); a re-send with a new
reference per attempt, or none (the simulator would hold two messages for one
invitation); a redelivered task or a sweeper that sends again what was already sent
(two requests for an invitation that was not in flight); an invitation finished by its
receipt alone that never gets its provider id and reply window (the customer's answer
would find no open survey). It found that last one: `receipts.receipt_apply` now
records those facts when a receipt overtakes our own record of the send.

What it does not prove: that the claim stops a duplicate copy of the task. Redis hands
the killed worker's unacknowledged task over again after the visibility timeout and its
restore cycle (in these runs, after the test had finished; the copy then finds the claim
and does nothing). Removing the claim does not fail this test;
`test_gateway_faults.py::test_the_same_send_task_twice_sends_one_sms` and
`tests/surveys/test_dispatch.py::test_send_moves_to_sent_once_even_when_the_task_runs_twice`
catch that.

Recovery is bounded by the beat's `dispatch_due` interval (10 s) plus
`NPS_SEND_STUCK_SECONDS` for the invitation in flight (3 s here, 600 s by default); the
rest of the batch is still queued and goes as soon as a worker consumes.
"""

import json
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
import requests
from django.db import connection
from django.utils import timezone

from surveys.dispatch import SEND_CONCURRENCY
from surveys.models import Invitation
from surveys.models import InvitationStatus as S
from tests.factories import CustomerFactory, InteractionFactory, SurveyFactory
from tests.faults.services import PrivateRedis
from tests.integration.conftest import ROOT, free_port, wait_until

pytestmark = [
    pytest.mark.integration,
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(shutil.which("redis-server") is None, reason="needs redis-server"),
]

# More than one round of calls (SEND_CONCURRENCY at a time), in one send task.
BATCH = SEND_CONCURRENCY + 40
# The tap holds the answer to this send, one of the calls started as earlier ones were
# recorded; the worker is killed meanwhile.
HOLD_AT = SEND_CONCURRENCY + 5
STUCK_SECONDS = 3
DISPATCH_INTERVAL = 10  # CELERY_BEAT_SCHEDULE["dispatch-due"]
SEND_STARTED = (S.SENT, S.DELIVERED)


class _TapServer(ThreadingHTTPServer):
    request_queue_size = 256  # a batch send's calls connect at once, as to a provider


class GatewayTap:
    """Forwards POST /messages to the simulator, records each one, holds one answer."""

    def __init__(self, upstream: str, hold_at: int) -> None:
        self.upstream, self.hold_at = upstream, hold_at
        self.posts: list[dict[str, Any]] = []  # each answered request, as answered
        self.arrived: set[str] = set()  # the references of the requests as they arrive
        self.lock = threading.Lock()
        self.holding, self.release = threading.Event(), threading.Event()
        self.server = _TapServer(("127.0.0.1", 0), self._handler())
        self.server.daemon_threads = True
        # The simulator behind takes a few connections at a time (a listen backlog of 5),
        # a provider many: the tap takes a batch's calls and hands them on a few at once.
        self.upstream_slots = threading.BoundedSemaphore(4)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        tap = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:
                pass

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                with tap.lock:  # the request reached the gateway, whatever comes of it
                    tap.arrived.add(json.loads(body)["reference"])
                headers = {k: v for k, v in self.headers.items() if k.lower() != "host"}
                with tap.upstream_slots:
                    answer = requests.post(
                        tap.upstream + self.path, data=body, headers=headers, timeout=10
                    )
                sent = json.loads(body)
                with tap.lock:
                    tap.posts.append(
                        {
                            "reference": sent["reference"],
                            "to": sent["to"],
                            "status": answer.status_code,
                            "id": answer.json().get("id"),
                            "at": time.monotonic(),
                        }
                    )
                    held = len(tap.posts) == tap.hold_at
                if held:  # accepted by the simulator; the worker never hears it
                    tap.holding.set()
                    tap.release.wait(timeout=60)
                try:
                    self.send_response(answer.status_code)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(answer.content)))
                    self.end_headers()
                    self.wfile.write(answer.content)
                except OSError:
                    pass  # the worker that asked is dead

        return Handler

    def close(self) -> None:
        self.release.set()
        self.server.shutdown()
        self.server.server_close()


class Processes:
    """The child processes of one test, with the environment they share."""

    def __init__(self, tmp: Path, env: dict[str, str]) -> None:
        self.tmp, self.env = tmp, env
        self.started: list[subprocess.Popen[bytes]] = []

    def start(self, name: str, args: list[str]) -> subprocess.Popen[bytes]:
        log = (self.tmp / f"{name}.log").open("wb")
        proc = subprocess.Popen(args, cwd=ROOT, env=self.env, stdout=log, stderr=subprocess.STDOUT)
        self.started.append(proc)
        return proc

    def celery(self, name: str, *args: str) -> subprocess.Popen[bytes]:
        return self.start(name, [sys.executable, "-m", "celery", "-A", "nps", *args, "-l", "info"])

    def worker(self, name: str) -> subprocess.Popen[bytes]:
        return self.celery(
            name, "worker", "-P", "solo", "-n", f"{name}@%h", "--without-gossip", "--without-mingle"
        )

    def log(self, name: str) -> str:
        return (self.tmp / f"{name}.log").read_text(errors="replace")

    def stop_all(self) -> None:
        self.stop(*self.started)

    def stop(self, *procs: subprocess.Popen[bytes]) -> None:
        """Terminate and wait: a worker's warm shutdown finishes the task in hand first."""
        for proc in procs:
            if proc.poll() is None:
                proc.terminate()
        for proc in procs:
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=10)


def due_invitations(count: int) -> dict[str, tuple[int, str]]:
    """`count` scheduled invitations due now, never queued: reference -> (pk, phone)."""
    survey, now, due = SurveyFactory(), timezone.now(), {}
    for n in range(count):
        interaction = InteractionFactory(customer=CustomerFactory(phone=f"+86137{n:08d}"))
        invitation = Invitation.objects.create(
            interaction=interaction, customer=interaction.customer, survey=survey, send_at=now
        )
        due[f"inv-{invitation.pk}"] = (invitation.pk, interaction.customer.phone)
    return due


def all_sent(count: int) -> bool:
    done = Invitation.objects.filter(status__in=SEND_STARTED).exclude(provider_message_id="")
    return done.count() == count


def not_sent() -> list[tuple[Any, ...]]:
    fields = ("pk", "status", "attempts", "provider_message_id", "sent_at", "expires_at")
    done = Invitation.objects.filter(status__in=SEND_STARTED).exclude(provider_message_id="")
    return list(Invitation.objects.exclude(pk__in=done).values_list(*fields))


@pytest.mark.parametrize("receipts", ["receipts arrive", "receipts lost"])
def test_a_worker_killed_mid_dispatch_batch_sends_every_sms_exactly_once(
    live_server: Any, redis: PrivateRedis, tmp_path: Path, receipts: str
) -> None:
    due = due_invitations(BATCH)
    sim_port = free_port()
    simulator_url = f"http://127.0.0.1:{sim_port}"
    tap = GatewayTap(simulator_url, HOLD_AT)
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "tests.settings",
        "NPS_TEST_DATABASE_NAME": str(connection.settings_dict["NAME"]),
        "CELERY_BROKER_URL": redis.url,
        "CELERY_VISIBILITY_TIMEOUT": str(STUCK_SECONDS),
        "NPS_RELAY_INTERVAL": "0.5",
        "NPS_RELAY_REQUEUE_SECONDS": str(STUCK_SECONDS),
        "NPS_SEND_STUCK_SECONDS": str(STUCK_SECONDS),
        "NPS_SEND_GATEWAY": "simulator",
        "SIMULATOR_URL": tap.url,  # the workers send through the tap
    }
    procs = Processes(tmp_path, env)
    # Where the simulator posts its receipts: our live server, or a port nobody answers.
    dead_end = f"http://127.0.0.1:{free_port()}"
    webhooks = live_server.url if receipts == "receipts arrive" else dead_end
    try:
        simulator = [sys.executable, "manage.py", "run_simulator", "--port", str(sim_port)]
        procs.start("simulator", [*simulator, "--webhook-base", webhooks, "--no-auto-reply"])
        first = procs.worker("w1")
        beat = procs.celery("beat", "beat", "-s", str(tmp_path / "beat-schedule"))
        # The first dispatch_due tick queues the batch; the tap holds send number HOLD_AT.
        assert tap.holding.wait(timeout=DISPATCH_INTERVAL + 30), procs.log("w1")[-3000:]
        first.send_signal(signal.SIGKILL)
        first.wait(timeout=10)
        killed_at = time.monotonic()
        tap.release.set()
        sent_before = Invitation.objects.filter(status__in=SEND_STARTED).count()
        held = tap.posts[HOLD_AT - 1]["reference"]
        assert held in due, f"{held} is not the invitation's reference inv-<id>"
        # What the dead worker left: claimed rows (its batch is claimed at once), and of
        # those the ones the gateway had a request for: in flight, or answered and not
        # yet recorded. Only these may be requested again.
        statuses = dict(Invitation.objects.values_list("pk", "status"))
        claimed = {ref for ref, (pk, _) in due.items() if statuses[pk] == S.SENDING}
        time.sleep(0.5)  # requests the dead worker had written are read by the tap
        with tap.lock:  # the dead worker sends nothing more: what arrived is final
            in_flight = claimed & set(tap.arrived)
        assert held in in_flight
        # A batch records its sends as they come back and starts a call only for one
        # recorded: what the kill leaves unrecorded at the gateway is at most its pool.
        assert len(in_flight) <= SEND_CONCURRENCY, (len(in_flight), len(claimed))

        second = procs.worker("w2")
        try:
            wait_until(lambda: all_sent(BATCH), timeout=DISPATCH_INTERVAL + STUCK_SECONDS + 30)
        except AssertionError as exc:
            raise AssertionError(f"not sent: {not_sent()}") from exc
        took = time.monotonic() - killed_at
        print(
            f"{receipts}: worker SIGKILLed after {sent_before}/{BATCH} sent, {len(claimed)}"
            f" claimed, {len(in_flight)} of them requested;"
            f" all sent {took:.1f}s after the kill"
        )
        # Every sender stops (the worker after the task in hand): no duplicate can reach
        # the gateway after this, so what it kept is final.
        procs.stop(beat, second)
        kept = requests.get(f"{simulator_url}/messages", timeout=5).json()["outbound"]
    finally:
        procs.stop_all()
        tap.close()
    posts = list(tap.posts)
    # The gateway: one message per invitation and per phone, for the right phone.
    assert sorted(m["reference"] for m in kept) == sorted(due)
    assert max(Counter(m["to"] for m in kept).values()) == 1
    assert {m["reference"]: m["to"] for m in kept} == {ref: to for ref, (_, to) in due.items()}
    # The raw requests: one per invitation; those in flight at the kill at most twice,
    # and then answered with the message the simulator already had.
    raw = Counter(p["reference"] for p in posts)
    assert {ref for ref, n in raw.items() if n > 1} <= in_flight
    assert max(raw.values()) <= 2
    first_ids = {p["reference"]: p["id"] for p in posts if p["status"] == 201}
    assert len(first_ids) == BATCH == sum(p["status"] == 201 for p in posts)
    assert all(p["status"] in (200, 201) and p["id"] == first_ids[p["reference"]] for p in posts)
    # Our database: every invitation records that message, its send time and reply window.
    for invitation in Invitation.objects.all():
        ref = f"inv-{invitation.pk}"
        assert invitation.status in SEND_STARTED, ref
        assert invitation.provider_message_id == first_ids[ref], ref
        assert invitation.sent_at, ref
        assert invitation.expires_at, ref  # the reply window: an answer finds its survey
        # A claimed row is sent again by the stuck-send sweep as attempt 2, unless its
        # receipt finished it first (in flight, receipts arriving).
        expected = raw[ref] if ref in in_flight else 2 if ref in claimed else 1
        assert invitation.attempts == expected, ref
    twice = sum(raw[ref] > 1 for ref in in_flight)
    print(f"gateway: {len(posts)} requests, {len(kept)} messages; requested twice: {twice}")
    assert took < DISPATCH_INTERVAL + STUCK_SECONDS + 10
