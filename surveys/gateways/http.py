"""Outbound HTTP to gateways, with provider failures mapped to retryable or permanent.

`post` is the one home of that mapping: a timeout, a connection that fails, HTTP 429 or
5xx are retryable (GatewayError), any other 4xx is permanent (PermanentGatewayError).

It goes straight through urllib3's connection pools (what requests runs on), one pool
per gateway host in each process: a batch send (surveys.sending.send_many) makes
thousands of calls a second from its threads, and requests' own work per call (preparing
and merging the request, its hooks, cookies and .netrc) made a call cost 2.66x the CPU
(bench/gateway_client.py). What requests did that a gateway call needs is kept: the
proxy the environment names for the host (HTTP(S)_PROXY, NO_PROXY, read once per host),
the CA bundle requests verifies with, and the connections kept across calls (TCP and
TLS). Redirects are not followed (a gateway's send API answers, it does not move). A
process forked after the pools were made makes its own.

`session()` is the pooled requests session for the other outbound calls (webhook
deliveries, nps.outbound).
"""

import json as jsonlib
import os
import threading
from abc import abstractmethod
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode, urlsplit

import requests
import urllib3
from django.conf import settings
from requests.adapters import HTTPAdapter
from requests.utils import DEFAULT_CA_BUNDLE_PATH, get_environ_proxies, select_proxy
from urllib3.exceptions import HTTPError, NewConnectionError
from urllib3.exceptions import TimeoutError as Urllib3Timeout

from surveys.gateways.base import (
    Gateway,
    GatewayError,
    PermanentGatewayError,
    SendResult,
    TemplateCall,
)

POOL_SIZE = 64  # connections kept per gateway host; at least a batch send's threads

_session: tuple[int, requests.Session] | None = None
_session_lock = threading.Lock()


def session() -> requests.Session:
    """This process's pooled session (for calls other than a gateway's send)."""
    global _session
    with _session_lock:
        if _session is None or _session[0] != os.getpid():
            pooled = requests.Session()
            adapter = HTTPAdapter(pool_connections=8, pool_maxsize=POOL_SIZE)
            pooled.mount("http://", adapter)
            pooled.mount("https://", adapter)
            _session = (os.getpid(), pooled)
        return _session[1]


@dataclass(frozen=True)
class Answer:
    """A gateway's answer to a POST: its status and body."""

    status_code: int
    content: bytes

    @property
    def text(self) -> str:
        return self.content.decode("utf-8", errors="replace")

    def json(self) -> Any:
        """The body as JSON; ValueError when it is not."""
        return jsonlib.loads(self.content)


class _Pools:
    """This process's connection pools: one per origin (scheme, host, port) called
    directly, or one pool manager per proxy the environment names for the origin."""

    def __init__(self) -> None:
        self.pid = os.getpid()
        self.lock = threading.Lock()
        self.proxies: dict[str, urllib3.ProxyManager] = {}
        # origin -> (its own pool, or the proxy's manager; whether it takes the whole URL)
        self.routes: dict[str, tuple[urllib3.HTTPConnectionPool | urllib3.ProxyManager, bool]] = {}

    def route(self, url: str) -> tuple[urllib3.HTTPConnectionPool | urllib3.ProxyManager, str]:
        """What to call for `url`, and the target to give it (the path, or through a proxy
        the whole URL)."""
        parts = urlsplit(url)
        origin = f"{parts.scheme}://{parts.netloc}"
        found = self.routes.get(origin)
        if found is None:
            with self.lock:
                proxy = select_proxy(url, get_environ_proxies(url))
                if proxy:
                    if proxy not in self.proxies:
                        self.proxies[proxy] = urllib3.ProxyManager(
                            proxy, num_pools=8, maxsize=POOL_SIZE, ca_certs=DEFAULT_CA_BUNDLE_PATH
                        )
                    found = (self.proxies[proxy], True)
                else:
                    # requests' CA bundle, as requests verified with
                    tls = {"ca_certs": DEFAULT_CA_BUNDLE_PATH} if parts.scheme == "https" else {}
                    found = (urllib3.connection_from_url(origin, maxsize=POOL_SIZE, **tls), False)
                self.routes[origin] = found
        caller, whole = found
        target = url if whole else (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        return caller, target


_pools: _Pools | None = None
_pools_lock = threading.Lock()


def _route(url: str) -> tuple[urllib3.HTTPConnectionPool | urllib3.ProxyManager, str]:
    global _pools
    pools = _pools
    if pools is None or pools.pid != os.getpid():
        with _pools_lock:
            if _pools is None or _pools.pid != os.getpid():
                _pools = _Pools()
            pools = _pools
    return pools.route(url)


@dataclass(frozen=True)
class Post:
    """A POST to make: the URL, the body and every header of ours (its type, any auth)."""

    url: str
    body: bytes
    headers: dict[str, str]


def post_prepare(
    url: str,
    *,
    json: Any = None,
    data: dict[str, str] | None = None,
    headers: dict[str, str] | None = None,
    auth: tuple[str, str] | None = None,
) -> Post:
    """The POST of `json` (as JSON) or `data` (as a form), with HTTP basic `auth` if given."""
    sent = dict(headers or {})
    if json is not None:
        body = jsonlib.dumps(json, allow_nan=False).encode()
        sent.setdefault("Content-Type", "application/json")
    else:
        body = urlencode(data or {}).encode()
        sent.setdefault("Content-Type", "application/x-www-form-urlencoded")
    if auth is not None:
        sent.update(urllib3.make_headers(basic_auth=f"{auth[0]}:{auth[1]}"))
    return Post(url, body, sent)


def post(
    url: str,
    *,
    json: Any = None,
    data: dict[str, str] | None = None,
    headers: dict[str, str] | None = None,
    auth: tuple[str, str] | None = None,
) -> Answer:
    """POST `json` (as JSON) or `data` (as a form), with HTTP basic `auth` if given; raise
    GatewayError (retry) or PermanentGatewayError (give up) on failure."""
    return post_send(post_prepare(url, json=json, data=data, headers=headers, auth=auth))


def post_send(post: Post) -> Answer:
    """Make the POST through this process's pools: the answer, or GatewayError (retry) or
    PermanentGatewayError (give up)."""
    timeout = settings.NPS_GATEWAY_TIMEOUT
    try:
        caller, target = _route(post.url)
        response = caller.urlopen(
            "POST",
            target,
            body=post.body,
            headers=post.headers,
            timeout=urllib3.Timeout(connect=timeout, read=timeout),
            retries=False,
            redirect=False,
        )
    except NewConnectionError as exc:  # a refused or unresolved host (not a timeout)
        raise GatewayError(f"connection failed: {exc.__class__.__name__}") from exc
    except Urllib3Timeout as exc:
        raise GatewayError(f"timeout after {timeout}s") from exc
    except HTTPError as exc:
        raise GatewayError(f"connection failed: {exc.__class__.__name__}") from exc
    return answer_checked(response.status, response.data)


def answer_checked(status_code: int, content: bytes) -> Answer:
    """The answer, if the gateway took the POST; else GatewayError for 429 and 5xx (retry),
    PermanentGatewayError for any other 4xx."""
    answer = Answer(status_code, content)
    if answer.status_code == 429 or answer.status_code >= 500:
        raise GatewayError(f"HTTP {answer.status_code}: {answer.text[:200]}")
    if answer.status_code >= 400:
        raise PermanentGatewayError(f"HTTP {answer.status_code}: {answer.text[:200]}")
    return answer


def proxied(url: str) -> bool:
    """Whether the environment names a proxy for this URL's host (read once per host)."""
    caller, _ = _route(url)
    return isinstance(caller, urllib3.ProxyManager)


class PostGateway(Gateway):
    """A gateway whose send is one POST (the simulator, Twilio): `send_post` says what to
    post, `send_result` what the answer means. One send makes the POST here; a batch
    (surveys.sending.send_many) makes many at once from one thread (gateways/inflight.py).
    """

    def send(
        self, *, to: str, text: str, reference: str, template: TemplateCall | None = None
    ) -> SendResult:
        post = self.send_post(to=to, text=text, reference=reference, template=template)
        return self.send_result(post_send(post))

    @abstractmethod
    def send_post(
        self, *, to: str, text: str, reference: str, template: TemplateCall | None = None
    ) -> Post:
        """The POST that sends this SMS (GatewayError if it cannot be made)."""

    @abstractmethod
    def send_result(self, answer: Answer) -> SendResult:
        """What the gateway's answer to the POST (one it took) says of the SMS."""
