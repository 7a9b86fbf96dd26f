"""Vonage's SMS API through its official SDK (vonage-sms), and its signed webhooks.

Send: POST /sms/json on the REST host with the API key and secret; `client-ref` carries
our reference (Vonage echoes it in every receipt), `type=unicode` when the text is not
GSM-7 (surveys/smslength.py). Vonage keeps no idempotency key: at-most-once rests on
our claim (surveys/sending.py).

A long text goes out as several parts, each with its own message id, in order. We keep
the first part's id. Vonage sends a receipt for every part, each with our `client-ref`:
the first part's matches by its id, the others by the reference (surveys/receipts.py),
so whichever part's final receipt comes first decides the survey's status and the later
ones are stored and ignored (statuses only move forward).

Webhooks (inbound SMS, delivery receipts) come as GET query parameters, a POST form or
POST JSON, as the account's "HTTP method" is set, signed with the account's signature
secret: https://developer.vonage.com/en/getting-started/concepts/signing-messages
"""

import hashlib
import hmac
import math
import os
import re
import threading
import time
from typing import Any
from urllib.parse import urlsplit

import requests
from django.conf import settings
from django.http import HttpRequest
from pydantic import ValidationError

# The SDK ships no type information (pyproject's mypy overrides could list vonage_*).
from vonage_http_client import Auth, HttpClient, HttpClientOptions
from vonage_http_client.errors import HttpRequestError
from vonage_sms import PartialFailureError, Sms, SmsError, SmsMessage

from surveys.gateways.base import (
    Gateway,
    GatewayError,
    InboundSMS,
    MalformedPayload,
    PermanentGatewayError,
    SendResult,
    StatusReport,
    TemplateCall,
    parse_json_body,
    without_nul,
)
from surveys.gateways.statuses import VONAGE, status_ours
from surveys.smslength import sms_length

# SMS API answer statuses worth another try: 1 throttled, 5 Vonage's internal error,
# 10 too many binds. Every other non-zero status (bad number, credentials, sender,
# barred, no balance, invalid signature...) will be refused again.
# https://developer.vonage.com/en/messaging/sms/guides/troubleshooting-sms
RETRYABLE_STATUSES = frozenset({"1", "5", "10"})
HMAC_METHODS = ("md5", "sha1", "sha256", "sha512")
SIGNATURE_METHODS = ("md5hash", *HMAC_METHODS)  # md5hash: the dashboard's default
# How far a signed webhook's timestamp may be from our clock: older is a replay.
SIGNATURE_MAX_SKEW_SECONDS = 300
_ERROR_CODE = re.compile(r"error code (\d+)")

_clients: dict[tuple[Any, ...], Sms] = {}
_clients_lock = threading.Lock()


def sms_client(config: dict[str, Any]) -> Sms:
    """This process's SDK client for these settings, kept: its pooled connections are reused."""
    key = (
        os.getpid(),
        config["API_KEY"],
        config["API_SECRET"],
        config["API_URL"],
        settings.NPS_GATEWAY_TIMEOUT,
    )
    with _clients_lock:
        if key not in _clients:
            _clients[key] = Sms(
                HttpClient(Auth(config["API_KEY"], config["API_SECRET"]), _options(config))
            )
        return _clients[key]


def _options(config: dict[str, Any]) -> HttpClientOptions:
    """The SDK speaks https to a host name: API_URL gives the host (and port).

    Retries stay with our sending kit (bounded, with backoff, each an attempt on record):
    urllib3's retries are off. The SDK itself still repeats a request the server closed
    without answering (RemoteDisconnected: a stale kept-alive connection), once per
    pooled connection at most. Its timeout is whole seconds.
    """
    url = urlsplit(config["API_URL"])
    if url.scheme != "https" or not url.netloc:
        raise GatewayError(f"VONAGE_API_URL must be https://host[:port], not {config['API_URL']!r}")
    return HttpClientOptions(
        rest_host=url.netloc,
        timeout=math.ceil(settings.NPS_GATEWAY_TIMEOUT),
        max_retries=0,
        pool_maxsize=32,  # a batch send's threads (surveys.sending.send_many)
    )


def _error_for_statuses(statuses: list[tuple[str, str]]) -> GatewayError:
    """The error for the answer's non-zero (status, error-text) pairs."""
    status, text = statuses[0]
    error = f"Vonage status {status}: {text}"[:300]
    return GatewayError(error) if status in RETRYABLE_STATUSES else PermanentGatewayError(error)


def send_error(exc: Exception) -> GatewayError:
    """Vonage's refusal, or a failure to reach it, as retryable or permanent."""
    if isinstance(exc, PartialFailureError):
        answer = exc.response if isinstance(exc.response, dict) else {}
        parts = answer.get("messages") or []
        if any(str(part.get("status")) == "0" for part in parts):
            # Some parts went: another try would send the customer those parts again.
            return PermanentGatewayError(f"Vonage sent only some parts of the SMS: {parts}"[:300])
        failed = [(str(p.get("status")), str(p.get("error-text", ""))) for p in parts]
        return _error_for_statuses(failed or [("", "no parts in the answer")])
    if isinstance(exc, SmsError):  # one part refused; the SDK gives its status in the text
        match = _ERROR_CODE.search(str(exc))
        return _error_for_statuses([(match.group(1) if match else "", str(exc))])
    if isinstance(exc, HttpRequestError):
        code = exc.response.status_code
        error = f"HTTP {code}: {exc.response.text[:200]}"
        return GatewayError(error) if code == 429 or code >= 500 else PermanentGatewayError(error)
    if isinstance(exc, requests.Timeout):
        return GatewayError(f"timeout after {settings.NPS_GATEWAY_TIMEOUT}s")
    if isinstance(exc, requests.RequestException):
        return GatewayError(f"connection failed: {exc.__class__.__name__}")
    if isinstance(exc, ValidationError):  # the SDK refused our message before sending it
        return PermanentGatewayError(f"not a valid Vonage SMS: {exc.errors()[0]['msg']}")
    return GatewayError(f"unreadable answer from Vonage: {exc.__class__.__name__}")


def canonical_params(params: dict[str, Any]) -> str:
    """What Vonage signs: `&name=value` for every parameter but `sig`, sorted by name,
    with `&` and `=` in values replaced by `_`."""
    pairs = sorted((k, v) for k, v in params.items() if k != "sig")
    return "".join(f"&{k}={str(v).replace('&', '_').replace('=', '_')}" for k, v in pairs)


def signature_valid(params: dict[str, Any], *, secret: str, method: str) -> bool:
    """True when `sig` signs the other parameters with the account's signature secret.

    The HMAC methods are checked by the SDK (vonage_http_client.Auth.check_signature);
    the SDK has no "md5hash" (MD5 of the signed string with the secret appended), the
    dashboard's default, so it is computed here.
    """
    signature = str(params.get("sig", "")).lower()
    if not secret or not signature or method not in SIGNATURE_METHODS:
        return False
    if method == "md5hash":
        expected = hashlib.md5((canonical_params(params) + secret).encode()).hexdigest()  # noqa: S324 (Vonage's scheme)
        return hmac.compare_digest(expected, signature)
    auth = Auth(api_key="webhook", signature_secret=secret, signature_method=method)
    return bool(auth.check_signature(dict(params)))


def timestamp_fresh(params: dict[str, Any], *, now: float) -> bool:
    """Vonage puts the signing time (Unix seconds) in `timestamp`; a stale one is a replay."""
    try:
        signed_at = int(str(params.get("timestamp", "")))
    except ValueError:
        return False
    return abs(now - signed_at) <= SIGNATURE_MAX_SKEW_SECONDS


def webhook_params(request: HttpRequest) -> dict[str, Any]:
    """The webhook's parameters however Vonage sent them: GET query, POST form or JSON."""
    if request.method == "GET":
        return without_nul(request.GET.dict())
    if request.content_type == "application/json":
        data = parse_json_body(request)
        if any(isinstance(value, dict | list) for value in data.values()):
            raise MalformedPayload("Vonage's webhook parameters are flat")
        return data
    return without_nul(request.POST.dict())


def _required(params: dict[str, Any], *names: str) -> list[str]:
    values = [str(params.get(name) or "") for name in names]
    if not all(values):
        raise MalformedPayload(f"{', '.join(names)} are required")
    return values


class VonageGateway(Gateway):
    webhook_methods = ("GET", "POST")

    def send(
        self, *, to: str, text: str, reference: str, template: TemplateCall | None = None
    ) -> SendResult:
        if not self.config["API_KEY"] or not self.config["API_SECRET"]:
            raise GatewayError("VONAGE_API_KEY and VONAGE_API_SECRET are not set")
        encoding, _, _ = sms_length(text)
        try:
            message = SmsMessage(
                to=to.lstrip("+"),  # Vonage wants E.164 digits without the plus
                from_=self.config["FROM"],
                text=text,
                client_ref=reference,
                type="unicode" if encoding == "UCS-2" else "text",
            )
            answer = sms_client(self.config).send(message)
            first_part = answer.messages[0].message_id  # see the module's docstring
        except (
            SmsError,
            HttpRequestError,
            requests.RequestException,
            ValidationError,
            KeyError,
            TypeError,
            IndexError,
        ) as exc:
            raise send_error(exc) from exc
        if not first_part:
            raise GatewayError("Vonage answered without a message id")
        return SendResult(provider_message_id=first_part)

    def verify(self, request: HttpRequest) -> bool:
        try:
            params = webhook_params(request)
        except MalformedPayload:
            return False  # nothing we can read is signed
        if not timestamp_fresh(params, now=time.time()):
            return False
        return signature_valid(
            params,
            secret=self.config["SIGNATURE_SECRET"],
            method=self.config["SIGNATURE_METHOD"],
        )

    def parse_inbound(self, request: HttpRequest) -> list[InboundSMS]:
        params = webhook_params(request)
        message_id, msisdn = _required(params, "messageId", "msisdn")
        # A long reply comes as parts (concat-part of concat-total), each its own message.
        text = str(params.get("text") or "")
        return [InboundSMS(message_id=message_id, phone=f"+{msisdn}", text=text, raw=params)]

    def parse_status(self, request: HttpRequest) -> list[StatusReport]:
        params = webhook_params(request)
        (message_id,) = _required(params, "messageId")
        status = status_ours(VONAGE, str(params.get("status") or ""), gateway=self.slug)
        if status is None:
            return []  # buffered, unknown: acknowledged, nothing to apply
        code = str(params.get("err-code") or "0")
        return [
            StatusReport(
                provider_message_id=message_id,
                status=status,
                reference=str(params.get("client-ref") or "")[:64],
                error="" if code == "0" else f"err-code {code}",
                raw=params,
            )
        ]
