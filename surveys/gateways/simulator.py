"""The project's own SMS gateway simulator (devtools/simulator/server.py): JSON, HMAC-signed."""

from django.http import HttpRequest

from surveys.gateways import http
from surveys.gateways.base import (
    GatewayError,
    SendResult,
    TemplateCall,
)
from surveys.gateways.jsonformat import JsonWebhooks
from surveys.gateways.simulator_signature import HEADER, signature_matches


class SimulatorGateway(JsonWebhooks):
    def send(
        self, *, to: str, text: str, reference: str, template: TemplateCall | None = None
    ) -> SendResult:
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
