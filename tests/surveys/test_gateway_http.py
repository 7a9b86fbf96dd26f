"""surveys.gateways.http.post against a real HTTP server on loopback: what a gateway's
answer comes to (retryable, permanent, taken), the bodies as sent, connections kept
across calls, and the proxy the environment names."""

import base64
import json
import socket
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs

import pytest
from django.test import override_settings

from surveys.gateways import http
from surveys.gateways.base import GatewayError, PermanentGatewayError


class Server:
    """Answers every POST with the status and body set, after `delay` seconds; records
    each request (path as sent, headers, body) and the connections it was made on."""

    def __init__(self) -> None:
        self.status, self.body, self.delay = 201, b'{"id": "SM1"}', 0.0
        self.requests: list[dict[str, Any]] = []
        self.connections: set[tuple[str, int]] = set()
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"  # keep-alive, as a provider's API

            def log_message(self, format: str, *args: Any) -> None:
                pass

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                server.requests.append({"path": self.path, "headers": self.headers, "body": body})
                server.connections.add(self.client_address)
                time.sleep(server.delay)
                self.send_response(server.status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(server.body)))
                self.end_headers()
                self.wfile.write(server.body)

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def server() -> Iterator[Server]:
    running = Server()
    try:
        yield running
    finally:
        running.close()


def test_a_taken_send_returns_the_answer_and_the_json_body_arrives_as_sent(server: Server) -> None:
    answer = http.post(
        f"{server.url}/messages",
        json={"to": "+8613900000001", "text": "您好", "reference": "inv-1"},
        headers={"Authorization": "Bearer key"},
    )
    assert (answer.status_code, answer.json()) == (201, {"id": "SM1"})
    sent = server.requests[0]
    assert sent["path"] == "/messages"
    assert sent["headers"]["Content-Type"] == "application/json"
    assert sent["headers"]["Authorization"] == "Bearer key"
    assert json.loads(sent["body"]) == {
        "to": "+8613900000001",
        "text": "您好",
        "reference": "inv-1",
    }


def test_a_form_with_basic_auth_arrives_as_a_form_with_its_credentials(server: Server) -> None:
    http.post(
        f"{server.url}/Messages.json", data={"To": "+1500", "Body": "a b&c"}, auth=("AC1", "t")
    )
    sent = server.requests[0]
    assert sent["headers"]["Content-Type"] == "application/x-www-form-urlencoded"
    assert parse_qs(sent["body"].decode()) == {"To": ["+1500"], "Body": ["a b&c"]}
    assert sent["headers"]["Authorization"] == "Basic " + base64.b64encode(b"AC1:t").decode()


# A gateway's refusals and what each comes to.
REFUSALS = [
    (429, GatewayError),
    (500, GatewayError),
    (503, GatewayError),
    (400, PermanentGatewayError),
]


@pytest.mark.parametrize(("status", "error"), REFUSALS)
def test_a_refusal_is_retryable_or_permanent_by_its_status(
    server: Server, status: int, error: type[GatewayError]
) -> None:
    server.status, server.body = status, b'{"error": "no"}'
    with pytest.raises(error) as raised:
        http.post(f"{server.url}/messages", json={})
    assert raised.value.permanent is (error is PermanentGatewayError)
    assert str(raised.value) == f'HTTP {status}: {{"error": "no"}}'


def test_a_closed_port_is_retryable() -> None:
    with socket.socket() as unused:
        unused.bind(("127.0.0.1", 0))
        port = unused.getsockname()[1]
    with pytest.raises(GatewayError, match="connection failed") as refused:
        http.post(f"http://127.0.0.1:{port}/messages", json={})
    assert not refused.value.permanent


@override_settings(NPS_GATEWAY_TIMEOUT=0.2)
def test_an_answer_later_than_the_timeout_is_a_retryable_timeout(server: Server) -> None:
    server.delay = 1.0
    started = time.monotonic()
    with pytest.raises(GatewayError, match=r"timeout after 0.2s") as slow:
        http.post(f"{server.url}/messages", json={})
    assert time.monotonic() - started < 0.9
    assert not slow.value.permanent


def test_calls_from_many_threads_reuse_their_connections(server: Server) -> None:
    def calls() -> None:
        for n in range(10):
            http.post(f"{server.url}/messages", json={"n": n})

    threads = [threading.Thread(target=calls) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(server.requests) == 40
    assert len(server.connections) <= 4  # at most one connection per thread, kept


def test_a_proxy_the_environment_names_takes_the_call_unless_no_proxy_names_the_host(
    server: Server, monkeypatch: pytest.MonkeyPatch
) -> None:
    proxy = Server()  # an HTTP proxy gets the absolute URL in its request line
    try:
        monkeypatch.setenv("HTTP_PROXY", proxy.url)
        monkeypatch.setattr(http, "_pools", None)  # the environment is read per host, once
        http.post("http://gateway.example/messages", json={})
        assert [r["path"] for r in proxy.requests] == ["http://gateway.example/messages"]
        monkeypatch.setenv("NO_PROXY", "127.0.0.1")
        monkeypatch.setattr(http, "_pools", None)
        http.post(f"{server.url}/messages", json={})
        assert len(server.requests) == 1
        assert len(proxy.requests) == 1
    finally:
        proxy.close()
        http._pools = None
