"""The SMS simulator's page in a real browser: a phone's conversation thread.

A new message arriving while you type does not wipe what you typed (the page updates in
place); the reply box hints what the customer is asked; at 390 x 844 nothing scrolls
sideways. Photographed at phone and desktop widths, in English and Chinese, into
docs/screenshots/.
"""

import shutil
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from devtools.simulator.server import SimulatorConfig, SimulatorServer
from surveys.models import OutboundKind
from surveys.texts import DEFAULT_QUESTIONS, DEFAULTS
from tests.integration.conftest import free_port

pytestmark = pytest.mark.browser

DOCS_SCREENSHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"
PHONE = "+8613800138000"
TYPED = "The store queue took forty minu"


@pytest.fixture
def simulator() -> Iterator[SimulatorServer]:
    """The simulator in this process, answering by hand; our app is not running (a reply's
    webhook fails at once and says so)."""
    config = SimulatorConfig(
        api_key="k",
        secret="s",
        port=0,
        auto_reply=False,
        webhook_base=f"http://127.0.0.1:{free_port()}",
        webhook_retries=0,
        webhook_timeout=1.0,
    )
    server = SimulatorServer(config)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()


def url(server: SimulatorServer) -> str:
    host, port = server.server_address[:2]
    return f"http://{host}:{port}/?phone=%2B8613800138000"


def bubbles(page: Any) -> int:
    return int(page.locator("#messages .bubble").count())


def sideways_scroll(page: Any) -> int:
    return int(page.evaluate("document.documentElement.scrollWidth - window.innerWidth"))


def test_a_message_arriving_while_typing_keeps_the_typed_text(
    chromium: Any, simulator: SimulatorServer, tmp_path: Path
) -> None:
    sim = simulator.simulator
    sim.send(PHONE, DEFAULT_QUESTIONS["en"], "inv-1")
    page = chromium.new_page(viewport={"width": 390, "height": 844})
    page.goto(url(simulator))
    reply = page.locator("#reply input[name=text]")
    assert reply.get_attribute("placeholder") == "0-10"

    sim.receive(PHONE, "4")  # as if answered from another tab
    page.wait_for_function("document.querySelectorAll('#messages .bubble').length == 2")
    reply.click()
    page.keyboard.type(TYPED)
    sim.send(PHONE, DEFAULTS[OutboundKind.FOLLOWUP_QUESTION]["en"], "msg-1")
    page.wait_for_function("document.querySelectorAll('#messages .bubble').length == 3")

    assert reply.input_value() == TYPED  # the new message did not wipe it
    assert reply.get_attribute("placeholder") == "why?"
    assert page.evaluate("document.activeElement.name") == "text"  # still typing
    assert sideways_scroll(page) <= 0

    shots = tmp_path / "screenshots"
    shots.mkdir()
    page.keyboard.type("tes")
    page.screenshot(path=shots / "simulator-thread-en-390.png")  # what the phone shows
    page.keyboard.press("Enter")
    page.wait_for_function("document.querySelectorAll('#messages .bubble.in').length == 2")
    assert page.locator("#messages .bubble.in").last.inner_text().startswith(TYPED + "tes")
    assert reply.input_value() == ""
    page.set_viewport_size({"width": 1366, "height": 900})
    page.screenshot(path=shots / "simulator-thread-en-1366.png", full_page=True)
    for shot in shots.iterdir():
        DOCS_SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        shutil.copy(shot, DOCS_SCREENSHOTS / shot.name)


def test_a_chinese_thread_fits_a_phone(
    chromium: Any, simulator: SimulatorServer, tmp_path: Path
) -> None:
    sim = simulator.simulator
    sim.send(PHONE, DEFAULT_QUESTIONS["zh-hans"] + " 回复TD退订", "inv-1")
    sim.receive(PHONE, "3")
    sim.send(PHONE, DEFAULTS[OutboundKind.FOLLOWUP_QUESTION]["zh-hans"], "msg-1")
    sim.receive(PHONE, "营业厅排队等了四十分钟，工作人员态度也不好" * 3)
    sim.send(PHONE, DEFAULTS[OutboundKind.CALLBACK_PROMISE]["zh-hans"].format(hours=1), "msg-2")
    sim.send("+8613900000001", DEFAULT_QUESTIONS["zh-hans"], "inv-2")
    page = chromium.new_page(viewport={"width": 390, "height": 844})
    page.goto(url(simulator))
    page.wait_for_function("document.body.dataset.live == 'yes'")

    assert bubbles(page) == 5
    assert page.locator("#threads a").count() == 2
    assert page.locator("#reply input[name=text]").get_attribute("placeholder") == "Reply"
    assert sideways_scroll(page) <= 0
    shot = tmp_path / "simulator-thread-zh-390.png"
    page.screenshot(path=shot)  # what the phone shows
    page.set_viewport_size({"width": 1366, "height": 900})
    assert sideways_scroll(page) <= 0
    wide = tmp_path / "simulator-thread-zh-1366.png"
    page.screenshot(path=wide, full_page=True)
    DOCS_SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    for made in (shot, wide):
        shutil.copy(made, DOCS_SCREENSHOTS / made.name)
