"""SMS length: encoding (GSM-7 or UCS-2), length in places, and segments billed."""

GSM7_BASIC = frozenset(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
GSM7_EXTENSION = frozenset("\f^{}\\[~]|€")  # sent as ESC + character: two places each


def sms_length(text: str) -> tuple[str, int, int]:
    """(encoding, length, segments) of an SMS text.

    GSM-7 when every character is in the GSM 03.38 alphabet: 160 in one SMS, 153 per
    part of a longer one. Otherwise UCS-2: 70, or 67 per part. The length is counted in
    those places: a GSM-7 extension character (€ [ ] { } ...) or a UCS-2 character
    outside the BMP (emoji) takes two, and is never split across two parts.
    """
    if all(c in GSM7_BASIC or c in GSM7_EXTENSION for c in text):
        encoding, single, part = "GSM-7", 160, 153
        sizes = [2 if c in GSM7_EXTENSION else 1 for c in text]
    else:
        encoding, single, part = "UCS-2", 70, 67
        sizes = [2 if ord(c) > 0xFFFF else 1 for c in text]
    length = sum(sizes)
    if length <= single:
        return encoding, length, 1 if length else 0
    segments, used = 1, 0
    for size in sizes:
        if used + size > part:
            segments, used = segments + 1, 0
        used += size
    return encoding, length, segments
