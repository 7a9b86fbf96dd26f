"""The send kit (surveys/sending.py) behaves the same for a survey and a conversation SMS:
claim, send, record; retry with backoff, then failed with the reason; 4xx fails at once;
a send a dead worker left claimed is retried. The status tables only move forward."""

from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import time_machine
from django.http import HttpRequest
from django.test import override_settings
from django.utils import timezone

from surveys.conversation import message_queue, message_send, messages_sweep
from surveys.dispatch import invitation_send, invitations_dispatch_due, invitations_expire
from surveys.gateways.base import (
    Gateway,
    GatewayError,
    InboundSMS,
    PermanentGatewayError,
    SendResult,
    StatusReport,
    TemplateCall,
)
from surveys.interactions import interaction_record
from surveys.models import Customer, Invitation, OutboundKind, OutboundMessage
from surveys.sending import SendOutcome
from surveys.sendstatus import TABLES, StatusTable

pytestmark = pytest.mark.django_db
NOON_SHANGHAI = datetime(2026, 11, 20, 4, 0, tzinfo=UTC)
# What the fake gateway does with each send, in order: None sends, an error is raised.
plan: list[GatewayError | None] = []
taken: list[str] = []  # the references it took


class ScriptedGateway(Gateway):
    """The outside world, scripted: a gateway that fails as told."""

    def send(
        self, *, to: str, text: str, reference: str, template: TemplateCall | None = None
    ) -> SendResult:
        step = plan.pop(0) if plan else None
        if step is not None:
            raise step
        taken.append(reference)
        return SendResult(provider_message_id=f"SCR-{len(taken)}")

    def verify(self, request: HttpRequest) -> bool:
        return False

    def parse_inbound(self, request: HttpRequest) -> list[InboundSMS]:
        return []

    def parse_status(self, request: HttpRequest) -> list[StatusReport]:
        return []


@pytest.fixture(autouse=True)
def scripted(survey: Any) -> Iterator[None]:
    plan.clear()
    taken.clear()
    with (
        override_settings(
            NPS_GATEWAYS={"scripted": {"CLASS": f"{__name__}.ScriptedGateway"}},
            NPS_ENABLED_GATEWAYS=["scripted"],
            NPS_SEND_GATEWAY="scripted",
            NPS_SEND_MAX_ATTEMPTS=3,
        ),
        time_machine.travel(NOON_SHANGHAI, tick=False),
    ):
        yield


Send = Callable[[int], SendOutcome]


def planned(kind: str) -> tuple[Invitation | OutboundMessage, Send]:
    """A survey or a conversation SMS waiting to be sent, and its send task's service."""
    invitation = interaction_record(
        external_id="CRM-S1",
        customer={"phone": "+8613800138000"},
        touchpoint="hotline",
        occurred_at=timezone.now(),
    ).interaction.invitations.get()
    if kind == "survey":
        return invitation, lambda n: invitation_send(invitation_id=invitation.pk, attempt=n)
    message = message_queue(customer=invitation.customer, kind=OutboundKind.HELP)
    assert message is not None
    return message, lambda n: message_send(message_id=message.pk, attempt=n)


def reference(row: Invitation | OutboundMessage) -> str:
    return f"{'inv' if isinstance(row, Invitation) else 'msg'}-{row.pk}"


@pytest.mark.parametrize("kind", ["survey", "message"])
def test_a_failing_gateway_is_retried_with_backoff_then_the_send_fails_with_the_reason(
    kind: str,
) -> None:
    plan.extend([GatewayError("HTTP 500"), GatewayError("timeout"), GatewayError("HTTP 503")])
    row, send = planned(kind)
    first, second, third = send(1), send(2), send(3)
    assert [o.outcome for o in (first, second, third)] == ["retry", "retry", "failed"]
    assert (first.next_attempt, second.next_attempt) == (2, 3)
    assert first.retry_at is not None
    assert NOON_SHANGHAI <= first.retry_at <= NOON_SHANGHAI + timedelta(seconds=30)
    row.refresh_from_db()
    assert (row.status, row.attempts, row.failure_reason) == ("failed", 3, "attempt 3: HTTP 503")
    assert taken == []


@pytest.mark.parametrize("kind", ["survey", "message"])
def test_a_permanent_error_fails_at_once(kind: str) -> None:
    plan.append(PermanentGatewayError("HTTP 400: invalid number"))
    row, send = planned(kind)
    assert send(1).outcome == "failed"
    row.refresh_from_db()
    assert (row.status, row.attempts) == ("failed", 1)
    assert "invalid number" in row.failure_reason


@pytest.mark.parametrize("kind", ["survey", "message"])
def test_a_retry_that_succeeds_is_sent_once_and_forgets_the_earlier_failure(kind: str) -> None:
    plan.append(GatewayError("HTTP 429"))
    row, send = planned(kind)
    assert [send(1).outcome, send(2).outcome, send(2).outcome] == ["retry", "sent", "taken"]
    row.refresh_from_db()
    assert (row.status, row.attempts, row.failure_reason) == ("sent", 2, "")
    assert (row.gateway, row.provider_message_id) == ("scripted", "SCR-1")
    assert taken == [reference(row)]


@pytest.mark.parametrize("kind", ["survey", "message"])
def test_a_send_a_dead_worker_left_claimed_is_retried_as_the_next_attempt(
    kind: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    row, _ = planned(kind)
    type(row).objects.filter(pk=row.pk).update(
        status="sending", attempts=1, claimed_at=NOON_SHANGHAI - timedelta(hours=1)
    )
    queued: list[tuple[str, tuple[Any, ...]]] = []
    for module in ("surveys.dispatch", "surveys.conversation"):
        monkeypatch.setattr(
            f"{module}.task_queue", lambda name, *args, **kw: queued.append((name, args))
        )
    assert (invitations_dispatch_due() + messages_sweep()) == 1
    task = "send_invitation" if kind == "survey" else "send_message"
    assert queued == [(f"surveys.tasks.{task}", (row.pk, 2))]


@pytest.mark.parametrize("kind", ["survey", "message"])
def test_opting_out_stops_the_retry_of_a_send_a_dead_worker_left(kind: str) -> None:
    row, send = planned(kind)
    type(row).objects.filter(pk=row.pk).update(
        status="sending", attempts=1, claimed_at=NOON_SHANGHAI - timedelta(hours=1)
    )
    Customer.objects.update(opted_out_at=NOON_SHANGHAI)
    assert send(2).outcome == "suppressed"
    row.refresh_from_db()
    assert row.status == ("suppressed" if kind == "survey" else "skipped")
    assert taken == []
    assert invitations_dispatch_due() + messages_sweep() == 0  # not queued again


def reachable(table: StatusTable, start: str) -> set[str]:
    seen, todo = set(), [start]
    while todo:
        status = todo.pop()
        for target, sources in table.sources.items():
            if status in sources and target not in seen:
                seen.add(target)
                todo.append(target)
    return seen


@pytest.mark.parametrize("table", TABLES, ids=lambda t: t.prefix)
def test_no_status_can_be_reached_again_once_left(table: StatusTable) -> None:
    for status in table.sources:
        assert status not in reachable(table, status), status


def test_expiry_closes_only_surveys_sent_or_delivered_whose_window_has_passed() -> None:
    invitation, send = planned("survey")
    assert send(1).outcome == "sent"
    window_end = Invitation.objects.get().expires_at
    assert window_end is not None
    responded = interaction_record(
        external_id="CRM-S2",
        customer={"phone": "+8613800138001"},
        touchpoint="hotline",
        occurred_at=timezone.now(),
    ).interaction.invitations.get()
    Invitation.objects.filter(pk=responded.pk).update(status="responded", expires_at=window_end)
    assert invitations_expire() == 0  # the window is still open
    with time_machine.travel(window_end + timedelta(seconds=1), tick=False):
        assert invitations_expire() == 1
    statuses = dict(Invitation.objects.values_list("pk", "status"))
    assert statuses == {invitation.pk: "expired", responded.pk: "responded"}


@pytest.mark.parametrize("kind", ["survey", "message"])
def test_opting_out_never_stops_a_send_in_flight_under_its_worker(kind: str) -> None:
    """A duplicate of attempt 1 arrives while the first is at the gateway: it is "taken",
    whatever the customer did since; the send in flight finishes and is recorded."""
    row, send = planned(kind)
    type(row).objects.filter(pk=row.pk).update(
        status="sending", attempts=1, claimed_at=NOON_SHANGHAI
    )
    Customer.objects.update(opted_out_at=NOON_SHANGHAI)
    assert send(1).outcome == "taken"
    row.refresh_from_db()
    assert (row.status, row.attempts) == ("sending", 1)


@pytest.mark.parametrize("kind", ["survey", "message"])
def test_a_lost_send_task_is_queued_again_only_when_no_send_task_waits(
    kind: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Under overload the send tasks wait in the queue longer than the sweepers' grace: the
    # row's own task may be one of them, so it is not queued a second time.
    from nps.celery import app as celery_app

    row, _ = planned(kind)
    if kind == "survey":  # queued at planning time (sent at once: due now)
        Invitation.objects.filter(pk=row.pk).update(
            send_at=NOON_SHANGHAI, enqueued_at=NOON_SHANGHAI - timedelta(hours=1)
        )
    else:  # only the message is pending: its customer's survey went out
        Invitation.objects.update(status="sent")
    queued: list[str] = []
    for module in ("surveys.dispatch", "surveys.conversation"):
        monkeypatch.setattr(
            f"{module}.task_queue", lambda name, *args, **kw: queued.append(name)
        )
    # First sends are queued in batches, surveys and messages alike.
    task, args = (
        ("surveys.tasks.send_invitations", [[0]])
        if kind == "survey"
        else ("surveys.tasks.send_messages", [[0]])
    )
    celery_app.control.purge()
    celery_app.send_task(task, args=args)  # another send, still waiting for a worker
    try:
        with time_machine.travel(NOON_SHANGHAI + timedelta(minutes=30), tick=False):
            assert invitations_dispatch_due() + messages_sweep() == 0
            celery_app.control.purge()  # the queue drained and the row is still not sent
            assert invitations_dispatch_due() + messages_sweep() == 1
    finally:
        celery_app.control.purge()
    assert queued == [task]
