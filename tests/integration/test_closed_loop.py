"""The closed loop end to end on real parts: HTTP API, Celery worker and broker, the SMS
simulator as its own process, signed webhooks, the database of the active profile."""

import re
from typing import Any

import pytest
import requests
from django.contrib.auth.models import Permission, User
from django.test import override_settings
from django.utils import timezone
from rest_framework.authtoken.models import Token

from followups.models import Case, CaseStatus
from followups.verification import verifications_send
from followups.workflow import case_attempt_log, case_resolve
from surveys.models import InboundMessage, Invitation, InvitationStatus, ReasonCategory, Response
from tests.conftest import recent_iso
from tests.factories import AgentFactory, SurveyFactory, TeamFactory
from tests.integration.conftest import Process, wait_until
from tests.surveys.test_reasons import seed_taxonomy

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]
PHONE = "+8613800138000"


def test_detractor_reply_to_assigned_case_to_verified_recovery(
    live_server: Any, simulator: str, worker: Process
) -> None:
    seed_taxonomy()  # an earlier transactional test may have flushed the seeded reasons
    SurveyFactory()
    agent = AgentFactory(team=TeamFactory(name="North", regions=["BJ"]))
    crm = User.objects.create_user("crm")
    crm.user_permissions.add(Permission.objects.get(codename="add_interaction"))
    token = Token.objects.create(user=crm).key

    posted = requests.post(
        f"{live_server.url}/api/v1/interactions/",
        json={
            "external_id": "CRM-E2E-1",
            "customer": {"phone": "138 0013 8000", "tier": "A", "region": "BJ"},
            "touchpoint": "store_own",
            "occurred_at": recent_iso(),  # within the survey's maximum age
        },
        headers={"Authorization": f"Token {token}"},
        timeout=10,
    )
    assert posted.status_code == 201, posted.text

    def outbound() -> list[dict[str, Any]]:
        got = requests.get(f"{simulator}/messages", params={"to": PHONE}, timeout=5).json()
        return got["outbound"]

    sms = wait_until(outbound, timeout=40)
    assert len(sms) == 1
    assert "10" in sms[0]["text"]
    invitation = Invitation.objects.get()
    assert sms[0]["reference"] == f"inv-{invitation.pk}"
    wait_until(lambda: Invitation.objects.get().status == InvitationStatus.DELIVERED)

    answer = requests.post(f"{simulator}/inbound", json={"from": PHONE, "text": "3"}, timeout=10)
    assert answer.json()["webhook_status"] == 200  # signed by the simulator, accepted by us

    case = wait_until(lambda: Case.objects.filter(agent__isnull=False).first(), timeout=40)
    assert case.agent == agent
    assert case.status == CaseStatus.ASSIGNED
    assert case.priority == "P1"  # tier A, score 3
    response = Response.objects.get()
    assert (response.score, response.category) == (3, "detractor")
    assert InboundMessage.objects.get().outcome == "scored"
    assert Invitation.objects.get().status == InvitationStatus.RESPONDED
    # one survey SMS, never two, then the follow-up "why?" question
    messages = wait_until(lambda: len(outbound()) >= 2 and outbound())
    assert sorted(m["reference"].split("-")[0] for m in messages) == ["inv", "msg"]

    requests.post(
        f"{simulator}/inbound", json={"from": PHONE, "text": "营业厅排队等了一个小时"}, timeout=10
    )
    wait_until(lambda: Response.objects.get().comment)
    response = Response.objects.get()
    assert response.comment == "营业厅排队等了一个小时"
    assert "waiting" in {r.code for r in response.reasons.all()}
    # The reason given, the customer is told within how many hours we will call: those
    # left until the case's first-contact due time (1 business hour for tier A at P1).
    promise = wait_until(lambda: len(outbound()) >= 3 and outbound()[-1])
    promised = re.search(r"我们会在(\d+)小时内联系您", promise["text"])
    assert promised, promise["text"]
    case.refresh_from_db()
    left = (case.sla_due_at - timezone.now()).total_seconds() / 3600
    assert int(promised.group(1)) - 1 < left <= int(promised.group(1))

    # The agent calls back and resolves; the verification survey proves the recovery.
    case_attempt_log(case_id=case.pk, actor=None, channel="phone", outcome="reached")
    case_resolve(
        case_id=case.pk,
        actor=None,
        root_causes=[ReasonCategory.objects.get(code="waiting")],
        action_taken="Booked a priority appointment",
        note="Apologised for the queue",
    )
    with override_settings(NPS_VERIFICATION_DAYS=0):
        assert verifications_send() == 1
    verification = wait_until(lambda: len(outbound()) >= 4 and outbound()[-1])
    case.refresh_from_db()
    assert verification["reference"] == f"inv-{case.verification_invitation_id}"
    wait_until(lambda: Invitation.objects.get(pk=case.verification_invitation_id).expires_at)
    requests.post(f"{simulator}/inbound", json={"from": PHONE, "text": "9分"}, timeout=10)
    case = wait_until(lambda: Case.objects.filter(recovered__isnull=False).first())
    assert (case.verification_score, case.recovered) == (9, True)
    assert Case.objects.count() == 1
