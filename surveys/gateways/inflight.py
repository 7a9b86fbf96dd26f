"""A batch's gateway calls in flight from one thread (surveys.sending.send_many).

A gateway whose send is one POST (`http.PostGateway`: the simulator, Twilio) has its
calls written and read by one event loop over kept-alive connections: no thread per call.
64 threads each blocking in urllib3 cost 363 µs of CPU per call against a loopback gateway
answering after 50 ms, the same calls from one loop 28-65 µs (2026-12-02): the threads
were about half of a sender's CPU. What a call means is unchanged: the adapter writes the
POST (`send_post`) and reads the answer (`send_result`), and `http.answer_checked` maps
the status, as for one send through urllib3 (`http.post_send`). The connection is opened
as urllib3 opens it (TLS verified with requests' CA bundle, `NPS_GATEWAY_TIMEOUT` to
connect and again for the answer); a call through a proxy the environment names, and
every other gateway's send (SDKs, SMPP, the console), runs as before in a thread.

The loop runs only while the batch waits for answers (`Flight.answers`): the database
work between rounds runs outside it, as Django requires. Each thread has its loop and
connections (a forked process makes its own); connections are kept across batches, up to
`http.POOL_SIZE` per origin, and one the gateway closed meanwhile is dropped before use.
"""

import asyncio
import os
import ssl
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Generic, TypeVar, cast
from urllib.parse import urlsplit

import urllib3
from django.conf import settings
from requests.utils import DEFAULT_CA_BUNDLE_PATH

from surveys.gateways import http
from surveys.gateways.base import Gateway, GatewayError, SendResult, TemplateCall

Key = TypeVar("Key")
Outcome = SendResult | Exception  # what came of a call: the gateway's or our own error
Origin = tuple[str, str, int]  # scheme, host, port
_DEFAULT_PORTS = {"http": 80, "https": 443}
_HEAD_LIMIT = 65536  # the most an answer's status line and headers may take
_USER_AGENT = f"python-urllib3/{urllib3.__version__}"  # as a single send says it


class _Exchange(asyncio.Protocol):
    """One kept-alive connection to a gateway: a POST written, its answer read."""

    def __init__(self, origin: Origin) -> None:
        self.origin = origin
        self.transport: asyncio.Transport | None = None
        self.closed = False
        self.buffer = b""
        self.answered: Callable[[tuple[int, bytes] | Exception], None] | None = None
        self.timer: asyncio.TimerHandle | None = None
        self.keep = True

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)

    def connection_lost(self, exc: Exception | None) -> None:
        self._ended(exc.__class__.__name__ if exc else "RemoteDisconnected")

    def eof_received(self) -> bool:
        self._ended("RemoteDisconnected")
        return False  # closes the transport

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        if self.answered is None:  # nothing asked: the connection is not ours to reuse
            self.keep = False
            return
        self._read(eof=False)

    def _ended(self, reason: str) -> None:
        """The gateway closed the connection: what it said before is the answer, if whole."""
        self.closed, self.keep = True, False
        if self.answered is not None and not self._read(eof=True):
            self._finish(GatewayError(f"connection failed: {reason}"))

    def post(self, request: bytes, timeout: float, answered: Callable[[Any], None]) -> None:
        self.buffer, self.answered = b"", answered
        loop = asyncio.get_running_loop()
        self.timer = loop.call_later(timeout, self._timed_out, timeout)
        cast(asyncio.Transport, self.transport).write(request)

    def _timed_out(self, timeout: float) -> None:
        self.keep = False
        self._finish(GatewayError(f"timeout after {timeout}s"))

    def _finish(self, outcome: tuple[int, bytes] | Exception) -> None:
        answered, self.answered = self.answered, None
        if self.timer is not None:
            self.timer.cancel()
        if (isinstance(outcome, Exception) or not self.keep) and self.transport is not None:
            self.transport.abort()
            self.closed = True
        if answered is not None:
            answered(outcome)

    def _read(self, *, eof: bool) -> bool:
        """Finish the call if its whole answer is in (or is no answer); whether it did."""
        try:
            found = _answer_parse(self.buffer, eof=eof)
        except ValueError as exc:
            self.keep = False
            self._finish(GatewayError(f"connection failed: {exc}"))
            return True
        if found is None:
            return False
        status, body, keep = found
        self.keep = self.keep and keep
        self._finish((status, body))
        return True


def _answer_parse(buffer: bytes, *, eof: bool) -> tuple[int, bytes, bool] | None:
    """An HTTP/1.x answer whole in `buffer`: (status, body, whether the connection may
    serve another call); None while more is to come. ValueError when it is no answer."""
    while True:
        end = buffer.find(b"\r\n\r\n")
        if end < 0:
            if len(buffer) > _HEAD_LIMIT:
                raise ValueError("answer's head too long")
            return None
        lines = buffer[:end].decode("latin-1").split("\r\n")
        version, _, rest = lines[0].partition(" ")
        if not version.startswith("HTTP/1.") or not rest[:3].isdigit():
            raise ValueError("no HTTP answer")
        status = int(rest[:3])
        headers: dict[str, str] = {}
        for line in lines[1:]:
            name, _, value = line.partition(":")
            headers[name.strip().lower()] = value.strip()
        buffer = buffer[end + 4 :]
        if status >= 200:
            break  # an interim answer (1xx) is followed by the real one
    connection = headers.get("connection", "").lower()
    keep = "close" not in connection and (version == "HTTP/1.1" or "keep-alive" in connection)
    if "chunked" in headers.get("transfer-encoding", "").lower():
        body = _chunks(buffer)
        return None if body is None else (status, body, keep)
    if "content-length" in headers:
        length = int(headers["content-length"])
        return (status, buffer[:length], keep) if len(buffer) >= length else None
    return (status, buffer, False) if eof else None  # the body ends with the connection


def _chunks(buffer: bytes) -> bytes | None:
    """A chunked body whole in `buffer`, joined; None while more is to come."""
    parts: list[bytes] = []
    at = 0
    while True:
        end = buffer.find(b"\r\n", at)
        if end < 0:
            return None
        size = int(buffer[at:end].split(b";", 1)[0], 16)
        if size == 0:  # the last chunk, then trailers up to an empty line
            tail = buffer.find(b"\r\n\r\n", end) if buffer[end + 2 : end + 4] != b"\r\n" else end
            return b"".join(parts) if tail >= 0 else None
        if len(buffer) < end + 2 + size + 2:
            return None
        parts.append(buffer[end + 2 : end + 2 + size])
        at = end + 2 + size + 2


def _request(post: http.Post, host: str, target: str) -> bytes:
    """The POST's bytes on the wire, with the headers urllib3 would add."""
    lines = [
        f"POST {target} HTTP/1.1",
        f"Host: {host}",
        f"User-Agent: {_USER_AGENT}",
        "Accept-Encoding: identity",
        f"Content-Length: {len(post.body)}",
    ]
    for name, value in post.headers.items():
        if "\r" in name or "\n" in name or "\r" in value or "\n" in value:
            raise ValueError(f"header {name!r}: a line break in a header")
        lines.append(f"{name}: {value}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + post.body


class _Connections:
    """One thread's loop and its idle connections, by origin."""

    def __init__(self) -> None:
        self.pid = os.getpid()
        self.loop = asyncio.new_event_loop()
        self.idle: dict[Origin, list[_Exchange]] = {}
        self.tls: ssl.SSLContext | None = None

    def tls_context(self) -> ssl.SSLContext:
        if self.tls is None:
            self.tls = ssl.create_default_context(cafile=DEFAULT_CA_BUNDLE_PATH)
        return self.tls

    def take(self, origin: Origin) -> _Exchange | None:
        idle = self.idle.get(origin, [])
        while idle:
            exchange = idle.pop()
            if not exchange.closed and exchange.keep:
                return exchange
        return None

    def give_back(self, exchange: _Exchange) -> None:
        idle = self.idle.setdefault(exchange.origin, [])
        if exchange.closed or not exchange.keep or len(idle) >= http.POOL_SIZE:
            if exchange.transport is not None:
                exchange.transport.abort()
            return
        idle.append(exchange)


_local = threading.local()


def _connections() -> _Connections:
    found: _Connections | None = getattr(_local, "connections", None)
    if found is None or found.pid != os.getpid():
        found = _local.connections = _Connections()
    return found


class _Ticket(Generic[Key]):
    """One call of a flight (the caller's key need not be hashable)."""

    __slots__ = ("key",)

    def __init__(self, key: Key) -> None:
        self.key = key


class Flight(Generic[Key]):
    """A batch's calls to one gateway: `start` each (at its moment), then `answers` hands
    back what came back, as it comes back; at most what was started is ever in flight."""

    def __init__(self, gateway: Gateway, *, concurrency: int) -> None:
        self.gateway, self.concurrency = gateway, concurrency
        self.connections = _connections()
        self.loop = self.connections.loop
        self.pending = 0  # started, not yet handed back by answers()
        self.done: list[tuple[Key, Outcome, float]] = []
        self.timers: dict[_Ticket[Key], asyncio.TimerHandle] = {}
        self.calls: dict[
            _Ticket[Key], _Exchange | None
        ] = {}  # in flight (None: opening, in a thread)
        self.wake: asyncio.Future[None] | None = None
        self.until: Callable[[], bool] = lambda: False
        self.threads: ThreadPoolExecutor | None = None
        # What the loop heard while no batch ran: a gateway that closed a kept connection.
        self.loop.run_until_complete(asyncio.sleep(0))

    def __enter__(self) -> "Flight[Key]":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def start(
        self,
        key: Key,
        *,
        delay: float,
        to: str,
        text: str,
        reference: str,
        template: TemplateCall | None,
    ) -> None:
        """Call the gateway for this SMS `delay` seconds from now (its moment at the rate)."""
        self.pending += 1
        send = {"to": to, "text": text, "reference": reference, "template": template}
        ticket = _Ticket(key)
        self.timers[ticket] = self.loop.call_later(max(delay, 0.0), self._go, ticket, send)

    def refuse(self, key: Key, error: GatewayError) -> None:
        """A call that will not be made: handed back at once with its error."""
        self.pending += 1
        self._done(_Ticket(key), error)

    def answers(self, gather: float) -> list[tuple[Key, Outcome, float]]:
        """What came back, each (key, outcome, when): waits for the first answer, then up
        to `gather` seconds for the others in flight, so that a round is recorded once."""
        if not self.done and self.pending:
            self._run(lambda: bool(self.done), None)
        if len(self.done) < self.pending:
            self._run(lambda: len(self.done) == self.pending, gather)
        came, self.done = self.done, []
        self.pending -= len(came)
        return came

    def close(self) -> None:
        """Drop what has not come back: calls not started are not made; a connection with
        a call in flight is closed (its SMS stays claimed, for the stuck-send sweep)."""
        for timer in self.timers.values():
            timer.cancel()
        for exchange in self.calls.values():
            if exchange is not None and exchange.transport is not None:
                exchange.answered = None
                exchange.transport.abort()
        self.timers.clear()
        self.calls.clear()
        if self.threads is not None:
            self.threads.shutdown(wait=True, cancel_futures=True)

    def _run(self, until: Callable[[], bool], timeout: float | None) -> None:
        self.until, self.wake = until, self.loop.create_future()
        timer = self.loop.call_later(timeout, self._wake) if timeout is not None else None
        try:
            self.loop.run_until_complete(self.wake)
        finally:
            if timer is not None:
                timer.cancel()
            self.wake = None

    def _wake(self) -> None:
        if self.wake is not None and not self.wake.done():
            self.wake.set_result(None)

    def _done(self, ticket: _Ticket[Key], outcome: Outcome) -> None:
        self.calls.pop(ticket, None)
        self.done.append((ticket.key, outcome, time.monotonic()))
        if self.until():
            self._wake()

    def _go(self, ticket: _Ticket[Key], send: dict[str, Any]) -> None:
        self.timers.pop(ticket, None)
        gateway = self.gateway
        if not isinstance(gateway, http.PostGateway):
            self._in_thread(ticket, lambda: gateway.send(**send))
            return
        try:
            post = gateway.send_post(**send)
            if http.proxied(post.url):
                self._in_thread(ticket, lambda: gateway.send_result(http.post_send(post)))
                return
            parts = urlsplit(post.url)
            scheme, host = parts.scheme, parts.hostname or ""
            origin = (scheme, host, parts.port or _DEFAULT_PORTS[scheme])
            target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
            request = _request(post, parts.netloc.rpartition("@")[2], target)
        except Exception as exc:  # each call's outcome is its own
            self._done(ticket, exc)
            return
        exchange = self.connections.take(origin)
        if exchange is None:
            self.calls[ticket] = None
            self.loop.create_task(self._open_then_post(ticket, origin, request))
        else:
            self._post(ticket, exchange, request)

    def _post(self, ticket: _Ticket[Key], exchange: _Exchange, request: bytes) -> None:
        self.calls[ticket] = exchange

        def answered(outcome: tuple[int, bytes] | Exception) -> None:
            if isinstance(outcome, tuple):
                self.connections.give_back(exchange)
                try:
                    result: Outcome = self.gateway_result(*outcome)
                except Exception as exc:  # the answer's meaning is the call's outcome
                    result = exc
            else:
                result = outcome
            self._done(ticket, result)

        exchange.post(request, settings.NPS_GATEWAY_TIMEOUT, answered)

    def gateway_result(self, status: int, body: bytes) -> SendResult:
        return cast(http.PostGateway, self.gateway).send_result(http.answer_checked(status, body))

    async def _open_then_post(self, ticket: _Ticket[Key], origin: Origin, request: bytes) -> None:
        scheme, host, port = origin
        timeout = settings.NPS_GATEWAY_TIMEOUT
        tls = self.connections.tls_context() if scheme == "https" else None
        try:
            _, exchange = await asyncio.wait_for(
                self.loop.create_connection(
                    lambda: _Exchange(origin),
                    host,
                    port,
                    ssl=tls,
                    server_hostname=host if tls else None,
                ),
                timeout,
            )
        except TimeoutError:
            self._done(ticket, GatewayError(f"timeout after {timeout}s"))
            return
        except OSError as exc:  # refused, unresolved, TLS refused
            self._done(ticket, GatewayError(f"connection failed: {exc.__class__.__name__}"))
            return
        if ticket not in self.calls:  # the flight was closed meanwhile
            if exchange.transport is not None:
                exchange.transport.abort()
            return
        self._post(ticket, exchange, request)

    def _in_thread(self, ticket: _Ticket[Key], call: Callable[[], SendResult]) -> None:
        """A call made by blocking code (an SDK, a proxy): in a thread of this flight's."""
        if self.threads is None:
            self.threads = ThreadPoolExecutor(max_workers=self.concurrency)
        self.calls[ticket] = None
        future = self.loop.run_in_executor(self.threads, call)

        def finished(future: "asyncio.Future[SendResult]") -> None:
            if ticket not in self.calls or future.cancelled():
                return
            exc = future.exception()
            self._done(ticket, exc if isinstance(exc, Exception) else future.result())

        future.add_done_callback(finished)
