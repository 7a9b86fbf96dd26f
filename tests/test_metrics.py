"""/metrics: Prometheus' text format, for the holder of NPS_METRICS_TOKEN only, with
values that match the rows counted by hand."""

from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from django.conf import settings as django_settings
from django.test import Client
from django.utils import timezone
from prometheus_client.parser import text_string_to_metric_families

from followups.models import Case, CaseStatus
from nps.celery import app as celery_app
from surveys.gateways.base import InboundSMS, StatusReport
from surveys.models import (
    Category,
    InboundMessage,
    Invitation,
    InvitationStatus,
    OutboundMessage,
    OutboundStatus,
    Response,
)
from surveys.receipts import receipt_store
from surveys.replies import reply_store
from tests.factories import InteractionFactory

TOKEN = "scrape-0123456789abcdef"
Samples = dict[tuple[str, tuple[tuple[str, str], ...]], float]


@pytest.fixture
def token(settings: Any) -> str:
    settings.NPS_METRICS_TOKEN = TOKEN
    return TOKEN


@pytest.fixture
def empty_queues() -> Iterator[None]:
    """This run's queues, empty before and after (tasks published here have no worker)."""
    celery_app.control.purge()
    yield
    celery_app.control.purge()


def scrape(client: Client) -> Samples:
    """Every sample of one scrape, by name and labels, parsed by prometheus_client."""
    response = client.get("/metrics", HTTP_AUTHORIZATION=f"Bearer {TOKEN}")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/plain")
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(response.content.decode())
        for sample in family.samples
    }


def invitation_create(status: str) -> Invitation:
    interaction = InteractionFactory()
    return Invitation.objects.create(
        interaction=interaction, customer=interaction.customer, status=status
    )


def case_create(status: str, *, due_in_minutes: int, held: bool = False) -> Case:
    """A case whose first contact is due `due_in_minutes` from now (negative: past)."""
    invitation = invitation_create(InvitationStatus.RESPONDED)
    response = Response.objects.create(
        invitation=invitation,
        customer=invitation.customer,
        interaction=invitation.interaction,
        score=3,
        category=Category.DETRACTOR,
    )
    return Case.objects.create(
        response=response,
        customer=response.customer,
        priority="P2",
        status=status,
        sla_due_at=timezone.now() + timedelta(minutes=due_in_minutes),
        held_since=timezone.now() if held else None,
    )


def test_without_the_setting_there_is_no_metrics_endpoint(client: Client, settings: Any) -> None:
    settings.NPS_METRICS_TOKEN = ""
    assert client.get("/metrics").status_code == 404
    assert client.get("/metrics", HTTP_AUTHORIZATION="Bearer ").status_code == 404


@pytest.mark.parametrize(
    "authorization",
    [None, "", "Bearer wrong-token", f"Token {TOKEN}", TOKEN, f"Bearer {TOKEN}x"],
)
def test_anything_but_the_bearer_token_is_refused(
    client: Client, token: str, authorization: str | None
) -> None:
    headers = {} if authorization is None else {"HTTP_AUTHORIZATION": authorization}
    assert client.get("/metrics", **headers).status_code == 403  # type: ignore[arg-type]


@pytest.mark.django_db
def test_a_staff_login_is_not_a_token(client: Client, token: str, admin_user: Any) -> None:
    client.force_login(admin_user)
    assert client.get("/metrics").status_code == 403


@pytest.mark.django_db
def test_sends_cases_and_sla_breaches_match_the_rows(client: Client, token: str) -> None:
    for status in ["sent", "sent", "sent", "failed", "delivered", "delivered", "scheduled"]:
        invitation_create(status)
    customer = Invitation.objects.first().customer  # type: ignore[union-attr]
    for status in ["sent", "sent", "failed"]:
        OutboundMessage.objects.create(
            customer=customer, kind="thanks", language="zh-hans", text="谢谢", status=status
        )
    case_create(CaseStatus.NEW, due_in_minutes=-5)  # overdue
    case_create(CaseStatus.ASSIGNED, due_in_minutes=-60)  # overdue
    case_create(CaseStatus.ASSIGNED, due_in_minutes=60)  # not yet due
    case_create(CaseStatus.IN_PROGRESS, due_in_minutes=-60, held=True)  # on hold: clock stopped
    case_create(CaseStatus.RESOLVED, due_in_minutes=-60)  # closed cases are never overdue

    samples = scrape(client)

    def sends(kind: str, status: str) -> float:
        return samples[("nps_sends", (("kind", kind), ("status", status)))]

    assert sends("invitation", "sent") == 3
    assert sends("invitation", "delivered") == 2
    assert sends("invitation", "failed") == 1
    assert sends("invitation", "scheduled") == 1
    assert sends("invitation", "responded") == 5  # the cases' answered surveys
    assert sends("invitation", "expired") == 0  # every status is present, 0 included
    assert sends("conversation", "sent") == 2
    assert sends("conversation", "failed") == 1
    assert sends("conversation", OutboundStatus.QUEUED) == 0
    cases = {s: samples[("nps_cases", (("status", s),))] for s in CaseStatus.values}
    assert cases == {
        "new": 1,
        "assigned": 2,
        "in_progress": 1,
        "resolved": 1,
        "unreachable": 0,
        "closed": 0,
    }
    assert samples[("nps_cases_overdue", ())] == 2


@pytest.mark.django_db
def test_stored_webhooks_count_up_and_the_relay_lag_is_the_oldest_waiting(
    client: Client, token: str
) -> None:
    # One of each stored first: the counter is the highest id, and on PostgreSQL the ids of
    # an earlier test's rolled-back rows are gone for good (an empty table counts 0).
    reply_store(gateway="simulator", sms=InboundSMS("in-first", "+8613800138000", "9"))
    receipt_store(gateway="simulator", report=StatusReport("out-0", "delivered"))
    before = scrape(client)
    for n in range(3):
        reply_store(gateway="simulator", sms=InboundSMS(f"in-{n}", "+8613800138000", "9"))
    receipt_store(gateway="simulator", report=StatusReport("out-1", "delivered"))
    InboundMessage.objects.filter(gateway_message_id="in-0").update(
        received_at=timezone.now() - timedelta(seconds=100)
    )
    after = scrape(client)

    def stored(samples: Samples, kind: str) -> float:
        return samples[("nps_webhook_messages_stored_total", (("kind", kind),))]

    assert stored(after, "reply") - stored(before, "reply") == 3
    assert stored(after, "receipt") - stored(before, "receipt") == 1
    assert 100 <= after[("nps_relay_lag_seconds", (("kind", "reply"),))] < 160
    assert after[("nps_relay_lag_seconds", (("kind", "receipt"),))] < 60
    assert 100 <= after[("nps_unprocessed_oldest_seconds", (("kind", "reply"),))] < 160


@pytest.mark.django_db
def test_queue_depths_count_the_waiting_tasks(
    client: Client, token: str, empty_queues: None
) -> None:
    reporting = django_settings.NPS_QUEUES["reporting"]
    for _ in range(3):
        celery_app.send_task("nps.tasks.refresh_rollups", queue=reporting)
    samples = scrape(client)
    depths = {
        queue.name: samples[("nps_queue_depth", (("queue", queue.name),))]
        for queue in django_settings.CELERY_TASK_QUEUES
    }
    assert depths.pop(reporting) == 3
    assert set(depths.values()) == {0}
