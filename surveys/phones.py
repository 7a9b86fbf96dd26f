"""Phone numbers: parse to E.164 (default region from settings) and mask for logs."""

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
