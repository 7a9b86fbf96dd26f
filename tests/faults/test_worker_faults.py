"""Issue 6, faults 1 and 2, with real processes: a private Redis the test can stop, and a
Celery worker (with its beat) the test can SIGKILL. Both profiles' databases.

Recovery is bounded by CELERY_VISIBILITY_TIMEOUT (Redis redelivers unacknowledged
tasks) and NPS_RELAY_REQUEUE_SECONDS (the relay hands lost batches over again); both are
short here, and docs/reliability.md records the times measured by these tests.
"""

import contextlib
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import requests
from django.db import connection
from django.test import override_settings

from followups.models import Case
from surveys.dispatch import invitation_send
from surveys.gateways.simulator_signature import HEADER, sign_body
from surveys.interactions import interaction_record
from surveys.models import InboundMessage, OutboundKind, OutboundMessage, Response
from tests.factories import SurveyFactory
from tests.faults.services import PrivateRedis
from tests.integration.conftest import ROOT, wait_until

pytestmark = [
    pytest.mark.integration,
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(shutil.which("redis-server") is None, reason="needs redis-server"),
]
REQUEUE_SECONDS = 3


def start_worker(redis: PrivateRedis, tmp: Path, name: str) -> subprocess.Popen[bytes]:
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "tests.settings",
        "NPS_TEST_DATABASE_NAME": str(connection.settings_dict["NAME"]),
        "CELERY_BROKER_URL": redis.url,
        "CELERY_VISIBILITY_TIMEOUT": str(REQUEUE_SECONDS),
        "NPS_RELAY_INTERVAL": "0.5",
        "NPS_RELAY_REQUEUE_SECONDS": str(REQUEUE_SECONDS),
        "NPS_SEND_GATEWAY": "console",
    }
    args = [sys.executable, "-m", "celery", "-A", "nps", "worker", "-P", "solo", "-B"]
    args += ["-s", str(tmp / f"beat-{name}"), "-n", f"{name}@%h", "--without-gossip"]
    args += ["--without-mingle", "-l", "info"]
    log = (tmp / f"{name}.log").open("wb")
    # Its own process group: -B runs beat in a child process, and a kill must take both
    # (as a container's death would), or the orphaned beat keeps running after the test.
    return subprocess.Popen(
        args, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
    )


def worker_log(tmp: Path, name: str) -> str:
    return (tmp / f"{name}.log").read_text(errors="replace")


def stop_worker(worker: subprocess.Popen[bytes], how: signal.Signals) -> None:
    """Send `how` to the worker and its beat child; wait for the worker to end."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(worker.pid, how)
    try:
        worker.wait(timeout=30)
    except subprocess.TimeoutExpired:
        os.killpg(worker.pid, signal.SIGKILL)
        worker.wait(timeout=10)


def surveyed_customers(count: int) -> list[str]:
    """`count` customers, each with a survey sent (console gateway, in this process)."""
    SurveyFactory()
    phones = []
    with override_settings(NPS_SEND_GATEWAY="console"):
        for n in range(count):
            phone = f"+86139{n:08d}"
            recorded = interaction_record(
                external_id=f"CRM-{n}",
                customer={"phone": phone},
                touchpoint="hotline",
                occurred_at=datetime.now(UTC),
            )
            invitation_send(invitation_id=recorded.interaction.invitations.get().pk)
            phones.append(phone)
    return phones


def reply(url: str, message_id: str, phone: str, text: str) -> int:
    body = json.dumps({"message_id": message_id, "from": phone, "text": text}).encode()
    headers = {HEADER: sign_body("sim-dev-secret", body), "Content-Type": "application/json"}
    return requests.post(
        f"{url}/webhooks/simulator/inbound/", data=body, headers=headers, timeout=10
    ).status_code


def all_processed(count: int) -> bool:
    return InboundMessage.objects.filter(processed_at__isnull=False).count() == count


def assert_each_once(phones: list[str]) -> None:
    assert Response.objects.count() == len(phones)
    assert set(InboundMessage.objects.values_list("outcome", flat=True)) == {"scored"}
    asked = Response.objects.filter(category="detractor", comment="").count()
    whys = OutboundMessage.objects.filter(kind=OutboundKind.FOLLOWUP_QUESTION).count()
    assert whys == asked  # one "why?" for each detractor without a comment, never two
    assert Case.objects.count() == Response.objects.filter(category="detractor").count()


def test_replies_arriving_while_redis_is_down_are_all_processed_once_it_is_back(
    live_server: Any, redis: PrivateRedis, tmp_path: Path
) -> None:
    """Catches a webhook that publishes on the request path (it would fail or lose work
    while Redis is down): the stored rows alone bring every reply to a worker once Redis
    is back (beat cannot queue the relay meanwhile)."""
    phones = surveyed_customers(10)
    worker = start_worker(redis, tmp_path, "w1")
    try:
        wait_until(lambda: " ready." in worker_log(tmp_path, "w1"), timeout=60)
        redis.stop()
        codes = [reply(live_server.url, f"MO{n}", p, str(n % 11)) for n, p in enumerate(phones)]
        assert set(codes) == {200}
        assert InboundMessage.objects.count() == 10
        down_since = time.monotonic()
        # Redis comes back only after beat's turn to queue the relay has failed: the
        # outage was seen by the worker, not over before it looked.
        wait_until(lambda: "beat: Connection error" in worker_log(tmp_path, "w1"), timeout=30)
        redis.start()
        wait_until(lambda: all_processed(10), timeout=90)
        took = time.monotonic() - down_since
        print(f"redis outage: all replies processed {took:.1f}s after it began")
    finally:
        stop_worker(worker, signal.SIGTERM)
    assert_each_once(phones)


def test_a_worker_killed_mid_batch_loses_nothing_and_repeats_nothing(
    live_server: Any, redis: PrivateRedis, tmp_path: Path
) -> None:
    """Catches work lost with its worker (no redelivery of unacknowledged tasks and no relay
    requeue) and processing that is not idempotent (the batch runs again after the kill:
    it would score, open a case or ask "why?" twice)."""
    phones = surveyed_customers(60)
    for n, phone in enumerate(phones):
        assert reply(live_server.url, f"MO{n}", phone, "3 排队太久") == 200
    first = start_worker(redis, tmp_path, "w1")
    try:
        wait_until(
            lambda: InboundMessage.objects.filter(processed_at__isnull=False).exists(), timeout=60
        )
    finally:
        stop_worker(first, signal.SIGKILL)
    killed_at = time.monotonic()
    done_before = InboundMessage.objects.filter(processed_at__isnull=False).count()
    second = start_worker(redis, tmp_path, "w2")
    try:
        wait_until(lambda: all_processed(60), timeout=90)
        took = time.monotonic() - killed_at
        print(f"worker SIGKILL after {done_before}/60: all done {took:.1f}s later")
    finally:
        stop_worker(second, signal.SIGTERM)
    assert_each_once(phones)
