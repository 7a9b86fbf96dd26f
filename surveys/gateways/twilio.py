"""Twilio Programmable Messaging: form-encoded webhooks signed with X-Twilio-Signature.

Signature: https://www.twilio.com/docs/usage/webhooks/webhooks-security
base64(HMAC-SHA1(auth token, full URL + each POST parameter name and value, sorted by name)).
"""

import base64
import hashlib
import hmac
from urllib.parse import urlencode, urlsplit, urlunsplit

from django.conf import settings
from django.http import HttpRequest, HttpResponse, QueryDict
from django.urls import reverse

from surveys.gateways.base import (
    GatewayError,
    InboundSMS,
    MalformedPayload,
    SendResult,
    StatusReport,
    TemplateCall,
    without_nul,
)
from surveys.gateways.http import Answer, Post, PostGateway, post_prepare
from surveys.gateways.statuses import TWILIO, status_ours

_DEFAULT_PORTS = {"https": 443, "http": 80}


def twilio_signature(auth_token: str, url: str, params: QueryDict | dict[str, str]) -> str:
    payload = url
    for name in sorted(params):
        values = params.getlist(name) if isinstance(params, QueryDict) else [params[name]]
        for value in sorted(values):
            payload += name + value
    digest = hmac.new(auth_token.encode(), payload.encode("utf-8"), hashlib.sha1).digest()
    return base64.b64encode(digest).decode()


def _url_variants(url: str) -> list[str]:
    """Twilio signs the URL as it called it: with or without an explicit default port."""
    parts = urlsplit(url)
    port = _DEFAULT_PORTS.get(parts.scheme)
    host = parts.hostname or ""
    if parts.port is None and port:
        return [url, urlunsplit(parts._replace(netloc=f"{host}:{port}"))]
    if parts.port == port:
        return [url, urlunsplit(parts._replace(netloc=host))]
    return [url]


def public_url(request: HttpRequest) -> str:
    base = settings.NPS_PUBLIC_BASE_URL.rstrip("/")
    return base + request.get_full_path() if base else request.build_absolute_uri()


class TwilioGateway(PostGateway):
    def send_post(
        self, *, to: str, text: str, reference: str, template: TemplateCall | None = None
    ) -> Post:
        sid, token = self.config["ACCOUNT_SID"], self.config["AUTH_TOKEN"]
        if not sid or not token:
            raise GatewayError("TWILIO_ACCOUNT_SID and TWILIO_AUTH_TOKEN are not set")
        data = {"To": to, "From": self.config["FROM"], "Body": text}
        if settings.NPS_PUBLIC_BASE_URL:
            # Our reference rides in the callback URL (Twilio signs the URL with its query),
            # so a receipt that overtakes our record of the send still finds it.
            data["StatusCallback"] = (
                settings.NPS_PUBLIC_BASE_URL.rstrip("/")
                + reverse("webhook-status", args=[self.slug])
                + "?"
                + urlencode({"reference": reference})
            )
        # Twilio keeps no idempotency key for sends; at-most-once rests on our claim.
        return post_prepare(
            f"{self.config['API_URL']}/2010-04-01/Accounts/{sid}/Messages.json",
            data=data,
            auth=(sid, token),
        )

    def send_result(self, answer: Answer) -> SendResult:
        try:
            return SendResult(provider_message_id=str(answer.json()["sid"]))
        except (ValueError, KeyError) as exc:
            raise GatewayError("Twilio answered without a message sid") from exc

    def verify(self, request: HttpRequest) -> bool:
        token = self.config["AUTH_TOKEN"]
        signature = request.headers.get("X-Twilio-Signature", "")
        if not token or not signature:
            return False
        if request.content_type != "application/x-www-form-urlencoded":
            # Twilio posts only forms, and its signature covers only form parameters:
            # any other body (multipart signed over the URL alone, JSON) goes unsigned.
            return False
        return any(
            hmac.compare_digest(twilio_signature(token, url, request.POST), signature)
            for url in _url_variants(public_url(request))
        )

    def parse_inbound(self, request: HttpRequest) -> list[InboundSMS]:
        form = without_nul(request.POST.dict())
        sid, phone = form.get("MessageSid", ""), form.get("From", "")
        if not sid or not phone:
            raise MalformedPayload("MessageSid and From are required")
        return [InboundSMS(message_id=sid, phone=phone, text=form.get("Body", ""), raw=form)]

    def parse_status(self, request: HttpRequest) -> list[StatusReport]:
        form = without_nul(request.POST.dict())
        sid = form.get("MessageSid", "")
        if not sid:
            raise MalformedPayload("MessageSid is required")
        status = status_ours(TWILIO, form.get("MessageStatus", ""), gateway=self.slug)
        if status is None:
            return []  # an interim or unknown status: acknowledged, nothing to apply
        error = form.get("ErrorCode", "")
        reference = str(request.GET.get("reference", ""))[:64]  # set by send(), signed
        return [
            StatusReport(
                provider_message_id=sid, status=status, reference=reference, error=error, raw=form
            )
        ]

    def acknowledge(self, request: HttpRequest) -> HttpResponse:
        # An empty TwiML document: no auto-reply from Twilio's side.
        return HttpResponse("<Response/>", content_type="text/xml")
