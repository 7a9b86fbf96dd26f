"""The API under schemathesis, driven by the project's own OpenAPI schema: whatever a
client sends, no 500, and every answer matches the schema."""

from collections.abc import Iterator
from typing import Any

import pytest
import schemathesis
from django.contrib.auth.models import Permission, User
from django.core.signals import request_finished, request_started
from django.db import close_old_connections
from hypothesis import HealthCheck, settings
from rest_framework.authtoken.models import Token
from schemathesis import checks

from nps.wsgi import application

schema = schemathesis.openapi.from_wsgi("/api/v1/schema/", application)
# What the issue asks: no 500s, and answers that match the schema (codes, types, bodies).
# Not "every schema-valid input is accepted": a phone number's validity is beyond a schema.
CHECKS = [
    checks.not_a_server_error,
    checks.status_code_conformance,
    checks.content_type_conformance,
    checks.response_schema_conformance,
]


@pytest.fixture(autouse=True)
def keep_test_connection() -> Iterator[None]:
    """As Django's test client does: a finished request must not close the test database."""
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


@pytest.fixture
def token(db: Any) -> str:
    user = User.objects.create_user("fuzz")
    user.user_permissions.add(Permission.objects.get(codename="view_response"))
    return Token.objects.create(user=user).key


@schema.parametrize()
@settings(
    max_examples=60,
    deadline=None,
    # The token is the same for every input on purpose; the database keeps what each
    # input stored, like a real API under a stream of requests.
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@pytest.mark.django_db
def test_api_never_answers_500_and_matches_its_schema(case: Any, token: str) -> None:
    case.call_and_validate(headers={"Authorization": f"Token {token}"}, checks=CHECKS)
