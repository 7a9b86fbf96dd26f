"""SMS gateway simulator: a stand-in carrier gateway that runs as its own process.

Our Django app sends SMS here over HTTP; the simulator answers like a gateway, posts
signed delivery receipts back, and lets a person (or the auto-replier) answer as the
customer. Standard library only, so it runs without Django:

    python -m devtools.simulator.server --port 8025 --webhook-base http://127.0.0.1:8000
"""

import argparse
import hmac
import http.client
import json
import logging
import math
import os
import queue
import random
import re
import sys
import threading
import time
import urllib.parse
import uuid
from collections import OrderedDict
from dataclasses import dataclass
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from devtools.simulator.page import render_page
from devtools.simulator.threads import is_outbound, phone_of, reply_hint, thread, threads
from surveys.gateways.simulator_signature import HEADER, sign_body

log = logging.getLogger("devtools.simulator")

Message = dict[str, Any]
DEFAULT_REPLY_PATTERN = r"0\s*(?:-|\u2013|~|到|至|to)\s*10"
STATUS_PATH = "/webhooks/simulator/status/"
INBOUND_PATH = "/webhooks/simulator/inbound/"
INBOUND_FIELDS = ("message_id", "from", "to", "text", "received_at")
SCORE_BANDS = ((9, 10), (7, 8), (0, 6))  # promoter, passive, detractor
FAULT_MODES = ("ok", "429", "500", "timeout", "drop")
MAX_BODY_BYTES = 64 * 1024
PAGE_MESSAGES = 200


def parse_mix(mix: str) -> tuple[float, float, float]:
    """Promoter, passive and detractor weights from "60,25,15"."""
    try:
        weights = [float(part) for part in mix.split(",")]
    except ValueError:
        weights = []
    if len(weights) != 3 or not all(0 <= w < math.inf for w in weights) or sum(weights) <= 0:
        raise ValueError(f"mix must be three non-negative weights like 60,25,15, not {mix!r}")
    return weights[0], weights[1], weights[2]


@dataclass(frozen=True, kw_only=True)
class SimulatorConfig:
    api_key: str
    secret: str
    host: str = "127.0.0.1"
    port: int = 8025
    webhook_base: str = "http://127.0.0.1:8000"
    auto_reply: bool = True
    mix: str = "60,25,15"
    reply_delay: float = 2.0
    reply_pattern: str = DEFAULT_REPLY_PATTERN
    seed: int | None = None
    service_number: str = "10690000"
    max_messages: int = 5000
    webhook_retries: int = 5
    retry_backoff: float = 0.5
    webhook_timeout: float = 10.0
    fault_timeout: float = 30.0
    delivery_threads: int = 8

    def __post_init__(self) -> None:
        parse_mix(self.mix)
        try:
            re.compile(self.reply_pattern)
        except re.error as exc:
            raise ValueError(f"reply pattern is not a valid regex: {exc}") from None
        if urllib.parse.urlsplit(self.webhook_base).scheme not in ("http", "https"):
            raise ValueError(f"webhook base must be an http(s) URL, not {self.webhook_base!r}")
        if not self.api_key or not self.secret:
            raise ValueError("API key and secret must not be empty")
        if min(self.reply_delay, self.retry_backoff, self.webhook_retries) < 0:
            raise ValueError("delays and retry counts must not be negative")
        if self.delivery_threads < 1:
            raise ValueError("at least one delivery thread is needed")

    @property
    def weights(self) -> tuple[float, float, float]:
        return parse_mix(self.mix)


def mask_phone(phone: str) -> str:
    """+8613800138000 -> +86138******00: country code and 3 digits, then the last 2."""
    head = min(6 if phone.startswith("+") else 3, max(len(phone) - 4, 0))
    return phone[:head] + "*" * max(len(phone) - head - 2, 0) + phone[-2:]


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


class MessageStore:
    """Messages both ways, oldest first, capped, behind one lock; callers get copies."""

    def __init__(self, limit: int) -> None:
        self._lock = threading.Lock()
        self._limit = limit
        self._messages: OrderedDict[str, Message] = OrderedDict()
        self._by_reference: dict[str, str] = {}
        self._fault = ("ok", 0)

    def accept(self, to: str, text: str, reference: str) -> tuple[Message, bool]:
        """The message for `reference`, and whether it was created by this call."""
        with self._lock:
            known = self._by_reference.get(reference, "")
            if known in self._messages:
                return dict(self._messages[known]), False
            message_id = f"SM{uuid.uuid4().hex}"
            self._by_reference[reference] = message_id
            message = {"id": message_id, "to": to, "text": text, "reference": reference}
            message.update(status="accepted", created_at=_now())
            return self._add(message_id, message), True

    def add_inbound(self, sender: str, to: str, text: str) -> Message:
        message_id = f"MO{uuid.uuid4().hex}"
        message = {"message_id": message_id, "from": sender, "to": to, "text": text}
        with self._lock:
            return self._add(message_id, {**message, "received_at": _now(), "webhook_status": None})

    def _add(self, key: str, message: Message) -> Message:
        self._messages[key] = message
        while len(self._messages) > self._limit:
            _, oldest = self._messages.popitem(last=False)
            self._by_reference.pop(oldest.get("reference", ""), None)
        return dict(message)

    def update(self, key: str, **fields: Any) -> None:
        with self._lock:
            if key in self._messages:
                self._messages[key].update(fields)

    def messages(self, phone: str | None = None) -> list[Message]:
        with self._lock:
            return [dict(m) for m in self._messages.values() if phone in (None, phone_of(m))]

    def set_fault(self, mode: str, count: int) -> None:
        with self._lock:
            self._fault = (mode, 0 if mode == "ok" else count)

    def take_fault(self) -> str | None:
        with self._lock:
            mode, left = self._fault
            if left <= 0:
                return None
            self._fault = (mode, left - 1)
            return mode


def _worth_retrying(status: int | None) -> bool:
    return status is None or not (200 <= status < 300 or 400 <= status < 500)


class WebhookClient:
    """Signed JSON POSTs to our app, retried with exponential backoff like a real gateway.

    Keep-alive connections (HTTP/1.1), pooled: a connection is taken for one POST and put
    back once its answer has been read, so concurrent posts never share one. Straight to
    the app (no HTTP(S)_PROXY meant for the outside world), redirects not followed (a
    redirect is an answer to report, not a reason to re-post a signed body)."""

    def __init__(self, config: SimulatorConfig) -> None:
        self._config = config
        base = urllib.parse.urlsplit(config.webhook_base)  # the scheme is checked in the config
        self._https = base.scheme == "https"
        self._netloc, self._prefix = base.netloc, base.path.rstrip("/")
        self._idle: list[http.client.HTTPConnection] = []
        self._lock = threading.Lock()

    def post(self, path: str, payload: Message) -> int | None:
        """Our app's final HTTP status, or None if it never answered."""
        body = json.dumps(payload, ensure_ascii=False).encode()
        status = self._post_once(path, body)
        delay = self._config.retry_backoff
        for _ in range(self._config.webhook_retries):
            if not _worth_retrying(status):
                break
            answer = "no answer" if status is None else status
            log.info("webhook %s: %s, retrying in %.2fs", path, answer, delay)
            time.sleep(delay)
            delay *= 2
            status = self._post_once(path, body)
        return status

    def close(self) -> None:
        with self._lock:
            idle, self._idle = self._idle, []
        for connection in idle:
            connection.close()

    def _post_once(self, path: str, body: bytes) -> int | None:
        headers = {"Content-Type": "application/json", HEADER: sign_body(self._config.secret, body)}
        with self._lock:
            connection = self._idle.pop() if self._idle else None
        if connection is not None:  # kept alive: our app may have closed it meanwhile
            status = self._exchange(connection, path, body, headers)
            if status is not None:
                return status
        return self._exchange(self._connect(), path, body, headers)

    def _connect(self) -> http.client.HTTPConnection:
        kind = http.client.HTTPSConnection if self._https else http.client.HTTPConnection
        return kind(self._netloc, timeout=self._config.webhook_timeout)

    def _exchange(
        self, connection: http.client.HTTPConnection, path: str, body: bytes, headers: Message
    ) -> int | None:
        try:
            connection.request("POST", self._prefix + path, body=body, headers=headers)
            response = connection.getresponse()
            response.read()
        except (OSError, http.client.HTTPException):
            connection.close()
            return None
        if response.will_close:
            connection.close()
        else:
            with self._lock:
                self._idle.append(connection)
        return int(response.status)


class Simulator:
    """What the gateway does with messages; HTTP parsing lives in _Handler."""

    def __init__(self, config: SimulatorConfig) -> None:
        self.config = config
        self.store = MessageStore(config.max_messages)
        self.webhooks = WebhookClient(config)
        self.reply_pattern = re.compile(config.reply_pattern, re.IGNORECASE)
        # New messages wait here for a delivery thread: receipts (and auto-replies) go out
        # from a bounded pool, each message's receipts in order from one thread.
        self._deliveries: queue.SimpleQueue[Message | None] = queue.SimpleQueue()
        self._threads = [
            threading.Thread(target=self._deliver_each, daemon=True)
            for _ in range(config.delivery_threads)
        ]
        for worker in self._threads:
            worker.start()

    def close(self) -> None:
        """Let the delivery threads end (after the messages already waiting) and close the
        idle webhook connections."""
        for _ in self._threads:
            self._deliveries.put(None)
        self.webhooks.close()

    def send(self, to: str, text: str, reference: str) -> tuple[Message, bool]:
        message, created = self.store.accept(to, text, reference)
        if created:
            log.info("accepted %s to %s ref=%s", message["id"], mask_phone(to), reference)
            # Queued once per new message, so its auto-reply can only ever happen once.
            self._deliveries.put(message)
        return message, created

    def receive(self, sender: str, text: str) -> Message:
        """A customer's reply, forwarded to our app; returned with our app's answer."""
        message = self.store.add_inbound(sender, self.config.service_number, text)
        payload = {key: message[key] for key in INBOUND_FIELDS}
        status = self.webhooks.post(INBOUND_PATH, payload)
        self.store.update(message["message_id"], webhook_status=status)
        log.info(
            "reply %s from %s -> webhook %s", payload["message_id"], mask_phone(sender), status
        )
        return {**message, "webhook_status": status}

    def _deliver_each(self) -> None:
        while (message := self._deliveries.get()) is not None:
            try:
                self._deliver(message)
            except Exception:
                log.exception("delivery of %s failed", message["id"])

    def _deliver(self, message: Message) -> None:
        for status in ("sent", "delivered"):
            self.store.update(message["id"], status=status)
            receipt = {"message_id": message["id"], "reference": message["reference"]}
            receipt.update(status=status, timestamp=_now())
            answered = self.webhooks.post(STATUS_PATH, receipt)
            log.info("receipt %s %s -> webhook %s", message["id"], status, answered)
        if self.config.auto_reply and self.reply_pattern.search(message["text"]):
            # A timer of its own: the customer's delay holds no delivery thread.
            answer = str(self._score_for(message["reference"]))
            timer = threading.Timer(self.config.reply_delay, self.receive, (message["to"], answer))
            timer.daemon = True
            timer.start()

    def _score_for(self, reference: str) -> int:
        # Seeded per reference, so a seeded run replies the same whatever the thread timing.
        seed = None if self.config.seed is None else f"{self.config.seed}:{reference}"
        rng = random.Random(seed)  # noqa: S311 -- simulated customers, not security
        low, high = rng.choices(SCORE_BANDS, weights=self.config.weights)[0]
        return rng.randint(low, high)


class _Refused(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


def _required_str(data: Message, key: str) -> str:
    value = data.get(key)
    if not isinstance(value, str) or not value.strip():
        raise _Refused(400, f"{key!r} must be a non-empty string")
    return value.strip()


def _parse_json_object(body: bytes) -> Message:
    try:
        data = json.loads(body)
    except (UnicodeDecodeError, json.JSONDecodeError):
        raise _Refused(400, "body must be JSON") from None
    if not isinstance(data, dict):
        raise _Refused(400, "body must be a JSON object")
    return data


class SimulatorServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, config: SimulatorConfig) -> None:
        self.simulator = Simulator(config)
        super().__init__((config.host, config.port), _Handler)

    def server_close(self) -> None:
        super().server_close()
        self.simulator.close()

    def handle_error(self, request: Any, client_address: Any) -> None:
        if isinstance(sys.exc_info()[1], ConnectionError):
            log.info("client hung up before the answer")  # expected after a timeout fault
            return
        super().handle_error(request, client_address)


class _Handler(BaseHTTPRequestHandler):
    server: SimulatorServer
    server_version = "SMSGatewaySimulator/1.0"
    protocol_version = "HTTP/1.1"  # keep-alive: every answer has its Content-Length

    def log_message(self, format: str, *args: Any) -> None:
        pass  # access lines would show phone numbers unmasked; events are logged instead

    def do_GET(self) -> None:
        url = urllib.parse.urlsplit(self.path)
        simulator = self.server.simulator
        if url.path == "/health":
            self._send_json(200, {"ok": True})
        elif url.path == "/messages":
            # A literal "+" in ?to=+86... is the phone's plus, not an encoded space.
            query = urllib.parse.parse_qs(url.query.replace("+", "%2B"))
            messages = simulator.store.messages(query.get("to", [""])[0].strip() or None)
            outbound = [m for m in messages if is_outbound(m)]
            inbound = [m for m in messages if not is_outbound(m)]
            self._send_json(200, {"outbound": outbound, "inbound": inbound})
        elif url.path in ("/", "/api/conversations"):
            query = urllib.parse.parse_qs(url.query.replace("+", "%2B"))
            state = conversations(simulator, query.get("phone", [""])[0].strip() or None)
            if url.path == "/":
                page = render_page(settings=settings_shown(simulator.config), state=state)
                self._send(200, "text/html; charset=utf-8", page)
            else:
                self._send_json(200, state)
        else:
            self._send_json(404, {"error": "not found"})

    def do_POST(self) -> None:
        routes = {
            "/messages": self._post_message,
            "/inbound": self._post_inbound,
            "/faults": self._post_faults,
        }
        route = routes.get(urllib.parse.urlsplit(self.path).path)
        try:
            body = self._read_body()  # read first: left unread it would be the next request
            if route is None:
                raise _Refused(404, "not found")
            route(body)
        except _Refused as refused:
            extra = {"Retry-After": "1"} if refused.status == 429 else {}
            self._send_json(refused.status, {"error": str(refused)}, extra)

    def _post_message(self, body: bytes) -> None:
        self._require_api_key()
        simulator = self.server.simulator
        fault = simulator.store.take_fault()
        if fault is not None:
            log.info("fault %s on POST /messages", fault)
        if fault == "drop":
            self.close_connection = True  # the request is lost: no message, no answer
            return
        if fault in ("429", "500"):
            raise _Refused(int(fault), f"simulated fault {fault}")
        data = _parse_json_object(body)
        to, text, reference = (_required_str(data, key) for key in ("to", "text", "reference"))
        message, created = simulator.send(to, text, reference)
        if fault == "timeout":
            # Accepted, but the answer comes too late: a retry must reuse the reference.
            time.sleep(simulator.config.fault_timeout)
        self._send_json(201 if created else 200, {"id": message["id"], "status": message["status"]})

    def _post_inbound(self, body: bytes) -> None:
        is_form = self.headers.get_content_type() == "application/x-www-form-urlencoded"
        if is_form:
            fields = urllib.parse.parse_qs(body.decode("utf-8", "replace"))
            data = {key: values[0] for key, values in fields.items()}
        else:
            data = _parse_json_object(body)
        message = self.server.simulator.receive(
            _required_str(data, "from"), _required_str(data, "text")
        )
        if is_form:
            self._send(303, "text/plain; charset=utf-8", "See /", {"Location": "/"})
        else:
            answer = {key: message[key] for key in ("message_id", "webhook_status")}
            self._send_json(200, answer)

    def _post_faults(self, body: bytes) -> None:
        self._require_api_key()
        data = _parse_json_object(body)
        mode, count = data.get("mode"), data.get("count", 1)
        if mode not in FAULT_MODES:
            raise _Refused(400, f"mode must be one of {', '.join(FAULT_MODES)}")
        if not isinstance(count, int) or isinstance(count, bool) or count < 0:
            raise _Refused(400, "count must be a non-negative integer")
        self.server.simulator.store.set_fault(mode, count)
        log.info("fault set: next %d sends %s", count, mode)
        self._send_json(200, {"mode": mode, "count": 0 if mode == "ok" else count})

    def _require_api_key(self) -> None:
        expected = f"Bearer {self.server.simulator.config.api_key}".encode()
        given = self.headers.get("Authorization", "").encode("utf-8", "replace")
        if not hmac.compare_digest(given, expected):
            raise _Refused(401, "missing or wrong API key")

    def _read_body(self) -> bytes:
        try:
            length = int(self.headers.get("Content-Length") or 0)
        except ValueError:
            length = -1
        if not 0 <= length <= MAX_BODY_BYTES:
            self.close_connection = True  # an unread body would be parsed as the next request
            raise _Refused(413 if length > 0 else 400, "bad or too large Content-Length")
        return self.rfile.read(length)

    def _send_json(self, status: int, payload: Any, headers: dict[str, str] | None = None) -> None:
        self._send(status, "application/json", json.dumps(payload, ensure_ascii=False), headers)

    def _send(
        self, status: int, content_type: str, body: str, headers: dict[str, str] | None = None
    ) -> None:
        encoded = body.encode()
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(encoded)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(encoded)


def settings_shown(config: SimulatorConfig) -> dict[str, str]:
    promoter, passive, detractor = config.weights
    auto_reply = "off: answer each survey here"
    if config.auto_reply:
        auto_reply = (
            f"on: promoter {promoter:g} / passive {passive:g} / detractor {detractor:g},"
            f" after {config.reply_delay:g} s"
        )
    return {
        "Auto-reply": auto_reply,
        "Webhook base": config.webhook_base,
        "Service number": config.service_number,
    }


def conversations(simulator: Simulator, phone: str | None) -> Message:
    """The thread list, and one number's thread (the asked one, else the latest active)."""
    messages = simulator.store.messages()[-PAGE_MESSAGES:]
    listed = threads(messages)
    phone = phone or (listed[0]["phone"] if listed else None)
    return {
        "threads": listed,
        "phone": phone,
        "messages": thread(messages, phone) if phone else [],
        "hint": reply_hint(messages, phone or "", simulator.reply_pattern),
    }


def build_server(config: SimulatorConfig) -> ThreadingHTTPServer:
    return SimulatorServer(config)


def serve(config: SimulatorConfig) -> None:
    """Serve until Ctrl-C, logging one line per event to stderr."""
    if not log.handlers:
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter("%(asctime)s sms-simulator %(message)s"))
        log.addHandler(handler)
    log.setLevel(logging.INFO)
    log.propagate = False
    server = build_server(config)
    host, port = server.server_address[:2]
    print(f"SMS gateway simulator on http://{host!s}:{port}/", flush=True)  # an IPv4 str
    auto_reply = f"mix {config.mix}" if config.auto_reply else "off"
    log.info("webhooks to %s, auto-reply %s", config.webhook_base, auto_reply)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        log.info("stopped")
    finally:
        server.server_close()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Run the SMS gateway simulator.")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8025, help="0 picks a free port")
    parser.add_argument("--webhook-base", default="http://127.0.0.1:8000")
    parser.add_argument("--api-key", default=os.environ.get("SIMULATOR_API_KEY", "sim-dev-key"))
    parser.add_argument("--secret", default=os.environ.get("SIMULATOR_SECRET", "sim-dev-secret"))
    parser.add_argument("--auto-reply", action=argparse.BooleanOptionalAction, default=True)
    parser.add_argument("--mix", default="60,25,15", help="promoter,passive,detractor weights")
    parser.add_argument("--reply-delay", type=float, default=2.0, help="seconds")
    parser.add_argument("--reply-pattern", default=DEFAULT_REPLY_PATTERN)
    parser.add_argument("--seed", type=int, default=None)
    parser.add_argument("--service-number", default="10690000")
    args = parser.parse_args(argv)
    try:
        config = SimulatorConfig(**vars(args))
    except ValueError as exc:
        parser.error(str(exc))
    serve(config)


if __name__ == "__main__":
    main()
