from typing import Any

import pytest
from rest_framework.test import APIClient

from surveys.models import Customer, Interaction, Invitation, InvitationStatus
from tests.conftest import interaction_payload

URL = "/api/v1/interactions/"
pytestmark = pytest.mark.django_db


def test_post_creates_interaction_customer_and_invitation(
    crm_client: APIClient, survey: Any, django_capture_on_commit_callbacks: Any
) -> None:
    with django_capture_on_commit_callbacks() as callbacks:
        answer = crm_client.post(URL, interaction_payload(), format="json")
    assert answer.status_code == 201, answer.content
    assert answer.json()["created"] is True
    customer = Customer.objects.get()
    assert customer.phone == "+8613800138000"
    assert customer.tier == "A"
    invitation = Invitation.objects.get()
    assert invitation.status == InvitationStatus.SCHEDULED
    assert answer.json()["invitation"]["id"] == invitation.pk
    assert len(callbacks) == 1  # the send is queued after commit


def test_repeating_an_external_id_is_a_no_op(crm_client: APIClient, survey: Any) -> None:
    first = crm_client.post(URL, interaction_payload(), format="json")
    again = crm_client.post(URL, interaction_payload(touchpoint="online"), format="json")
    assert again.status_code == 200
    assert again.json()["created"] is False
    assert again.json()["id"] == first.json()["id"]
    assert Interaction.objects.get().touchpoint == "hotline"
    assert Invitation.objects.count() == 1


def test_a_list_is_recorded_with_created_flags(crm_client: APIClient, survey: Any) -> None:
    crm_client.post(URL, interaction_payload("A"), format="json")
    answer = crm_client.post(
        URL, [interaction_payload("A"), interaction_payload("B")], format="json"
    )
    assert answer.status_code == 201
    assert [item["created"] for item in answer.json()] == [False, True]
    assert Interaction.objects.count() == 2


def test_bad_item_in_a_list_stores_nothing_and_names_the_field(
    crm_client: APIClient, survey: Any
) -> None:
    bad = interaction_payload("B", customer={"phone": "not a number"})
    answer = crm_client.post(URL, [interaction_payload("A"), bad], format="json")
    assert answer.status_code == 400
    assert "phone" in answer.json()["1"]["customer"]  # errors keyed by item index
    assert Interaction.objects.count() == 0
    assert Customer.objects.count() == 0


@pytest.mark.parametrize(
    ("field", "value"),
    [("touchpoint", "carrier pigeon"), ("occurred_at", "yesterday"), ("external_id", "")],
)
def test_invalid_fields_answer_400_with_field_errors(
    crm_client: APIClient, survey: Any, field: str, value: str
) -> None:
    answer = crm_client.post(URL, interaction_payload(**{field: value}), format="json")
    assert answer.status_code == 400
    assert field in answer.json()
    assert Interaction.objects.count() == 0


def test_api_requires_a_token(db: Any) -> None:
    answer = APIClient().post(URL, interaction_payload(), format="json")
    assert answer.status_code == 401
    assert Interaction.objects.count() == 0
