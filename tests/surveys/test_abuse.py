"""Bad input and abuse at the edges: webhooks, the API, logs, retention."""

import json
import logging
from datetime import timedelta
from typing import Any

import pytest
import time_machine
from django.core.management import call_command
from django.test import Client
from django.utils import timezone
from rest_framework.test import APIClient

from surveys.gateways.simulator_signature import HEADER, sign_body
from surveys.models import DeliveryReceipt, InboundMessage, Response
from surveys.phones import MaskPhonesFilter
from surveys.pseudonyms import pseudonym
from tests.conftest import interaction_payload
from tests.followups.conftest import detractor  # noqa: F401 (fixture)

pytestmark = pytest.mark.django_db
SECRET = "sim-dev-secret"


def post(client: Client, body: bytes, content_type: str = "application/json") -> Any:
    return client.post(
        "/webhooks/simulator/inbound/",
        body,
        content_type=content_type,
        headers={HEADER: sign_body(SECRET, body)},
    )


@pytest.mark.parametrize(
    "body",
    [
        b"\xff\xfe not utf-8 \x80",
        b"{not json",
        b"[1, 2, 3]",
        b'"a string"',
        b"{}",
        json.dumps({"message_id": 5, "from": "+8613800138000", "text": "3"}).encode(),
        json.dumps({"message_id": "M" * 500, "from": "+8613800138000", "text": "3"}).encode(),
        b'{"message_id": "M1", "from": "+8613800138000", "text": "3", "x": NaN}',
    ],
    ids=["non-utf8", "broken-json", "list", "string", "empty", "number-id", "long-id", "nan"],
)
def test_malformed_signed_bodies_get_a_clear_400_and_store_nothing(
    client: Client, body: bytes
) -> None:
    answer = post(client, body)
    assert answer.status_code == 400
    assert answer.json()["error"]
    assert not InboundMessage.objects.exists()


@pytest.mark.parametrize("path", ["inbound", "status"])
def test_a_signed_deeply_nested_body_is_a_400_naming_the_body(client: Client, path: str) -> None:
    deep = "[" * 5000 + "]" * 5000  # 10 kB, well under the size limit
    body = f'{{"message_id": "M1", "from": "+8613800138000", "text": "3", "x": {deep}}}'.encode()
    answer = client.post(
        f"/webhooks/simulator/{path}/",
        body,
        content_type="application/json",
        headers={HEADER: sign_body(SECRET, body)},
    )
    assert answer.status_code == 400
    assert answer.json()["error"] == "body is nested deeper than 32 levels"
    assert not InboundMessage.objects.exists()
    assert not DeliveryReceipt.objects.exists()


def test_a_one_megabyte_body_is_refused_before_it_is_read(client: Client) -> None:
    body = json.dumps({"message_id": "MO1", "from": "+1", "text": "x" * 1_000_000}).encode()
    answer = post(client, body)
    assert answer.status_code == 413
    assert not InboundMessage.objects.exists()


@pytest.mark.parametrize(
    "text",
    [
        "'; DROP TABLE surveys_inboundmessage; --",
        "<script>alert(1)</script>",
        "9\x00",
        "１０",
        "٩",
        "1e1",
        "0x9",
    ],
)
def test_injection_and_odd_numbers_are_stored_verbatim_as_data(client: Client, text: str) -> None:
    body = json.dumps({"message_id": f"MO-{text!r}", "from": "+8613800138000", "text": text})
    assert post(client, body.encode()).status_code == 200
    assert InboundMessage.objects.get().text == text.replace("\x00", "")  # NUL cannot be stored


def test_form_encoded_body_to_a_json_gateway_is_a_400(client: Client) -> None:
    answer = post(client, b"message_id=MO1&from=%2B86&text=3", "application/x-www-form-urlencoded")
    assert answer.status_code == 400
    assert not DeliveryReceipt.objects.exists()


def test_api_calls_beyond_the_rate_are_throttled(
    crm_client: APIClient, survey: Any, settings: Any
) -> None:
    from django.core.cache import cache
    from rest_framework.settings import api_settings
    from rest_framework.throttling import UserRateThrottle

    cache.clear()
    saved = UserRateThrottle.THROTTLE_RATES
    UserRateThrottle.THROTTLE_RATES = {**api_settings.DEFAULT_THROTTLE_RATES, "user": "3/min"}
    try:
        codes = [
            crm_client.post(
                "/api/v1/interactions/", interaction_payload(f"CRM-{n}"), format="json"
            ).status_code
            for n in range(5)
        ]
    finally:
        UserRateThrottle.THROTTLE_RATES = saved
        cache.clear()
    assert codes == [201, 201, 201, 429, 429]


def test_phone_numbers_are_masked_in_log_output() -> None:
    record = logging.LogRecord(
        "surveys",
        logging.INFO,
        __file__,
        1,
        "reply from %s about %s",
        ("+8613800138000", "13912345678"),
        None,
    )
    MaskPhonesFilter().filter(record)
    message = record.getMessage()
    assert "13800138000" not in message
    assert "13912345678" not in message
    assert "+86138******00" in message


def test_the_console_log_handler_masks_phones() -> None:
    handler = next(h for h in logging.getLogger().handlers if h.get_name() == "console")
    assert any(isinstance(f, MaskPhonesFilter) for f in handler.filters)


def test_retention_anonymises_old_raw_data_and_keeps_scores(detractor: Any) -> None:  # noqa: F811
    old = detractor("+8613900000001")
    Response.objects.filter(pk=old.pk).update(comment="我的号码13900000001信号差")
    InboundMessage.objects.create(
        gateway="simulator", gateway_message_id="OLD", phone="+8613900000001", text="2 信号差",
        payload={"from": "+8613900000001"},
    )  # fmt: skip
    with time_machine.travel(timezone.now() + timedelta(days=400)):
        fresh = detractor("+8613900000002")
        Response.objects.filter(pk=fresh.pk).update(comment="recent words")
        call_command("retention", days=365)
    old.refresh_from_db()
    fresh.refresh_from_db()
    message = InboundMessage.objects.get()
    assert (old.score, old.category, old.comment) == (2, "detractor", "[anonymised]")
    assert fresh.comment == "recent words"
    assert (message.text, message.payload) == ("[anonymised]", {})
    assert message.phone == old.customer.phone == pseudonym("+8613900000001")  # still joins
