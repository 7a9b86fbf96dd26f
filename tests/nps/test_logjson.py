"""NPS_LOG_JSON=true: one JSON object per console line, phone numbers masked in every field."""

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

from tests.test_logging import MASKED, NUMBER, ROOT, project_env

MASKED_E164 = "+86138******02"  # the same number written with its country code

LOG_SOME_LINES = f"""
import logging
import django
django.setup()
log = logging.getLogger("surveys.replies")
log.info("reply from +86{NUMBER} scored", extra={{"sender": "{NUMBER}", "score": 3}})
try:
    raise ValueError("no invitation for {NUMBER}")
except ValueError:
    log.exception("reply %s failed", "{NUMBER}")
"""


def console_lines(tmp_path: Path, **env: str) -> list[str]:
    """What a process of the project's settings prints to the console for LOG_SOME_LINES."""
    done = subprocess.run(
        [sys.executable, "-c", LOG_SOME_LINES],
        cwd=ROOT,
        env=project_env(tmp_path) | env,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    return [line for line in done.stderr.splitlines() if line.strip()]


def test_json_lines_carry_level_logger_message_and_extra_fields_masked(tmp_path: Path) -> None:
    lines = console_lines(tmp_path, NPS_LOG_JSON="true")
    records: list[dict[str, Any]] = [json.loads(line) for line in lines]  # one object a line
    scored, failed = records
    assert scored["level"] == "INFO"
    assert scored["logger"] == "surveys.replies"
    assert scored["message"] == f"reply from {MASKED_E164} scored"
    assert scored["sender"] == MASKED
    assert scored["score"] == 3
    assert failed["level"] == "ERROR"
    assert failed["message"] == f"reply {MASKED} failed"
    assert f"ValueError: no invitation for {MASKED}" in failed["exc_info"]
    assert NUMBER not in "\n".join(lines)


def test_without_the_setting_lines_stay_plain_and_masked(tmp_path: Path) -> None:
    lines = console_lines(tmp_path)
    assert lines[0].endswith(f"INFO surveys.replies reply from {MASKED_E164} scored")
    assert not lines[0].startswith("{")
    assert NUMBER not in "\n".join(lines)
