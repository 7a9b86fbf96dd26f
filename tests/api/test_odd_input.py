"""Properties over odd input: dates at the ends of time in any zone, JSON nested to any
depth, on the API and on a signed webhook. Never a 5xx: a 2xx, or a 4xx naming the field
(or the body, for nesting)."""

import itertools
import json
from datetime import UTC, datetime, time, timedelta, timezone, tzinfo
from typing import Any
from zoneinfo import available_timezones

import pytest
from django.conf import settings as django_settings
from django.contrib.auth.models import Permission, User
from django.test import Client
from django.utils import timezone as django_timezone
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from rest_framework.test import APIClient

from surveys.gateways.simulator_signature import HEADER, sign_body
from surveys.jsonbodies import MAX_DEPTH
from surveys.models import Invitation, SuppressReason
from surveys.occurrence import EARLIEST, FUTURE_TOLERANCE
from tests.conftest import interaction_payload
from tests.factories import SurveyFactory

pytestmark = pytest.mark.django_db
URL = "/api/v1/interactions/"
ZONES = sorted(available_timezones())
ids = itertools.count()  # every example records a new external id
PROPERTY = settings(
    max_examples=100,
    deadline=None,
    # One client and one survey for all examples; the database keeps what each stored.
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)

# The ends of datetime, the edges of the accepted range, and anything in between (the
# test then puts each in a zone, or in none).
NOW = datetime.now(UTC).replace(tzinfo=None)
moments = st.one_of(
    st.sampled_from(
        [
            datetime.min.replace(tzinfo=UTC),
            datetime.max.replace(tzinfo=UTC),
            datetime(1, 1, 1, 0, 0, 1, tzinfo=UTC),
            datetime(9999, 12, 31, 23, 59, 59, tzinfo=UTC),
            datetime(1899, 12, 31, 23, 59, 59, 999999, tzinfo=UTC),
            datetime(1900, 1, 1, tzinfo=UTC),
        ]
    ),
    st.datetimes(),  # year 1 to 9999
    st.datetimes(min_value=NOW - timedelta(days=5), max_value=NOW + timedelta(hours=1)),
)
offsets = st.builds(
    lambda minutes: timezone(timedelta(minutes=minutes)), st.integers(-(24 * 60 - 1), 24 * 60 - 1)
)
zones: st.SearchStrategy[tzinfo | None] = st.one_of(st.none(), st.timezones(), offsets)


def expected_to_be_accepted(moment: datetime, requested_at: datetime) -> bool | None:
    """True/False when the API must accept/refuse the moment; None on the 5-minute edge."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)  # naive: the API reads it in TIME_ZONE (UTC)
    latest = requested_at + FUTURE_TOLERANCE
    if abs(moment - latest) < timedelta(seconds=30):
        return None  # the clock moves while the request runs
    return EARLIEST <= moment <= latest


@pytest.fixture
def crm(crm_client: APIClient) -> APIClient:
    # Quiet hours, a delay and the customer's zone: every shift of occurred_at is exercised.
    SurveyFactory(quiet_start=time(21), quiet_end=time(9), delay_minutes=30)
    return crm_client


@PROPERTY
@given(moment=moments, zone=zones, customer_zone=st.sampled_from(ZONES))
def test_any_occurred_at_in_any_zone_is_accepted_or_a_400_naming_the_field(
    crm: APIClient, moment: datetime, zone: tzinfo | None, customer_zone: str
) -> None:
    moment = moment.replace(tzinfo=zone)
    try:
        text = moment.isoformat()
    except OverflowError:  # an offset that takes the moment past year 1 or 9999
        text = moment.replace(tzinfo=None).isoformat() + "+23:59"
    external_id = f"DATE-{next(ids)}"
    customer = {"phone": "13800138000", "time_zone": customer_zone}
    requested_at = django_timezone.now()
    answer = crm.post(
        URL,
        interaction_payload(external_id, occurred_at=text, customer=customer),
        format="json",
    )

    assert answer.status_code in (201, 400), answer.content
    if answer.status_code == 400:
        assert list(answer.json()) == ["occurred_at"]
        assert answer.json()["occurred_at"][0].startswith("occurred_at ")
        assert expected_to_be_accepted(moment, requested_at) in (False, None)
        return
    assert expected_to_be_accepted(moment, requested_at) in (True, None)
    reason = Invitation.objects.get(interaction__external_id=external_id).suppressed_reason
    age = requested_at - (moment if moment.tzinfo else moment.replace(tzinfo=UTC))
    if abs(age - timedelta(hours=72)) > timedelta(seconds=30):  # clear of the edge
        assert (reason == SuppressReason.TOO_OLD) is (age > timedelta(hours=72))


@PROPERTY
@given(
    text=st.sampled_from(
        [
            "0000-01-01T00:00:00Z",
            "10000-01-01T00:00:00Z",
            "9999-12-31T24:00:00Z",
            "2026-02-30T08:00:00Z",
            "9999-12-31T23:59:59.9999999Z",
            "-0001-01-01T00:00:00Z",
            "9999-12-31T23:59:59+99:00",
        ]
    )
)
def test_dates_no_calendar_has_are_a_400_naming_the_field(crm: APIClient, text: str) -> None:
    answer = crm.post(URL, interaction_payload(f"BAD-{next(ids)}", occurred_at=text), format="json")
    assert answer.status_code == 400
    assert list(answer.json()) == ["occurred_at"]
    assert answer.json()["occurred_at"][0].startswith("occurred_at ")


@PROPERTY
@given(moment=moments, zone=zones)
def test_the_responses_since_filter_takes_any_date(
    crm_client: APIClient, moment: datetime, zone: tzinfo | None
) -> None:
    user = User.objects.get(username="crm")
    user.user_permissions.add(Permission.objects.get(codename="view_response"))
    try:
        since = moment.replace(tzinfo=zone).isoformat()
    except OverflowError:
        since = moment.isoformat() + "-23:59"
    answer = crm_client.get("/api/v1/responses/", {"since": since})
    assert answer.status_code in (200, 400), answer.content
    if answer.status_code == 400:
        assert list(answer.json()) == ["since"]


def nested(depth: int) -> str:
    return "[" * depth + "]" * depth


def with_nesting(body: Any, place: str, depth: int) -> str:
    """The body as JSON with `depth` levels of arrays at a place (json.dumps itself would
    recurse past its limit)."""
    marker = '"__NESTED__"'
    if place == "top":
        text = json.dumps([body, "__NESTED__"])
    elif place == "customer":
        text = json.dumps({**body, "customer": {**body["customer"], "name": "__NESTED__"}})
    elif place == "field":
        text = json.dumps({**body, "channel": "__NESTED__"})
    else:  # an extra key the API does not read
        text = json.dumps({**body, "extra": "__NESTED__"})
    return text.replace(marker, nested(depth))


DEPTH = st.one_of(st.integers(1, MAX_DEPTH + 2), st.integers(1, 20_000))


@PROPERTY
@given(depth=DEPTH, place=st.sampled_from(["top", "customer", "field", "extra"]))
def test_json_nested_to_any_depth_is_answered_without_a_server_error(
    crm: APIClient, depth: int, place: str
) -> None:
    body = with_nesting(interaction_payload(f"DEEP-{next(ids)}"), place, depth)
    answer = crm.post(URL, body, content_type="application/json")

    levels = depth + {"top": 1, "customer": 2, "field": 1, "extra": 1}[place]
    assert answer.status_code < 500
    if levels > MAX_DEPTH:
        assert answer.status_code == 400
        assert answer.json() == {"detail": f"body is nested deeper than {MAX_DEPTH} levels"}
    elif place == "extra":  # read as JSON, the unknown key ignored
        assert answer.status_code == 201, answer.content
    else:  # a list where an object or a string belongs: the field is named
        assert answer.status_code == 400
        errors = answer.json()
        if place == "top":
            assert list(errors["1"]) == ["non_field_errors"]  # item 1 is not an object
        elif place == "customer":
            assert list(errors) == ["customer"]
            assert list(errors["customer"]) == ["name"]
        else:
            assert list(errors) == ["channel"]


@PROPERTY
@given(depth=DEPTH, path=st.sampled_from(["inbound", "status"]))
def test_a_signed_webhook_nested_to_any_depth_is_answered_without_a_server_error(
    client: Client, depth: int, path: str
) -> None:
    message_id = f"M{next(ids)}"
    fields = {"message_id": message_id, "from": "+8613800138000", "text": "3"}
    fields |= {"status": "delivered"} if path == "status" else {}
    body = json.dumps({**fields, "extra": "__NESTED__"}).replace('"__NESTED__"', nested(depth))
    secret = django_settings.NPS_GATEWAYS["simulator"]["SECRET"]
    answer = client.post(
        f"/webhooks/simulator/{path}/",
        body.encode(),
        content_type="application/json",
        headers={HEADER: sign_body(secret, body.encode())},
    )

    if depth + 1 > MAX_DEPTH:
        assert answer.status_code == 400
        assert answer.json()["error"] == f"body is nested deeper than {MAX_DEPTH} levels"
    else:
        assert answer.status_code == 200, answer.content
