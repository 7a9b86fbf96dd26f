"""Sending the outbox to loopback fakes of a generic receiver, WeCom and DingTalk, each
checking format and signature as the provider does; retries, giving up, replay."""

import json
from collections import Counter
from collections.abc import Iterator
from datetime import timedelta
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.test import override_settings
from django.utils import timezone

from followups.cases import case_open
from nps.models import DeliveryStatus, EventType, WebhookDelivery, WebhookKind
from nps.outbound import events, sending
from nps.outbound.formats import dingtalk_sign, generic_signature
from surveys.queue import registered_task
from tests.nps.fakes import Fake, serving
from tests.nps.outbound_world import AT, answered, subscription

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def no_broker(monkeypatch: pytest.MonkeyPatch) -> None:
    """The tests send by calling the sweeper's service, as the task does."""
    monkeypatch.setattr(events, "task_queue", lambda *a, **kw: None)
    monkeypatch.setattr(sending, "task_queue", lambda *a, **kw: None)


def sweep() -> int:
    """What beat and the workers do: send every row whose attempt is due."""
    return sending.deliveries_send(ids=sending.deliveries_due())


@pytest.fixture
def generic() -> Iterator[Fake]:
    with serving(Fake("generic", secret="s3cret")) as fake:
        yield fake


def alert(n: int = 0) -> list[int]:
    payload = {"title": f"热线 贬损率上升 {n}", "text": "北京 热线: 贬损率 31% (基线 18%)"}
    return events.event_publish(event_type=EventType.ALERT_RAISED, payload=payload, at=AT)


# ---------------------------------------------------------------- the generic receiver


def test_a_generic_receiver_gets_the_event_signed(generic: Fake) -> None:
    subscription(generic.url, secret="s3cret")
    [pk] = alert()

    assert sweep() == 1

    row = WebhookDelivery.objects.get(pk=pk)
    assert [m["id"] for m in generic.accepted] == [str(row.event_id)]
    message = generic.accepted[0]
    assert message["type"] == "alert.raised"
    assert message["data"]["title"] == "热线 贬损率上升 0"
    assert message["occurred_at"] == "2026-11-23T02:00:00+00:00"
    assert row.status == DeliveryStatus.DELIVERED
    assert row.attempts == 1
    assert row.last_status_code == 200
    assert json.loads(row.last_request)["id"] == str(row.event_id)  # the body, for the log


def test_the_signature_is_hmac_sha256_over_timestamp_dot_body() -> None:
    # Known value: printf '1700000000.{"a":1}' | openssl dgst -sha256 -hmac key
    assert generic_signature(secret="key", timestamp="1700000000", body=b'{"a":1}') == (
        "sha256=a438e398bfafc57e4396bb7fc2304422f0f768e965d073ca313cb52e22e6ad03"
    )


def test_the_dingtalk_sign_is_base64_hmac_of_timestamp_newline_secret_urlencoded() -> None:
    # Known value: printf '1700000000000\nSECabc' | openssl dgst -sha256 -hmac SECabc -binary
    # | base64, then URL-encoded
    assert dingtalk_sign(secret="SECabc", timestamp_ms="1700000000000") == (
        "jcUpW0QmtKduN03n4JqQ0PBosVjqnM8gU7fIIvsDmCM%3D"
    )


def test_a_wrong_secret_is_refused_by_the_receiver_and_retried(generic: Fake) -> None:
    subscription(generic.url, secret="not-the-receivers")
    [pk] = alert()

    assert sweep() == 0

    row = WebhookDelivery.objects.get(pk=pk)
    assert generic.refused == ["bad signature"]
    assert generic.accepted == []
    assert row.status == DeliveryStatus.FAILED
    assert row.last_status_code == 401
    assert "bad signature" in row.last_error
    assert row.next_attempt_at > timezone.now() + timedelta(seconds=29)


def test_a_receiver_that_fails_then_recovers_gets_every_event_once(generic: Fake) -> None:
    """Down for seven requests: five events fail, then two of their retries; every one
    arrives once the backoff allows, none twice, none lost."""
    generic.fail_first = 7
    subscription(generic.url, secret="s3cret")
    start = timezone.now()
    with time_machine.travel(start, tick=False) as clock:
        ids = [pk for n in range(5) for pk in alert(n)]
        assert sweep() == 0  # requests 1-5 fail
        assert generic.requests == 5

        clock.shift(timedelta(seconds=25))
        assert sending.deliveries_due() == []  # the backoff (30 s) has not passed

        clock.shift(timedelta(seconds=10))
        assert sweep() == 3  # requests 6-7 fail, 8-10 get through
        assert generic.requests == 10

        clock.shift(timedelta(seconds=35))
        assert sending.deliveries_due() == []  # a second failure waits 60 s, not 30

        clock.shift(timedelta(seconds=35))
        assert sweep() == 2
        assert sweep() == 0  # nothing left to send

    rows = WebhookDelivery.objects.filter(pk__in=ids)
    assert Counter(m["id"] for m in generic.accepted) == Counter(
        str(e) for e in rows.values_list("event_id", flat=True)
    )
    assert max(Counter(m["id"] for m in generic.accepted).values()) == 1
    assert generic.requests == 12
    assert sorted(rows.values_list("status", flat=True)) == [DeliveryStatus.DELIVERED] * 5
    assert sorted(rows.values_list("attempts", flat=True)) == [2, 2, 2, 3, 3]


def test_an_unreachable_receiver_is_given_up_after_the_last_attempt() -> None:
    subscription("http://127.0.0.1:9/closed-port", secret="s3cret")
    with override_settings(NPS_WEBHOOK_MAX_ATTEMPTS=3), time_machine.travel(AT) as clock:
        [pk] = alert()
        for _attempt in range(3):
            assert sending.deliveries_due() == [pk]
            sweep()
            clock.shift(timedelta(hours=2))
        row = WebhookDelivery.objects.get(pk=pk)
        assert row.status == DeliveryStatus.DEAD
        assert row.attempts == 3
        assert "ConnectionError" in row.last_error
        assert sending.deliveries_due() == []


def test_a_day_old_event_is_given_up_on_its_next_failure() -> None:
    subscription("http://127.0.0.1:9/closed-port", secret="s3cret")
    with time_machine.travel(AT) as clock:
        [pk] = alert()
        sweep()
        assert WebhookDelivery.objects.get(pk=pk).status == DeliveryStatus.FAILED
        clock.shift(timedelta(hours=24, minutes=1))
        sweep()
    assert WebhookDelivery.objects.get(pk=pk).status == DeliveryStatus.DEAD


def test_backoff_doubles_from_30_seconds_to_an_hour() -> None:
    for attempts, seconds in [(1, 30), (2, 60), (3, 120), (7, 1920), (8, 3600), (20, 3600)]:
        delay = sending.retry_delay(attempts).total_seconds()
        assert seconds <= delay <= seconds * 1.1, attempts


def test_a_replay_sends_the_same_event_again(generic: Fake) -> None:
    subscription(generic.url, secret="s3cret")
    [pk] = alert()
    sweep()
    assert sending.deliveries_due() == []

    assert sending.deliveries_replay(ids=[pk]) == 1
    assert sweep() == 1

    first, second = generic.accepted
    assert first["id"] == second["id"]  # the receiver can tell it is the same event
    row = WebhookDelivery.objects.get(pk=pk)
    assert row.status == DeliveryStatus.DELIVERED
    assert row.attempts == 1


def test_a_dead_delivery_replayed_after_the_receiver_recovers_is_delivered(generic: Fake) -> None:
    generic.fail_first = 1
    subscription(generic.url, secret="s3cret")
    with override_settings(NPS_WEBHOOK_MAX_ATTEMPTS=1):
        [pk] = alert()
        sweep()
        assert WebhookDelivery.objects.get(pk=pk).status == DeliveryStatus.DEAD
        sending.deliveries_replay(ids=[pk])
        sweep()
    assert WebhookDelivery.objects.get(pk=pk).status == DeliveryStatus.DELIVERED
    assert len(generic.accepted) == 1


def test_an_attempt_is_claimed_once() -> None:
    subscription("http://127.0.0.1:9/closed-port", secret="s3cret")
    [pk] = alert()
    now = timezone.now()
    assert sending.delivery_claim(pk, now=now) is not None
    assert sending.delivery_claim(pk, now=now) is None  # taken: its lease runs
    assert sending.delivery_claim(pk, now=now + timedelta(minutes=3)) is not None  # lost


# ---------------------------------------------------------------- the group bots


def test_wecom_gets_a_chinese_markdown_message() -> None:
    with serving(Fake("wecom")) as wecom:
        subscription(wecom.url, kind=WebhookKind.WECOM, secret="",
                     events=[EventType.RESPONSE_RECORDED])  # fmt: skip
        answered(score=3, comment="信号差", touchpoint="hotline", phone="+8613800138000")
        assert sweep() == 1
    [message] = wecom.accepted
    content = message["markdown"]["content"]
    assert "新的贬损者回复: 客服热线, 3分, 原因: 网络/信号" in content
    assert "+86138******00" in content
    assert "+8613800138000" not in content


def test_wecom_refusing_a_message_is_a_failure() -> None:
    with serving(Fake("wecom")) as wecom:
        subscription(wecom.url.replace("wecom-key", "revoked"), kind=WebhookKind.WECOM, secret="")
        [pk] = alert()
        assert sweep() == 0
    row = WebhookDelivery.objects.get(pk=pk)
    assert row.status == DeliveryStatus.FAILED
    assert row.last_status_code == 200
    assert row.last_error.startswith("errcode 93000")


def test_dingtalk_gets_a_signed_markdown_message() -> None:
    with serving(Fake("dingtalk", secret="SECabc123")) as ding:
        subscription(ding.url, kind=WebhookKind.DINGTALK, secret="SECabc123")
        [pk] = alert(7)
        assert sweep() == 1
    [message] = ding.accepted
    assert message["markdown"]["title"] == "预警：热线 贬损率上升 7"
    assert "北京 热线: 贬损率 31% (基线 18%)" in message["markdown"]["text"]
    assert "时间：2026-11-23 10:00" in message["markdown"]["text"]  # Shanghai time
    assert WebhookDelivery.objects.get(pk=pk).status == DeliveryStatus.DELIVERED


def test_dingtalk_refuses_a_wrong_sign_with_310000() -> None:
    with serving(Fake("dingtalk", secret="SECabc123")) as ding:
        subscription(ding.url, kind=WebhookKind.DINGTALK, secret="SECwrong")
        [pk] = alert()
        assert sweep() == 0
    assert ding.refused == ["sign not match"]
    row = WebhookDelivery.objects.get(pk=pk)
    assert row.status == DeliveryStatus.FAILED
    assert row.last_error.startswith("errcode 310000")


def test_a_case_opened_reaches_dingtalk_with_its_due_time_in_shanghai() -> None:
    with serving(Fake("dingtalk", secret="SECabc123")) as ding:
        subscription(ding.url, kind=WebhookKind.DINGTALK, secret="SECabc123",
                     events=[EventType.CASE_OPENED])  # fmt: skip
        case = case_open(response=answered(score=0, phone="+8613900002222"))
        assert case is not None
        assert sweep() == 1
    [message] = ding.accepted
    due = case.sla_due_at.astimezone(ZoneInfo("Asia/Shanghai"))
    assert message["markdown"]["title"] == f"工单#{case.pk}已创建"
    assert f"首次联系截止{due:%Y-%m-%d %H:%M}" in message["markdown"]["text"]
    assert "+86139******22" in message["markdown"]["text"]


def test_the_sweeper_queues_the_due_rows_in_tasks_of_fifty(monkeypatch: pytest.MonkeyPatch) -> None:
    queued: list[tuple[str, list[int], bool]] = []
    monkeypatch.setattr(
        sending, "task_queue",
        lambda name, ids, after_commit=True: queued.append((name, ids, after_commit)),
    )  # fmt: skip
    subscription("http://127.0.0.1:9/a", events=[EventType.ALERT_RAISED])
    subscription("http://127.0.0.1:9/b", events=[EventType.ALERT_RAISED])
    ids = sorted(pk for n in range(30) for pk in alert(n))  # 60 rows
    later = [ids.pop()]
    WebhookDelivery.objects.filter(pk__in=later).update(
        next_attempt_at=timezone.now() + timedelta(minutes=5)
    )
    assert sending.deliveries_sweep() == 59
    assert [(name, len(chunk), after) for name, chunk, after in queued] == [
        ("nps.tasks.deliver_webhooks", 50, False), ("nps.tasks.deliver_webhooks", 9, False),
    ]  # fmt: skip
    assert sorted(pk for _name, chunk, _after in queued for pk in chunk) == ids


def test_the_tasks_the_outbox_names_are_registered() -> None:
    assert registered_task("nps.tasks.deliver_webhooks").name == "nps.tasks.deliver_webhooks"
    assert registered_task("nps.tasks.sweep_webhooks").name == "nps.tasks.sweep_webhooks"


def test_a_long_wecom_message_is_cut_to_4096_bytes() -> None:
    with serving(Fake("wecom")) as wecom:
        subscription(wecom.url, kind=WebhookKind.WECOM, secret="")
        events.event_publish(
            event_type=EventType.ALERT_RAISED, payload={"title": "长", "text": "网络" * 3000}, at=AT
        )
        assert sweep() == 1  # the fake refuses more than 4096 bytes
    assert len(wecom.accepted[0]["markdown"]["content"].encode()) <= 4096
