"""A gateway's send rate holds across worker processes (surveys/gateways/ratelimit.py).

Four worker processes send conversation SMS at once through the sending kit, two by the
batch path (messages_send: eight gateway calls in flight each) and two one by one
(message_send: send_once), to a loopback simulator gateway that notes when each request
reaches it. The gateway's rate is 5 messages a second with a burst of 2, kept in the
shared Redis. Over any second the gateway must receive at most rate + burst, and all 24
must take as long as the rate says (without the limit they arrive within a fraction of
a second), each SMS once. The sends are 0.2 s apart, so a request held up on its way
by less than that cannot make a second look busier than it was.
"""

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from django.db import connection

from surveys.models import OutboundKind, OutboundMessage, OutboundStatus
from tests.factories import CustomerFactory
from tests.surveys.gatewaystate import shared_state_url
from tests.surveys.loopback import LoopbackProvider

pytestmark = pytest.mark.django_db(transaction=True)  # the workers read what the test wrote

ROOT = Path(__file__).resolve().parents[2]
RATE, BURST = 5, 2
WORKERS, PER_WORKER = 4, 6


@pytest.fixture
def gateway() -> Iterator[LoopbackProvider]:
    provider = LoopbackProvider()
    try:
        yield provider
    finally:
        provider.close()


def messages_queued(count: int) -> list[int]:
    ids = []
    for _ in range(count):
        message = OutboundMessage.objects.create(
            customer=CustomerFactory(), kind=OutboundKind.HELP, language="zh-hans", text="帮助"
        )
        ids.append(message.pk)
    return ids


def workers_run(jobs: list[dict[str, object]]) -> list[list[str]]:
    """Start a process per job, let them all go at once, and return each one's outcomes."""
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "tests.settings"}
    env["NPS_TEST_DATABASE_NAME"] = str(connection.settings_dict["NAME"])
    processes = [
        subprocess.Popen(
            [sys.executable, "-m", "tests.surveys.sender_process", json.dumps(job)],
            cwd=ROOT,
            env=env,
            text=True,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
        )
        for job in jobs
    ]
    try:
        for process in processes:
            assert process.stdout is not None
            assert process.stdout.readline().strip() == "ready"
        for process in processes:
            assert process.stdin is not None
            process.stdin.write("go\n")
            process.stdin.flush()
        return [
            json.loads(process.communicate(timeout=60)[0].splitlines()[-1]) for process in processes
        ]
    finally:
        for process in processes:
            if process.poll() is None:
                process.kill()


def busiest_second(times: list[float]) -> int:
    """The most requests any one-second window holds (sliding: each starts at a request)."""
    times = sorted(times)
    return max(sum(1 for t in times[i:] if t <= start + 1.0) for i, start in enumerate(times))


def test_concurrent_worker_processes_never_exceed_the_gateway_rate(
    gateway: LoopbackProvider,
) -> None:
    ids = messages_queued(WORKERS * PER_WORKER)
    overrides = {
        "NPS_GATEWAYS": gateway.gateways()
        | {"simulator": gateway.gateways()["simulator"] | {"RATE": RATE, "BURST": BURST}},
        "NPS_ENABLED_GATEWAYS": ["simulator"],
        "NPS_SEND_GATEWAY": "simulator",
        "NPS_GATEWAY_STATE_URL": shared_state_url(),
        "NPS_GATEWAY_RATE_MAX_WAIT": 30.0,  # every one waits its turn: none is put off
    }
    jobs: list[dict[str, object]] = [
        {
            "settings": overrides,
            "message_ids": ids[n * PER_WORKER : (n + 1) * PER_WORKER],
            "batch": n % 2 == 0,
        }
        for n in range(WORKERS)
    ]
    outcomes = workers_run(jobs)

    assert [set(worker) for worker in outcomes] == [{"sent"}] * WORKERS
    arrivals = [at for at, _ in gateway.received]
    assert len(arrivals) == WORKERS * PER_WORKER
    assert busiest_second(arrivals) <= RATE + BURST
    # The burst at once, then one every 1/RATE s: 4.4 s from the first to the last.
    span = max(arrivals) - min(arrivals)
    expected = (WORKERS * PER_WORKER - BURST) / RATE
    assert expected - 0.3 <= span <= expected + 2.0, span
    # Each SMS once, and recorded as sent through this gateway.
    assert sorted(sent.reference for sent in gateway.sent) == sorted(f"msg-{pk}" for pk in ids)
    recorded = OutboundMessage.objects.filter(pk__in=ids)
    assert set(recorded.values_list("status", "gateway")) == {(OutboundStatus.SENT, "simulator")}
