"""Responses with their reasons: the read API (who, what, filters, pages, queries) and admin."""

from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from django.contrib.auth.models import Permission, User
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from surveys.models import Invitation, Purpose, ReasonCategory, Response
from surveys.reasons import response_categorise
from tests.surveys.test_reasons import respond, seed_taxonomy

URL = "/api/v1/responses/"
pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def taxonomy(db: Any) -> None:
    seed_taxonomy()


@pytest.fixture
def staff_client(db: Any) -> APIClient:
    """A staff member signed in to the admin, no particular permission."""
    client = APIClient()
    client.force_login(User.objects.create_user("staff", is_staff=True))
    return client


@pytest.fixture
def reporting_client(db: Any) -> APIClient:
    """A reporting system: an API token whose user may view responses."""
    user = User.objects.create_user("reporting")
    user.user_permissions.add(Permission.objects.get(codename="view_response"))
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=user).key}")
    return client


def categorised(comment: str, **kwargs: Any) -> Response:
    response = respond(comment, **kwargs)
    response_categorise(response=response)
    return response


def test_anonymous_is_asked_to_authenticate() -> None:
    assert APIClient().get(URL).status_code == 401


def test_a_user_without_the_view_permission_is_refused(crm_client: APIClient) -> None:
    assert crm_client.get(URL).status_code == 403
    assert crm_client.get(f"{URL}{categorised('信号差').pk}/").status_code == 403


def test_being_staff_is_not_enough_the_view_permission_is(
    staff_client: APIClient, reporting_client: APIClient
) -> None:
    """Agents and team leads are staff; customers' answers are for the view permission."""
    assert staff_client.get(URL).status_code == 403
    assert reporting_client.get(URL).status_code == 200


def test_a_response_is_shown_with_reasons_masked_phone_and_interaction(
    reporting_client: APIClient,
) -> None:
    response = categorised("信号太差了而且扣费不明", score=2)
    item = reporting_client.get(URL).json()["results"][0]
    assert item == {
        "id": response.pk,
        "purpose": "survey",
        "score": 2,
        "category": "detractor",
        "comment": "信号太差了而且扣费不明",
        "reasons": [
            {"code": "network", "name_en": "Network / signal", "name_zh": "网络/信号"},
            {"code": "billing", "name_en": "Tariff and billing", "name_zh": "资费/账单"},
        ],
        "customer": {
            "phone": "+86139******" + response.customer.phone[-2:],
            "tier": "B",
            "region": "BJ",
            "language": "zh-hans",
        },
        "interaction": {
            "external_id": response.interaction.external_id,
            "touchpoint": "hotline",
            "business_type": "billing",
        },
        "created_at": item["created_at"],
    }
    assert response.customer.phone not in str(item)


def test_the_list_is_newest_first_and_filters_by_category_and_time(
    reporting_client: APIClient,
) -> None:
    old = categorised("信号差", score=2)
    Response.objects.filter(pk=old.pk).update(created_at=timezone.now() - timedelta(days=3))
    promoter, detractor = categorised("很好", score=10), categorised("态度差", score=1)
    ids = [r["id"] for r in reporting_client.get(URL).json()["results"]]
    assert ids == [detractor.pk, promoter.pk, old.pk]
    detractors = reporting_client.get(URL, {"category": "detractor"}).json()["results"]
    assert [r["id"] for r in detractors] == [detractor.pk, old.pk]
    since = (timezone.now() - timedelta(days=1)).isoformat()
    recent = reporting_client.get(URL, {"category": "detractor", "since": since}).json()
    assert [r["id"] for r in recent["results"]] == [detractor.pk]


def test_a_bad_filter_is_a_400(reporting_client: APIClient) -> None:
    assert reporting_client.get(URL, {"category": "angry"}).status_code == 400
    assert reporting_client.get(URL, {"since": "last week"}).status_code == 400
    assert reporting_client.get(URL, {"purpose": "nps"}).status_code == 400


def verification_answer(score: int) -> Response:
    """An answer to the re-survey after a resolved case (raw rows, as `respond` builds)."""
    response = respond("好多了", score=score)
    Invitation.objects.filter(pk=response.invitation_id).update(purpose=Purpose.VERIFICATION)
    return response


def listed(client: APIClient, **filters: str) -> list[tuple[int, str]]:
    results = client.get(URL, filters).json()["results"]
    return [(r["id"], r["purpose"]) for r in results]


def test_the_list_shows_survey_answers_unless_asked_for_verification_answers_or_all(
    reporting_client: APIClient,
) -> None:
    """A reporting system that follows the README counts the list in NPS: a re-survey
    answer after a resolved case is recovery, not another promoter."""
    detractor = categorised("信号差", score=2)
    recovered = verification_answer(score=10)
    assert listed(reporting_client) == [(detractor.pk, "survey")]
    assert listed(reporting_client, purpose="survey") == [(detractor.pk, "survey")]
    assert listed(reporting_client, purpose="verification") == [(recovered.pk, "verification")]
    both = listed(reporting_client, purpose="all", category="promoter")
    assert both == [(recovered.pk, "verification")]
    assert listed(reporting_client, purpose="all") == [
        (recovered.pk, "verification"),
        (detractor.pk, "survey"),
    ]
    detail = reporting_client.get(f"{URL}{recovered.pk}/").json()
    assert (detail["purpose"], detail["score"]) == ("verification", 10)


def test_the_schema_documents_the_purpose_filter_and_field(reporting_client: APIClient) -> None:
    schema = reporting_client.get("/api/v1/schema/", {"format": "json"}).json()
    parameters = schema["paths"][URL]["get"]["parameters"]
    purpose = next(p for p in parameters if p["name"] == "purpose")
    assert purpose["schema"]["enum"] == ["all", "campaign", "survey", "verification"]
    assert purpose["schema"]["default"] == "survey"
    assert "verification" in purpose["description"]
    assert "campaign" in purpose["description"]
    item = schema["components"]["schemas"]["ResponseRead"]
    assert "purpose" in item["required"]
    field = item["properties"]["purpose"]
    enum = schema["components"]["schemas"][field["allOf"][0]["$ref"].rsplit("/", 1)[1]]["enum"]
    assert enum == ["survey", "verification", "campaign"]


def test_the_list_is_paginated_by_fifty(reporting_client: APIClient) -> None:
    for _ in range(51):
        respond("")
    first = reporting_client.get(URL).json()
    assert (first["count"], len(first["results"])) == (51, 50)
    assert len(reporting_client.get(first["next"]).json()["results"]) == 1


def test_detail_shows_one_response_and_404s_for_an_unknown_id(
    reporting_client: APIClient,
) -> None:
    response = categorised("app crashed")
    detail = reporting_client.get(f"{URL}{response.pk}/").json()
    assert [r["code"] for r in detail["reasons"]] == ["product"]
    assert reporting_client.get(f"{URL}{response.pk + 1}/").status_code == 404


@pytest.mark.parametrize("rows", [2, 20])
def test_the_list_takes_the_same_few_queries_whatever_the_rows(
    reporting_client: APIClient, django_assert_max_num_queries: Callable[..., Any], rows: int
) -> None:
    for n in range(rows):
        categorised(f"信号差 {n}" if n % 2 else "排队太久, and the app froze")
    # token and user, permissions (user, group), count, responses with their customer and
    # interaction, reasons
    with django_assert_max_num_queries(6):
        answer = reporting_client.get(URL)
    assert len(answer.json()["results"]) == rows


def test_a_categorised_comment_appears_with_its_categories_in_admin_and_api(
    admin_client: Client, reporting_client: APIClient
) -> None:
    response = categorised("客服态度很差，还乱收费")
    changelist = admin_client.get(reverse("admin:surveys_response_changelist"))
    assert "Tariff and billing, Staff attitude" in changelist.content.decode()
    change = admin_client.get(reverse("admin:surveys_response_change", args=[response.pk]))
    assert "Tariff and billing, Staff attitude" in change.content.decode()
    listed = reporting_client.get(URL).json()["results"][0]
    assert [r["code"] for r in listed["reasons"]] == ["billing", "attitude"]
    detail = reporting_client.get(f"{URL}{response.pk}/").json()
    assert [r["code"] for r in detail["reasons"]] == ["billing", "attitude"]


@pytest.mark.parametrize("rows", [2, 20])
def test_response_admin_filters_by_reason_without_a_query_per_row(
    admin_client: Client, django_assert_max_num_queries: Callable[..., Any], rows: int
) -> None:
    network = categorised("信号差")
    for _ in range(rows - 1):
        categorised("态度差")
    changelist = reverse("admin:surveys_response_changelist")
    category = ReasonCategory.objects.get(code="network")
    page = admin_client.get(changelist, {"reasons__id__exact": category.pk})
    assert list(page.context["cl"].result_list) == [network]
    with django_assert_max_num_queries(11):  # the Reasons column is prefetched: no growth
        everything = admin_client.get(changelist)
    assert everything.context["cl"].result_count == rows
