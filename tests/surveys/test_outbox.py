"""Store first, then process: webhooks only insert; the relay hands rows to workers in
batches; a dead broker or a lost task loses nothing."""

import json
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
import time_machine
from django.test import Client
from django.utils import timezone
from kombu import pools as kombu_pools

from nps.celery import app as celery_app
from surveys import relay, replies, tasks
from surveys.gateways.simulator_signature import HEADER, sign_body
from surveys.models import DeliveryReceipt, InboundMessage
from surveys.relay import batch_process, outbox_relay

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def published(monkeypatch: pytest.MonkeyPatch) -> dict[str, list[list[int]]]:
    """What the relay hands to the broker, batch by batch (the queue starts empty)."""
    celery_app.control.purge()
    seen: dict[str, list[list[int]]] = {"replies": [], "receipts": []}
    monkeypatch.setattr(tasks.process_replies, "delay", seen["replies"].append)
    monkeypatch.setattr(tasks.apply_receipts, "delay", seen["receipts"].append)
    return seen


def store(n: int) -> list[int]:
    return [
        InboundMessage.objects.create(
            gateway="simulator", gateway_message_id=f"MO{i}", phone="+8613800138000",
            text="3", payload={},
        ).pk
        for i in range(n)
    ]  # fmt: skip


def test_relay_queues_pending_rows_in_batches_in_arrival_order(published: Any) -> None:
    ids = store(5)
    DeliveryReceipt.objects.create(
        gateway="simulator", provider_message_id="SM1", status="delivered", payload={}
    )
    assert outbox_relay(batch=2) == 6
    assert published["replies"] == [ids[0:2], ids[2:4], ids[4:5]]
    assert len(published["receipts"]) == 1


def test_a_second_relay_run_queues_nothing_twice(published: Any) -> None:
    store(3)
    outbox_relay()
    assert outbox_relay() == 0
    assert len(published["replies"]) == 1


def test_a_batch_lost_by_the_broker_is_relayed_again_after_the_requeue_window(
    published: Any, settings: Any
) -> None:
    ids = store(2)
    outbox_relay()
    with time_machine.travel(
        timezone.now() + timedelta(seconds=settings.NPS_RELAY_REQUEUE_SECONDS + 1)
    ):
        assert outbox_relay() == 2
    assert published["replies"] == [ids, ids]


def test_a_batch_a_slow_worker_holds_is_not_handed_out_again(published: Any, settings: Any) -> None:
    # Each reply takes half the requeue window: the batch outlives the window three times
    # over, and the relay runs while each reply is being processed.
    ids = store(6)
    outbox_relay()
    step = timedelta(seconds=settings.NPS_RELAY_REQUEUE_SECONDS / 2)
    relayed_meanwhile = []

    with time_machine.travel(timezone.now(), tick=False) as clock:

        def slow_reply(pk: int) -> str:
            clock.shift(step)
            relayed_meanwhile.append(outbox_relay())
            InboundMessage.objects.filter(pk=pk).update(processed_at=timezone.now())
            return "processed"

        outcomes = batch_process(
            InboundMessage, ids, lambda pks: {pk: slow_reply(pk) for pk in pks}, chunk=1
        )
    assert outcomes == ["processed"] * 6
    assert relayed_meanwhile == [0] * 6
    assert published["replies"] == [ids]


def test_the_reply_batch_path_holds_its_lease_while_a_slow_worker_runs_it(
    published: Any, settings: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The real replies_process, 120 replies in chunks of 50: each chunk takes half the
    # requeue window and the relay runs during each; nothing is handed out twice and every
    # reply is processed once (unknown senders here: the outcome is stored all the same).
    ids = [
        InboundMessage.objects.create(
            gateway="simulator", gateway_message_id=f"MO-slow-{i}", phone=f"+86138{i:08d}",
            text="9", payload={},
        ).pk
        for i in range(120)
    ]  # fmt: skip
    outbox_relay(batch=200)
    step = timedelta(seconds=settings.NPS_RELAY_REQUEUE_SECONDS / 2)
    relayed_meanwhile = []
    with time_machine.travel(timezone.now(), tick=False) as clock:
        chunk = replies._chunk

        def slow_chunk(pks: list[int]) -> dict[int, str]:
            clock.shift(step)  # the chunk is slow: the relay runs while it is held
            relayed_meanwhile.append(outbox_relay())
            return chunk(pks)

        monkeypatch.setattr(replies, "_chunk", slow_chunk)
        outcomes = replies.replies_process(message_ids=ids)
    assert outcomes == ["unknown_sender"] * 120
    assert relayed_meanwhile == [0, 0, 0]
    assert published["replies"] == [ids]
    assert not InboundMessage.objects.filter(processed_at__isnull=True).exists()


def test_rows_of_a_task_waiting_in_the_queue_are_not_handed_out_again(
    published: Any, settings: Any
) -> None:
    # Overload: the batch's task still waits in the broker queue after the lease ran out.
    ids = store(2)
    outbox_relay()
    celery_app.send_task("surveys.tasks.process_replies", args=[ids])  # the waiting task
    with later(settings.NPS_RELAY_REQUEUE_SECONDS + 1):
        assert outbox_relay() == 0
        celery_app.control.purge()  # the queue is empty and no worker renewed: lost
        assert outbox_relay() == 2
    assert published["replies"] == [ids, ids]


def test_a_worker_that_died_holding_a_batch_lets_it_go_when_its_lease_ends(
    published: Any, settings: Any
) -> None:
    ids = store(3)
    outbox_relay()

    def dies_after_the_first(pk: int) -> str:
        if pk != ids[0]:
            raise SystemExit("worker killed")
        InboundMessage.objects.filter(pk=pk).update(processed_at=timezone.now())
        return "processed"

    with pytest.raises(SystemExit):
        batch_process(
            InboundMessage, ids, lambda pks: {pk: dies_after_the_first(pk) for pk in pks}, chunk=1
        )
    assert outbox_relay() == 0  # its lease still runs
    with later(settings.NPS_RELAY_REQUEUE_SECONDS + 1):
        assert outbox_relay() == 2
    assert published["replies"] == [ids, ids[1:]]


def later(seconds: float) -> Any:
    return time_machine.travel(timezone.now() + timedelta(seconds=seconds), tick=False)


def test_while_tasks_wait_only_whole_batches_go_out_and_a_part_batch_waits_a_little(
    published: Any, settings: Any
) -> None:
    # Overload: a batch's task waits in the broker queue. Rows that fill a batch go out;
    # the rest are held (a worker would not reach them before the next run anyway) until
    # the oldest has waited HOLD_INTERVALS relay intervals.
    celery_app.send_task("surveys.tasks.process_replies", args=[[0]])  # the waiting task
    ids = store(5)
    assert outbox_relay(batch=2) == 4
    assert published["replies"] == [ids[0:2], ids[2:4]]
    held = settings.NPS_RELAY_INTERVAL * relay.HOLD_INTERVALS
    with later(held - 0.5):
        assert outbox_relay(batch=2) == 0
    with later(held + 0.5):
        assert outbox_relay(batch=2) == 1
    assert published["replies"][-1] == ids[4:5]
    celery_app.control.purge()


def test_with_the_queue_empty_a_part_batch_goes_out_at_once(published: Any) -> None:
    ids = store(3)
    assert outbox_relay(batch=2) == 3
    assert published["replies"] == [ids[0:2], ids[2:3]]


def test_a_relay_run_still_queued_after_one_interval_is_dropped(settings: Any) -> None:
    # Runs piling up behind reply batches under overload would each cost the reply worker.
    entry = settings.CELERY_BEAT_SCHEDULE["relay-outbox"]
    assert entry["task"] == "surveys.tasks.relay_outbox"
    assert entry["options"]["expires"] == entry["schedule"] == settings.NPS_RELAY_INTERVAL


def test_processed_rows_are_never_relayed(published: Any) -> None:
    ids = store(2)
    InboundMessage.objects.filter(pk=ids[0]).update(processed_at=timezone.now())
    outbox_relay()
    assert published["replies"] == [ids[1:]]


@pytest.fixture
def dead_broker(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Point the Celery app at a port where nothing listens, as when Redis is down."""
    saved = celery_app.conf.broker_url, celery_app.conf.broker_transport_options
    # Celery reads the CELERY_BROKER_URL environment variable before its configuration.
    monkeypatch.setenv("CELERY_BROKER_URL", "redis://127.0.0.1:9/0")
    celery_app.conf.broker_url = "redis://127.0.0.1:9/0"
    celery_app.conf.broker_transport_options = {"socket_connect_timeout": 0.5}
    fresh_connections()
    try:
        yield
    finally:
        celery_app.conf.broker_url, celery_app.conf.broker_transport_options = saved
        fresh_connections()


def fresh_connections() -> None:
    """Drop the app's broker connections and the producers bound to them, so the next
    publish connects to the broker the configuration names now."""
    kombu_pools.reset()  # closes every pool and forgets it (a closed one is never reused)
    celery_app._pool = None
    celery_app.amqp._producer_pool = None


def test_webhook_answers_2xx_and_keeps_the_reply_when_the_broker_is_down(
    client: Client, dead_broker: Any
) -> None:
    body = json.dumps({"message_id": "MO-DOWN", "from": "+8613800138000", "text": "3"}).encode()
    answer = client.post(
        "/webhooks/simulator/inbound/",
        body,
        content_type="application/json",
        headers={HEADER: sign_body("sim-dev-secret", body)},
    )
    assert answer.status_code == 200
    assert InboundMessage.objects.get().processed_at is None


def test_relay_with_the_broker_down_keeps_the_rows_for_a_later_run(
    dead_broker: Any, caplog: pytest.LogCaptureFixture, settings: Any
) -> None:
    store(2)
    outbox_relay()  # claims, then the publish after commit fails (logged, not raised)
    assert "on_commit" in caplog.text
    assert InboundMessage.objects.filter(processed_at__isnull=True).count() == 2
