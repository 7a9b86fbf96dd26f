"""What the Alibaba and Tencent adapters share (surveys/gateways/cloudsms.py): where their
SDKs are pointed, and how a pushed batch is read."""

import pytest
from django.test import RequestFactory

from surveys.gateways.base import MalformedPayload
from surveys.gateways.cloudsms import endpoint_parts, items_readable, push_items


@pytest.mark.parametrize(
    ("endpoint", "parts"),
    [
        ("dysmsapi.aliyuncs.com", ("https", "dysmsapi.aliyuncs.com")),
        ("sms.tencentcloudapi.com/", ("https", "sms.tencentcloudapi.com")),
        ("http://127.0.0.1:8090", ("http", "127.0.0.1:8090")),
        (
            "https://dysmsapi.ap-southeast-1.aliyuncs.com/",
            ("https", "dysmsapi.ap-southeast-1.aliyuncs.com"),
        ),
    ],
)
def test_an_endpoint_is_a_host_over_https_unless_a_url_says_otherwise(
    endpoint: str, parts: tuple[str, str]
) -> None:
    assert endpoint_parts(endpoint) == parts


@pytest.mark.parametrize(
    ("body", "items"),
    [
        (b'[{"sid": "1"}, {"sid": "2"}]', [{"sid": "1"}, {"sid": "2"}]),
        (b'{"mobile": "13800138000"}', [{"mobile": "13800138000"}]),
        (b'[{"text": "a\\u0000b"}]', [{"text": "ab"}]),  # PostgreSQL keeps no NUL
        (b"[]", []),
    ],
)
def test_a_push_is_an_array_of_objects_or_one_object(body: bytes, items: list[object]) -> None:
    request = RequestFactory().post("/", body, content_type="application/json")
    assert push_items(request) == items


@pytest.mark.parametrize("body", [b"[1, 2]", b'"text"', b"{", "[{}]".encode("utf-16"), b"[" * 40])
def test_anything_else_is_malformed(body: bytes) -> None:
    request = RequestFactory().post("/", body, content_type="application/json")
    with pytest.raises(MalformedPayload):
        push_items(request)


def test_items_without_a_required_field_are_left_out() -> None:
    items = [
        {"sid": "1"},
        {"sid": ""},
        {"sid": None},
        {"sid": 7},
        {"other": "x"},
        {"sid": {"a": 1}},
    ]
    assert items_readable(items, ("sid",), gateway="tencent") == [{"sid": "1"}, {"sid": 7}]
