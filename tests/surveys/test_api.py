import json
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from surveys.models import (
    Customer,
    Interaction,
    Invitation,
    InvitationStatus,
    SuppressReason,
    Survey,
)
from tests.conftest import RECENT, interaction_payload, recent_iso

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


def test_repeating_an_external_id_with_the_same_payload_is_a_no_op(
    crm_client: APIClient, survey: Any
) -> None:
    first = crm_client.post(URL, interaction_payload(), format="json")
    occurred = datetime.fromisoformat(RECENT).astimezone(ZoneInfo("Asia/Shanghai")).isoformat()
    same = interaction_payload(customer={"phone": "+86 138-0013-8000"}, occurred_at=occurred)
    again = crm_client.post(URL, same, format="json")  # the same number, the same instant
    assert again.status_code == 200, again.content
    assert again.json()["created"] is False
    assert again.json()["id"] == first.json()["id"]
    assert Invitation.objects.count() == 1


def test_repeating_an_external_id_with_other_values_is_a_409_naming_the_fields(
    crm_client: APIClient, survey: Any
) -> None:
    crm_client.post(URL, interaction_payload(), format="json")
    changed = interaction_payload(touchpoint="online", customer={"phone": "13900139000"})
    again = crm_client.post(URL, changed, format="json")
    assert again.status_code == 409
    assert again.json()["conflicts"] == [
        {"index": 0, "external_id": "CRM-1", "fields": ["customer.phone", "touchpoint"]}
    ]
    assert Interaction.objects.get().touchpoint == "hotline"
    assert list(Customer.objects.values_list("phone", flat=True)) == ["+8613800138000"]
    assert Invitation.objects.count() == 1


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("occurred_at", "2020-01-01T00:00:00Z"),
        ("channel", "app"),
        ("business_type", "roaming"),
        ("staff_id", "E2002"),
        ("staff_name", "Wang"),
    ],
)
def test_any_other_interaction_field_is_a_conflict_too(
    crm_client: APIClient, survey: Any, field: str, value: str
) -> None:
    crm_client.post(URL, interaction_payload(), format="json")
    again = crm_client.post(URL, interaction_payload(**{field: value}), format="json")
    assert again.status_code == 409
    assert again.json()["conflicts"][0]["fields"] == [field]


def test_a_conflict_in_a_list_stores_nothing_and_names_the_item(
    crm_client: APIClient, survey: Any
) -> None:
    crm_client.post(URL, interaction_payload("A"), format="json")
    batch = [interaction_payload("B"), interaction_payload("A", staff_id="E9")]
    answer = crm_client.post(URL, batch, format="json")
    assert answer.status_code == 409
    assert answer.json()["conflicts"] == [{"index": 1, "external_id": "A", "fields": ["staff_id"]}]
    assert list(Interaction.objects.values_list("external_id", flat=True)) == ["A"]


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


@pytest.mark.parametrize(
    "occurred_at",
    [
        "9999-12-31T23:59:59Z",
        "9999-12-31T23:59:59.999999+00:00",
        "9999-12-31T23:59:59-05:00",
        "0001-01-01T00:00:00Z",
        "0001-01-01T00:00:00+05:00",
        "1899-12-31T23:59:59Z",
    ],
)
def test_an_occurred_at_at_the_ends_of_time_is_a_400_naming_the_field(
    crm_client: APIClient, survey: Any, occurred_at: str
) -> None:
    answer = crm_client.post(URL, interaction_payload(occurred_at=occurred_at), format="json")
    assert answer.status_code == 400
    assert list(answer.json()) == ["occurred_at"]
    assert answer.json()["occurred_at"][0].startswith("occurred_at ")  # the message names it
    assert Interaction.objects.count() == 0


def test_an_occurred_at_more_than_five_minutes_ahead_is_a_400_naming_the_field(
    crm_client: APIClient, survey: Any
) -> None:
    ahead = (timezone.now() + timedelta(minutes=6)).isoformat()
    answer = crm_client.post(URL, interaction_payload(occurred_at=ahead), format="json")
    assert answer.status_code == 400
    assert "occurred_at" in answer.json()["occurred_at"][0]
    assert Interaction.objects.count() == 0


def test_an_occurred_at_a_few_minutes_ahead_is_a_clock_difference_and_accepted(
    crm_client: APIClient, survey: Any
) -> None:
    ahead = (timezone.now() + timedelta(minutes=4)).isoformat()
    answer = crm_client.post(URL, interaction_payload(occurred_at=ahead), format="json")
    assert answer.status_code == 201
    assert Invitation.objects.get().status == InvitationStatus.SCHEDULED


def test_deeply_nested_json_is_a_400_naming_the_body(crm_client: APIClient, survey: Any) -> None:
    body = json.dumps(interaction_payload())[:-1] + ', "extra": ' + "[" * 5000 + "]" * 5000 + "}"
    answer = crm_client.post(URL, body, content_type="application/json")
    assert answer.status_code == 400
    assert "body is nested deeper than" in answer.json()["detail"]
    assert Interaction.objects.count() == 0


@pytest.mark.parametrize("occurred_at", ["1900-01-01T00:00:00Z", "2025-06-01T08:00:00+08:00"])
def test_an_interaction_older_than_the_maximum_age_is_recorded_but_not_surveyed(
    crm_client: APIClient,
    survey: Any,
    occurred_at: str,
    django_capture_on_commit_callbacks: Any,
) -> None:
    with django_capture_on_commit_callbacks() as callbacks:
        answer = crm_client.post(URL, interaction_payload(occurred_at=occurred_at), format="json")
    assert answer.status_code == 201
    assert answer.json()["invitation"]["status"] == InvitationStatus.SUPPRESSED
    assert answer.json()["invitation"]["suppressed_reason"] == SuppressReason.TOO_OLD
    assert callbacks == []  # no send queued


def test_the_maximum_age_is_the_surveys_own(crm_client: APIClient, survey: Any) -> None:
    survey.max_age_hours = 24
    survey.save(update_fields=["max_age_hours"])
    for external_id, hours in (("OLD", 25), ("FRESH", 23)):
        answer = crm_client.post(
            URL, interaction_payload(external_id, occurred_at=recent_iso(hours)), format="json"
        )
        assert answer.status_code == 201
    assert Invitation.objects.get(interaction__external_id="OLD").suppressed_reason == "too_old"
    assert Invitation.objects.get(interaction__external_id="FRESH").status == "scheduled"


def test_a_new_survey_allows_interactions_up_to_72_hours_old(db: Any) -> None:
    assert Survey().max_age_hours == 72
