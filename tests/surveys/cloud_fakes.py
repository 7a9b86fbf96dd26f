"""Loopback stand-ins for Alibaba Cloud SMS's and Tencent Cloud SMS's send APIs.

Each is a real HTTP server on 127.0.0.1 (a thread of the test process) that the providers'
official SDKs, called by our real adapters, reach over http. Each checks a request as the
provider does, from the provider's published rules, not from the SDK's code:

- `AlibabaFake` (dysmsapi 2017-05-25, RPC style): action and version headers, the
  ACS3-HMAC-SHA256 signature recomputed from the access key secret (canonical request of
  method, path, RFC 3986-encoded sorted query, the signed headers, and the body's SHA-256,
  which must also match x-acs-content-sha256), the date (15 minutes) and a nonce used once;
  then SendSms's parameters: a known sign, an approved template whose variables are all
  given in TemplateParam (a JSON object), a well-formed number. Refusals are answered as
  Alibaba does: 4xx with {RequestId, HostId, Code, Message, Recommend} for the request
  itself, 200 with an `isv.*` Code for the SMS.
- `TencentFake` (sms 2021-01-11, API 3.0): JSON body, action and version headers, the
  TC3-HMAC-SHA256 signature recomputed from the secret key (derived key of date, service
  and "tc3_request"), the timestamp (5 minutes), the credential's date and service; then
  SendSms's parameters: the app id, an approved sign, a template with as many parameters as
  it has variables, E.164 numbers. Every answer is HTTP 200 with {"Response": …}: an
  Error for the request, or a SendStatusSet whose Code is "Ok" or the number's refusal.

Both record what they accepted (`sent`) and what they refused (`refused`, by code), and
can refuse the next send with a chosen code (`refuse_next`) as throttling would.
`conversation_templates` approves every conversation kind at the fake and in our admin.
"""

import hashlib
import hmac
import json
import random
import re
import threading
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, quote, urlsplit

from surveys.models import GatewayTemplate, OutboundKind

ALIBABA_KEY_ID, ALIBABA_SECRET = "LTAI5tLoopbackKeyId0001", "loopback-alibaba-secret"
TENCENT_SECRET_ID, TENCENT_SECRET_KEY = "AKIDloopbackSecretId0001", "loopback-tencent-key"
TENCENT_APP_ID = "1400000017"
SIGN_NAME = "客服回访"
CALLBACK_TOKEN = "loopback-callback-token-0123456789"


@dataclass
class CloudSent:
    """One SMS the provider accepted, as it read the request."""

    phone: str
    sign: str
    template: str
    params: Any  # Alibaba: the TemplateParam object; Tencent: the TemplateParamSet list
    reference: str  # Alibaba's OutId, Tencent's SessionContext
    provider_message_id: str
    fields: dict[str, Any] = field(default_factory=dict)


@dataclass
class Refusal:
    code: str
    message: str


def conversation_templates(gateway: str, fake: "AlibabaFake | TencentFake", prefix: str) -> None:
    """Every conversation kind's template approved in zh-hans, in our admin and at the fake
    (codes `prefix` + a number), so a survey's sends do not wait for a template it needs
    (surveys.gatewaytemplates): the callback promise carries the hours, the others nothing."""
    for n, kind in enumerate(OutboundKind.values, start=10):
        parameters = ["hours"] if kind == OutboundKind.CALLBACK_PROMISE else []
        code = f"{prefix}{n}"
        GatewayTemplate.objects.create(
            gateway=gateway, kind=kind, language="zh-hans", code=code, parameters=parameters
        )
        if isinstance(fake, AlibabaFake):
            fake.templates[code] = parameters
        else:
            fake.templates[code] = len(parameters)


def rfc3986(text: str) -> str:
    return quote(text, safe="-_.~")


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


class _Fake:
    """The HTTP server, the records, and the next refusal asked for by a test."""

    def __init__(self) -> None:
        self.sent: list[CloudSent] = []
        self.refused: list[Refusal] = []
        self.lock = threading.Lock()
        self._refuse_next: list[tuple[str, str, int]] = []
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(
            target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        ).start()

    def refuse_next(self, code: str, message: str = "", *, status: int = 200) -> None:
        """The next send that passes every check is refused with this code instead."""
        with self.lock:
            self._refuse_next.append((code, message or code, status))

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def _take_refusal(self) -> tuple[str, str, int] | None:
        with self.lock:
            return self._refuse_next.pop(0) if self._refuse_next else None

    def _record_refusal(self, code: str, message: str) -> None:
        with self.lock:
            self.refused.append(Refusal(code, message))

    def _record_sent(self, sent: CloudSent) -> None:
        with self.lock:
            self.sent.append(sent)

    def handle(
        self, method: str, path: str, headers: dict[str, str], body: bytes
    ) -> tuple[int, dict[str, Any]]:
        raise NotImplementedError

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:
                pass

            def do_GET(self) -> None:
                self._serve("GET")

            def do_POST(self) -> None:
                self._serve("POST")

            def _serve(self, method: str) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                headers = {name.lower(): value for name, value in self.headers.items()}
                status, payload = fake.handle(method, self.path, headers, body)
                content = json.dumps(payload, ensure_ascii=False).encode()
                self.send_response(status)
                self.send_header("Content-Type", fake.content_type)
                self.send_header("Content-Length", str(len(content)))
                self.end_headers()
                self.wfile.write(content)

        return Handler

    content_type = "application/json"


class AlibabaFake(_Fake):
    content_type = "application/json;charset=utf-8"
    date_window = timedelta(minutes=15)

    def __init__(self, templates: dict[str, list[str]] | None = None) -> None:
        self.secrets = {ALIBABA_KEY_ID: ALIBABA_SECRET}
        self.signs = {SIGN_NAME}
        self.templates = templates or {}  # approved template code -> its variables
        self.nonces: set[str] = set()
        super().__init__()

    def gateway_config(self, **changes: str) -> dict[str, Any]:
        """settings.NPS_GATEWAYS["alibaba"], pointed at this fake."""
        return {
            "CLASS": "surveys.gateways.alibaba.AlibabaGateway",
            "ACCESS_KEY_ID": ALIBABA_KEY_ID,
            "ACCESS_KEY_SECRET": ALIBABA_SECRET,
            "SIGN_NAME": SIGN_NAME,
            "ENDPOINT": self.url,
            "CALLBACK_TOKEN": CALLBACK_TOKEN,
        } | changes

    def handle(
        self, method: str, path: str, headers: dict[str, str], body: bytes
    ) -> tuple[int, dict[str, Any]]:
        parts = urlsplit(path)
        query = dict(parse_qsl(parts.query, keep_blank_values=True))
        refusal = self._request_refusal(method, parts.path, query, headers, body)
        if refusal is not None:
            status, code, message = refusal
            self._record_refusal(code, message)
            return status, self._error(code, message)
        asked = self._take_refusal()
        if asked is not None and asked[2] != 200:  # Alibaba's own fault, or its gateway's limit
            self._record_refusal(asked[0], asked[1])
            return asked[2], self._error(asked[0], asked[1])
        return 200, self._send_sms(query, asked)

    def _request_refusal(
        self,
        method: str,
        path: str,
        query: dict[str, str],
        headers: dict[str, str],
        body: bytes,
    ) -> tuple[int, str, str] | None:
        """What Alibaba's gateway answers before the SMS service sees the request."""
        if headers.get("x-acs-action") != "SendSms" or path != "/":
            return 404, "InvalidAction.NotFound", "Specified api is not found"
        if headers.get("x-acs-version") != "2017-05-25":
            return 400, "InvalidVersion", "Specified parameter Version is not valid."
        auth = re.fullmatch(
            r"ACS3-HMAC-SHA256 Credential=([^,]+),SignedHeaders=([^,]+),Signature=([0-9a-f]+)",
            headers.get("authorization", ""),
        )
        if auth is None:
            return 400, "IncompleteSignature", "The request signature does not conform."
        key_id, signed, signature = auth.groups()
        if key_id not in self.secrets:
            return 404, "InvalidAccessKeyId.NotFound", "Specified access key is not found."
        names = signed.split(";")
        must_sign = {"host"} | {name for name in headers if name.startswith("x-acs-")}
        if names != sorted(names) or not must_sign <= set(names):
            return 400, "IncompleteSignature", "Every x-acs- header and host must be signed."
        if headers.get("x-acs-content-sha256") != sha256_hex(body):
            return 400, "SignatureDoesNotMatch", "The body does not match its hash."
        expected = self.acs3_signature(
            self.secrets[key_id], method, path, query, names, headers, body
        )
        if not hmac.compare_digest(expected, signature):
            return (
                400,
                "SignatureDoesNotMatch",
                "Specified signature does not match our calculation.",
            )
        try:
            date = datetime.strptime(
                headers.get("x-acs-date", "") + "+0000", "%Y-%m-%dT%H:%M:%SZ%z"
            )
        except ValueError:
            return 400, "InvalidTimeStamp.Format", "Specified time stamp is not valid."
        if abs(datetime.now(UTC) - date) > self.date_window:
            return 400, "InvalidTimeStamp.Expired", "Specified time stamp or date has expired."
        nonce = headers.get("x-acs-signature-nonce", "")
        with self.lock:
            if not nonce or nonce in self.nonces:
                return 400, "SignatureNonceUsed", "Specified signature nonce was used already."
            self.nonces.add(nonce)
        for name in ("PhoneNumbers", "SignName", "TemplateCode"):
            if not query.get(name):
                return 400, f"Missing{name}", f"{name} is mandatory for this action."
        return None

    @staticmethod
    def acs3_signature(
        secret: str,
        method: str,
        path: str,
        query: dict[str, str],
        signed: list[str],
        headers: dict[str, str],
        body: bytes,
    ) -> str:
        """ACS3-HMAC-SHA256 as Alibaba documents it (V3 request signature)."""
        canonical_query = "&".join(
            f"{rfc3986(name)}={rfc3986(value)}" for name, value in sorted(query.items())
        )
        canonical_headers = "".join(f"{name}:{headers[name].strip()}\n" for name in signed)
        canonical = "\n".join(
            [method, path, canonical_query, canonical_headers, ";".join(signed), sha256_hex(body)]
        )
        to_sign = f"ACS3-HMAC-SHA256\n{sha256_hex(canonical.encode())}"
        return hmac.new(secret.encode(), to_sign.encode(), hashlib.sha256).hexdigest()

    def _send_sms(
        self, query: dict[str, str], asked: tuple[str, str, int] | None
    ) -> dict[str, Any]:
        """SendSms's own checks; each refusal is an `isv.*` Code in a 200 answer."""
        request_id = str(uuid.uuid4()).upper()
        phone, template = query["PhoneNumbers"], query["TemplateCode"]
        try:
            params = json.loads(query.get("TemplateParam") or "{}")
        except ValueError:
            params = None
        refusal = None
        if not re.fullmatch(r"1\d{10}|[2-9]\d{6,14}", phone):
            refusal = ("isv.MOBILE_NUMBER_ILLEGAL", "非法手机号")
        elif query["SignName"] not in self.signs:
            refusal = ("isv.SMS_SIGNATURE_ILLEGAL", "该账号下找不到对应签名")
        elif template not in self.templates:
            refusal = ("isv.SMS_TEMPLATE_ILLEGAL", "该账号下找不到对应模板")
        elif not isinstance(params, dict):
            refusal = ("isv.INVALID_JSON_PARAM", "JSON参数不合法，只接受字符串值")
        elif set(self.templates[template]) - set(params):
            refusal = ("isv.TEMPLATE_MISSING_PARAMETERS", "模板变量缺少对应参数值")
        elif asked is not None:
            refusal = asked[:2]
        if refusal is not None:
            self._record_refusal(*refusal)
            return {"Code": refusal[0], "Message": refusal[1], "RequestId": request_id}
        biz_id = f"{random.randrange(10**17, 10**18)}^0"
        sent = CloudSent(
            phone, query["SignName"], template, params, query.get("OutId", ""), biz_id, query
        )
        self._record_sent(sent)
        return {"Code": "OK", "Message": "OK", "BizId": biz_id, "RequestId": request_id}

    def _error(self, code: str, message: str) -> dict[str, Any]:
        return {
            "RequestId": str(uuid.uuid4()).upper(),
            "HostId": "dysmsapi.aliyuncs.com",
            "Code": code,
            "Message": message,
            "Recommend": f"https://api.aliyun.com/troubleshoot?q={code}&product=Dysmsapi",
        }


class TencentFake(_Fake):
    timestamp_window = 300  # seconds

    def __init__(self, templates: dict[str, int] | None = None) -> None:
        self.secrets = {TENCENT_SECRET_ID: TENCENT_SECRET_KEY}
        self.apps = {TENCENT_APP_ID}
        self.signs = {SIGN_NAME}
        self.templates = templates or {}  # approved template id -> its number of variables
        super().__init__()

    def gateway_config(self, **changes: str) -> dict[str, Any]:
        """settings.NPS_GATEWAYS["tencent"], pointed at this fake."""
        return {
            "CLASS": "surveys.gateways.tencent.TencentGateway",
            "SECRET_ID": TENCENT_SECRET_ID,
            "SECRET_KEY": TENCENT_SECRET_KEY,
            "SDK_APP_ID": TENCENT_APP_ID,
            "REGION": "ap-guangzhou",
            "SIGN_NAME": SIGN_NAME,
            "ENDPOINT": self.url,
            "CALLBACK_TOKEN": CALLBACK_TOKEN,
        } | changes

    def handle(
        self, method: str, path: str, headers: dict[str, str], body: bytes
    ) -> tuple[int, dict[str, Any]]:
        request_id = str(uuid.uuid4())
        refusal = self._request_refusal(method, path, headers, body)
        request = json.loads(body) if refusal is None else {}
        if refusal is None:
            refusal = self._parameters_refusal(request)
        if refusal is not None:
            self._record_refusal(*refusal)
            error = {"Code": refusal[0], "Message": refusal[1]}
            return 200, {"Response": {"Error": error, "RequestId": request_id}}
        statuses = [self._send_one(request, phone) for phone in request["PhoneNumberSet"]]
        return 200, {"Response": {"SendStatusSet": statuses, "RequestId": request_id}}

    def _request_refusal(
        self, method: str, path: str, headers: dict[str, str], body: bytes
    ) -> tuple[str, str] | None:
        """What Tencent's API gateway answers before the SMS service sees the request."""
        if method != "POST" or headers.get("content-type") != "application/json":
            return "InvalidParameter", "POST with Content-Type application/json expected."
        if headers.get("x-tc-action") != "SendSms":
            return "InvalidAction", "The action is not found."
        if headers.get("x-tc-version") != "2021-01-11":
            return "NoSuchVersion", "The API version is not found."
        auth = re.fullmatch(
            r"TC3-HMAC-SHA256 Credential=([^/]+)/(\d{4}-\d{2}-\d{2})/([a-z]+)/tc3_request, "
            r"SignedHeaders=([a-z;-]+), Signature=([0-9a-f]{64})",
            headers.get("authorization", ""),
        )
        if auth is None:
            return "AuthFailure.InvalidAuthorization", "Authorization is not TC3-HMAC-SHA256."
        secret_id, date, service, signed, signature = auth.groups()
        if secret_id not in self.secrets:
            return "AuthFailure.SecretIdNotFound", "The SecretId is not found."
        try:
            timestamp = int(headers.get("x-tc-timestamp", ""))
        except ValueError:
            return "AuthFailure.InvalidAuthorization", "X-TC-Timestamp is not a number."
        now = datetime.now(UTC)
        if abs(now.timestamp() - timestamp) > self.timestamp_window:
            return "AuthFailure.SignatureExpire", "The signature expired."
        day = datetime.fromtimestamp(timestamp, UTC).strftime("%Y-%m-%d")
        names = signed.split(";")
        if date != day or service != "sms" or not {"content-type", "host"} <= set(names):
            return "AuthFailure.InvalidAuthorization", "The credential scope is not valid."
        expected = self.tc3_signature(
            self.secrets[secret_id], method, path, names, headers, body, timestamp
        )
        if not hmac.compare_digest(expected, signature):
            return (
                "AuthFailure.SignatureFailure",
                "The provided credentials could not be validated.",
            )
        try:
            request = json.loads(body)
        except ValueError:
            return "FailedOperation.FailResolvePacket", "The request body is not JSON."
        if not isinstance(request, dict):
            return "FailedOperation.FailResolvePacket", "The request body is not an object."
        return None

    @staticmethod
    def tc3_signature(
        secret_key: str,
        method: str,
        path: str,
        signed: list[str],
        headers: dict[str, str],
        body: bytes,
        timestamp: int,
    ) -> str:
        """TC3-HMAC-SHA256 as Tencent documents it (API 3.0 signature v3)."""
        parts = urlsplit(path)
        canonical_headers = "".join(f"{name}:{headers[name].strip().lower()}\n" for name in signed)
        canonical = "\n".join(
            [
                method,
                parts.path,
                parts.query,
                canonical_headers,
                ";".join(signed),
                sha256_hex(body),
            ]
        )
        date = datetime.fromtimestamp(timestamp, UTC).strftime("%Y-%m-%d")
        scope = f"{date}/sms/tc3_request"
        to_sign = f"TC3-HMAC-SHA256\n{timestamp}\n{scope}\n{sha256_hex(canonical.encode())}"
        key = ("TC3" + secret_key).encode()
        for part in (date, "sms", "tc3_request"):
            key = hmac.new(key, part.encode(), hashlib.sha256).digest()
        return hmac.new(key, to_sign.encode(), hashlib.sha256).hexdigest()

    def _parameters_refusal(self, request: dict[str, Any]) -> tuple[str, str] | None:
        for name in ("SmsSdkAppId", "TemplateId", "PhoneNumberSet"):
            if not request.get(name):
                return "MissingParameter", f"The parameter {name} is missing."
        if request["SmsSdkAppId"] not in self.apps:
            return "InvalidParameterValue.SdkAppIdNotExist", "SdkAppId does not exist."
        if request.get("SignName") not in self.signs:
            return "FailedOperation.SignatureIncorrectOrUnapproved", "签名未审批或格式错误"
        template = self.templates.get(str(request["TemplateId"]))
        if template is None:
            return "FailedOperation.TemplateIncorrectOrUnapproved", "模板未审批或内容不匹配"
        params = request.get("TemplateParamSet") or []
        if len(params) != template or not all(isinstance(p, str) for p in params):
            return (
                "FailedOperation.TemplateParamSetNotMatchApprovedTemplate",
                "请求内容与审核通过的模板内容不匹配",
            )
        return None

    def _send_one(self, request: dict[str, Any], phone: str) -> dict[str, Any]:
        """One number's status: Ok, or its refusal (a bad number, a limit)."""
        status = {"PhoneNumber": phone, "SessionContext": request.get("SessionContext", "")}
        refusal = None
        if not re.fullmatch(r"\+[1-9]\d{6,14}", phone):
            refusal = ("InvalidParameterValue.IncorrectPhoneNumber", "手机号格式错误")
        elif (asked := self._take_refusal()) is not None:
            refusal = asked[:2]
        if refusal is not None:
            self._record_refusal(*refusal)
            no_fee = {"SerialNo": "", "Fee": 0, "IsoCode": ""}
            return status | no_fee | {"Code": refusal[0], "Message": refusal[1]}
        serial = f"2645:{random.randrange(10**21, 10**22)}"
        self._record_sent(
            CloudSent(
                phone,
                request["SignName"],
                str(request["TemplateId"]),
                request.get("TemplateParamSet") or [],
                request.get("SessionContext", ""),
                serial,
                request,
            )
        )
        ok = {"SerialNo": serial, "Fee": 1, "Code": "Ok", "Message": "send success"}
        return status | ok | {"IsoCode": "CN" if phone.startswith("+86") else ""}
