"""The API under schemathesis, driven by the project's own OpenAPI schema: whatever a
client sends, no 500, and every answer matches the schema. Dates include the ends of
time in any zone, and JSON bodies are also sent nested deeper than the parser allows."""

import json
from collections.abc import Iterator
from datetime import UTC, datetime, time, timedelta
from typing import Any

import pytest
import schemathesis
from django.contrib.auth.models import Permission, User
from django.core.signals import request_finished, request_started
from django.db import close_old_connections
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from rest_framework.authtoken.models import Token
from schemathesis import checks

from nps.wsgi import application
from surveys.jsonbodies import MAX_DEPTH
from tests.factories import SurveyFactory

schema = schemathesis.openapi.from_wsgi("/api/v1/schema/", application)

_NOW = datetime.now(UTC).replace(tzinfo=None)
# Every "date-time" the schema names (occurred_at, ...): often an extreme, in any zone.
DATE_TIMES = st.one_of(
    st.sampled_from(
        [
            "9999-12-31T23:59:59Z",
            "9999-12-31T23:59:59.999999+00:00",
            "9999-12-31T23:59:59-05:00",
            "0001-01-01T00:00:00Z",
            "0001-01-01T00:00:00+05:00",
            "1899-12-31T23:59:59Z",
            "1900-01-01T00:00:00Z",
        ]
    ),
    st.datetimes(timezones=st.timezones()).map(datetime.isoformat),
    st.datetimes(min_value=_NOW - timedelta(days=5), max_value=_NOW + timedelta(hours=1)).map(
        lambda moment: moment.replace(tzinfo=UTC).isoformat()
    ),
)
schemathesis.openapi.format("date-time", DATE_TIMES)


def plausible(body: Any, zone: str) -> Any:
    """Interactions with a CRM id, a mobile number and a time zone that validate: random
    ones are refused first, and the date would never reach planning (delay, quiet hours
    in the customer's zone)."""
    if isinstance(body, list):
        return [plausible(item, zone) for item in body]
    if isinstance(body, dict) and isinstance(body.get("customer"), dict):
        customer = {**body["customer"], "phone": "13800138000", "time_zone": zone}
        return {**body, "external_id": str(body.get("external_id") or "FUZZ"), "customer": customer}
    return body


ZONES = ["Asia/Shanghai", "Pacific/Kiritimati", "Etc/GMT+12", "America/Los_Angeles", "UTC"]


@schema.hook
def map_body(context: Any, body: Any) -> Any:
    """In the fuzzing phase (the coverage phase still sends odd numbers and zones)."""
    return plausible(body, ZONES[len(str(body)) % len(ZONES)])


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
    # An active survey with a delay and quiet hours: a recorded interaction is planned.
    SurveyFactory(quiet_start=time(21), quiet_end=time(9), delay_minutes=30)
    user = User.objects.create_user("fuzz")
    user.user_permissions.add(
        Permission.objects.get(codename="view_response"),
        Permission.objects.get(codename="view_case"),  # the cases API is fuzzed too
        Permission.objects.get(codename="add_interaction"),  # and the interactions API
    )
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


def nested_into(body: Any, depth: int) -> str:
    """The generated body as JSON with `depth` levels of arrays added inside it."""
    if isinstance(body, dict):
        wrapped: Any = {**body, "nested": "__NESTED__"}
    elif isinstance(body, list):
        wrapped = [*body, "__NESTED__"]
    else:
        wrapped = [body, "__NESTED__"]
    return json.dumps(wrapped, default=repr).replace('"__NESTED__"', "[" * depth + "]" * depth)


# Every POST that reads a body (the offer redemption takes none: its code is in the path).
@schema.include(method="POST").exclude(path_regex="/offers/").parametrize()
@schema.given(depth=st.one_of(st.integers(MAX_DEPTH, MAX_DEPTH + 1), st.integers(1, 20_000)))
@settings(
    max_examples=30,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@pytest.mark.django_db
def test_api_answers_json_nested_past_the_limit_with_a_400_naming_the_body(
    case: Any, depth: int, token: str
) -> None:
    headers = {"Authorization": f"Token {token}"}
    response = case.call(headers=headers, data=nested_into(case.body, depth))
    case.validate_response(response, checks=CHECKS, headers=headers)
    # Some cases go without the token on purpose (401 comes first: the body is never read).
    if depth + 1 > MAX_DEPTH and response.status_code != 401:
        assert response.status_code == 400
        assert response.json() == {"detail": f"body is nested deeper than {MAX_DEPTH} levels"}
