"""Phone numbers never reach a log in full: request lines, query strings, tracebacks.

The servers run as processes with the project's own configuration (runserver with
settings.LOGGING, gunicorn with nps/gunicorn.conf.py, Celery's logging setup), and a
staff search for a number (`?q=13800000002`) is read back from what they printed.
"""

import logging
import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

from surveys.phones import MaskPhonesFilter

ROOT = Path(__file__).resolve().parents[1]
NUMBER, MASKED = "13800000002", "138000***02"
SEARCH = f"/admin/surveys/customer/?q={NUMBER}"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def project_env(tmp_path: Path) -> dict[str, str]:
    """nps.settings as a developer or a deployment runs it: not the test settings."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("NPS_", "DJANGO_"))}
    env.pop("DATABASE_URL", None)
    env.pop("CELERY_BROKER_URL", None)
    return env | {
        "DJANGO_SETTINGS_MODULE": "nps.settings",
        "NPS_VAR_DIR": str(tmp_path),
        "DATABASE_URL": "sqlite://:memory:",
        "PYTHONUNBUFFERED": "1",
    }


def get(url: str) -> int:
    opener = urllib.request.build_opener(NoRedirect)
    try:
        return opener.open(url, timeout=10).status
    except urllib.error.HTTPError as exc:
        return exc.code


class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: object, **kwargs: object) -> None:
        return None


def serve_and_request(
    args: list[str], tmp_path: Path, port: int, paths: list[str], written: list[str]
) -> str:
    """Start a server, request `paths` once it answers, stop it once it has printed every
    line of `written` (the log lines come after the responses); everything it printed."""
    out = tmp_path / "server.log"
    with out.open("wb") as log:
        server = subprocess.Popen(
            args, cwd=ROOT, env=project_env(tmp_path), stdout=log, stderr=subprocess.STDOUT
        )
        try:
            deadline = time.monotonic() + 60
            while True:
                try:
                    socket.create_connection(("127.0.0.1", port), timeout=1).close()
                    break
                except OSError:
                    assert server.poll() is None, out.read_text()
                    assert time.monotonic() < deadline, out.read_text()
                    time.sleep(0.2)
            codes = [get(f"http://127.0.0.1:{port}{path}") for path in paths]
            deadline = time.monotonic() + 10
            while not all(line in out.read_text() for line in written):
                assert time.monotonic() < deadline, out.read_text()
                time.sleep(0.05)
        finally:
            server.terminate()
            server.wait(timeout=20)
    text = out.read_text()
    assert codes == [302, 404][: len(paths)], text
    return text


def test_runserver_request_lines_and_django_request_warnings_mask_numbers(
    tmp_path: Path,
) -> None:
    port = free_port()
    args = [sys.executable, "manage.py", "runserver", f"127.0.0.1:{port}", "--noreload"]
    access = f"GET /admin/surveys/customer/?q={MASKED} HTTP/1.1"  # django.server
    not_found = f"Not Found: /no-such-page/{MASKED}/"  # django.request
    paths = [SEARCH, f"/no-such-page/{NUMBER}/"]
    text = serve_and_request([*args, "--skip-checks"], tmp_path, port, paths, [access, not_found])
    assert NUMBER not in text


def test_gunicorn_access_log_masks_numbers_in_query_strings(tmp_path: Path) -> None:
    port = free_port()
    args = [sys.executable, "-m", "gunicorn", "-c", "nps/gunicorn.conf.py", "nps.wsgi"]
    args += ["-b", f"127.0.0.1:{port}", "-w", "1", "--no-control-socket"]
    access = f'"GET /admin/surveys/customer/?q={MASKED} HTTP/1.1" 302'
    text = serve_and_request(args, tmp_path, port, [SEARCH], [access])
    assert NUMBER not in text


CELERY_LOGS = f"""
import logging
from nps.celery import app
app.log.setup(loglevel="INFO")  # what the worker and beat do at startup
logging.getLogger("celery.app.trace").info("Task t[1] succeeded: %r", "+86{NUMBER}")
logging.getLogger("celery.worker.strategy").info("Received task for {NUMBER}")
"""


def test_celery_worker_and_beat_logs_mask_numbers(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-c", CELERY_LOGS],
        cwd=ROOT,
        env=project_env(tmp_path),
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    assert NUMBER not in done.stderr
    assert "Task t[1] succeeded: '+86138******02'" in done.stderr
    assert f"Received task for {MASKED}" in done.stderr


EVERY_HANDLER = """
import logging
import django
django.setup()
from surveys.phones import MaskPhonesFilter
unmasked = []
for name, logger in [("root", logging.getLogger())] + list(logging.root.manager.loggerDict.items()):
    if not isinstance(logger, logging.Logger):
        continue
    for handler in logger.handlers:
        if isinstance(handler, logging.NullHandler):  # writes nothing
            continue
        masks = [f for f in handler.filters + logger.filters if isinstance(f, MaskPhonesFilter)]
        if not masks:
            unmasked.append(f"{name}: {handler!r}")
print("UNMASKED", unmasked)
"""


def test_every_handler_of_the_configured_loggers_masks_numbers(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-c", EVERY_HANDLER],
        cwd=ROOT,
        env=project_env(tmp_path),
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    assert "UNMASKED []" in done.stdout, done.stdout


def test_tracebacks_are_masked_too() -> None:
    try:
        raise ValueError(f"no customer +86{NUMBER}")
    except ValueError:
        record = logging.LogRecord("x", logging.ERROR, "f", 1, "failed", None, sys.exc_info())
    MaskPhonesFilter().filter(record)
    text = logging.Formatter().format(record)
    assert NUMBER not in text
    assert "ValueError: no customer +86138******02" in text
