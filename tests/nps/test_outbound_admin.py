"""The webhook admin: subscriptions with a test event, the delivery log and its replay."""

from typing import Any

import pytest
from django.contrib.auth.models import User
from django.test import Client
from django.urls import reverse

from followups.permissions import roles_ensure
from nps.models import DeliveryStatus, EventType, WebhookDelivery, WebhookSubscription
from nps.outbound import events, sending
from tests.followups.personas import staff
from tests.nps.outbound_world import AT, subscription

pytestmark = pytest.mark.django_db


@pytest.fixture
def supervisor(db: Any, monkeypatch: pytest.MonkeyPatch) -> Client:
    monkeypatch.setattr(events, "task_queue", lambda *a, **kw: None)
    monkeypatch.setattr(sending, "task_queue", lambda *a, **kw: None)
    roles_ensure()
    client = Client()
    client.force_login(staff("sue", "Supervisors"))
    return client


def dead_delivery() -> WebhookDelivery:
    subscription("http://127.0.0.1:9/hook", events=[EventType.ALERT_RAISED])
    [pk] = events.event_publish(
        event_type=EventType.ALERT_RAISED, payload={"title": "热线预警"}, at=AT
    )
    WebhookDelivery.objects.filter(pk=pk).update(
        status=DeliveryStatus.DEAD, attempts=15, last_status_code=500,
        last_error="HTTP 500: upstream down", last_request='{"id":"x","data":{"title":"热线预警"}}',
    )  # fmt: skip
    return WebhookDelivery.objects.get(pk=pk)


def test_a_supervisor_adds_a_subscription_with_its_events(supervisor: Client) -> None:
    answer = supervisor.post(
        reverse("admin:nps_webhooksubscription_add"),
        {"name": "质量群", "kind": "dingtalk", "url": "https://oapi.dingtalk.com/robot/send?access_token=t",
         "event_types": ["alert.raised", "case.opened"], "secret": "SECx", "active": "on"},
    )  # fmt: skip
    assert answer.status_code == 302
    hook = WebhookSubscription.objects.get(name="质量群")
    assert sorted(hook.event_types) == ["alert.raised", "case.opened"]
    assert hook.kind == "dingtalk"


def test_a_dingtalk_subscription_needs_its_secret(supervisor: Client) -> None:
    answer = supervisor.post(
        reverse("admin:nps_webhooksubscription_add"),
        {"name": "x", "kind": "dingtalk", "url": "https://oapi.dingtalk.com/robot/send?access_token=t",
         "event_types": ["alert.raised"], "secret": "", "active": "on"},
    )  # fmt: skip
    assert answer.status_code == 200  # the form again, with the error
    assert not WebhookSubscription.objects.exists()


def test_the_test_event_action_queues_one_delivery_per_subscription(supervisor: Client) -> None:
    first = subscription("http://127.0.0.1:9/a", events=[EventType.CASE_OPENED])
    second = subscription("http://127.0.0.1:9/b", active=False)
    supervisor.post(
        reverse("admin:nps_webhooksubscription_changelist"),
        {"action": "send_test_event", "_selected_action": [first.pk, second.pk]},
    )
    tests = WebhookDelivery.objects.filter(event_type=EventType.TEST)
    assert sorted(tests.values_list("subscription_id", flat=True)) == [first.pk, second.pk]
    assert set(tests.values_list("status", flat=True)) == {DeliveryStatus.PENDING}


def test_the_log_shows_the_body_and_the_error_and_filters_by_status(supervisor: Client) -> None:
    delivery = dead_delivery()
    page = supervisor.get(reverse("admin:nps_webhookdelivery_change", args=[delivery.pk]))
    text = page.content.decode()
    assert "HTTP 500: upstream down" in text
    assert "热线预警" in text
    assert reverse("admin:nps_webhookdelivery_replay", args=[delivery.pk]) in text
    listed = supervisor.get(reverse("admin:nps_webhookdelivery_changelist"), {"status": "dead"})
    assert list(listed.context["cl"].result_list) == [delivery]
    none = supervisor.get(reverse("admin:nps_webhookdelivery_changelist"), {"status": "delivered"})
    assert list(none.context["cl"].result_list) == []


def test_the_replay_button_queues_the_same_event_again(supervisor: Client) -> None:
    delivery = dead_delivery()
    answer = supervisor.post(reverse("admin:nps_webhookdelivery_replay", args=[delivery.pk]))
    assert answer.status_code == 302
    again = WebhookDelivery.objects.get(pk=delivery.pk)
    assert again.status == DeliveryStatus.PENDING
    assert again.attempts == 0
    assert again.event_id == delivery.event_id
    assert sending.deliveries_due() == [delivery.pk]


def test_the_replay_action_on_many(supervisor: Client) -> None:
    delivery = dead_delivery()
    supervisor.post(
        reverse("admin:nps_webhookdelivery_changelist"),
        {"action": "replay", "_selected_action": [delivery.pk]},
    )
    assert WebhookDelivery.objects.get(pk=delivery.pk).status == DeliveryStatus.PENDING


def test_an_agent_cannot_replay(supervisor: Client) -> None:
    delivery = dead_delivery()
    agent = Client()
    agent.force_login(staff("ann", "Agents"))
    answer = agent.post(reverse("admin:nps_webhookdelivery_replay", args=[delivery.pk]))
    assert answer.status_code == 403
    assert WebhookDelivery.objects.get(pk=delivery.pk).status == DeliveryStatus.DEAD
    assert not User.objects.get(username="ann").has_perm("nps.view_webhookdelivery")
