"""`manage.py up` as a real process: it stops every child when it is stopped."""

import os
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from django.db import connection

from tests.integration.conftest import ROOT, free_port, wait_until

# The children must see the test database `up` migrates and seeds; they are flushed after.
pytestmark = pytest.mark.django_db(transaction=True)


def _children(pid: int) -> set[int]:
    path = Path(f"/proc/{pid}/task/{pid}/children")
    return {int(child) for child in path.read_text().split()} if path.exists() else set()


def _descendants(pid: int) -> set[int]:
    found = _children(pid)
    for child in list(found):
        found |= _descendants(child)
    return found


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


@pytest.mark.skipif(not Path("/proc/self/task").exists(), reason="reads children from /proc")
def test_up_stops_its_four_children_on_sigterm(tmp_path: Path) -> None:
    env: dict[str, Any] = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "tests.settings",
        "NPS_TEST_DATABASE_NAME": str(connection.settings_dict["NAME"]),
    }
    ports = ["--port", str(free_port()), "--simulator-port", str(free_port())]
    log = (tmp_path / "up.log").open("wb")
    up = subprocess.Popen(
        [sys.executable, "manage.py", "up", "--no-history", *ports],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        wait_until(lambda: len(_children(up.pid)) == 4, timeout=60)
        # The worker's pool too: wait until it has forked its two processes.
        processes = wait_until(lambda: len(_descendants(up.pid)) >= 6 and _descendants(up.pid))
        up.send_signal(signal.SIGTERM)
        assert up.wait(timeout=30) == 0
        # up waited for each child (or killed its group after 10 s): nothing is left.
        assert [pid for pid in processes if _alive(pid)] == []
    finally:
        if up.poll() is None:
            up.kill()
