"""Loopback fakes of the places webhooks go, real HTTP servers on 127.0.0.1 that check
what arrives as the provider would: a generic receiver verifying X-NPS-Signature, a WeCom
group bot and a DingTalk custom robot with 加签.

Each can refuse its first `fail_first` requests with HTTP 500 (before looking at them)
and records the messages it accepted.
"""

import base64
import hashlib
import hmac
import json
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit


@dataclass
class Fake:
    kind: str  # generic | wecom | dingtalk
    secret: str = ""
    fail_first: int = 0
    requests: int = 0  # every request, failed ones included
    accepted: list[dict[str, Any]] = field(default_factory=list)  # what it took
    refused: list[str] = field(default_factory=list)  # why it refused well-formed traffic
    url: str = ""
    lock: threading.Lock = field(default_factory=threading.Lock)

    def handle(self, path: str, headers: dict[str, str], body: bytes) -> tuple[int, dict[str, Any]]:
        with self.lock:
            self.requests += 1
            if self.requests <= self.fail_first:
                return 500, {"error": "down for maintenance"}
        if self.kind == "generic":
            return self._generic(headers, body)
        if self.kind == "wecom":
            return self._wecom(path, body)
        return self._dingtalk(path, body)

    def _take(self, message: dict[str, Any]) -> None:
        with self.lock:
            self.accepted.append(message)

    def _refuse(self, why: str) -> None:
        with self.lock:
            self.refused.append(why)

    def _generic(self, headers: dict[str, str], body: bytes) -> tuple[int, dict[str, Any]]:
        timestamp = headers.get("x-nps-timestamp", "")
        given = headers.get("x-nps-signature", "")
        expected = (
            "sha256="
            + hmac.new(
                self.secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256
            ).hexdigest()
        )
        if not hmac.compare_digest(given, expected):
            self._refuse("bad signature")
            return 401, {"error": "bad signature"}
        if not timestamp.isdigit() or abs(time.time() - int(timestamp)) > 300:
            self._refuse("stale timestamp")
            return 401, {"error": "stale timestamp"}
        message = json.loads(body)
        if headers.get("x-nps-delivery") != message["id"]:
            self._refuse("delivery header is not the event id")
            return 400, {"error": "id mismatch"}
        if headers.get("x-nps-event") != message["type"]:
            self._refuse("event header is not the event type")
            return 400, {"error": "type mismatch"}
        self._take(message)
        return 200, {"ok": True}

    def _wecom(self, path: str, body: bytes) -> tuple[int, dict[str, Any]]:
        query = parse_qs(urlsplit(path).query)
        if query.get("key") != ["wecom-key"]:
            self._refuse("invalid webhook url")
            return 200, {"errcode": 93000, "errmsg": "invalid webhook url"}
        try:
            message = json.loads(body)
        except ValueError:
            self._refuse("not json")
            return 200, {"errcode": 40001, "errmsg": "invalid json"}
        content = message.get("markdown", {}).get("content") if isinstance(message, dict) else None
        if message.get("msgtype") != "markdown" or not content:
            self._refuse("markdown content missing")
            return 200, {"errcode": 40008, "errmsg": "invalid message type"}
        if len(content.encode()) > 4096:
            self._refuse("content too long")
            return 200, {"errcode": 40058, "errmsg": "content exceed max length"}
        self._take(message)
        return 200, {"errcode": 0, "errmsg": "ok"}

    def _dingtalk(self, path: str, body: bytes) -> tuple[int, dict[str, Any]]:
        query = parse_qs(urlsplit(path).query)
        timestamp = query.get("timestamp", [""])[0]
        sign = query.get("sign", [""])[0]  # parse_qs has URL-decoded it
        expected = base64.b64encode(
            hmac.new(
                self.secret.encode(), f"{timestamp}\n{self.secret}".encode(), hashlib.sha256
            ).digest()
        ).decode()
        if query.get("access_token") != ["ding-token"]:
            self._refuse("token missing")
            return 200, {"errcode": 300001, "errmsg": "token is not exist"}
        if not timestamp.isdigit() or not hmac.compare_digest(sign, expected):
            self._refuse("sign not match")
            return 200, {"errcode": 310000, "errmsg": "sign not match"}
        if abs(time.time() * 1000 - int(timestamp)) > 3600 * 1000:  # DingTalk: within an hour
            self._refuse("timestamp too old")
            return 200, {"errcode": 310000, "errmsg": "invalid timestamp"}
        message = json.loads(body)
        markdown = message.get("markdown", {})
        if (
            message.get("msgtype") != "markdown"
            or not markdown.get("title")
            or not markdown.get("text")
        ):
            self._refuse("markdown title and text required")
            return 200, {"errcode": 40035, "errmsg": "missing parameter"}
        self._take(message)
        return 200, {"errcode": 0, "errmsg": "ok"}


def _handler(fake: Fake) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length", "0"))
            body = self.rfile.read(length)
            headers = {k.lower(): v for k, v in self.headers.items()}
            code, answer = fake.handle(self.path, headers, body)
            data = json.dumps(answer).encode()
            self.send_response(code)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    return Handler


@contextmanager
def serving(fake: Fake) -> Iterator[Fake]:
    """Run `fake` on a free port of 127.0.0.1; its url is set to where it listens."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(fake))
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    host, port = server.server_address[:2]
    base = f"http://{host}:{port}"
    fake.url = {
        "generic": f"{base}/hooks/nps",
        "wecom": f"{base}/cgi-bin/webhook/send?key=wecom-key",
        "dingtalk": f"{base}/robot/send?access_token=ding-token",
    }[fake.kind]
    try:
        yield fake
    finally:
        server.shutdown()
        server.server_close()
