"""Reading the settings writes nothing; the processes that use the embedded database,
static files and filesystem broker create their folders themselves."""

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def run(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """A process with the project's own settings and the embedded defaults under tmp_path."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("NPS_", "DJANGO_", "CELERY_"))}
    env.pop("DATABASE_URL", None)
    env |= {"DJANGO_SETTINGS_MODULE": "nps.settings", "NPS_VAR_DIR": str(tmp_path / "var")}
    done = subprocess.run(
        [sys.executable, *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr[-2000:]
    return done


def test_loading_the_settings_and_the_apps_creates_no_folder(tmp_path: Path) -> None:
    run(
        tmp_path,
        "-c",
        "import django; django.setup(); from django.conf import settings; settings.VAR_DIR",
    )
    assert not (tmp_path / "var").exists()


def test_a_management_command_creates_the_folders_of_the_embedded_default(tmp_path: Path) -> None:
    run(tmp_path, "manage.py", "migrate", "--verbosity", "0")
    var = tmp_path / "var"
    assert (var / "nps.sqlite3").is_file()
    assert (var / "static").is_dir()
    assert (var / "broker" / "processed").is_dir()
    assert (var / "broker" / "control").is_dir()


def test_the_first_use_of_celery_creates_the_filesystem_broker_folders(tmp_path: Path) -> None:
    script = "import django; django.setup(); from nps.celery import app; app.conf.broker_url"
    run(tmp_path, "-c", script)
    assert (tmp_path / "var" / "broker" / "processed").is_dir()
    assert (tmp_path / "var" / "broker" / "control").is_dir()
