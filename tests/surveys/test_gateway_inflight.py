"""A batch's calls from one loop (surveys/gateways/inflight.py) against a real HTTP server
on loopback: each POST as one send would make it, each answer meaning what it means to
one send, connections kept across batches, a proxy's calls and other gateways' sends in
threads, calls made no sooner than their moment and none after the flight is closed."""

import base64
import threading
import time
from collections.abc import Iterator
from contextlib import closing
from typing import Any
from urllib.parse import parse_qs

import pytest
from django.test import override_settings

from surveys.gateways import http, inflight
from surveys.gateways.base import (
    Gateway,
    GatewayError,
    PermanentGatewayError,
    SendResult,
    TemplateCall,
)
from surveys.gateways.console import ConsoleGateway
from surveys.gateways.inflight import Flight
from surveys.gateways.simulator import SimulatorGateway
from surveys.gateways.twilio import TwilioGateway
from tests.surveys.test_gateway_http import REFUSALS, Server


@pytest.fixture
def server() -> Iterator[Server]:
    with closing(Server()) as running:
        yield running


def simulator(url: str) -> SimulatorGateway:
    return SimulatorGateway("simulator", {"URL": url, "API_KEY": "key", "SECRET": "s"})


def flown(gateway: Gateway, count: int, *, delay: float = 0.0) -> dict[int, Any]:
    """Send `count` SMS through one flight: the outcome of each."""
    outcomes: dict[int, Any] = {}
    with Flight[int](gateway, concurrency=8) as flight:
        for n in range(count):
            flight.start(
                n,
                delay=delay,
                to=f"+861390000000{n}",
                text="您好",
                reference=f"inv-{n}",
                template=None,
            )
        while flight.pending:
            outcomes |= {key: outcome for key, outcome, _ in flight.answers(0.05)}
    return outcomes


def test_each_post_is_the_one_a_single_send_makes_and_its_answer_is_read(server: Server) -> None:
    gateway = simulator(server.url)
    gateway.send(to="+8613900000000", text="您好", reference="inv-0")
    outcomes = flown(gateway, 3)
    assert outcomes == {n: SendResult("SM1") for n in range(3)}
    one, *batch = server.requests
    for sent in batch:
        assert sent["path"] == one["path"] == "/messages"
        for name in ("Content-Type", "Authorization", "User-Agent", "Host", "Content-Length"):
            assert sent["headers"][name] == one["headers"][name], name
    assert sorted(r["body"] for r in batch) == [
        gateway.send_post(to=f"+861390000000{n}", text="您好", reference=f"inv-{n}").body
        for n in range(3)
    ]


def test_a_form_with_basic_auth_goes_as_one_twilio_send_would_send_it(server: Server) -> None:
    config = {"ACCOUNT_SID": "AC1", "AUTH_TOKEN": "t", "FROM": "+1500", "API_URL": server.url}
    server.body = b'{"sid": "SM9"}'
    assert flown(TwilioGateway("twilio", config), 1) == {0: SendResult("SM9")}
    sent = server.requests[0]
    assert sent["path"] == "/2010-04-01/Accounts/AC1/Messages.json"
    assert parse_qs(sent["body"].decode())["Body"] == ["您好"]
    assert sent["headers"]["Authorization"] == "Basic " + base64.b64encode(b"AC1:t").decode()


@pytest.mark.parametrize(("status", "error"), REFUSALS)
def test_a_refusal_is_retryable_or_permanent_by_its_status_as_for_one_send(
    server: Server, status: int, error: type[GatewayError]
) -> None:
    server.status, server.body = status, b'{"error": "no"}'
    outcome = flown(simulator(server.url), 1)[0]
    assert type(outcome) is error
    assert str(outcome) == f'HTTP {status}: {{"error": "no"}}'


def test_an_answer_without_an_id_is_the_adapters_error(server: Server) -> None:
    server.body = b"{}"
    outcome = flown(simulator(server.url), 1)[0]
    assert isinstance(outcome, GatewayError)
    assert str(outcome) == "simulator answered without a message id"


def test_a_closed_port_is_retryable() -> None:
    import socket

    with socket.socket() as unused:
        unused.bind(("127.0.0.1", 0))
        port = unused.getsockname()[1]
    outcome = flown(simulator(f"http://127.0.0.1:{port}"), 2)
    assert all(isinstance(o, GatewayError) and not o.permanent for o in outcome.values())
    assert "connection failed" in str(outcome[0])


@override_settings(NPS_GATEWAY_TIMEOUT=0.2)
def test_an_answer_later_than_the_timeout_is_a_retryable_timeout(server: Server) -> None:
    server.delay = 1.0
    started = time.monotonic()
    outcome = flown(simulator(server.url), 1)[0]
    assert time.monotonic() - started < 0.9
    assert isinstance(outcome, GatewayError)
    assert not outcome.permanent
    assert str(outcome) == "timeout after 0.2s"


def test_connections_are_kept_across_batches(server: Server) -> None:
    server.delay = 0.05  # the 8 calls of a batch overlap: 8 connections
    for _ in range(3):
        assert len(flown(simulator(server.url), 8)) == 8
    assert len(server.requests) == 24
    assert len(server.connections) == 8


def test_a_connection_the_gateway_closed_between_batches_is_not_used(server: Server) -> None:
    flown(simulator(server.url), 2)
    for idle in inflight._connections().idle.values():
        for exchange in idle:  # as a gateway's keep-alive timeout would
            exchange.transport.get_extra_info("socket").shutdown(2)  # type: ignore[union-attr]
    assert flown(simulator(server.url), 2) == {0: SendResult("SM1"), 1: SendResult("SM1")}


def test_a_call_starts_no_sooner_than_its_moment_and_none_after_the_flight_closes(
    server: Server,
) -> None:
    gateway = simulator(server.url)
    started = time.monotonic()
    flown(gateway, 1, delay=0.3)
    assert time.monotonic() - started >= 0.3
    with Flight[int](gateway, concurrency=8) as flight:
        flight.start(0, delay=0.2, to="+8613900000000", text="x", reference="inv-0", template=None)
    time.sleep(0.4)
    assert len(server.requests) == 1


def test_a_proxy_the_environment_names_takes_the_calls(
    server: Server, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HTTP_PROXY", server.url)  # the proxy answers as the gateway would
    monkeypatch.setattr(http, "_pools", None)
    try:
        assert flown(simulator("http://gateway.example"), 2) == {
            0: SendResult("SM1"),
            1: SendResult("SM1"),
        }
    finally:
        http._pools = None
    assert [r["path"] for r in server.requests] == ["http://gateway.example/messages"] * 2


class BlockingGateway(ConsoleGateway):
    """A gateway whose send blocks (an SDK's): the flight runs it in threads."""

    threads: set[str] = set()

    def send(
        self, *, to: str, text: str, reference: str, template: TemplateCall | None = None
    ) -> SendResult:
        self.threads.add(threading.current_thread().name)
        time.sleep(0.05)
        if reference == "inv-1":
            raise PermanentGatewayError("bad number")
        if reference == "inv-2":
            raise RuntimeError("a bug")
        return SendResult(f"B-{reference}")


def test_a_gateway_that_is_no_post_sends_in_threads_each_outcome_its_own() -> None:
    outcomes = flown(BlockingGateway("sdk", {}), 4)
    assert outcomes[0] == SendResult("B-inv-0")
    assert outcomes[3] == SendResult("B-inv-3")
    assert isinstance(outcomes[1], PermanentGatewayError)
    assert isinstance(outcomes[2], RuntimeError)
    assert threading.current_thread().name not in BlockingGateway.threads


@pytest.mark.parametrize(
    ("wire", "answer"),
    [
        (b'HTTP/1.1 201 Created\r\nContent-Length: 5\r\n\r\n{"a"', None),
        (b"HTTP/1.1 201 Created\r\nContent-Length: 2\r\n\r\n{}", (201, b"{}", True)),
        (
            b"HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 2\r\n\r\n{}",
            (200, b"{}", False),
        ),
        (b"HTTP/1.0 200 OK\r\nContent-Length: 2\r\n\r\n{}", (200, b"{}", False)),
        (
            b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 201 Created\r\nContent-Length: 2\r\n\r\n{}",
            (201, b"{}", True),
        ),
        (b'HTTP/1.1 201 Created\r\nTransfer-Encoding: chunked\r\n\r\n2\r\n{"\r\n', None),
        (
            b"HTTP/1.1 201 Created\r\nTransfer-Encoding: chunked\r\n\r\n"
            b'2\r\n{"\r\n5;x=1\r\nid": \r\n4\r\n"7"}\r\n0\r\n\r\n',
            (201, b'{"id": "7"}', True),
        ),
    ],
)
def test_an_answer_is_read_whole_by_its_length_or_chunks(
    wire: bytes, answer: tuple[int, bytes, bool] | None
) -> None:
    assert inflight._answer_parse(wire, eof=False) == answer


def test_an_answer_without_a_length_ends_with_the_connection_and_garbage_is_no_answer() -> None:
    wire = b"HTTP/1.0 200 OK\r\n\r\n{}"
    assert inflight._answer_parse(wire, eof=False) is None
    assert inflight._answer_parse(wire, eof=True) == (200, b"{}", False)
    with pytest.raises(ValueError, match="no HTTP answer"):
        inflight._answer_parse(b"SSH-2.0-OpenSSH\r\n\r\n", eof=False)
