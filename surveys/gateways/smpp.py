"""SMPP 3.4 to an operator's SMS centre, through the one gateway process (`manage.py run_smpp`).

`send` runs in a Celery worker, which holds no SMPP connection: it hands the SMS to the
gateway process over the submit channel (Redis, surveys/smpp/channel.py) and waits for
the SMS centre's submit_sm_resp, relayed as the message id. The kit's guarantee holds:
the row is claimed before this call, and every retry of a row brings the same
`reference`, which the gateway process answers from what it remembers (or carries to
the SMS centre in the submit) instead of sending again.

Receipts and replies arrive as deliver_sm on the gateway process's connection, not as
webhooks: it stores them through the same services the webhooks call
(surveys/smpp/inbound.py). The webhook URLs of this gateway refuse every request.
"""

import time
import uuid

from django.http import HttpRequest

from surveys.gateways.base import (
    Gateway,
    GatewayError,
    InboundSMS,
    PermanentGatewayError,
    SendResult,
    StatusReport,
    TemplateCall,
)
from surveys.smpp.channel import ChannelDown, SubmitRequest, submit_channel


class SmppGateway(Gateway):
    def send(
        self, *, to: str, text: str, reference: str, template: TemplateCall | None = None
    ) -> SendResult:
        """Hand the SMS to the gateway process and wait for the SMS centre's answer."""
        timeout = float(self.config["SUBMIT_TIMEOUT"])
        request = SubmitRequest(
            request_id=uuid.uuid4().hex,
            to=to,
            text=text,
            reference=reference,
            deadline=time.time() + timeout,
        )
        try:
            channel = submit_channel(self.config["CHANNEL_URL"], self.config["CHANNEL_PREFIX"])
            channel.request_put(request)
            reply = channel.reply_wait(request.request_id, timeout)
        except ChannelDown as exc:
            raise GatewayError(str(exc)) from exc
        if reply is None:
            # The process may still submit it once: the retry brings the same reference,
            # which it answers with that submit's message id (surveys/smpp/session.py).
            raise GatewayError(f"no answer from the SMPP gateway process within {timeout:g} s")
        if reply.error:
            raise (PermanentGatewayError if reply.permanent else GatewayError)(reply.error)
        return SendResult(provider_message_id=reply.message_id)

    def verify(self, request: HttpRequest) -> bool:
        return False  # receipts and replies come over SMPP, never to a webhook

    def parse_inbound(self, request: HttpRequest) -> list[InboundSMS]:
        return []

    def parse_status(self, request: HttpRequest) -> list[StatusReport]:
        return []
