"""Phone numbers: parse to E.164 (default region from settings) and mask for logs."""

import logging
import re
from dataclasses import dataclass

import phonenumbers
from phonenumbers import PhoneNumberType


class InvalidPhone(ValueError):
    pass


@dataclass(frozen=True)
class Phone:
    e164: str
    is_mobile: bool


_MOBILE_TYPES = {PhoneNumberType.MOBILE, PhoneNumberType.FIXED_LINE_OR_MOBILE}


def phone_parse(raw: str, *, region: str = "CN") -> Phone:
    """Parse what a CRM or gateway sends; raises InvalidPhone when it is not a number at all."""
    try:
        number = phonenumbers.parse(raw, region)
    except phonenumbers.NumberParseException as exc:
        raise InvalidPhone(str(exc)) from exc
    if not phonenumbers.is_possible_number(number):
        raise InvalidPhone("not a possible phone number")
    e164 = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
    is_mobile = phonenumbers.is_valid_number(number) and (
        phonenumbers.number_type(number) in _MOBILE_TYPES
    )
    return Phone(e164=e164, is_mobile=is_mobile)


def mask_phone(phone: str) -> str:
    """+8613800138000 -> +86138******00: enough to correlate logs, not to call anyone."""
    if len(phone) <= 6:
        return "*" * len(phone)
    return phone[:6] + "*" * (len(phone) - 8) + phone[-2:]


# Anything that looks like a phone number: +country code or a Chinese mobile, 11+ digits.
_PHONE_IN_TEXT = re.compile(r"(?<![\d*])(\+?\d[\d -]{9,18}\d)(?!\d)")


def mask_phones_in(text: str) -> str:
    return _PHONE_IN_TEXT.sub(lambda m: mask_phone(re.sub(r"[ -]", "", m.group(1))), text)


class MaskPhonesFilter(logging.Filter):
    """A logging filter: the rendered message and traceback have every phone number masked.

    On every handler of settings.LOGGING, on Celery's worker and beat (nps/celery.py) and
    on gunicorn's access and error logs (nps/gunicorn.conf.py): request lines carry numbers
    in query strings (an admin search `?q=13800000002`).
    """

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        masked = mask_phones_in(message)
        if masked != message:
            record.msg, record.args = masked, None
        if record.exc_info and not record.exc_text:
            # Rendered here so the formatter uses this masked text instead of its own.
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = mask_phones_in(record.exc_text)
        return True
