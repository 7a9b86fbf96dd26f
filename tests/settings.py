"""Test settings: the project's settings plus an isolated broker queue and test database.

The run id is put in the environment, so a worker process started by a test (which
inherits the environment) lands on the same queue and the same test database.
"""

import os
import tempfile
import uuid
from pathlib import Path

RUN_ID = os.environ.setdefault("NPS_TEST_RUN_ID", uuid.uuid4().hex[:10])
_run_dir = Path(tempfile.gettempdir()) / f"nps-test-{RUN_ID}"
_run_dir.mkdir(parents=True, exist_ok=True)
os.environ.setdefault("NPS_BROKER_DIR", str(_run_dir / "broker"))
os.environ.setdefault("CELERY_QUEUE", f"nps-test-{RUN_ID}")
os.environ.setdefault("NPS_VAR_DIR", str(_run_dir))

from nps.settings import *  # noqa: E402, F403
from nps.settings import DATABASES  # noqa: E402

if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # A file, not memory: worker processes must see what the tests write.
    DATABASES["default"]["TEST"] = {"NAME": str(_run_dir / "test.sqlite3")}
if os.environ.get("NPS_TEST_DATABASE_NAME"):  # set for worker processes started by tests
    DATABASES["default"]["NAME"] = os.environ["NPS_TEST_DATABASE_NAME"]

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
NPS_SWEEP_GRACE_SECONDS = 0
