"""Console gateway for development: sends go to the log; webhooks need ?token=<SECRET>."""

import hmac
import logging
import uuid

from django.http import HttpRequest

from surveys.gateways.base import (
    SendResult,
    TemplateCall,
)
from surveys.gateways.jsonformat import JsonWebhooks
from surveys.phones import mask_phone

log = logging.getLogger(__name__)


class ConsoleGateway(JsonWebhooks):
    def send(
        self, *, to: str, text: str, reference: str, template: TemplateCall | None = None
    ) -> SendResult:
        message_id = f"CON{uuid.uuid4().hex[:16]}"
        log.info("SMS %s to %s [%s]: %s", message_id, mask_phone(to), reference, text)
        return SendResult(provider_message_id=message_id)

    def verify(self, request: HttpRequest) -> bool:
        # No signature scheme: a per-channel secret in the URL stands in for one.
        token = request.GET.get("token", "")
        return bool(self.config["SECRET"]) and hmac.compare_digest(token, self.config["SECRET"])
