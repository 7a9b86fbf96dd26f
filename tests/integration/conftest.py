"""Real processes for the closed loop: a Celery worker on the configured broker and the
SMS simulator, both talking to the test server over HTTP and to the test database."""

import os
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
from django.conf import settings
from django.db import connection

from nps.celery import app as celery_app

ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_until(check: Callable[[], Any], *, timeout: float = 30.0, every: float = 0.2) -> Any:
    """Poll until check() returns something truthy; fail with the last value after timeout."""
    deadline, value = time.monotonic() + timeout, None
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(every)
    raise AssertionError(f"not reached within {timeout}s (last value: {value!r})")


class Process:
    def __init__(self, name: str, args: list[str], env: dict[str, str], log_dir: Path) -> None:
        self.log = log_dir / f"{name}.log"
        self.proc = subprocess.Popen(
            args, cwd=ROOT, env=env, stdout=self.log.open("wb"), stderr=subprocess.STDOUT
        )

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.proc.kill()

    def output(self) -> str:
        return self.log.read_text(errors="replace")[-4000:]


@pytest.fixture
def loop_env(live_server: Any, tmp_path: Path) -> dict[str, str]:
    """Environment for child processes: same settings, queue and test database."""
    sim_port = free_port()
    return {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "tests.settings",
        "NPS_TEST_DATABASE_NAME": str(connection.settings_dict["NAME"]),
        "NPS_SEND_GATEWAY": "simulator",
        "SIMULATOR_URL": f"http://127.0.0.1:{sim_port}",
        "SIM_PORT": str(sim_port),
        "WEB_URL": live_server.url,
        "NPS_RELAY_INTERVAL": "0.5",
    }


@pytest.fixture
def simulator(loop_env: dict[str, str], tmp_path: Path) -> Iterator[str]:
    """The SMS gateway simulator as its own process; replies only when told to."""
    args = [sys.executable, "manage.py", "run_simulator", "--port", loop_env["SIM_PORT"]]
    args += ["--webhook-base", loop_env["WEB_URL"], "--no-auto-reply"]
    process = Process("simulator", args, loop_env, tmp_path)
    url = loop_env["SIMULATOR_URL"]

    def healthy() -> bool:
        try:
            return requests.get(f"{url}/health", timeout=1).ok
        except requests.ConnectionError:
            return False

    try:
        wait_until(healthy, timeout=20)
        yield url
    finally:
        process.stop()


@pytest.fixture
def worker(loop_env: dict[str, str], tmp_path: Path) -> Iterator[Process]:
    """A real Celery worker process consuming this test run's queue on the real broker."""
    queue = settings.CELERY_TASK_DEFAULT_QUEUE
    # Earlier tests of this run published tasks for rows that no longer exist: start clean.
    celery_app.control.purge()
    args = [sys.executable, "-m", "celery", "-A", "nps", "worker", "-c", "2"]
    args += ["-l", "info", "--without-gossip", "--without-mingle", "-n", f"test-{queue}@%h"]
    # With its beat (-B): the outbox relay and the other periodic jobs run as in production.
    args += ["-B", "-s", str(tmp_path / "beat-schedule")]
    process = Process("worker", args, loop_env, tmp_path)
    try:
        wait_until(lambda: "ready" in process.output(), timeout=30)
        yield process
    except AssertionError:
        print(process.output())
        raise
    finally:
        process.stop()
