"""Issue 6, fault 8: two beat schedulers at once. Every periodic job, run concurrently from
two places, has its effect once. PostgreSQL pass (real concurrent transactions)."""

import threading
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from django.db import connection
from django.test import override_settings
from django.utils import timezone

from followups.cases import cases_open_missing
from followups.models import Case
from surveys import tasks
from surveys.dispatch import invitations_dispatch_due
from surveys.models import Category, InboundMessage, Invitation, InvitationStatus, Response
from surveys.relay import outbox_relay
from tests.factories import CustomerFactory, InteractionFactory

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(
        connection.vendor != "postgresql", reason="needs concurrent transactions: PostgreSQL pass"
    ),
]


def twice_at_once(job: Callable[[], Any]) -> None:
    barrier = threading.Barrier(2)

    def run() -> None:
        try:
            barrier.wait()
            job()
        finally:
            connection.close()

    threads = [threading.Thread(target=run) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()


@pytest.fixture
def published(monkeypatch: pytest.MonkeyPatch) -> list[Any]:
    """What the jobs hand to the broker (the queue is the outside of this test)."""
    seen: list[Any] = []
    monkeypatch.setattr(tasks.process_replies, "delay", lambda ids: seen.extend(ids))
    monkeypatch.setattr(tasks.apply_receipts, "delay", lambda ids: seen.extend(ids))
    monkeypatch.setattr(tasks.send_invitation, "delay", lambda pk, attempt: seen.append(pk))
    monkeypatch.setattr(tasks.send_invitations, "delay", lambda ids: seen.extend(ids))
    return seen


def test_two_relays_hand_each_stored_reply_over_once(published: list[Any]) -> None:
    """Catches a relay that selects pending rows without locking or marking them."""
    for n in range(300):
        InboundMessage.objects.create(
            gateway="simulator", gateway_message_id=f"MO{n}", phone="+86138", text="9", payload={}
        )
    twice_at_once(outbox_relay)
    assert sorted(published) == sorted(InboundMessage.objects.values_list("pk", flat=True))


@override_settings(NPS_SEND_GATEWAY="console")
def test_two_dispatchers_queue_each_due_invitation_once(published: list[Any]) -> None:
    """Catches a dispatcher that queues every due invitation on every tick."""
    for _ in range(50):
        interaction = InteractionFactory()
        Invitation.objects.create(
            interaction=interaction,
            customer=interaction.customer,
            status=InvitationStatus.SCHEDULED,
            send_at=timezone.now() - timedelta(minutes=1),
        )
    twice_at_once(invitations_dispatch_due)
    assert sorted(published) == sorted(Invitation.objects.values_list("pk", flat=True))


def test_two_case_sweepers_open_each_missing_case_once() -> None:
    """Catches a sweeper that checks for a case, then inserts, without a unique guard."""
    for n in range(30):
        customer = CustomerFactory(phone=f"+861390000{n:04d}")
        interaction = InteractionFactory(customer=customer)
        invitation = Invitation.objects.create(
            interaction=interaction,
            customer=customer,
            status=InvitationStatus.RESPONDED,
            sent_at=datetime.now(UTC),
        )
        Response.objects.create(
            invitation=invitation,
            customer=customer,
            interaction=interaction,
            score=2,
            category=Category.DETRACTOR,
        )
    twice_at_once(cases_open_missing)
    assert Case.objects.count() == 30
