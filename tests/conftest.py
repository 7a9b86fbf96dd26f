"""Shared fixtures: API clients, personas, and the real processes of the integration tests."""

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from django.contrib.auth.models import Permission, User
from django.utils import translation
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from nps.folders import folders_create
from surveys.gateways.routing import gateway_state_forget
from surveys.models import Survey
from tests.factories import SurveyFactory


@pytest.fixture(autouse=True, scope="session")
def folders() -> None:
    """The run's static and broker folders, as manage.py would create them."""
    folders_create()


@pytest.fixture
def crm_client(db: Any) -> APIClient:
    """The CRM system: an API token, no staff rights; its scope, recording interactions."""
    user = User.objects.create_user("crm")
    user.user_permissions.add(
        Permission.objects.get(content_type__app_label="surveys", codename="add_interaction")
    )
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=user).key}")
    return client


@pytest.fixture
def survey(db: Any) -> Survey:
    """An always-open survey: no delay, no quiet hours, everyone sampled."""
    return SurveyFactory()


def recent_iso(hours: float = 1) -> str:
    """An occurred_at the API accepts and surveys: some hours ago (surveys have a maximum age)."""
    return (datetime.now(UTC) - timedelta(hours=hours)).replace(microsecond=0).isoformat()


# One value per run, so two payloads built apart in a test are still the same payload.
RECENT = recent_iso()


def interaction_payload(external_id: str = "CRM-1", **overrides: Any) -> dict[str, Any]:
    payload: dict[str, Any] = {
        "external_id": external_id,
        "customer": {"phone": "13800138000", "language": "zh-hans", "tier": "A", "region": "BJ"},
        "touchpoint": "hotline",
        "business_type": "billing",
        "staff_id": "E1001",
        "occurred_at": RECENT,
    }
    payload.update(overrides)
    return payload


@pytest.fixture(autouse=True)
def language_default() -> Iterator[None]:
    """Every test starts in the default language. A request through the test client leaves
    the language LocaleMiddleware chose active in the thread (Django does not undo it: a
    server's next request chooses again), so a test after one asking for Chinese would
    otherwise read Chinese messages."""
    translation.deactivate()
    yield
    translation.deactivate()


@pytest.fixture(autouse=True)
def gateway_state_fresh() -> Iterator[None]:
    """Every test starts with full rate buckets and closed breakers: a gateway one test
    made fail must not send another test's SMS elsewhere (surveys/gateways/routing.py)."""
    gateway_state_forget()
    yield
    gateway_state_forget()
