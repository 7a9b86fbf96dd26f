"""Faults at the gateway, against the real simulator process-in-a-thread over HTTP.

Issue 6, faults 3, 6 and 9: the same send twice, a gateway answering 429 / 500 / too
slowly / not at all, and retries that fall into quiet hours.
"""

import threading
from collections.abc import Iterator
from datetime import UTC, datetime, time, timedelta
from typing import Any

import pytest
import requests
import time_machine
from django.test import override_settings

from devtools.simulator.server import SimulatorConfig, build_server
from surveys.dispatch import invitation_send
from surveys.interactions import interaction_record
from surveys.models import Invitation, InvitationStatus, Survey

pytestmark = pytest.mark.django_db
NOON_SHANGHAI = datetime(2026, 11, 20, 4, 0, tzinfo=UTC)
KEY = "sim-test-key"


@pytest.fixture
def gateway() -> Iterator[str]:
    """The SMS simulator on a free port; webhooks go nowhere (receipts are not needed)."""
    config = SimulatorConfig(
        api_key=KEY, secret="s", port=0, webhook_base="http://127.0.0.1:9",
        auto_reply=False, webhook_retries=0, fault_timeout=3.0,
    )  # fmt: skip
    server = build_server(config)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{server.server_address[1]}"
    simulator = {"CLASS": "surveys.gateways.simulator.SimulatorGateway", "URL": url}
    with override_settings(
        NPS_SEND_GATEWAY="simulator",
        NPS_GATEWAYS={"simulator": simulator | {"API_KEY": KEY, "SECRET": "s"}},
        NPS_GATEWAY_TIMEOUT=1.0,
        NPS_SEND_MAX_ATTEMPTS=3,
    ):
        yield url
    server.shutdown()


def fault(url: str, mode: str, count: int) -> None:
    answer = requests.post(
        f"{url}/faults",
        json={"mode": mode, "count": count},
        headers={"Authorization": f"Bearer {KEY}"},
        timeout=5,
    )
    answer.raise_for_status()


def sent_to(url: str, phone: str = "+8613800138000") -> list[dict[str, Any]]:
    return requests.get(f"{url}/messages", params={"to": phone}, timeout=5).json()["outbound"]


def planned(survey: Survey) -> Invitation:
    recorded = interaction_record(
        external_id="CRM-F1",
        customer={"phone": "13800138000"},
        touchpoint="hotline",
        occurred_at=NOON_SHANGHAI,
    )
    return recorded.interaction.invitations.get()


def send_until_done(invitation: Invitation) -> list[str]:
    """Run the task's attempts back to back, as the worker would after each backoff."""
    outcomes, attempt = [], 1
    while True:
        outcome = invitation_send(invitation_id=invitation.pk, attempt=attempt)
        outcomes.append(outcome.outcome)
        if outcome.outcome != "retry":
            return outcomes
        assert outcome.retry_at is not None
        attempt = outcome.next_attempt


@time_machine.travel(NOON_SHANGHAI, tick=True)
def test_the_same_send_task_twice_sends_one_sms(gateway: str, survey: Survey) -> None:
    """Catches a dispatcher that sends on every delivery of the task (no claim)."""
    invitation = planned(survey)
    assert invitation_send(invitation_id=invitation.pk).outcome == "sent"
    assert invitation_send(invitation_id=invitation.pk).outcome == "taken"
    assert len(sent_to(gateway)) == 1


@pytest.mark.parametrize("mode", ["429", "500", "drop"])
@time_machine.travel(NOON_SHANGHAI, tick=True)
def test_transient_gateway_errors_are_retried_then_succeed_once(
    gateway: str, survey: Survey, mode: str
) -> None:
    """Catches giving up on the first 429/500/dropped connection, or sending twice."""
    fault(gateway, mode, 2)
    invitation = planned(survey)
    assert send_until_done(invitation) == ["retry", "retry", "sent"]
    invitation.refresh_from_db()
    assert (invitation.status, invitation.attempts) == (InvitationStatus.SENT, 3)
    assert len(sent_to(gateway)) == 1


@time_machine.travel(NOON_SHANGHAI, tick=True)
def test_a_gateway_that_keeps_failing_ends_in_failed_with_the_reason(
    gateway: str, survey: Survey
) -> None:
    """Catches retrying forever, or failing without saying why."""
    fault(gateway, "500", 10)
    invitation = planned(survey)
    assert send_until_done(invitation) == ["retry", "retry", "failed"]
    invitation.refresh_from_db()
    assert invitation.status == InvitationStatus.FAILED
    assert "attempt 3" in invitation.failure_reason
    assert "500" in invitation.failure_reason
    assert sent_to(gateway) == []


@time_machine.travel(NOON_SHANGHAI, tick=True)
def test_a_timeout_after_the_gateway_accepted_does_not_send_twice(
    gateway: str, survey: Survey
) -> None:
    """Catches a retry without an idempotency reference: the slow first call did send."""
    fault(gateway, "timeout", 1)
    invitation = planned(survey)
    assert send_until_done(invitation) == ["retry", "sent"]
    assert len(sent_to(gateway)) == 1


def test_backoff_is_capped_exponential_with_jitter() -> None:
    """Catches fixed or unbounded retry delays."""
    from surveys.sending import backoff_seconds

    draws = {attempt: [backoff_seconds(attempt) for _ in range(200)] for attempt in (1, 3, 12)}
    assert max(draws[1]) <= 30 < max(draws[3]) <= 120
    assert max(draws[12]) <= 1800
    assert len(set(draws[3])) > 150  # jitter: no two workers retry in lockstep


def test_a_retry_that_falls_into_quiet_hours_waits_for_the_morning(
    gateway: str, survey: Survey
) -> None:
    """Catches checking quiet hours only when planning: a retry at 21:30 would text at night."""
    Survey.objects.update(quiet_start=time(21, 0), quiet_end=time(9, 0))
    fault(gateway, "500", 1)
    evening = datetime(2026, 11, 20, 12, 59, tzinfo=UTC)  # 20:59 in Shanghai
    with time_machine.travel(evening, tick=False):
        invitation = planned(survey)
        assert invitation_send(invitation_id=invitation.pk).outcome == "retry"
    with time_machine.travel(evening + timedelta(minutes=30), tick=False):
        outcome = invitation_send(invitation_id=invitation.pk, attempt=2)
    assert outcome.outcome == "retry"
    assert outcome.next_attempt == 2  # the same attempt, not spent
    assert outcome.retry_at == datetime(2026, 11, 21, 1, 0, tzinfo=UTC)  # 09:00 local
    assert sent_to(gateway) == []


def test_nothing_is_sent_at_the_first_quiet_minute(gateway: str, survey: Survey) -> None:
    """Catches an off-by-one at the boundary (21:00 counted as allowed)."""
    Survey.objects.update(quiet_start=time(21, 0), quiet_end=time(9, 0))
    with time_machine.travel(datetime(2026, 11, 20, 12, 59, 59, tzinfo=UTC), tick=False):
        invitation = planned(survey)
    with time_machine.travel(datetime(2026, 11, 20, 13, 0, tzinfo=UTC), tick=False):
        assert invitation_send(invitation_id=invitation.pk).outcome == "deferred"
    assert sent_to(gateway) == []
