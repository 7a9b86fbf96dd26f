"""The project's settings as production runs them, plus the bare baseline view's URL.

Used by gunicorn and the driver of bench/webhook_ingest.py; DATABASE_URL and
CELERY_BROKER_URL come from the environment like in production.
"""

import copy
import os

# DEBUG is off below: only the simulator, with a secret that is not the development one
# (the web process refuses development gateway secrets when DEBUG is off).
os.environ.setdefault("NPS_GATEWAYS", "simulator")
os.environ.setdefault("SIMULATOR_SECRET", "bench-only-simulator-secret-0123456789")
os.environ.setdefault("SIMULATOR_API_KEY", "bench-only-simulator-key-0123456789")

from nps.settings import *  # noqa: F403
from nps.settings import LOGGING, NPS_QUIET_TASKS, env

ROOT_URLCONF = "bench.urls"
DEBUG = False  # DEBUG records every query in memory: never measure with it on
SECRET_KEY = env("SECRET_KEY", default="bench-only-secret-key-not-used-anywhere-else-0123456789")
ALLOWED_HOSTS = ["127.0.0.1", "localhost"]
WHITENOISE_USE_FINDERS = False

# Only warnings and errors: a log line per request would be measured too.
LOGGING = copy.deepcopy(LOGGING)
LOGGING["root"]["level"] = "WARNING"

# bench/loop.py counts the rows the outbox relay hands out from the worker's log: its
# ticks ("succeeded in ...: <rows>") stay at info there (only when asked: one line a second).
if env.bool("NPS_BENCH_RELAY_TICKS", default=False):
    NPS_QUIET_TASKS = tuple(t for t in NPS_QUIET_TASKS if t != "surveys.tasks.relay_outbox")
