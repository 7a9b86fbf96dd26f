"""Tencent Cloud SMS (sms 2021-01-11) through its official SDK; status and reply callbacks.

Send: SendSms with the SDK app id, the sign name, the approved template's id and its
parameters as a list (TemplateParamSet, in the template's order), the number in E.164, and
our reference as SessionContext. The SDK signs each request (TC3-HMAC-SHA256). Tencent
keeps no idempotency key, so at-most-once rests on the kit's claim; the SDK retries nothing.

Callbacks (set in the SMS console's callback settings), unsigned, so authenticated by
the token in their URL (surveys/gateways/cloudsms.py):
- status to /webhooks/tencent/status/?token=…: a JSON array of reports, each with sid
  (SendSms's SerialNo), report_status SUCCESS or FAIL, errmsg, description, mobile,
  nationcode, user_receive_time. The report does not echo SessionContext.
- reply to /webhooks/tencent/inbound/?token=…: one object with mobile, nationcode, text,
  sign, time (Unix seconds) and extend. It carries no message id (below).
Both are answered {"result": 0, "errmsg": "OK"}.
"""

import hashlib

from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse
from tencentcloud.common.credential import Credential
from tencentcloud.common.exception.tencent_cloud_sdk_exception import (
    TencentCloudSDKException,
)
from tencentcloud.common.profile.client_profile import ClientProfile
from tencentcloud.common.profile.http_profile import HttpProfile
from tencentcloud.sms.v20210111.models import SendSmsRequest
from tencentcloud.sms.v20210111.sms_client import SmsClient

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
from surveys.gateways.statuses import TENCENT, status_ours

# Worth another try (https://cloud.tencent.com/document/api/382/59177): frequency limits
# (LimitExceeded.*, RequestLimitExceeded.*), Tencent's faults (InternalError.*), no answer
# or a non-200 one (the SDK's ClientNetworkError and ServerNetworkError), and an empty
# SMS package, which stops every send and so counts against the gateway. The rest
# (AuthFailure.*, InvalidParameterValue.*, FailedOperation.TemplateIncorrectOrUnapproved,
# FailedOperation.SignatureIncorrectOrUnapproved, MissingParameter...) is permanent.
RETRYABLE_PREFIXES = ("LimitExceeded", "RequestLimitExceeded", "InternalError")
RETRYABLE_CODES = frozenset(
    {
        "ClientNetworkError",
        "ServerNetworkError",
        "FailedOperation.InsufficientBalanceInSmsPackage",
    }
)
NOT_RETRYABLE = frozenset({"LimitExceeded.PhoneNumberCountLimit"})  # too many numbers at once


def tencent_error(code: str, message: str) -> GatewayError:
    """Retryable for limits and Tencent's faults, permanent for everything else."""
    text = f"Tencent {code or 'error'}: {message}"[:500]
    if code not in NOT_RETRYABLE and (
        code in RETRYABLE_CODES or code.startswith(RETRYABLE_PREFIXES)
    ):
        return GatewayError(text)
    return PermanentGatewayError(text)


def reply_id(item: dict[str, object]) -> str:
    """Tencent's reply carries no id: one made of what it says, the same when Tencent
    pushes the same reply again (so it is stored once)."""
    facts = [item_str(item, key, max_length=2000) for key in ("nationcode", "mobile", "time")]
    digest = hashlib.sha256("\x1f".join([*facts, str(item.get("text") or "")]).encode())
    return f"reply-{digest.hexdigest()[:40]}"


def reply_phone(item: dict[str, object]) -> str:
    nationcode, mobile = item_str(item, "nationcode"), item_str(item, "mobile", max_length=32)
    return f"+{nationcode.lstrip('+')}{mobile}" if nationcode else mobile


class TencentGateway(PushCallbacks):
    uses_templates = True

    def send(
        self, *, to: str, text: str, reference: str, template: TemplateCall | None = None
    ) -> SendResult:
        if template is None:
            raise PermanentGatewayError("Tencent Cloud SMS sends approved templates only")
        request = SendSmsRequest()
        request.SmsSdkAppId = self.config["SDK_APP_ID"]
        request.SignName = self.config["SIGN_NAME"]
        request.TemplateId = template.code
        request.TemplateParamSet = list(template.params.values())
        request.PhoneNumberSet = [to]
        request.SessionContext = reference
        try:
            statuses = self._client().SendSms(request).SendStatusSet or []
        except TencentCloudSDKException as exc:
            raise tencent_error(str(exc.code or ""), str(exc.message or "")) from exc
        if len(statuses) != 1:
            raise GatewayError(f"Tencent answered {len(statuses)} statuses for one number")
        if statuses[0].Code != "Ok":  # refused for this number (a limit, a bad number)
            raise tencent_error(str(statuses[0].Code or ""), str(statuses[0].Message or ""))
        return SendResult(provider_message_id=str(statuses[0].SerialNo))

    def _client(self) -> SmsClient:
        secret_id, secret_key = self.config["SECRET_ID"], self.config["SECRET_KEY"]
        if not secret_id or not secret_key:
            raise GatewayError("TENCENT_SECRET_ID and TENCENT_SECRET_KEY are not set")
        scheme, host = endpoint_parts(self.config["ENDPOINT"])
        http = HttpProfile(protocol=scheme, endpoint=host, reqTimeout=settings.NPS_GATEWAY_TIMEOUT)
        return SmsClient(
            Credential(secret_id, secret_key),
            self.config["REGION"],
            ClientProfile(httpProfile=http),
        )

    def parse_status(self, request: HttpRequest) -> list[StatusReport]:
        reports = []
        for item in items_readable(push_items(request), ("sid",), gateway=self.slug):
            word = item_str(item, "report_status")
            status = status_ours(TENCENT, word, gateway=self.slug)
            if status is None:
                continue  # not an outcome we know: acknowledged, nothing to apply
            error = " ".join(
                filter(None, [item_str(item, "errmsg"), item_str(item, "description")])
            )
            reports.append(
                StatusReport(
                    provider_message_id=item_str(item, "sid"),
                    status=status,
                    error=error[:200] if word == "FAIL" else "",
                    raw=item,
                )
            )
        return reports

    def parse_inbound(self, request: HttpRequest) -> list[InboundSMS]:
        return [
            InboundSMS(
                message_id=reply_id(item),
                phone=reply_phone(item),
                text=str(item.get("text") or ""),
                raw=item,
            )
            for item in items_readable(push_items(request), ("mobile",), gateway=self.slug)
        ]

    def acknowledge(self, request: HttpRequest) -> HttpResponse:
        return JsonResponse({"result": 0, "errmsg": "OK"})
