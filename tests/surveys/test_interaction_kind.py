"""The interactions API takes the contact's kind: service (the default) or complaint."""

from typing import Any

import pytest
from django.contrib.auth.models import User
from django.test import Client
from rest_framework.test import APIClient

from surveys.models import Interaction
from tests.conftest import interaction_payload
from tests.factories import InteractionFactory

URL = "/api/v1/interactions/"
pytestmark = pytest.mark.django_db


def test_an_interaction_without_a_kind_is_a_service_contact(
    crm_client: APIClient, survey: Any
) -> None:
    answer = crm_client.post(URL, interaction_payload(), format="json")
    assert answer.status_code == 201, answer.content
    assert answer.json()["kind"] == "service"
    assert Interaction.objects.get().kind == "service"


def test_a_complaint_is_recorded_and_returned_as_one(crm_client: APIClient, survey: Any) -> None:
    answer = crm_client.post(URL, [interaction_payload(kind="complaint")], format="json")
    assert answer.status_code == 201, answer.content
    assert answer.json()[0]["kind"] == "complaint"
    assert Interaction.objects.get().kind == "complaint"


def test_an_unknown_kind_is_refused_and_nothing_is_stored(
    crm_client: APIClient, survey: Any
) -> None:
    answer = crm_client.post(URL, interaction_payload(kind="praise"), format="json")
    assert answer.status_code == 400
    assert "kind" in answer.json()
    assert not Interaction.objects.exists()


def test_reposting_with_another_kind_is_a_conflict_naming_it(
    crm_client: APIClient, survey: Any
) -> None:
    crm_client.post(URL, interaction_payload(), format="json")
    again = crm_client.post(URL, interaction_payload(kind="complaint"), format="json")
    assert again.status_code == 409
    assert again.json()["conflicts"] == [{"index": 0, "external_id": "CRM-1", "fields": ["kind"]}]
    assert Interaction.objects.get().kind == "service"


def test_the_schema_documents_the_kind(crm_client: APIClient) -> None:
    schema = crm_client.get("/api/v1/schema/", {"format": "json"}).json()
    components = schema["components"]["schemas"]
    written = components["InteractionWrite"]["properties"]["kind"]
    enum_name = written["allOf"][0]["$ref"].rsplit("/", 1)[1] if "allOf" in written else None
    enum = components[enum_name]["enum"] if enum_name else written["enum"]
    assert enum == ["service", "complaint"]
    assert written["default"] == "service"
    assert "kind" not in components["InteractionWrite"].get("required", [])
    assert "kind" in components["InteractionRead"]["properties"]


def test_the_interactions_admin_shows_and_filters_the_kind(client: Client) -> None:
    client.force_login(User.objects.create_superuser("root", password="pw"))
    InteractionFactory(external_id="CRM-S")
    InteractionFactory(external_id="CRM-C", kind="complaint")
    page = client.get(
        "/admin/surveys/interaction/", {"kind": "complaint"}, headers={"accept-language": "en"}
    )
    assert page.status_code == 200
    html = page.content.decode()
    assert ("CRM-C" in html, "CRM-S" in html) == (True, False)
    assert "Complaint" in html
