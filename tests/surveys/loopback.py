"""A loopback stand-in for the providers' send APIs, and their signed webhooks.

`LoopbackProvider` is a real HTTP server on 127.0.0.1 (a thread of the test process)
answering the two send APIs our adapters call: the simulator's `POST /messages` (JSON,
answers `{"id"}`) and Twilio's `POST /2010-04-01/Accounts/<sid>/Messages.json`
(form-encoded, basic auth, answers 201 with a `sid`). It records every request, and
can hold its answer to one send so a test can act while the gateway has the SMS and
our database does not know yet. The real adapters' `send` goes over HTTP to it. The
console gateway's wire is its log: a handler on that logger records (and can hold) it.

`Webhooks` posts what each gateway posts to us: the simulator's HMAC-signed JSON, the
console's JSON with the channel token, Twilio's form-encoded bodies signed with the
official library's RequestValidator.
"""

import json
import logging
import threading
import time
import uuid
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

from django.test import Client
from twilio.request_validator import RequestValidator

from surveys.gateways.simulator_signature import HEADER, sign_body

TWILIO_SID = "AC00000000000000000000000000000001"
TWILIO_TOKEN = "loopback-auth-token"
TWILIO_FROM = "+15005550006"
SIMULATOR_SECRET = "loopback-sim-secret"
CONSOLE_SECRET = "loopback-console-secret"
PUBLIC_BASE = "http://testserver"  # Django's test client host; Twilio signs the full URL


@dataclass
class Sent:
    """One send request as the provider received it."""

    api: str  # simulator | twilio
    provider_message_id: str
    to: str
    text: str
    reference: str = ""
    status_callback: str = ""
    fields: dict[str, Any] = field(default_factory=dict)


class LoopbackProvider:
    def __init__(self) -> None:
        self.sent: list[Sent] = []
        # Every simulator send request as it arrived, answered or not: (time.monotonic(),
        # our reference); and the status every one is answered with while set (an outage:
        # 503; a refused number: 400), the SMS not taken.
        self.received: list[tuple[float, str]] = []
        self.answer_status: int | None = None
        self.lock = threading.Lock()
        self.hold_next = False
        self.fail_next_answer = False  # accept the SMS, then answer 502 (the sender retries)
        self.holding, self.release = threading.Event(), threading.Event()
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.console_log = _ConsoleWire(self)
        self.console_logger = logging.getLogger("surveys.gateways.console")
        self.console_level = self.console_logger.level
        self.console_logger.addHandler(self.console_log)
        self.console_logger.setLevel(logging.INFO)

    def gateways(self) -> dict[str, dict[str, Any]]:
        """settings.NPS_GATEWAYS with both HTTP adapters pointed at this server."""
        return {
            "simulator": {
                "CLASS": "surveys.gateways.simulator.SimulatorGateway",
                "URL": self.url,
                "API_KEY": "loopback-key",
                "SECRET": SIMULATOR_SECRET,
            },
            "console": {
                "CLASS": "surveys.gateways.console.ConsoleGateway",
                "SECRET": CONSOLE_SECRET,
            },
            "twilio": {
                "CLASS": "surveys.gateways.twilio.TwilioGateway",
                "ACCOUNT_SID": TWILIO_SID,
                "AUTH_TOKEN": TWILIO_TOKEN,
                "FROM": TWILIO_FROM,
                "API_URL": self.url,  # TWILIO_API_URL
            },
        }

    def close(self) -> None:
        self.console_logger.removeHandler(self.console_log)
        self.console_logger.setLevel(self.console_level)
        self.release.set()
        self.server.shutdown()
        self.server.server_close()

    def _accept(self, sent: Sent) -> bool:
        """Keep the SMS; False when the answer is to be lost (a 502 after accepting)."""
        with self.lock:
            self.sent.append(sent)
            hold, self.hold_next = self.hold_next, False
            fail, self.fail_next_answer = self.fail_next_answer, False
        if hold:  # the gateway has the SMS; the sender has not heard back
            self.holding.set()
            self.release.wait(timeout=30)
        return not fail

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        provider = self
        twilio_path = f"/2010-04-01/Accounts/{TWILIO_SID}/Messages.json"

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:
                pass

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                if self.path == "/messages":
                    data = json.loads(body)
                    with provider.lock:
                        provider.received.append((time.monotonic(), data["reference"]))
                        refusal = provider.answer_status
                    if refusal is not None:
                        return self._answer(refusal, {"error": f"answered {refusal}"})
                    sent_id = f"SIM{uuid.uuid4().hex[:12]}"
                    sent = Sent("simulator", sent_id, data["to"], data["text"])
                    sent.reference, sent.fields = data["reference"], data
                    if not provider._accept(sent):
                        return self._answer(502, {"error": "bad gateway"})
                    self._answer(201, {"id": sent.provider_message_id, "status": "accepted"})
                elif self.path == twilio_path and self.headers.get("Authorization"):
                    form = {k: v[0] for k, v in parse_qs(body.decode()).items()}
                    sent = Sent("twilio", f"SM{uuid.uuid4().hex}", form["To"], form["Body"])
                    sent.status_callback, sent.fields = form.get("StatusCallback", ""), form
                    query = parse_qs(urlsplit(sent.status_callback).query)
                    sent.reference = query.get("reference", [""])[0]
                    if not provider._accept(sent):
                        return self._answer(502, {"code": 20500, "message": "bad gateway"})
                    answer = {"sid": sent.provider_message_id, "status": "queued", "to": sent.to}
                    self._answer(201, answer | {"account_sid": TWILIO_SID, "body": sent.text})
                else:
                    self._answer(404, {"code": 20404, "message": "not found"})

            def _answer(self, status: int, payload: dict[str, Any]) -> None:
                content = json.dumps(payload).encode()
                try:
                    self.send_response(status)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(content)))
                    self.end_headers()
                    self.wfile.write(content)
                except OSError:
                    pass  # the sender gave up

        return Handler


class _ConsoleWire(logging.Handler):
    """The console gateway "sends" by logging `SMS <id> to <phone> [<reference>]: <text>`."""

    def __init__(self, provider: LoopbackProvider) -> None:
        super().__init__(logging.INFO)
        self.provider = provider

    def emit(self, record: logging.LogRecord) -> None:
        args = record.args if isinstance(record.args, tuple) else ()
        ids = [a for a in args if isinstance(a, str) and a.startswith("CON")]
        if record.getMessage().startswith("SMS ") and ids:
            references = [a for a in args if isinstance(a, str) and a[:4] in ("inv-", "msg-")]
            sent = Sent("console", ids[0], "", str(args[-1]))
            sent.reference = references[0] if references else ""
            self.provider._accept(sent)


class Webhooks:
    """What a gateway posts to us, signed as that gateway signs it."""

    def __init__(self, client: Client, gateway: str) -> None:
        self.client, self.gateway = client, gateway

    def receipt(
        self,
        provider_message_id: str,
        status: str,
        reference: str = "",
        *,
        to: str = "",
        callback: str = "",
    ) -> int:
        """A status report; Twilio posts it to the message's StatusCallback when it has one
        (our reference is in its query), else to the status URL (a Messaging Service's)."""
        path = f"/webhooks/{self.gateway}/status/"
        if self.gateway == "twilio":
            if callback:
                assert callback.startswith(PUBLIC_BASE), callback
                path = callback[len(PUBLIC_BASE) :]
            form = {"MessageSid": provider_message_id, "SmsSid": provider_message_id}
            form |= {"MessageStatus": status, "SmsStatus": status, "AccountSid": TWILIO_SID}
            form |= {"From": TWILIO_FROM, "To": to or "+8613800138000", "ApiVersion": "2010-04-01"}
            return self._twilio(path, form)
        data = {"message_id": provider_message_id, "status": status}
        if self.gateway == "simulator":  # the simulator echoes our reference
            data["reference"] = reference
        return self._json(path, data)

    def inbound(self, message_id: str, phone: str, text: str) -> int:
        path = f"/webhooks/{self.gateway}/inbound/"
        if self.gateway == "twilio":
            form = {"MessageSid": message_id, "SmsMessageSid": message_id, "AccountSid": TWILIO_SID}
            form |= {"From": phone, "To": TWILIO_FROM, "Body": text, "NumMedia": "0"}
            return self._twilio(path, form | {"NumSegments": "1", "ApiVersion": "2010-04-01"})
        return self._json(path, {"message_id": message_id, "from": phone, "text": text})

    def _json(self, path: str, data: dict[str, str]) -> int:
        body = json.dumps(data).encode()
        if self.gateway == "console":
            path, headers = f"{path}?token={CONSOLE_SECRET}", {}
        else:
            headers = {HEADER: sign_body(SIMULATOR_SECRET, body)}
        answer = self.client.post(path, body, content_type="application/json", headers=headers)
        return int(answer.status_code)

    def _twilio(self, path: str, form: dict[str, str]) -> int:
        signature = RequestValidator(TWILIO_TOKEN).compute_signature(PUBLIC_BASE + path, form)
        answer = self.client.post(
            path,
            urlencode(form),
            content_type="application/x-www-form-urlencoded",
            headers={"X-Twilio-Signature": signature},
        )
        return int(answer.status_code)
