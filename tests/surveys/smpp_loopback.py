"""The SMPP gateway against the loopback SMS centre, both real, in threads of the test.

`SmppLoop` starts the simulator's SMS centre (devtools/simulator/smsc.py) on a free port
and the real gateway process (surveys.smpp.session.SmppSession) bound to it, with the
settings that make "smpp" the sending gateway. The submit channel is the one the profile
has: Redis when the broker is Redis (PostgreSQL profile), else the in-process channel.
"""

import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import redis
from django.conf import settings
from django.test import override_settings

from devtools.simulator.smsc import Smsc
from surveys.smpp.channel import submit_channel, submit_channel_forget
from surveys.smpp.session import SmppSession

SYSTEM_ID, PASSWORD, SOURCE = "nps-test", "secret12", "10690001"


def wait_until(condition: Callable[[], Any], timeout: float = 10.0) -> Any:
    """Poll until `condition()` is truthy; its value, or AssertionError after `timeout`."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.02)
    raise AssertionError(f"not within {timeout} s: {condition}")


def channel_url() -> str:
    broker = settings.CELERY_BROKER_URL
    return broker if broker.startswith("redis") else f"memory://smpp-{uuid.uuid4().hex[:8]}"


def gateway_config(port: int, url: str, **overrides: Any) -> dict[str, Any]:
    return {
        "CLASS": "surveys.gateways.smpp.SmppGateway",
        "HOST": "127.0.0.1",
        "PORT": port,
        "SYSTEM_ID": SYSTEM_ID,
        "PASSWORD": PASSWORD,
        "SYSTEM_TYPE": "",
        "SOURCE_ADDR": SOURCE,
        "WINDOW": 5,
        "ENQUIRE_LINK_SECONDS": 30.0,
        "RESPONSE_TIMEOUT": 5.0,
        "RECONNECT_MAX_SECONDS": 2.0,
        "THROTTLE_SECONDS": 0.1,
        "THROTTLE_MAX_SECONDS": 1.0,
        "SUBMIT_TIMEOUT": 8.0,
        "REFERENCE_TAG": 0x1400,
        "REASSEMBLY_SECONDS": 5.0,
        "MO_DEDUPE_SECONDS": 600,
        "CHANNEL_URL": url,
        "CHANNEL_PREFIX": f"{settings.CELERY_TASK_DEFAULT_QUEUE}:smpp:",  # this test run's
        "SECRETS": {"PASSWORD": "SMPP_PASSWORD"},
    } | overrides


class SmppLoop:
    def __init__(self, smsc: Smsc, session: SmppSession, config: dict[str, Any]) -> None:
        self.smsc, self.session, self.config = smsc, session, config

    def references_accepted(self) -> list[str]:
        return [s.reference for s in self.smsc.accepted]


def _clear_redis(url: str, prefix: str) -> None:
    if url.startswith("redis"):
        client = redis.Redis.from_url(url)
        keys = list(client.scan_iter(prefix + "*"))
        if keys:
            client.delete(*keys)


@contextmanager
def smpp_loop(
    *, smsc_options: dict[str, Any] | None = None, **overrides: Any
) -> Iterator[SmppLoop]:
    """The SMS centre and the gateway process, running and bound, "smpp" the sending gateway."""
    smsc = Smsc(system_id=SYSTEM_ID, password=PASSWORD, **(smsc_options or {})).start()
    url = channel_url()
    config = gateway_config(smsc.port, url, **overrides)
    prefix = config["CHANNEL_PREFIX"]
    _clear_redis(url, prefix)
    session = SmppSession(slug="smpp", config=config, channel=submit_channel(url, prefix))
    stop = threading.Event()
    thread = threading.Thread(target=session.run, args=(stop,), daemon=True, name="run_smpp")
    with override_settings(
        NPS_GATEWAYS={"smpp": config}, NPS_ENABLED_GATEWAYS=["smpp"], NPS_SEND_GATEWAY="smpp"
    ):
        thread.start()
        try:
            yield SmppLoop(smsc, session, config)
        finally:
            stop.set()
            thread.join(timeout=10)
            smsc.stop()
            _clear_redis(url, prefix)
            submit_channel_forget(url, prefix)
