"""What the adapters of the Chinese cloud SMS providers (Alibaba Cloud, Tencent Cloud) share.

- Their callbacks are pushed unsigned: the operator puts a secret token in the callback URL
  entered in the provider's console (`?token=…`), and `PushCallbacks.verify` compares it in
  constant time with the gateway's CALLBACK_TOKEN (an empty setting refuses everything).
- Their pushes are JSON batches: an array of objects, or one object (`push_items`).
- Their SDKs take an endpoint as a host and a scheme (`endpoint_parts`), so tests can point
  them at a loopback fake over http.
"""

import hmac
import logging
from typing import Any
from urllib.parse import urlsplit

from django.http import HttpRequest

from surveys.gateways.base import Gateway, MalformedPayload, without_nul
from surveys.jsonbodies import json_body_load

log = logging.getLogger(__name__)


class PushCallbacks(Gateway):
    """A gateway whose callbacks carry our secret token in their URL instead of a signature."""

    def verify(self, request: HttpRequest) -> bool:
        expected = str(self.config.get("CALLBACK_TOKEN") or "")
        given = str(request.GET.get("token", ""))
        # Bytes, not str: compare_digest refuses non-ASCII text, and a token is whatever
        # the caller typed into the URL.
        return bool(expected) and hmac.compare_digest(given.encode(), expected.encode())


def push_items(request: HttpRequest) -> list[dict[str, Any]]:
    """The objects of a pushed batch; 400 (MalformedPayload) when the body is not one."""
    try:
        data = json_body_load(request.body.decode("utf-8"))
    except ValueError as exc:  # not UTF-8, not JSON, or nested too deep (TooDeep)
        raise MalformedPayload(f"body is not UTF-8 JSON: {exc}") from exc
    items = data if isinstance(data, list) else [data]
    if not all(isinstance(item, dict) for item in items):
        raise MalformedPayload("body must be a JSON object or an array of objects")
    return [without_nul(item) for item in items]


def item_str(item: dict[str, Any], key: str, *, max_length: int = 64) -> str:
    """A field as text (providers send some ids as numbers), "" when absent."""
    value = item.get(key)
    if value is None or isinstance(value, dict | list):
        return ""
    return str(value).strip()[:max_length]


def items_readable(
    items: list[dict[str, Any]], required: tuple[str, ...], *, gateway: str
) -> list[dict[str, Any]]:
    """The items that carry every required field. One unreadable report must not cost the
    batch its others (answering 400 would only make the provider push all of them again),
    so it is logged and left out."""
    readable = [item for item in items if all(item_str(item, key) for key in required)]
    if len(readable) < len(items):
        log.warning(
            "%s push: %s item(s) without %s left out",
            gateway,
            len(items) - len(readable),
            "/".join(required),
        )
    return readable


def endpoint_parts(endpoint: str) -> tuple[str, str]:
    """(scheme, host[:port]) of an endpoint given as a host or a URL; https by default."""
    if "://" not in endpoint:
        return "https", endpoint.strip().rstrip("/")
    parts = urlsplit(endpoint)
    return parts.scheme, parts.netloc
