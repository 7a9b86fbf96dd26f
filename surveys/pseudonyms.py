"""Keyed pseudonyms: a phone number replaced by a value that still joins but names nobody.

HMAC-SHA256 under a key of our own (`NPS_PSEUDONYM_KEY`, else derived from SECRET_KEY),
so one number gives one pseudonym in every table and every run, and nobody without the key
can test a number against it (a plain hash of the ten billion possible numbers could be
reversed in an afternoon). 90 bits of the digest in base32 fit the 20 characters of a
phone column; two numbers sharing a pseudonym is as likely as guessing a 90-bit key.
"""

import base64

from django.conf import settings
from django.utils.crypto import salted_hmac

PREFIX = "h:"
_SALT = "surveys.pseudonyms"


def pseudonym(value: str) -> str:
    """The keyed hash that replaces `value` (a phone number, a CRM id): same in, same out."""
    secret = settings.NPS_PSEUDONYM_KEY or settings.SECRET_KEY
    digest = salted_hmac(_SALT, value, secret=secret, algorithm="sha256").digest()
    return PREFIX + base64.b32encode(digest).decode()[:18].lower()


def is_pseudonym(value: str) -> bool:
    return value.startswith(PREFIX)
