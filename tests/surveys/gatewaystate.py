"""The shared Redis the routing tests keep the gateways' rates and breakers in.

On the PostgreSQL + Redis profile it is the broker's Redis (NPS_GATEWAY_STATE_URL's
default); on the SQLite profile, whose broker is the filesystem, the tests point the
state at a local Redis explicitly (NPS_TEST_GATEWAY_STATE_URL, else db 6).
"""

import os

import pytest
import redis
from django.conf import settings

LOCAL_REDIS = "redis://127.0.0.1:6379/6"


def shared_state_url() -> str:
    """The Redis to test the shared state on; the test is skipped, saying so, without one."""
    url = settings.NPS_GATEWAY_STATE_URL or os.environ.get(
        "NPS_TEST_GATEWAY_STATE_URL", LOCAL_REDIS
    )
    try:
        redis.Redis.from_url(url, socket_connect_timeout=1).ping()
    except redis.RedisError as exc:
        pytest.skip(f"no Redis answers at {url} ({exc.__class__.__name__})")
    return str(url)
