"""Webhook signatures of the SMS simulator: HMAC-SHA256 over the raw body.

Pure standard library so the simulator process needs nothing from Django.
"""

import hashlib
import hmac

HEADER = "X-Simulator-Signature"


def sign_body(secret: str, body: bytes) -> str:
    digest = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    return f"sha256={digest}"


def signature_matches(secret: str, body: bytes, signature: str | None) -> bool:
    if not signature or not secret:
        return False
    return hmac.compare_digest(sign_body(secret, body), signature)
