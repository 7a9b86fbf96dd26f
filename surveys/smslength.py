"""SMS length: encoding (GSM-7 or UCS-2), length in places, segments billed, and the parts."""

GSM7_BASIC = frozenset(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
GSM7_EXTENSION = frozenset("\f^{}\\[~]|€")  # sent as ESC + character: two places each
GSM7, UCS2 = "GSM-7", "UCS-2"


def sms_length(text: str) -> tuple[str, int, int]:
    """(encoding, length, segments) of an SMS text (the parts are sms_parts')."""
    encoding, parts = sms_parts(text)
    return encoding, sum(_places(c, encoding) for c in text), len(parts)


def sms_parts(text: str) -> tuple[str, list[str]]:
    """(encoding, parts) of an SMS text: the one rule for counting segments and splitting.

    GSM-7 when every character is in the GSM 03.38 alphabet: 160 in one SMS, 153 per
    part of a longer one. Otherwise UCS-2: 70, or 67 per part. The length is counted in
    those places: a GSM-7 extension character (€ [ ] { } ...) or a UCS-2 character
    outside the BMP (emoji) takes two, and is never split across two parts.
    """
    if all(c in GSM7_BASIC or c in GSM7_EXTENSION for c in text):
        encoding, single, part = GSM7, 160, 153
    else:
        encoding, single, part = UCS2, 70, 67
    if not text:
        return encoding, []
    if sum(_places(c, encoding) for c in text) <= single:
        return encoding, [text]
    parts, current, used = [], "", 0
    for c in text:
        size = _places(c, encoding)
        if used + size > part:
            parts.append(current)
            current, used = "", 0
        current += c
        used += size
    return encoding, [*parts, current]


def _places(c: str, encoding: str) -> int:
    if encoding == GSM7:
        return 2 if c in GSM7_EXTENSION else 1
    return 2 if ord(c) > 0xFFFF else 1
