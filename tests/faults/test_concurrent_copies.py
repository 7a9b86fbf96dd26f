"""Issue 6, fault 4: twenty copies of the same reply and of the same receipt at once.

Runs in the PostgreSQL pass (real row locks and concurrent transactions); SQLite
serialises every writer, so the race cannot happen there.
"""

import json
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from typing import Any

import pytest
import requests
from django.db import connection
from django.test import override_settings

from followups.models import Case
from surveys.dispatch import invitation_send
from surveys.gateways.simulator_signature import HEADER, sign_body
from surveys.interactions import interaction_record
from surveys.models import DeliveryReceipt, InboundMessage, Invitation, InvitationStatus, Response
from surveys.receipts import receipt_apply
from surveys.replies import reply_process
from tests.factories import SurveyFactory

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(
        connection.vendor != "postgresql", reason="needs concurrent transactions: PostgreSQL pass"
    ),
]
COPIES = 20


def at_once(work: Callable[[], Any]) -> list[Any]:
    """Run `work` in COPIES threads released together; each closes its connection."""
    barrier = threading.Barrier(COPIES)

    def run() -> Any:
        try:
            barrier.wait()
            return work()
        finally:
            connection.close()

    with ThreadPoolExecutor(COPIES) as pool:
        return list(pool.map(lambda _: run(), range(COPIES)))


def signed_post(url: str, data: dict[str, str]) -> int:
    body = json.dumps(data).encode()
    headers = {HEADER: sign_body("sim-dev-secret", body), "Content-Type": "application/json"}
    return requests.post(url, data=body, headers=headers, timeout=30).status_code


@override_settings(NPS_SEND_GATEWAY="console")
def test_twenty_copies_store_one_message_one_response_one_case(live_server: Any) -> None:
    """Catches a check-then-insert webhook and processing without a row lock."""
    SurveyFactory()
    recorded = interaction_record(
        external_id="CRM-C1",
        customer={"phone": "13800138000"},
        touchpoint="hotline",
        occurred_at=datetime.now(UTC),
    )
    invitation = recorded.interaction.invitations.get()
    invitation_send(invitation_id=invitation.pk)
    invitation.refresh_from_db()

    reply = {"message_id": "MO-SAME", "from": "+8613800138000", "text": "2 信号差"}
    receipt = {
        "message_id": invitation.provider_message_id,
        "reference": f"inv-{invitation.pk}",
        "status": "delivered",
    }
    assert set(
        at_once(lambda: signed_post(f"{live_server.url}/webhooks/simulator/inbound/", reply))
    ) == {200}
    assert set(
        at_once(lambda: signed_post(f"{live_server.url}/webhooks/simulator/status/", receipt))
    ) == {200}
    assert InboundMessage.objects.count() == 1
    assert DeliveryReceipt.objects.count() == 1

    message_id = InboundMessage.objects.get().pk
    receipt_id = DeliveryReceipt.objects.get().pk
    at_once(lambda: receipt_apply(receipt_id=receipt_id))
    outcomes = at_once(lambda: reply_process(message_id=message_id))
    assert set(outcomes) == {"scored"}  # every copy reports the one outcome
    assert Response.objects.count() == 1
    assert Case.objects.count() == 1
    assert Invitation.objects.get().status == InvitationStatus.RESPONDED
