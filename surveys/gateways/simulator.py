"""The project's own SMS gateway simulator (surveys/simulator/server.py): JSON, HMAC-signed."""

from django.http import HttpRequest

from surveys.gateways import http
from surveys.gateways.base import (
    Gateway,
    GatewayError,
    InboundSMS,
    MalformedPayload,
    SendResult,
    StatusReport,
    parse_json_body,
    require_str,
)
from surveys.simulator.signing import HEADER, signature_matches

_STATUSES = {"sent": "sent", "delivered": "delivered", "failed": "failed", "undelivered": "failed"}


class SimulatorGateway(Gateway):
    def send(self, *, to: str, text: str, reference: str) -> SendResult:
        # The simulator keeps `reference` as an idempotency key: a retry after a
        # timeout returns the first message instead of sending a second one.
        response = http.post(
            f"{self.config['URL'].rstrip('/')}/messages",
            json={"to": to, "text": text, "reference": reference},
            headers={"Authorization": f"Bearer {self.config['API_KEY']}"},
        )
        try:
            return SendResult(provider_message_id=str(response.json()["id"]))
        except (ValueError, KeyError) as exc:
            raise GatewayError("simulator answered without a message id") from exc

    def verify(self, request: HttpRequest) -> bool:
        return signature_matches(self.config["SECRET"], request.body, request.headers.get(HEADER))

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
