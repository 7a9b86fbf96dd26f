"""Outbound HTTP to gateways, with provider failures mapped to retryable or permanent.

One pooled session per process: sends reuse their TCP (and TLS) connections to a gateway
instead of opening one per message, also from the threads of a batch send
(surveys.sending.send_many). A process forked after the session was made makes its own.
"""

import os
import threading
from typing import Any

import requests
from django.conf import settings
from requests.adapters import HTTPAdapter

from surveys.gateways.base import GatewayError, PermanentGatewayError

POOL_SIZE = 64  # connections kept per gateway host; at least a batch send's threads

_session: tuple[int, requests.Session] | None = None
_session_lock = threading.Lock()


def session() -> requests.Session:
    """This process's pooled session."""
    global _session
    with _session_lock:
        if _session is None or _session[0] != os.getpid():
            pooled = requests.Session()
            adapter = HTTPAdapter(pool_connections=8, pool_maxsize=POOL_SIZE)
            pooled.mount("http://", adapter)
            pooled.mount("https://", adapter)
            _session = (os.getpid(), pooled)
        return _session[1]


def post(url: str, **kwargs: Any) -> requests.Response:
    """POST and raise GatewayError (retry) or PermanentGatewayError (give up) on failure."""
    try:
        response = session().post(url, timeout=settings.NPS_GATEWAY_TIMEOUT, **kwargs)
    except requests.Timeout as exc:
        raise GatewayError(f"timeout after {settings.NPS_GATEWAY_TIMEOUT}s") from exc
    except requests.ConnectionError as exc:
        raise GatewayError(f"connection failed: {exc.__class__.__name__}") from exc
    if response.status_code == 429 or response.status_code >= 500:
        raise GatewayError(f"HTTP {response.status_code}: {response.text[:200]}")
    if response.status_code >= 400:
        raise PermanentGatewayError(f"HTTP {response.status_code}: {response.text[:200]}")
    return response
