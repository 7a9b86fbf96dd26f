"""Store first, then process: a dead broker loses nothing, the sweeper queues it later."""

import json
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
import time_machine
from django.test import Client
from django.utils import timezone

from nps.celery import app as celery_app
from surveys.models import InboundMessage
from surveys.replies import replies_sweep
from surveys.simulator.signing import HEADER, sign_body

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def dead_broker() -> Iterator[None]:
    """Point the Celery app at a port where nothing listens, as when Redis is down."""
    saved = celery_app.conf.broker_url, celery_app.conf.broker_transport_options
    celery_app.conf.broker_url = "redis://127.0.0.1:9/0"
    celery_app.conf.broker_transport_options = {"socket_connect_timeout": 0.5}
    celery_app.pool.force_close_all()
    celery_app._pool = None
    try:
        yield
    finally:
        celery_app.conf.broker_url, celery_app.conf.broker_transport_options = saved
        celery_app._pool = None


def test_webhook_answers_2xx_and_keeps_the_reply_when_the_broker_is_down(
    client: Client, dead_broker: Any, caplog: pytest.LogCaptureFixture
) -> None:
    body = json.dumps({"message_id": "MO-DOWN", "from": "+8613800138000", "text": "3"}).encode()
    answer = client.post(
        "/webhooks/simulator/inbound/",
        body,
        content_type="application/json",
        headers={HEADER: sign_body("sim-dev-secret", body)},
    )
    assert answer.status_code == 200
    message = InboundMessage.objects.get()
    assert message.processed_at is None
    assert "on_commit" in caplog.text  # the enqueue really failed, after the commit


def test_sweeper_queues_unprocessed_replies_once_they_are_old_enough(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from surveys import tasks

    queued: list[int] = []
    monkeypatch.setattr(tasks.process_reply, "delay", queued.append)
    message = InboundMessage.objects.create(
        gateway="simulator", gateway_message_id="MO1", phone="+8613800138000", text="3", payload={}
    )
    with time_machine.travel(timezone.now() + timedelta(seconds=60)):
        assert replies_sweep() == 1
    assert queued == [message.pk]
