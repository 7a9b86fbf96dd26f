"""The project's own SMS gateway simulator (devtools/simulator/server.py): JSON, HMAC-signed."""

from django.http import HttpRequest

from surveys.gateways.base import (
    GatewayError,
    SendResult,
    TemplateCall,
)
from surveys.gateways.http import Answer, Post, PostGateway, post_prepare
from surveys.gateways.jsonformat import JsonWebhooks
from surveys.gateways.simulator_signature import HEADER, signature_matches


class SimulatorGateway(PostGateway, JsonWebhooks):
    def send_post(
        self, *, to: str, text: str, reference: str, template: TemplateCall | None = None
    ) -> Post:
        # The simulator keeps `reference` as an idempotency key: a retry after a
        # timeout returns the first message instead of sending a second one.
        return post_prepare(
            f"{self.config['URL'].rstrip('/')}/messages",
            json={"to": to, "text": text, "reference": reference},
            headers={"Authorization": f"Bearer {self.config['API_KEY']}"},
        )

    def send_result(self, answer: Answer) -> SendResult:
        try:
            return SendResult(provider_message_id=str(answer.json()["id"]))
        except (ValueError, KeyError) as exc:
            raise GatewayError("simulator answered without a message id") from exc

    def verify(self, request: HttpRequest) -> bool:
        return signature_matches(self.config["SECRET"], request.body, request.headers.get(HEADER))
