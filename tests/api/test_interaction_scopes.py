"""Token scopes: a CRM token records interactions; a reporting token reads responses and
records nothing (followups.permissions: the CRM and Reporting groups)."""

from typing import Any

import pytest
from django.contrib.auth.models import Group, User
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from followups.permissions import CRM, REPORTING
from surveys.models import Interaction, Unit, UnitCode, UnitKind
from tests.conftest import interaction_payload

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("survey")]
URL = "/api/v1/interactions/"


def token_client(username: str, *groups: str) -> APIClient:
    user = User.objects.create_user(username)
    user.groups.add(*Group.objects.filter(name__in=groups))
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=user).key}")
    return client


def test_a_crm_token_records_interactions() -> None:
    answer = token_client("crm", CRM).post(URL, interaction_payload(), format="json")
    assert answer.status_code == 201
    assert Interaction.objects.count() == 1


def test_a_reporting_token_may_not_record_interactions_and_is_told_why() -> None:
    answer = token_client("bi", REPORTING).post(URL, interaction_payload(), format="json")
    assert answer.status_code == 403
    assert "surveys.add_interaction" in answer.json()["detail"]
    assert not Interaction.objects.exists()


def test_a_token_without_a_scope_records_nothing() -> None:
    answer = token_client("nobody").post(URL, [interaction_payload()], format="json")
    assert answer.status_code == 403
    assert not Interaction.objects.exists()


def test_a_reporting_token_reads_responses_and_a_crm_token_does_not() -> None:
    assert token_client("bi", REPORTING).get("/api/v1/responses/").status_code == 200
    assert token_client("crm", CRM).get("/api/v1/responses/").status_code == 403


def test_no_token_is_asked_to_authenticate() -> None:
    assert APIClient().post(URL, interaction_payload(), format="json").status_code == 401


def test_the_answer_names_the_unit_code_and_its_unit_when_mapped(crm_client: Any) -> None:
    store = Unit.objects.create(name="Store 1", kind=UnitKind.STORE)
    UnitCode.objects.create(code="S-1", unit=store)
    mapped = crm_client.post(URL, interaction_payload(unit_code="S-1"), format="json").json()
    unmapped = crm_client.post(
        URL, interaction_payload("CRM-2", unit_code="S-404"), format="json"
    ).json()
    assert (mapped["unit_code"], mapped["unit"]) == ("S-1", store.pk)
    assert (unmapped["unit_code"], unmapped["unit"]) == ("S-404", None)
