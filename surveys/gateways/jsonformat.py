"""Our own JSON webhook format, spoken by the simulator and the console gateway.

Inbound: {"message_id", "from", "text"}; status: {"message_id", "status", "reference"?,
"error"?} with status one of sent, delivered, failed (or undelivered).
"""

from django.http import HttpRequest

from surveys.gateways.base import (
    Gateway,
    InboundSMS,
    MalformedPayload,
    StatusReport,
    parse_json_body,
    require_str,
)

_STATUSES = {"sent": "sent", "delivered": "delivered", "failed": "failed", "undelivered": "failed"}


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
        status = _STATUSES.get(str(data.get("status", "")))
        if status is None:
            raise MalformedPayload(f"unknown status {data.get('status')!r}")
        return [
            StatusReport(
                provider_message_id=require_str(data, "message_id", max_length=64),
                status=status,
                reference=str(data.get("reference") or "")[:64],
                error=str(data.get("error") or "")[:200],
                raw=data,
            )
        ]
