"""Which gateways are live: development gateways never in production, checked at startup.

These run the real settings module (nps.settings) in a subprocess with the environment
of a deployment, as the web and worker processes read it.
"""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.test import override_settings

from surveys.gateways.base import get_gateway
from surveys.gateways.registry import gateway_setting_problems

ROOT = Path(__file__).resolve().parents[2]

# The production settings of the README.
PRODUCTION = {
    "DEBUG": "false",
    "SECRET_KEY": "prod-test-9f2Kq0vLrT7mXc4YwB8nHs1ZpJd6GaUe3RiVoNk5",
    "ALLOWED_HOSTS": "nps.example.com",
    "NPS_GATEWAYS": "twilio",
    "NPS_SEND_GATEWAY": "twilio",
    "TWILIO_ACCOUNT_SID": "AC0123456789abcdef0123456789abcdef",
    "TWILIO_AUTH_TOKEN": "a-real-twilio-auth-token-0123456789",
    "TWILIO_FROM": "+15005550006",
    "NPS_PUBLIC_BASE_URL": "https://nps.example.com",
}

# Posts the forged simulator and console replies of the issue; prints the answers and
# how many messages were stored.
FORGE = """
import json
import django
django.setup()
from django.db import connection
from django.test import Client
from surveys.models import InboundMessage
from surveys.gateways.simulator_signature import HEADER, sign_body
with connection.schema_editor() as editor:  # the one table a reply goes to, in memory
    editor.create_model(InboundMessage)
connection.cursor().execute("PRAGMA foreign_keys = OFF")  # its invitation table is absent
body = json.dumps({"message_id": "MO1", "from": "+8613800138000", "text": "0"}).encode()
client = Client(HTTP_HOST="nps.example.com")
simulator = client.post("/webhooks/simulator/inbound/", body, content_type="application/json",
                        headers={HEADER: sign_body("sim-dev-secret", body)}, secure=True)
console = client.post("/webhooks/console/inbound/?token=console-dev-secret", body,
                      content_type="application/json", secure=True)
print(json.dumps({"simulator": simulator.status_code, "console": console.status_code,
                  "stored": InboundMessage.objects.count()}))
"""


def run(
    args: list[str], tmp_path: Path, timeout: float = 90, **env: str
) -> subprocess.CompletedProcess[str]:
    """A process on nps.settings with only `env` set: no test settings, no test database."""
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("NPS_", "DJANGO_"))}
    clean = {k: v for k, v in clean.items() if k not in PRODUCTION | {"DATABASE_URL": ""}}
    clean.pop("CELERY_BROKER_URL", None)
    clean |= {"DJANGO_SETTINGS_MODULE": "nps.settings", "NPS_VAR_DIR": str(tmp_path)}
    clean |= {"DATABASE_URL": "sqlite://:memory:"} | env
    return subprocess.run(
        args, cwd=ROOT, env=clean, capture_output=True, text=True, timeout=timeout, check=False
    )


def forge(tmp_path: Path, **env: str) -> dict[str, int]:
    done = run([sys.executable, "-c", FORGE], tmp_path, **env)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.strip().splitlines()[-1])


@pytest.mark.parametrize(
    "named", [{"NPS_GATEWAYS": "twilio"}, {"NPS_GATEWAYS": ""}], ids=["twilio", "none"]
)
def test_production_answers_404_to_dev_gateway_webhooks_signed_with_their_dev_secrets(
    tmp_path: Path, named: dict[str, str]
) -> None:
    answers = forge(tmp_path, **(PRODUCTION | named))
    assert answers == {"simulator": 404, "console": 404, "stored": 0}


def test_production_with_no_gateway_named_enables_none(tmp_path: Path) -> None:
    env = {k: v for k, v in PRODUCTION.items() if k != "NPS_GATEWAYS"}
    assert forge(tmp_path, **env) == {"simulator": 404, "console": 404, "stored": 0}


def test_the_demo_with_debug_on_keeps_the_simulator_and_console(tmp_path: Path) -> None:
    assert forge(tmp_path) == {"simulator": 200, "console": 200, "stored": 2}


def check_deploy(tmp_path: Path, **env: str) -> subprocess.CompletedProcess[str]:
    args = [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"]
    return run(args, tmp_path, **env)


def test_check_deploy_passes_with_the_production_settings_of_the_readme(tmp_path: Path) -> None:
    done = check_deploy(tmp_path, **PRODUCTION)
    assert done.returncode == 0, done.stderr
    assert "no issues" in done.stdout


@pytest.mark.parametrize(
    ("env", "setting"),
    [
        ({"NPS_GATEWAYS": "twilio,simulator"}, "SIMULATOR_SECRET"),
        ({"TWILIO_AUTH_TOKEN": ""}, "TWILIO_AUTH_TOKEN"),
        ({"NPS_SEND_GATEWAY": "simulator"}, "NPS_SEND_GATEWAY"),
    ],
)
def test_check_deploy_fails_naming_the_setting_of_an_unsafe_gateway(
    tmp_path: Path, env: dict[str, str], setting: str
) -> None:
    done = check_deploy(tmp_path, **(PRODUCTION | env))
    assert done.returncode != 0
    assert "ERRORS" in done.stderr
    assert f"Set {setting}." in done.stderr


def test_web_process_refuses_to_start_with_a_dev_gateway_secret(tmp_path: Path) -> None:
    env = PRODUCTION | {"NPS_GATEWAYS": "twilio,simulator"}
    refused = run([sys.executable, "-c", "import nps.wsgi"], tmp_path, **env)
    started = run([sys.executable, "-c", "import nps.wsgi"], tmp_path, **PRODUCTION)
    assert refused.returncode != 0
    assert "ImproperlyConfigured" in refused.stderr
    assert "SIMULATOR_SECRET is a development value" in refused.stderr
    assert started.returncode == 0, started.stderr


def test_worker_refuses_to_start_with_a_dev_gateway_secret(tmp_path: Path) -> None:
    env = PRODUCTION | {"NPS_GATEWAYS": "twilio,console", "NPS_BROKER_DIR": str(tmp_path)}
    env |= {"CELERY_BROKER_URL": "filesystem://"}
    args = [sys.executable, "-m", "celery", "-A", "nps", "worker", "-P", "solo", "-l", "info"]
    args += ["--without-gossip", "--without-mingle", "-Q", "prodgw-never-consumed"]
    # A worker that started would run until the timeout: fails with TimeoutExpired.
    refused = run(args, tmp_path, timeout=60, **env)
    assert refused.returncode != 0
    assert "CONSOLE_GATEWAY_SECRET is a development value" in refused.stdout + refused.stderr


@override_settings(NPS_ENABLED_GATEWAYS=["twilio"])
def test_a_gateway_not_enabled_has_no_adapter() -> None:
    assert get_gateway("simulator") is None
    assert get_gateway("twilio") is not None


@override_settings(
    NPS_ENABLED_GATEWAYS=["twilio", "simulator", "console", "sms-centre"],
    NPS_SEND_GATEWAY="sms-centre",
)
def test_the_rule_names_every_unsafe_setting_even_with_debug_on() -> None:
    """DEBUG decides only whether a process refuses to start; check --deploy always reports."""
    assert {p.setting for p in gateway_setting_problems()} == {
        "NPS_GATEWAYS",  # sms-centre: no such gateway
        "NPS_SEND_GATEWAY",
        "SIMULATOR_SECRET",
        "SIMULATOR_API_KEY",
        "CONSOLE_GATEWAY_SECRET",
        "TWILIO_AUTH_TOKEN",
    }


@override_settings(
    NPS_ENABLED_GATEWAYS=["twilio"],
    NPS_SEND_GATEWAY="twilio",
    NPS_GATEWAYS={"twilio": {"AUTH_TOKEN": "real", "SECRETS": {"AUTH_TOKEN": "TWILIO_AUTH_TOKEN"}}},
)
def test_the_rule_finds_nothing_in_a_safe_setup() -> None:
    assert gateway_setting_problems() == []
