"""The outbox: events become delivery rows in their own transaction, queued after commit."""

from typing import Any

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext

from followups.assignment import case_assign
from followups.cases import case_open
from nps.models import DeliveryStatus, EventType, WebhookDelivery
from nps.outbound import events
from surveys.models import Invitation, Response
from surveys.responses import responses_record
from tests.factories import AgentFactory, TeamFactory
from tests.nps.outbound_world import AT, answered, invitation, subscription

pytestmark = pytest.mark.django_db


@pytest.fixture
def queued(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, list[int], bool]]:
    """The tasks the outbox asked for, with whether they wait for the commit."""
    calls: list[tuple[str, list[int], bool]] = []

    def record(name: str, ids: list[int], *, after_commit: bool = True, **kw: Any) -> None:
        calls.append((name, ids, after_commit))

    monkeypatch.setattr(events, "task_queue", record)
    return calls


def test_an_answer_writes_one_row_per_subscription_of_its_event(queued: list[Any]) -> None:
    first = subscription(
        "http://127.0.0.1:9/a", events=[EventType.RESPONSE_RECORDED, "alert.raised"]
    )
    second = subscription("http://127.0.0.1:9/b", events=[EventType.RESPONSE_RECORDED])
    subscription("http://127.0.0.1:9/c", events=[EventType.CASE_OPENED])  # not this event
    subscription("http://127.0.0.1:9/d", active=False)

    response = answered(score=3, comment="信号差，打不了电话 13912345678")

    rows = WebhookDelivery.objects.filter(event_type=EventType.RESPONSE_RECORDED)
    assert sorted(rows.values_list("subscription_id", flat=True)) == [first.pk, second.pk]
    assert len({row.event_id for row in rows}) == 1  # one event, told to two places
    payload = rows[0].payload
    assert payload["response_id"] == response.pk
    assert payload["score"] == 3
    assert payload["category"] == "detractor"
    assert payload["touchpoint"] == "hotline"
    assert [r["code"] for r in payload["reasons"]] == ["network"]
    assert payload["customer_phone"] == "+86138******00"  # masked
    assert "13912345678" not in payload["comment"]
    assert all(row.status == DeliveryStatus.PENDING for row in rows)
    # first the answer's event; then the case it opened, for the case.opened subscriber
    assert queued[0] == (
        "nps.tasks.deliver_webhooks",
        sorted(rows.values_list("pk", flat=True)),
        True,
    )


def test_an_event_rolled_back_leaves_no_delivery(queued: list[Any]) -> None:
    subscription(
        "http://127.0.0.1:9/a", events=[EventType.RESPONSE_RECORDED, EventType.ALERT_RAISED]
    )
    written_inside = []

    def answer_then_fail() -> None:
        with transaction.atomic():
            answered()
            events.event_publish(event_type=EventType.ALERT_RAISED, payload={"title": "x"}, at=AT)
            written_inside.append(WebhookDelivery.objects.count())
            raise RuntimeError("the request failed after the answer was stored")

    with pytest.raises(RuntimeError):
        answer_then_fail()
    assert written_inside == [2]  # written inside the transaction...
    assert WebhookDelivery.objects.count() == 0  # ...and gone with it
    assert Response.objects.count() == 0


def test_the_task_is_queued_only_after_commit(
    django_capture_on_commit_callbacks: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    published: list[list[int]] = []
    monkeypatch.setattr(
        "surveys.queue.registered_task",
        lambda name: type("T", (), {"delay": staticmethod(lambda ids: published.append(ids))}),
    )
    subscription("http://127.0.0.1:9/a")
    with django_capture_on_commit_callbacks(execute=True):
        ids = events.event_publish(event_type=EventType.ALERT_RAISED, payload={}, at=AT)
        assert published == []  # nothing leaves before the commit
    assert published == [ids]


def test_the_batch_of_answers_costs_the_same_queries_for_two_or_six(queued: list[Any]) -> None:
    subscription("http://127.0.0.1:9/a")
    subscription("http://127.0.0.1:9/b")

    def batch(n: int, start: int) -> tuple[int, list[Response]]:
        invitations: list[Invitation] = [
            invitation(phone=f"+86138001{start + i:05d}") for i in range(n)
        ]
        with transaction.atomic():
            responses = responses_record(
                answers=[(inv, 2, "网速慢", None) for inv in invitations]  # type: ignore[misc]
            )
        WebhookDelivery.objects.filter(payload__response_id__in=[r.pk for r in responses]).delete()
        with CaptureQueriesContext(connection) as queries:
            events.on_responses_recorded(Response, responses=responses)
        return len(queries), responses

    two, _two = batch(2, 0)
    six, responses = batch(6, 100)
    assert two == six
    assert two <= 5  # subscribers, answers, reasons, the insert (+ savepoint on some backends)
    rows = WebhookDelivery.objects.filter(payload__response_id__in=[r.pk for r in responses])
    assert rows.count() == 12


def test_without_subscribers_an_answer_costs_one_query(queued: list[Any]) -> None:
    subscription("http://127.0.0.1:9/c", events=[EventType.ALERT_RAISED])
    response = answered()
    with CaptureQueriesContext(connection) as queries:
        events.on_responses_recorded(Response, responses=[response])
    assert len(queries) == 1
    assert WebhookDelivery.objects.count() == 0


def test_a_case_opened_and_assigned_tells_its_subscribers(queued: list[Any]) -> None:
    subscription("http://127.0.0.1:9/a", events=[EventType.CASE_OPENED, EventType.CASE_ASSIGNED])
    team = TeamFactory(name="North", regions=["BJ"])
    AgentFactory(name="王芳", team=team, capacity=5)
    case = case_open(response=answered(score=1, phone="+8613900001111"))
    assert case is not None
    case_assign(case_id=case.pk)

    rows = {r.event_type: r for r in WebhookDelivery.objects.all()}
    assert set(rows) == {EventType.CASE_OPENED, EventType.CASE_ASSIGNED}
    assigned = rows[EventType.CASE_ASSIGNED].payload
    assert assigned["case_id"] == case.pk
    assert assigned["agent"] == "王芳"
    assert assigned["team"] == "North"
    assert assigned["customer_phone"] == "+86139******11"
    assert rows[EventType.CASE_OPENED].payload["priority"] == case.priority
    assert rows[EventType.CASE_OPENED].event_id != rows[EventType.CASE_ASSIGNED].event_id


def test_an_unknown_event_type_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown event type"):
        events.event_publish(event_type="case.exploded", payload={}, at=AT)
