"""Console gateway for development: sends go to the log; webhooks need ?token=<SECRET>."""

import hmac
import logging
import uuid

from django.http import HttpRequest

from surveys.gateways.base import (
    Gateway,
    InboundSMS,
    MalformedPayload,
    SendResult,
    StatusReport,
    parse_json_body,
    require_str,
)
from surveys.phones import mask_phone

log = logging.getLogger(__name__)


class ConsoleGateway(Gateway):
    def send(self, *, to: str, text: str, reference: str) -> SendResult:
        message_id = f"CON{uuid.uuid4().hex[:16]}"
        log.info("SMS %s to %s [%s]: %s", message_id, mask_phone(to), reference, text)
        return SendResult(provider_message_id=message_id)

    def verify(self, request: HttpRequest) -> bool:
        # No signature scheme: a per-channel secret in the URL stands in for one.
        token = request.GET.get("token", "")
        return bool(self.config["SECRET"]) and hmac.compare_digest(token, self.config["SECRET"])

    def parse_inbound(self, request: HttpRequest) -> list[InboundSMS]:
        data = parse_json_body(request)
        return [
            InboundSMS(
                message_id=require_str(data, "message_id", max_length=64),
                phone=require_str(data, "from", max_length=32),
                text=require_str(data, "text"),
                raw=data,
            )
        ]

    def parse_status(self, request: HttpRequest) -> list[StatusReport]:
        data = parse_json_body(request)
        status = require_str(data, "status")
        if status not in {"sent", "delivered", "failed"}:
            raise MalformedPayload(f"unknown status {status!r}")
        return [
            StatusReport(
                provider_message_id=require_str(data, "message_id", max_length=64),
                status=status,
                raw=data,
            )
        ]
