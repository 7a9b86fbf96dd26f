"""Where the gateways' send rates and circuit breakers are kept: one Redis for every worker.

`settings.NPS_GATEWAY_STATE_URL` names it (by default the Celery broker when that is
Redis). Without one (the embedded profile's filesystem broker) each process keeps its
own state: a rate then holds per process, not across them (the check surveys.W010 says
so when a rate is set).
"""

import os
import threading

import redis
from django.conf import settings

_clients: dict[tuple[int, str], redis.Redis] = {}
_clients_lock = threading.Lock()


def state_url() -> str:
    return str(getattr(settings, "NPS_GATEWAY_STATE_URL", "") or "")


def state_is_shared() -> bool:
    """True when the workers share their gateway state (a Redis is configured)."""
    return bool(state_url())


def state_redis() -> redis.Redis | None:
    """This process's client of the shared Redis, None without one.

    One client per process and URL: its connection pool serves the threads of a batch
    send; a forked worker makes its own (a socket is never shared across processes).
    Timeouts are short: a send waits on the gateway, not on its bookkeeping.
    """
    url = state_url()
    if not url:
        return None
    key = (os.getpid(), url)
    with _clients_lock:
        client = _clients.get(key)
        if client is None:
            client = redis.Redis.from_url(
                url, socket_timeout=2, socket_connect_timeout=2, health_check_interval=30
            )
            _clients[key] = client
        return client


def state_key_prefix() -> str:
    """What every key of ours in that Redis starts with: the Celery queue's name, which
    already tells deployments (and test runs) sharing one Redis apart, then "gateway:"."""
    return f"{settings.CELERY_TASK_DEFAULT_QUEUE}:gateway:"


def state_key(slug: str, what: str) -> str:
    return f"{state_key_prefix()}{slug}:{what}"
