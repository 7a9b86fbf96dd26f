"""GET /api/v1/cases/: a customer's callback cases for the CRM, and the token scopes."""

from datetime import UTC, datetime
from typing import Any

import pytest
from django.contrib.auth.models import Group, User
from django.core.cache import cache
from django.test import Client
from rest_framework.authtoken.models import Token

from followups.assignment import case_assign
from followups.cases import case_open
from followups.models import Case
from followups.permissions import CRM, REPORTING, roles_ensure
from tests.factories import AgentFactory, TeamFactory
from tests.nps.outbound_world import answered

pytestmark = pytest.mark.django_db

ANN_PHONE = "+8613800138000"
BOB_PHONE = "+8613900139000"


def token_client(*groups: str, username: str, staff: bool = False) -> Client:
    user = User.objects.create_user(username, is_staff=staff)
    for name in groups:
        user.groups.add(Group.objects.get(name=name))
    return Client(headers={"Authorization": f"Token {Token.objects.create(user=user).key}"})


def case_of(phone: str, *, score: int = 2) -> Case:
    case = case_open(response=answered(score=score, phone=phone, comment="网速慢"))
    assert case is not None
    case_assign(case_id=case.pk)
    case.refresh_from_db()
    return case


@pytest.fixture
def world(db: Any) -> dict[str, Any]:
    cache.clear()  # the API's throttle counts
    roles_ensure()
    team = TeamFactory(name="North", regions=["BJ"])
    AgentFactory(name="王芳", team=team, capacity=10)
    return {"ann": case_of(ANN_PHONE), "ann_again": case_of(ANN_PHONE, score=5),
            "bob": case_of(BOB_PHONE)}  # fmt: skip


def test_the_crm_reads_a_customers_cases_by_phone(world: dict[str, Any]) -> None:
    crm = token_client(CRM, username="crm")
    answer = crm.get("/api/v1/cases/", {"customer_phone": "13800138000"})  # national format
    assert answer.status_code == 200
    body = answer.json()
    assert body["count"] == 2
    assert [c["id"] for c in body["results"]] == [world["ann_again"].pk, world["ann"].pk]
    case = body["results"][1]
    ann: Case = world["ann"]
    assert case["status"] == "assigned"
    assert case["priority"] == ann.priority
    assert case["team"] == "North"
    assert case["agent"] == "王芳"
    assert case["interaction"] == ann.response.interaction.external_id
    assert case["opened_at"].endswith("+08:00")  # local time, with its offset
    assert datetime.fromisoformat(case["opened_at"]) == ann.opened_at
    assert datetime.fromisoformat(case["first_contact_due_at"]) == ann.sla_due_at
    assert case["resolved_at"] is None
    assert case["verification"] == {"due_at": None, "score": None, "recovered": None}
    assert BOB_PHONE[3:] not in answer.content.decode()  # nobody else's case
    assert "138001" not in answer.content.decode()  # no phone numbers in the answer


def test_the_crm_reads_the_case_of_an_interaction(world: dict[str, Any]) -> None:
    crm = token_client(CRM, username="crm")
    bob: Case = world["bob"]
    external_id = bob.response.interaction.external_id
    answer = crm.get("/api/v1/cases/", {"interaction": external_id})
    assert [c["id"] for c in answer.json()["results"]] == [bob.pk]
    both = crm.get("/api/v1/cases/", {"interaction": external_id, "customer_phone": ANN_PHONE})
    assert both.json()["count"] == 0  # both must match


def test_one_case_with_its_verification(world: dict[str, Any]) -> None:
    ann: Case = world["ann"]
    verified_at = datetime(2026, 11, 30, 2, 0, tzinfo=UTC)
    Case.objects.filter(pk=ann.pk).update(
        verification_due_at=verified_at, verification_score=9, recovered=True
    )
    answer = token_client(CRM, username="crm").get(f"/api/v1/cases/{ann.pk}/")
    assert answer.status_code == 200
    assert answer.json()["verification"] == {
        "due_at": "2026-11-30T10:00:00+08:00", "score": 9, "recovered": True,
    }  # fmt: skip


def test_a_filter_is_required_and_checked(world: dict[str, Any]) -> None:
    crm = token_client(CRM, username="crm")
    assert crm.get("/api/v1/cases/").status_code == 400
    assert crm.get("/api/v1/cases/", {"customer_phone": "not a phone"}).status_code == 400
    assert crm.get("/api/v1/cases/", {"interaction": "NO-SUCH"}).json()["count"] == 0
    assert crm.get("/api/v1/cases/999999/").status_code == 404


def test_scopes_crm_reads_cases_not_responses_reporting_the_other_way(
    world: dict[str, Any],
) -> None:
    crm = token_client(CRM, username="crm")
    reporting = token_client(REPORTING, username="bi")
    assert crm.get("/api/v1/responses/").status_code == 403
    assert reporting.get("/api/v1/responses/").status_code == 200
    assert reporting.get("/api/v1/cases/", {"customer_phone": ANN_PHONE}).status_code == 403
    assert reporting.get(f"/api/v1/cases/{world['ann'].pk}/").status_code == 403
    bare = token_client(username="nobody")  # a token without a scope reads nothing
    assert bare.get("/api/v1/cases/", {"customer_phone": ANN_PHONE}).status_code == 403


def test_the_crm_token_still_records_interactions(world: dict[str, Any]) -> None:
    crm = token_client(CRM, username="crm")
    body = {
        "external_id": "CRM-NEW-1", "customer": {"phone": "13800138001"},
        "touchpoint": "hotline", "occurred_at": "2026-11-20T08:00:00Z",
    }  # fmt: skip
    assert (
        crm.post("/api/v1/interactions/", body, content_type="application/json").status_code == 201
    )


def test_a_session_is_not_enough(world: dict[str, Any]) -> None:
    user = User.objects.create_user("sue", is_staff=True, is_superuser=True)
    client = Client()
    client.force_login(user)
    assert client.get("/api/v1/cases/", {"customer_phone": ANN_PHONE}).status_code == 401


def test_a_staff_token_reads_only_the_cases_its_role_shows(world: dict[str, Any]) -> None:
    # An agent's token: view_case from the role, the rows of cases_visible_to (none: Ann's
    # and Bob's cases are 王芳's).
    agent = token_client("Agents", username="ann-agent", staff=True)
    listed = agent.get("/api/v1/cases/", {"customer_phone": ANN_PHONE})
    assert listed.status_code == 200
    assert listed.json()["count"] == 0
    assert agent.get(f"/api/v1/cases/{world['ann'].pk}/").status_code == 404
