"""Our own JSON webhook format, spoken by the simulator and the console gateway.

Inbound: {"message_id", "from", "text"}; status: {"message_id", "status", "reference"?,
"error"?}; the status words are mapped by `statuses.JSON_FORMAT`.
"""

from django.http import HttpRequest

from surveys.gateways.base import (
    Gateway,
    InboundSMS,
    StatusReport,
    parse_json_body,
    require_str,
)
from surveys.gateways.statuses import JSON_FORMAT, status_ours


class JsonWebhooks(Gateway):
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
        message_id = require_str(data, "message_id", max_length=64)
        status = status_ours(
            JSON_FORMAT, require_str(data, "status", max_length=40), gateway=self.slug
        )
        if status is None:
            return []  # an interim or unknown status: acknowledged, nothing to apply
        return [
            StatusReport(
                provider_message_id=message_id,
                status=status,
                reference=str(data.get("reference") or "")[:64],
                error=str(data.get("error") or "")[:200],
                raw=data,
            )
        ]
