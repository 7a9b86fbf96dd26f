"""Shared fixtures: API clients, personas, and the real processes of the integration tests."""

from typing import Any

import pytest
from django.contrib.auth.models import User
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from surveys.models import Survey
from tests.factories import SurveyFactory


@pytest.fixture
def crm_client(db: Any) -> APIClient:
    """The CRM system: an API token, no staff rights."""
    user = User.objects.create_user("crm")
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=user).key}")
    return client


@pytest.fixture
def survey(db: Any) -> Survey:
    """An always-open survey: no delay, no quiet hours, everyone sampled."""
    return SurveyFactory()


def interaction_payload(external_id: str = "CRM-1", **overrides: Any) -> dict[str, Any]:
    payload: dict[str, Any] = {
        "external_id": external_id,
        "customer": {"phone": "13800138000", "language": "zh-hans", "tier": "A", "region": "BJ"},
        "touchpoint": "hotline",
        "business_type": "billing",
        "staff_id": "E1001",
        "occurred_at": "2026-11-20T08:00:00Z",
    }
    payload.update(overrides)
    return payload
