"""The SMS gateway simulator over real HTTP, with a stand-in for our app's webhooks."""

import http.client
import json
import socket
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
import requests

from devtools.simulator.server import SimulatorConfig, build_server, mask_phone
from surveys.gateways.simulator_signature import HEADER, sign_body
from tests.integration.conftest import wait_until

API_KEY = "test-key"
SECRET = "test-secret"
AUTH = {"Authorization": f"Bearer {API_KEY}"}
PHONE = "+8613800138000"
SURVEY = "How likely are you to recommend us? Reply 0-10."
STATUS_HOOK = "/webhooks/simulator/status/"
INBOUND_HOOK = "/webhooks/simulator/inbound/"


@dataclass(frozen=True)
class Hook:
    path: str
    content_type: str
    signature: str | None
    body: bytes
    client: tuple[str, int] = ("", 0)  # the simulator's end of the connection

    @property
    def data(self) -> dict[str, Any]:
        return json.loads(self.body)

    @property
    def signed(self) -> bool:
        return self.signature == sign_body(SECRET, self.body)


class FakeApp:
    """Our app's webhooks reduced to: record every request, answer scripted statuses."""

    def __init__(self, keep_alive: bool = False) -> None:
        self.keep_alive = keep_alive  # HTTP/1.1 with keep-alive, as gunicorn's gthread workers
        self.answers: deque[int] = deque()  # statuses for the next requests; then 200
        self._hooks: list[Hook] = []
        self._lock = threading.Lock()
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        app = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1" if app.keep_alive else "HTTP/1.0"

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                headers = self.headers
                hook = Hook(
                    self.path, headers["Content-Type"], headers[HEADER], body, self.client_address
                )
                self.send_response(app.record(hook))
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, format: str, *args: Any) -> None:
                pass

        return Handler

    def record(self, hook: Hook) -> int:
        with self._lock:
            self._hooks.append(hook)
            return self.answers.popleft() if self.answers else 200

    def received(self, path: str) -> list[Hook]:
        with self._lock:
            return [hook for hook in self._hooks if hook.path == path]

    def wait_for(self, path: str, count: int, timeout: float = 5.0) -> list[Hook]:
        deadline = time.monotonic() + timeout
        while len(hooks := self.received(path)) < count:
            if time.monotonic() > deadline:
                pytest.fail(f"expected {count} webhook(s) at {path}, got {len(hooks)}")
            time.sleep(0.01)
        return hooks


def _serve_in_background(server: ThreadingHTTPServer) -> None:
    # A short poll interval keeps shutdown() at teardown fast.
    threading.Thread(target=server.serve_forever, args=(0.02,), daemon=True).start()


@pytest.fixture(params=[False], ids=["http1.0"])
def app(request: pytest.FixtureRequest) -> Iterator[FakeApp]:
    fake = FakeApp(keep_alive=request.param)
    _serve_in_background(fake.server)
    yield fake
    fake.server.shutdown()
    fake.server.server_close()


@pytest.fixture
def start_simulator(app: FakeApp) -> Iterator[Callable[..., str]]:
    servers: list[ThreadingHTTPServer] = []

    def start(**overrides: Any) -> str:
        options = {"port": 0, "webhook_base": app.url, "api_key": API_KEY, "secret": SECRET}
        options |= {"auto_reply": False, "reply_delay": 0.05, "retry_backoff": 0.01}
        server = build_server(SimulatorConfig(**{**options, **overrides}))
        servers.append(server)
        _serve_in_background(server)
        return f"http://127.0.0.1:{server.server_address[1]}"

    yield start
    for server in servers:
        server.shutdown()
        server.server_close()


@pytest.fixture
def simulator(start_simulator: Callable[..., str]) -> str:
    return start_simulator()


def send(
    simulator: str,
    reference: str = "inv-42",
    text: str = "Thanks for calling us today.",
    to: str = PHONE,
    headers: dict[str, str] = AUTH,
    timeout: float = 5,
) -> requests.Response:
    payload = {"to": to, "text": text, "reference": reference}
    return requests.post(f"{simulator}/messages", json=payload, headers=headers, timeout=timeout)


def reply(simulator: str, text: str, sender: str = PHONE) -> requests.Response:
    return requests.post(f"{simulator}/inbound", json={"from": sender, "text": text}, timeout=5)


def listed(simulator: str, query: str = "") -> dict[str, list[dict[str, Any]]]:
    return requests.get(f"{simulator}/messages{query}", timeout=5).json()


def set_fault(simulator: str, mode: str, count: int = 1) -> None:
    fault = {"mode": mode, "count": count}
    response = requests.post(f"{simulator}/faults", json=fault, headers=AUTH, timeout=5)
    assert response.status_code == 200


def test_health(simulator: str) -> None:
    response = requests.get(f"{simulator}/health", timeout=5)

    assert response.status_code == 200
    assert response.json() == {"ok": True}


def test_send_is_idempotent_on_reference(simulator: str) -> None:
    first = send(simulator)
    again = send(simulator)

    assert first.status_code == 201
    assert first.json()["status"] == "accepted"
    assert first.json()["id"].startswith("SM")
    assert again.status_code == 200
    assert again.json()["id"] == first.json()["id"]
    assert [m["id"] for m in listed(simulator)["outbound"]] == [first.json()["id"]]


@pytest.mark.parametrize(
    "headers", [{}, {"Authorization": "Bearer wrong"}, {"Authorization": API_KEY}]
)
def test_send_without_the_api_key_is_refused(simulator: str, headers: dict[str, str]) -> None:
    response = send(simulator, headers=headers)

    assert response.status_code == 401
    assert "error" in response.json()
    assert listed(simulator)["outbound"] == []


@pytest.mark.parametrize(
    "body",
    [
        b"{not json",
        b'["a list"]',
        json.dumps({"to": PHONE, "text": "no reference"}).encode(),
        json.dumps({"to": PHONE, "text": " ", "reference": "inv-1"}).encode(),
        json.dumps({"to": 8613800138000, "text": "hi", "reference": "inv-1"}).encode(),
    ],
)
def test_send_with_a_bad_body_is_refused(simulator: str, body: bytes) -> None:
    headers = {**AUTH, "Content-Type": "application/json"}
    response = requests.post(f"{simulator}/messages", data=body, headers=headers, timeout=5)

    assert response.status_code == 400
    assert "error" in response.json()


def test_messages_can_be_listed_for_one_phone(simulator: str) -> None:
    send(simulator, reference="inv-1", to=PHONE)
    send(simulator, reference="inv-2", to="+8613900139000")
    reply(simulator, "9", sender=PHONE)

    mine = listed(simulator, f"?to={PHONE}")  # a literal "+", as people type it

    assert [m["reference"] for m in mine["outbound"]] == ["inv-1"]
    assert [m["from"] for m in mine["inbound"]] == [PHONE]
    assert len(listed(simulator)["outbound"]) == 2


def test_delivery_receipts_are_signed_and_say_sent_then_delivered(
    simulator: str, app: FakeApp
) -> None:
    message_id = send(simulator).json()["id"]

    receipts = app.wait_for(STATUS_HOOK, 2)

    assert [r.data["status"] for r in receipts] == ["sent", "delivered"]
    assert all(r.signed and r.content_type == "application/json" for r in receipts)
    assert {(r.data["message_id"], r.data["reference"]) for r in receipts} == {
        (message_id, "inv-42")
    }
    sent_at = datetime.fromisoformat(receipts[0].data["timestamp"])
    assert sent_at.utcoffset() == timedelta(0)
    assert listed(simulator)["outbound"][0]["status"] == "delivered"


@pytest.mark.parametrize("app", [True], ids=["keep-alive"], indirect=True)
def test_receipts_reuse_a_kept_alive_connection_to_our_app(
    start_simulator: Callable[..., str], app: FakeApp
) -> None:
    simulator = start_simulator(delivery_threads=1)
    ids = [send(simulator, reference=f"inv-{n}").json()["id"] for n in range(3)]

    receipts = app.wait_for(STATUS_HOOK, 6)

    assert [(r.data["message_id"], r.data["status"]) for r in receipts] == [
        (message_id, status) for message_id in ids for status in ("sent", "delivered")
    ]
    assert len({r.client for r in receipts}) == 1  # one connection for all six


def test_each_receipt_has_its_own_connection_when_our_app_closes_them(
    start_simulator: Callable[..., str], app: FakeApp
) -> None:
    simulator = start_simulator(delivery_threads=1)
    send(simulator, reference="inv-1")
    send(simulator, reference="inv-2")

    receipts = app.wait_for(STATUS_HOOK, 4)

    assert len({r.client for r in receipts}) == 4
    assert all(r.signed for r in receipts)


def test_the_simulator_keeps_our_connection_alive_even_after_a_refused_body(
    simulator: str,
) -> None:
    connection = http.client.HTTPConnection(simulator.removeprefix("http://"), timeout=5)
    body = json.dumps({"to": PHONE, "text": "hello", "reference": "inv-7"})
    answers, sockets = [], set()
    for method, path, payload in [
        ("POST", "/nowhere", '{"a body": "left unread would be read as a request"}'),
        ("POST", "/messages", body),
        ("GET", "/health", None),
    ]:
        connection.request(method, path, body=payload, headers=AUTH)
        response = connection.getresponse()
        answers.append((response.status, json.loads(response.read())))
        sockets.add(connection.sock)

    assert len(sockets) == 1  # one connection for the three
    assert None not in sockets  # still open
    assert [status for status, _ in answers] == [404, 201, 200]
    assert answers[2][1] == {"ok": True}
    assert listed(simulator)["outbound"][0]["reference"] == "inv-7"
    connection.close()


def test_a_delivery_receipt_is_retried_after_a_500_from_our_app(
    simulator: str, app: FakeApp
) -> None:
    app.answers.append(500)
    send(simulator)

    receipts = app.wait_for(STATUS_HOOK, 3)

    assert [r.data["status"] for r in receipts] == ["sent", "sent", "delivered"]
    assert receipts[0].body == receipts[1].body
    assert receipts[1].signed


def test_inbound_forwards_a_signed_reply_and_reports_our_status(
    simulator: str, app: FakeApp
) -> None:
    app.answers.append(202)

    response = reply(simulator, "3")

    assert response.status_code == 200
    answer = response.json()
    assert answer["webhook_status"] == 202
    (hook,) = app.received(INBOUND_HOOK)
    assert hook.signed
    assert hook.data == {
        "message_id": answer["message_id"],
        "from": PHONE,
        "to": "10690000",
        "text": "3",
        "received_at": hook.data["received_at"],
    }
    assert answer["message_id"].startswith("MO")
    assert listed(simulator)["inbound"][0]["webhook_status"] == 202


def test_inbound_from_the_page_form_redirects_back(simulator: str, app: FakeApp) -> None:
    form = {"from": PHONE, "text": "9"}
    response = requests.post(f"{simulator}/inbound", data=form, allow_redirects=False, timeout=5)

    assert response.status_code == 303
    assert response.headers["Location"] == "/"
    assert app.received(INBOUND_HOOK)[0].data["text"] == "9"


def test_a_webhook_is_retried_while_our_app_answers_5xx(simulator: str, app: FakeApp) -> None:
    app.answers.extend([500, 503])

    assert reply(simulator, "7").json()["webhook_status"] == 200

    attempts = app.received(INBOUND_HOOK)
    assert len(attempts) == 3
    assert len({attempt.body for attempt in attempts}) == 1
    assert all(attempt.signed for attempt in attempts)


def test_a_webhook_is_not_retried_after_a_4xx(simulator: str, app: FakeApp) -> None:
    app.answers.append(403)

    assert reply(simulator, "7").json()["webhook_status"] == 403
    assert len(app.received(INBOUND_HOOK)) == 1


def test_an_unreachable_app_is_reported_as_null(start_simulator: Callable[..., str]) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        closed_port = probe.getsockname()[1]
    simulator = start_simulator(webhook_base=f"http://127.0.0.1:{closed_port}", webhook_retries=2)

    assert reply(simulator, "7").json()["webhook_status"] is None


@pytest.mark.parametrize("survey", [SURVEY, "请回复 0 到 10 分", "评分0至10", "Rate us 0 to 10"])
def test_auto_reply_comes_once_with_a_score(
    start_simulator: Callable[..., str], app: FakeApp, survey: str
) -> None:
    simulator = start_simulator(auto_reply=True)
    send(simulator, text=survey)
    send(simulator, text=survey)  # the same reference again: still one message
    send(simulator, reference="inv-43", text="Your engineer is on the way.", to="+8613900139000")

    # Finished when every message the simulator accepted has both receipts posted and
    # every survey among them a reply whose webhook answer is recorded: the last step of a
    # delivery. A second reply needs a second accepted message, which would be waited for.
    def deliveries_finished() -> bool:
        messages = listed(simulator)
        surveys = [m for m in messages["outbound"] if m["text"] == survey]
        answered = [m for m in messages["inbound"] if m["webhook_status"] is not None]
        receipts = len(app.received(STATUS_HOOK))
        return receipts >= 2 * len(messages["outbound"]) and len(answered) >= len(surveys)

    wait_until(deliveries_finished, timeout=5, every=0.01)

    (auto_reply,) = app.received(INBOUND_HOOK)
    assert len(listed(simulator)["outbound"]) == 2
    assert len(app.received(STATUS_HOOK)) == 4
    assert auto_reply.signed
    assert auto_reply.data["from"] == PHONE
    assert auto_reply.data["text"].isdigit()
    assert 0 <= int(auto_reply.data["text"]) <= 10


def test_auto_reply_follows_the_mix(start_simulator: Callable[..., str], app: FakeApp) -> None:
    simulator = start_simulator(auto_reply=True, mix="0,0,100")
    for n in range(10):
        send(simulator, reference=f"inv-{n}", text=SURVEY)

    scores = [int(hook.data["text"]) for hook in app.wait_for(INBOUND_HOOK, 10)]

    assert all(0 <= score <= 6 for score in scores)


def test_a_seed_makes_auto_replies_repeatable(
    start_simulator: Callable[..., str], app: FakeApp
) -> None:
    runs = []
    for run in range(2):
        simulator = start_simulator(auto_reply=True, seed=7)
        for n in range(6):
            send(simulator, reference=f"inv-{n}", text=SURVEY, to=f"+86138001380{n:02d}")
        hooks = app.wait_for(INBOUND_HOOK, 6 * (run + 1))[6 * run :]
        runs.append({hook.data["from"]: hook.data["text"] for hook in hooks})

    assert runs[0] == runs[1]


def test_fault_429_fails_the_next_send_then_recovers(simulator: str) -> None:
    set_fault(simulator, "429", count=1)

    refused = send(simulator)
    accepted = send(simulator)

    assert refused.status_code == 429
    assert "error" in refused.json()
    assert "Retry-After" in refused.headers
    assert accepted.status_code == 201
    assert len(listed(simulator)["outbound"]) == 1


def test_fault_500_then_ok_clears_the_rest(simulator: str) -> None:
    set_fault(simulator, "500", count=5)
    assert send(simulator).status_code == 500

    set_fault(simulator, "ok")

    assert send(simulator).status_code == 201


def test_fault_drop_closes_the_connection_without_a_message(simulator: str) -> None:
    set_fault(simulator, "drop")

    with pytest.raises(requests.ConnectionError):
        send(simulator)
    assert listed(simulator)["outbound"] == []


def test_fault_timeout_answers_too_late_but_keeps_the_message(
    start_simulator: Callable[..., str],
) -> None:
    simulator = start_simulator(fault_timeout=0.5)
    set_fault(simulator, "timeout")

    with pytest.raises(requests.Timeout):
        send(simulator, timeout=0.1)
    retried = send(simulator)

    assert retried.status_code == 200
    assert len(listed(simulator)["outbound"]) == 1


def test_faults_need_the_api_key(simulator: str) -> None:
    fault = {"mode": "500", "count": 1}
    response = requests.post(f"{simulator}/faults", json=fault, timeout=5)

    assert response.status_code == 401
    assert send(simulator).status_code == 201


def test_the_page_shows_the_latest_thread_with_text_escaped(simulator: str) -> None:
    send(simulator, text=SURVEY)
    reply(simulator, "<script>alert(1)</script>")

    page = requests.get(f"{simulator}/", timeout=5)

    assert page.status_code == 200
    assert page.headers["Content-Type"].startswith("text/html")
    assert "<title>SMS gateway simulator</title>" in page.text
    assert "<script>alert(1)" not in page.text  # neither in the thread nor in its JSON
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page.text
    assert f'name="from" value="{PHONE}"' in page.text  # reply from the number we sent to
    # A thread reads like a phone's: our survey first, then the customer's answer.
    thread = page.text[page.text.index('id="messages"') :]
    assert thread.index("Reply 0-10") < thread.index("&lt;script&gt;alert")


def test_phone_numbers_are_masked_for_logs() -> None:
    assert mask_phone(PHONE) == "+86138******00"
    assert mask_phone("10690000") == "106***00"


@pytest.mark.parametrize(
    "overrides",
    [
        {"mix": "60,25"},
        {"mix": "a,b,c"},
        {"mix": "nan,1,1"},
        {"mix": "0,0,0"},
        {"reply_pattern": "("},
        {"webhook_base": "file:///"},
    ],
)
def test_a_bad_config_is_refused(overrides: dict[str, Any]) -> None:
    with pytest.raises(ValueError):  # noqa: PT011 -- the message depends on the setting
        SimulatorConfig(api_key=API_KEY, secret=SECRET, **overrides)


def conversation(simulator: str, phone: str = PHONE) -> dict[str, Any]:
    answer = requests.get(f"{simulator}/api/conversations", {"phone": phone}, timeout=5)
    assert answer.status_code == 200
    return dict(answer.json())


def test_a_thread_lists_one_numbers_messages_oldest_first(simulator: str) -> None:
    send(simulator, text=SURVEY)
    send(simulator, reference="inv-43", to="+8613900000001", text="another survey 0-10")
    reply(simulator, "3")

    found = conversation(simulator)

    assert [(m["direction"], m["text"]) for m in found["messages"]] == [
        ("out", SURVEY),
        ("in", "3"),
    ]
    assert [t["phone"] for t in found["threads"]] == [PHONE, "+8613900000001"]


@pytest.mark.parametrize(
    ("last_sms", "hint"),
    [
        (SURVEY, "0-10"),
        ("抱歉，我们没能看懂您的回复。请回复0到10的数字。", "0-10"),
        ("感谢您的评分！请问主要是什么原因让您给出这个分数？", "why?"),
        ("Thank you! What is the main reason for your score?", "why?"),
        ("Thank you for telling us why. We will call you within 1 hour.", "Reply"),
    ],
)
def test_the_reply_box_hints_what_the_customer_is_asked(
    simulator: str, last_sms: str, hint: str
) -> None:
    send(simulator, text=last_sms)
    assert conversation(simulator)["hint"] == hint
