"""Alibaba Cloud SMS (dysmsapi 2017-05-25) through its official SDK; callbacks by HTTP batch push.

Send: SendSms with the sign name, the approved template's code and its parameters as a JSON
object (TemplateParam), our reference as OutId (echoed in the delivery report, so a report
that overtakes our record of the send still finds it). The SDK signs each request
(ACS3-HMAC-SHA256). Alibaba keeps no idempotency key for SendSms, so at-most-once rests on
the kit's claim, and the SDK's own retries are off.

Callbacks (the SMS console's receipt settings, HTTP批量推送模式), JSON arrays, unsigned,
so authenticated by the token in their URL (surveys/gateways/cloudsms.py):
- SmsReport to /webhooks/alibaba/status/?token=…: phone_number, success, err_code, err_msg,
  biz_id (SendSms's BizId), out_id (our OutId), send_time, report_time, sms_size.
- SmsUp to /webhooks/alibaba/inbound/?token=…: phone_number, content, sequence_id,
  send_time, dest_code, sign_name.
Both are answered {"code": 0, "msg": "接收成功"}; any other HTTP status makes Alibaba push
again (after 1, 5 and 10 minutes).
"""

import json

from alibabacloud_dysmsapi20170525.client import Client
from alibabacloud_dysmsapi20170525.models import SendSmsRequest
from alibabacloud_tea_openapi.exceptions import (
    AlibabaCloudException,
)
from alibabacloud_tea_openapi.utils_models import Config
from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse
from Tea.exceptions import TeaException

from surveys.gateways.base import (
    GatewayError,
    InboundSMS,
    PermanentGatewayError,
    SendResult,
    StatusReport,
    TemplateCall,
)
from surveys.gateways.cloudsms import (
    PushCallbacks,
    endpoint_parts,
    item_str,
    items_readable,
    push_items,
)
from surveys.gateways.statuses import ALIBABA, status_ours

# Codes worth another try (https://help.aliyun.com/document_detail/101346.html): flow
# control (per number and per account), the account's own daily and monthly caps, an
# empty balance, and Alibaba's own faults. A cap or an empty balance stops every send,
# not one number's: retried, it also counts against the gateway (routing's breaker).
RETRYABLE_CODES = frozenset(
    {
        "isv.BUSINESS_LIMIT_CONTROL",
        "isv.DAY_LIMIT_CONTROL",
        "isv.MONTH_LIMIT_CONTROL",
        "isv.AMOUNT_NOT_ENOUGH",
        "isv.OUT_OF_SERVICE",
        "isp.SYSTEM_ERROR",
        "isp.GATEWAY_ERROR",
        "isv.SYSTEM_ERROR",
        "SignatureNonceUsed",  # a nonce seen before: the next request has a new one
        "ServiceUnavailable",
        "InternalError",
    }
)
RETRYABLE_PREFIXES = ("Throttling", "VALVE:")  # Throttling.User, VALVE:M_MC (per minute)


def alibaba_error(code: str, message: str, *, http_status: int = 200) -> GatewayError:
    """Retryable for throttling, caps and Alibaba's faults; permanent for the rest (a bad
    number, template, sign or parameter, refused credentials): sending again changes nothing."""
    text = f"Alibaba {code or 'error'}: {message}"[:500]
    if code in RETRYABLE_CODES or code.startswith(RETRYABLE_PREFIXES) or http_status >= 500:
        return GatewayError(text)
    return PermanentGatewayError(text)


def alibaba_number(e164: str) -> str:
    """SendSms's PhoneNumbers: a mainland number as its eleven digits, without +86; any
    other with its country code and no plus."""
    return e164[3:] if e164.startswith("+86") else e164.lstrip("+")


class AlibabaGateway(PushCallbacks):
    uses_templates = True

    def send(
        self, *, to: str, text: str, reference: str, template: TemplateCall | None = None
    ) -> SendResult:
        if template is None:
            raise PermanentGatewayError("Alibaba Cloud SMS sends approved templates only")
        request = SendSmsRequest(
            phone_numbers=alibaba_number(to),
            sign_name=self.config["SIGN_NAME"],
            template_code=template.code,
            template_param=json.dumps(template.params, ensure_ascii=False),
            out_id=reference,
        )
        try:
            body = self._client().send_sms(request).body
        except AlibabaCloudException as exc:  # answered 4xx/5xx, throttled included
            raise alibaba_error(
                str(exc.code or ""), str(exc.message or ""), http_status=exc.status_code or 0
            ) from exc
        except TeaException as exc:  # no answer: refused, timed out, unreadable
            raise GatewayError(f"Alibaba unreachable: {exc}"[:500]) from exc
        if body.code != "OK":
            raise alibaba_error(str(body.code or ""), str(body.message or ""))
        if not body.biz_id:
            raise GatewayError("Alibaba answered OK without a BizId")
        return SendResult(provider_message_id=str(body.biz_id))

    def _client(self) -> Client:
        key_id, secret = self.config["ACCESS_KEY_ID"], self.config["ACCESS_KEY_SECRET"]
        if not key_id or not secret:
            # Without keys the SDK would look for credentials elsewhere (environment,
            # instance metadata): refuse here instead.
            raise GatewayError("ALIBABA_ACCESS_KEY_ID and ALIBABA_ACCESS_KEY_SECRET are not set")
        scheme, host = endpoint_parts(self.config["ENDPOINT"])
        timeout_ms = int(settings.NPS_GATEWAY_TIMEOUT * 1000)
        return Client(
            Config(
                access_key_id=key_id,
                access_key_secret=secret,
                endpoint=host,
                protocol=scheme,
                connect_timeout=timeout_ms,
                read_timeout=timeout_ms,
            )
        )

    def parse_status(self, request: HttpRequest) -> list[StatusReport]:
        reports = []
        for item in items_readable(push_items(request), ("biz_id",), gateway=self.slug):
            success = item.get("success")
            word = str(success).lower() if isinstance(success, bool | str) else ""
            status = status_ours(ALIBABA, word, gateway=self.slug)
            if status is None:
                continue  # not an outcome we know: acknowledged, nothing to apply
            failed = word == "false"
            error = " ".join(filter(None, [item_str(item, "err_code"), item_str(item, "err_msg")]))
            reports.append(
                StatusReport(
                    provider_message_id=item_str(item, "biz_id"),
                    status=status,
                    reference=item_str(item, "out_id"),
                    error=error[:200] if failed else "",
                    raw=item,
                )
            )
        return reports

    def parse_inbound(self, request: HttpRequest) -> list[InboundSMS]:
        required = ("sequence_id", "phone_number")
        return [
            InboundSMS(
                message_id=item_str(item, "sequence_id"),
                phone=item_str(item, "phone_number", max_length=32),
                text=str(item.get("content") or ""),
                raw=item,
            )
            for item in items_readable(push_items(request), required, gateway=self.slug)
        ]

    def acknowledge(self, request: HttpRequest) -> HttpResponse:
        # Alibaba reads only `code`, a number; 0 is "received".
        return JsonResponse(
            {"code": 0, "msg": "接收成功"}, json_dumps_params={"ensure_ascii": False}
        )
