"""A loopback stand-in for Vonage's SMS API, and Vonage's signed webhooks.

`VonageFake` is a real HTTPS server on 127.0.0.1 (a thread of the test process) answering
`POST /sms/json` as Vonage does: it takes the API key with the secret (basic auth or
form fields) or a signed request (`sig` over the parameters with the signature secret),
requires `from`, `to` and `text`, splits the text into parts as the handset will see
them, and answers HTTP 200 with `message-count` and a `messages` entry per part (status,
message-id, remaining-balance, message-price, network, client-ref). It can answer the
next send throttled (status 1) or refused (any status). It records every send.

The SDK speaks only https (it builds `https://<rest host>`), so the fake serves TLS with
a certificate made for 127.0.0.1 at start (`ca_file`); the tests point the process's
requests at it (REQUESTS_CA_BUNDLE) for their duration.

`VonageWebhooks` calls our webhooks as Vonage calls them: GET query, POST form or POST
JSON, signed with the signature secret by the SDK's own signer.
"""

import base64
import datetime
import hashlib
import json
import ssl
import tempfile
import threading
import time
import uuid
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from ipaddress import IPv4Address
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from django.test import Client
from vonage_http_client import Auth

from surveys.gateways.vonage import canonical_params, signature_valid
from surveys.smslength import sms_length

API_KEY = "a1b2c3d4"
API_SECRET = "loopback-vonage-secret"
SIGNATURE_SECRET = "loopback-vonage-signature-secret"
SIGNATURE_METHOD = "sha256"
FROM = "NPSCare"
BALANCE = "15.25000000"
PRICE = "0.03330000"
NETWORK = "46000"  # China Mobile


@dataclass
class Sent:
    """One SMS as Vonage received it."""

    to: str
    text: str
    type: str
    reference: str
    message_ids: list[str]
    fields: dict[str, str] = field(default_factory=dict)


def _certificate(directory: Path) -> tuple[Path, Path]:
    """A certificate for 127.0.0.1, its own authority (the test trusts it alone)."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "loopback vonage")])
    now = datetime.datetime.now(datetime.UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(IPv4Address("127.0.0.1"))]), False
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                key_cert_sign=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                crl_sign=False,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(key.public_key()), False)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = directory / "vonage.pem", directory / "vonage.key"
    cert_path.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert_path, key_path


def parts_of(text: str) -> int:
    return max(1, sms_length(text)[2])


class VonageFake:
    def __init__(self) -> None:
        self.sent: list[Sent] = []
        self.requests: list[dict[str, str]] = []  # every /sms/json call, refused ones too
        self.answer_next: list[tuple[str, str]] = []  # (status, error-text) to answer next
        self.lock = threading.Lock()
        self.directory = tempfile.TemporaryDirectory()
        self.ca_file, key_file = _certificate(Path(self.directory.name))
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.server.daemon_threads = True
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(self.ca_file, key_file)
        self.server.socket = context.wrap_socket(self.server.socket, server_side=True)
        self.url = f"https://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, args=(0.05,), daemon=True).start()

    def gateway(self, **overrides: str) -> dict[str, Any]:
        """settings.NPS_GATEWAYS["vonage"] pointed at this server."""
        return {
            "CLASS": "surveys.gateways.vonage.VonageGateway",
            "API_KEY": API_KEY,
            "API_SECRET": API_SECRET,
            "SIGNATURE_SECRET": SIGNATURE_SECRET,
            "SIGNATURE_METHOD": SIGNATURE_METHOD,
            "FROM": FROM,
            "API_URL": self.url,  # VONAGE_API_URL
        } | overrides

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.directory.cleanup()

    def authenticated(self, form: dict[str, str], authorization: str) -> bool:
        """Vonage's three ways: basic auth, key and secret as fields, or a signed request."""
        if authorization.startswith("Basic "):
            user, _, password = base64.b64decode(authorization[6:]).decode().partition(":")
            return (user, password) == (API_KEY, API_SECRET)
        if form.get("api_key") != API_KEY:
            return False
        if "sig" in form:
            fresh = abs(time.time() - int(form.get("timestamp") or 0)) <= 300
            valid = signature_valid(form, secret=SIGNATURE_SECRET, method=SIGNATURE_METHOD)
            return fresh and valid
        return form.get("api_secret") == API_SECRET

    def answer(self, form: dict[str, str], authorization: str) -> dict[str, Any]:
        """What Vonage answers to one /sms/json call (always HTTP 200)."""
        with self.lock:
            self.requests.append(form)
            planned = self.answer_next.pop(0) if self.answer_next else None
        to = form.get("to", "")
        if not self.authenticated(form, authorization):
            planned = ("4", "Bad Credentials")
        elif not all(form.get(name) for name in ("from", "to", "text")):
            planned = ("2", "Missing from, to or text")
        elif not to.isdigit():
            planned = ("3", "Invalid to address")
        if planned is not None:
            status, text = planned
            return {"message-count": "1", "messages": [{"status": status, "error-text": text}]}
        ids = [f"{uuid.uuid4().hex[:16].upper()}" for _ in range(parts_of(form["text"]))]
        sent = Sent(to, form["text"], form.get("type", "text"), form.get("client-ref", ""), ids)
        sent.fields = form
        with self.lock:
            self.sent.append(sent)
        part = {"to": to, "status": "0", "remaining-balance": BALANCE}
        part |= {"message-price": PRICE, "network": NETWORK}
        if sent.reference:
            part["client-ref"] = sent.reference
        messages = [part | {"message-id": message_id} for message_id in ids]
        return {"message-count": str(len(ids)), "messages": messages}

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:
                pass

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                if urlsplit(self.path).path != "/sms/json":
                    return self._answer(404, {"error": "not found"})
                form = {k: v[0] for k, v in parse_qs(body.decode(), keep_blank_values=True).items()}
                self._answer(200, fake.answer(form, self.headers.get("Authorization", "")))

            def _answer(self, status: int, payload: dict[str, Any]) -> None:
                content = json.dumps(payload).encode()
                try:
                    self.send_response(status)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(content)))
                    self.end_headers()
                    self.wfile.write(content)
                except OSError:
                    pass  # the sender gave up

        return Handler


def vonage_sign(
    params: dict[str, str], *, secret: str = SIGNATURE_SECRET, method: str = SIGNATURE_METHOD
) -> dict[str, str]:
    """The parameters with `sig`, signed as Vonage signs its webhooks (the SDK's signer;
    md5hash, which the SDK lacks, by Vonage's documented rule)."""
    params = dict(params)
    params.setdefault("timestamp", str(int(time.time())))
    if method == "md5hash":
        signature = hashlib.md5((canonical_params(params) + secret).encode()).hexdigest()  # noqa: S324
    else:
        auth = Auth(api_key=API_KEY, signature_secret=secret, signature_method=method)
        signature = auth.sign_params(dict(params))
    return params | {"sig": signature}


class VonageWebhooks:
    """What Vonage calls our webhooks with, signed; `how` is get, form or json."""

    def __init__(self, client: Client, *, how: str = "get") -> None:
        self.client, self.how = client, how

    def call(self, kind: str, params: dict[str, str], *, sign: bool = True) -> int:
        path = f"/webhooks/vonage/{kind}/"
        signed = vonage_sign(params) if sign else params
        if self.how == "get":
            answer = self.client.get(f"{path}?{urlencode(signed)}")
        elif self.how == "form":
            answer = self.client.post(path, urlencode(signed), "application/x-www-form-urlencoded")
        else:
            answer = self.client.post(path, json.dumps(signed), "application/json")
        return int(answer.status_code)

    def receipt(
        self, message_id: str, status: str, *, to: str, reference: str, err: str = "0"
    ) -> int:
        params = {
            "msisdn": to.lstrip("+"),
            "to": FROM,
            "network-code": NETWORK,
            "messageId": message_id,
            "price": PRICE,
            "status": status,
            "scts": time.strftime("%y%m%d%H%M", time.gmtime()),
            "err-code": err,
            "api-key": API_KEY,
            "client-ref": reference,
            "message-timestamp": time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime()),
            "nonce": str(uuid.uuid4()),
        }
        return self.call("status", params)

    def inbound(self, message_id: str, phone: str, text: str) -> int:
        params = {
            "msisdn": phone.lstrip("+"),
            "to": "447700900000",
            "messageId": message_id,
            "text": text,
            "type": "text" if sms_length(text)[0] == "GSM-7" else "unicode",
            "keyword": text.split()[0].upper() if text.split() else "",
            "api-key": API_KEY,
            "message-timestamp": time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime()),
            "nonce": str(uuid.uuid4()),
        }
        return self.call("inbound", params)
