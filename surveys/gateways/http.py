"""Outbound HTTP to gateways, with provider failures mapped to retryable or permanent."""

from typing import Any

import requests
from django.conf import settings

from surveys.gateways.base import GatewayError, PermanentGatewayError


def post(url: str, **kwargs: Any) -> requests.Response:
    """POST and raise GatewayError (retry) or PermanentGatewayError (give up) on failure."""
    try:
        response = requests.post(url, timeout=settings.NPS_GATEWAY_TIMEOUT, **kwargs)
    except requests.Timeout as exc:
        raise GatewayError(f"timeout after {settings.NPS_GATEWAY_TIMEOUT}s") from exc
    except requests.ConnectionError as exc:
        raise GatewayError(f"connection failed: {exc.__class__.__name__}") from exc
    if response.status_code == 429 or response.status_code >= 500:
        raise GatewayError(f"HTTP {response.status_code}: {response.text[:200]}")
    if response.status_code >= 400:
        raise PermanentGatewayError(f"HTTP {response.status_code}: {response.text[:200]}")
    return response
