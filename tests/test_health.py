"""/health/ says whether the loop is doing its work: each check healthy, then broken.

The checks run in threads of their own (django-health-check), which see only committed
rows: these tests use transactional database access.
"""

import re
from datetime import timedelta
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone

from nps import tasks
from nps.heartbeat import heartbeat_last, heartbeat_record
from surveys.models import DeliveryReceipt, InboundMessage

pytestmark = pytest.mark.django_db(transaction=True)

PHONE, TEXT = "+8613800138000", "给3分 13800138000 太慢了"


@pytest.fixture(autouse=True)
def thresholds(settings: Any) -> None:
    settings.NPS_HEALTH_BEAT_MAX_AGE = 120
    settings.NPS_HEALTH_RELAY_LAG_MAX = 60
    settings.NPS_HEALTH_REPLY_AGE_MAX = 300


@pytest.fixture(autouse=True)
def beat_alive() -> None:
    """Beat's heartbeat just now (a test that wants it stale writes an older one)."""
    heartbeat_record(at=timezone.now())


def reply_stored(seconds_ago: float, *, relayed: bool = False, processed: bool = False) -> None:
    """A customer's reply that arrived `seconds_ago`, queued by the relay or not, processed
    or not."""
    at = timezone.now() - timedelta(seconds=seconds_ago)
    message = InboundMessage.objects.create(
        gateway="simulator",
        gateway_message_id=f"m-{InboundMessage.objects.count()}",
        phone=PHONE,
        text=TEXT,
        payload={"from": PHONE, "text": TEXT},
        enqueued_at=at if relayed else None,
        processed_at=timezone.now() if processed else None,
    )
    InboundMessage.objects.filter(pk=message.pk).update(received_at=at)  # auto_now_add


def health(client: Client, path: str = "/health/") -> tuple[int, dict[str, Any]]:
    response = client.get(path)
    return response.status_code, response.json()


def seconds_in(detail: str) -> int:
    """The age a failing check reports (the machine may be slow: at least, not exactly)."""
    return int(re.search(r"(\d+) s\b", detail).group(1))  # type: ignore[union-attr]


def unhealthy(body: dict[str, Any]) -> set[str]:
    return {name for name, check in body["checks"].items() if not check["healthy"]}


def test_a_working_loop_answers_200_with_every_check(client: Client) -> None:
    reply_stored(5)  # a reply that just arrived is no lag
    status, body = health(client)
    assert status == 200
    assert body["healthy"] is True
    assert set(body["checks"]) == {"database", "broker", "beat", "relay", "replies"}
    assert unhealthy(body) == set()


def test_a_stale_beat_heartbeat_is_unhealthy(client: Client) -> None:
    heartbeat_record(at=timezone.now() - timedelta(seconds=121))
    status, body = health(client)
    assert status == 503
    assert unhealthy(body) == {"beat"}
    assert body["checks"]["beat"]["detail"].startswith("last heartbeat")
    assert 121 <= seconds_in(body["checks"]["beat"]["detail"]) < 180


def test_the_heartbeat_task_stamps_the_time_the_check_reads() -> None:
    heartbeat_record(at=timezone.now() - timedelta(hours=1))
    tasks.beat_heartbeat()
    last = heartbeat_last()
    assert last is not None
    assert timezone.now() - last < timedelta(seconds=5)


def test_a_reply_the_relay_has_not_queued_past_the_threshold_is_relay_lag(client: Client) -> None:
    reply_stored(90)
    status, body = health(client)
    assert status == 503
    assert unhealthy(body) == {"relay"}  # 90 s is no age for a reply yet (300 s)
    assert body["checks"]["relay"]["detail"].startswith("relay lag")
    assert 90 <= seconds_in(body["checks"]["relay"]["detail"]) < 150


def test_a_receipt_the_relay_has_not_queued_is_relay_lag_too(client: Client) -> None:
    receipt = DeliveryReceipt.objects.create(
        gateway="simulator", provider_message_id="p-1", status="delivered", payload={}
    )
    DeliveryReceipt.objects.filter(pk=receipt.pk).update(
        received_at=timezone.now() - timedelta(seconds=61)
    )
    assert unhealthy(health(client)[1]) == {"relay"}


def test_a_queued_reply_is_no_relay_lag(client: Client) -> None:
    reply_stored(90, relayed=True)
    assert health(client)[0] == 200


def test_an_old_unprocessed_reply_is_unhealthy_even_once_queued(client: Client) -> None:
    reply_stored(301, relayed=True)
    status, body = health(client)
    assert status == 503
    assert unhealthy(body) == {"replies"}
    assert body["checks"]["replies"]["detail"].startswith("oldest unprocessed reply")
    assert 301 <= seconds_in(body["checks"]["replies"]["detail"]) < 360


def test_an_old_processed_reply_counts_for_nothing(client: Client) -> None:
    reply_stored(3600, relayed=True, processed=True)
    assert health(client)[0] == 200


def test_the_answer_carries_no_personal_data(client: Client) -> None:
    reply_stored(3600)  # every age check fails and says why
    response = client.get("/health/")
    assert response.status_code == 503
    text = response.content.decode()
    for personal in ("13800138000", "138000", "太慢", "simulator", "m-0"):
        assert personal not in text


def test_a_broker_that_cannot_be_reached_is_unhealthy_and_unnamed(
    client: Client, settings: Any, tmp_path: Any
) -> None:
    if settings.CELERY_BROKER_URL.startswith("filesystem"):
        options = dict(settings.CELERY_BROKER_TRANSPORT_OPTIONS)
        options["data_folder_in"] = str(tmp_path / "nowhere-xyz")
        settings.CELERY_BROKER_TRANSPORT_OPTIONS = options
    else:
        settings.CELERY_BROKER_URL = "redis://127.0.0.1:1/0"  # nothing listens on port 1
    status, body = health(client, "/health/web/")
    assert status == 503
    assert unhealthy(body) == {"broker"}
    assert "127.0.0.1" not in str(body)
    assert "nowhere-xyz" not in str(body)


def test_the_load_balancer_check_ignores_what_a_web_process_cannot_fix(client: Client) -> None:
    heartbeat_record(at=timezone.now() - timedelta(hours=1))
    reply_stored(3600)
    status, body = health(client, "/health/web/")
    assert status == 200
    assert set(body["checks"]) == {"database", "broker"}
    assert health(client)[0] == 503  # while the full check sees all of it


def test_health_needs_no_login_and_is_never_cached(client: Client) -> None:
    response = client.get("/health/")
    assert response.status_code == 200
    assert "no-cache" in response["Cache-Control"]
