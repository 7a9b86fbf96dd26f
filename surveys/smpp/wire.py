"""What SMPP 3.4 PDUs carry, as pure functions: no socket, no database.

- The text of a submit_sm: GSM-7 (data_coding 0, one septet per octet, the SMSC packs)
  when every character is in the GSM 03.38 alphabet, else UCS-2 (data_coding 8); split
  into parts by surveys.smslength.sms_parts (the one rule for segments), each part behind
  a concatenation header (UDH, esm_class 0x40).
- Our reference rides in every submit_sm as a vendor TLV (`ReferencedSubmitSM`), so an
  SMS centre that keeps it can answer a resubmission with the message id it gave first.
- A deliver_sm's meaning: a delivery receipt ("id:... stat:DELIVRD ...") or a customer's
  message, maybe one part of a longer one.
"""

import hashlib
import re
import struct
from dataclasses import dataclass
from typing import Any

from smpplib import command

from surveys.smslength import GSM7, sms_parts

# GSM 03.38: the basic table by septet value (0x1B is the escape to the extension table).
GSM7_TABLE = (
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞ\x1bÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
GSM7_EXTENSION_TABLE = {
    0x0A: "\f", 0x14: "^", 0x28: "{", 0x29: "}", 0x2F: "\\",
    0x3C: "[", 0x3D: "~", 0x3E: "]", 0x40: "|", 0x65: "€",
}  # fmt: skip
_GSM7_CODES = {c: i for i, c in enumerate(GSM7_TABLE)}
_GSM7_ESCAPES = {c: code for code, c in GSM7_EXTENSION_TABLE.items()}
ESC = 0x1B

DATA_CODING_DEFAULT, DATA_CODING_UCS2 = 0x00, 0x08
ESM_UDHI = 0x40  # the short message starts with a user data header
ESM_TYPE_MASK, ESM_RECEIPT = 0x3C, 0x04  # message type bits: an SMSC delivery receipt
REGISTERED_DELIVERY_FINAL = 0x01  # a receipt for the final outcome, delivered or failed
# Vendor-specific TLV tags are 0x1400-0x3FFF (SMPP 3.4, 5.3.2); an SMS centre that does
# not know ours ignores it, as the specification says it must.
REFERENCE_TAG = 0x1400


def gsm7_encode(text: str) -> bytes:
    """GSM-7 septets, one per octet, an extension character as ESC + its code."""
    out = bytearray()
    for c in text:
        if c in _GSM7_ESCAPES:
            out += bytes((ESC, _GSM7_ESCAPES[c]))
        elif c in _GSM7_CODES and c != "\x1b":
            out.append(_GSM7_CODES[c])
        else:
            raise UnicodeEncodeError("gsm-7", text, 0, len(text), f"{c!r} is not GSM-7")
    return bytes(out)


def gsm7_decode(data: bytes) -> str:
    """Unpacked GSM-7 to text; an unknown escape reads as a space, as handsets show it."""
    out, escaped = [], False
    for octet in data:
        if escaped:
            out.append(GSM7_EXTENSION_TABLE.get(octet, " "))
            escaped = False
        elif octet == ESC:
            escaped = True
        else:
            out.append(GSM7_TABLE[octet & 0x7F])
    return "".join(out)


@dataclass(frozen=True)
class SubmitPart:
    """One submit_sm's content: its coding, its esm_class and its octets (UDH included)."""

    index: int  # 1-based
    total: int
    data_coding: int
    esm_class: int
    short_message: bytes


def concat_reference(reference: str) -> int:
    """The 8-bit concatenation reference of our SMS `reference`: the same on every
    resubmission, so parts accepted before a reconnect and after it still join."""
    return hashlib.sha256(reference.encode()).digest()[0]


def submit_parts(text: str, *, reference: str) -> list[SubmitPart]:
    """The submit_sm contents of one SMS: encoding and split by sms_parts (the one rule),
    each part of a long one behind a concatenation header (IEI 0x00, 8-bit reference)."""
    encoding, parts = sms_parts(text)
    if not parts:
        parts = [""]
    if len(parts) > 255:
        raise ValueError(f"{len(parts)} parts: longer than one concatenated SMS can be")
    coding = DATA_CODING_DEFAULT if encoding == GSM7 else DATA_CODING_UCS2
    encode = gsm7_encode if encoding == GSM7 else _ucs2_encode
    if len(parts) == 1:
        return [SubmitPart(1, 1, coding, 0, encode(parts[0]))]
    ref, total = concat_reference(reference), len(parts)
    return [
        SubmitPart(n, total, coding, ESM_UDHI, bytes((5, 0, 3, ref, total, n)) + encode(part))
        for n, part in enumerate(parts, start=1)
    ]


def _ucs2_encode(text: str) -> bytes:
    # UTF-16 big-endian: what handsets read as UCS-2, a character outside the BMP as a
    # surrogate pair (sms_parts never splits one).
    return text.encode("utf-16-be")


@dataclass(frozen=True)
class Concat:
    """A part of a concatenated message: its reference, how many parts, which one."""

    reference: int
    total: int
    index: int


def user_data(short_message: bytes, esm_class: int) -> tuple[Concat | None, bytes]:
    """(the concatenation header's facts if any, the text's octets) of a short message."""
    if not esm_class & ESM_UDHI or not short_message:
        return None, short_message
    length = short_message[0]
    header, payload = short_message[1 : 1 + length], short_message[1 + length :]
    concat, pos = None, 0
    while pos + 2 <= len(header):
        iei, size = header[pos], header[pos + 1]
        value = header[pos + 2 : pos + 2 + size]
        if iei == 0x00 and size == 3:
            concat = Concat(value[0], value[1], value[2])
        elif iei == 0x08 and size == 4:  # a 16-bit reference
            concat = Concat(struct.unpack(">H", value[:2])[0], value[2], value[3])
        pos += 2 + size
    return concat, payload


def message_text(payload: bytes, data_coding: int) -> str:
    """The text of a short message's octets in its coding (GSM-7, Latin-1 or UCS-2)."""
    if data_coding == DATA_CODING_UCS2:
        return payload.decode("utf-16-be", errors="replace")
    if data_coding in (0x01, 0x03):  # IA5 (ASCII), Latin-1
        return payload.decode("latin-1")
    return gsm7_decode(payload)


def is_receipt(esm_class: int) -> bool:
    return esm_class & ESM_TYPE_MASK == ESM_RECEIPT


_RECEIPT_FIELD = re.compile(r"(id|sub|dlvrd|submit date|done date|stat|err|text):", re.IGNORECASE)


def receipt_fields(text: str) -> dict[str, str]:
    """The fields of a delivery receipt's text (SMPP 3.4, Appendix B):
    "id:IIIIIIIIII sub:SSS dlvrd:DDD submit date:YYMMDDhhmm done date:YYMMDDhhmm
    stat:DDDDDDD err:E text:..." -> {"id": ..., "stat": ..., ...}, keys in lower case.
    The values are read up to the next field's name: SMS centres differ in spacing."""
    marks = list(_RECEIPT_FIELD.finditer(text))
    fields: dict[str, str] = {}
    for n, mark in enumerate(marks):
        end = marks[n + 1].start() if n + 1 < len(marks) else len(text)
        value = text[mark.end() : end]
        fields[mark.group(1).lower()] = value if mark.group(1).lower() == "text" else value.strip()
    return fields


def destination_address(phone: str) -> tuple[int, int, str]:
    """(TON, NPI, address) of a customer's E.164 number: international, ISDN, no "+"."""
    return 1, 1, phone.removeprefix("+")


def source_address(address: str) -> tuple[int, int]:
    """(TON, NPI) of our sender: alphanumeric (5, 0), international "+..." (1, 1), a short
    code or national number (0, 1)."""
    if address.startswith("+"):
        return 1, 1
    if address.isdigit():
        return 0, 1
    return 5, 0


def sender_phone(address: str, ton: int) -> str:
    """A deliver_sm's source as a phone number: an international one gets its "+"."""
    return f"+{address}" if ton == 1 and not address.startswith("+") else address


class ReferencedSubmitSM(command.SubmitSM):
    """submit_sm with our reference in a vendor TLV (REFERENCE_TAG, a C-octet string).

    smpplib builds and reads the standard fields; this class adds the one TLV it has no
    name for, when generating and when parsing (the loopback SMS centre reads it)."""

    reference_tag = REFERENCE_TAG

    def __init__(self, command_name: str = "submit_sm", **kwargs: Any) -> None:
        self.reference: str = kwargs.pop("reference", "") or ""
        self.reference_tag = kwargs.pop("reference_tag", REFERENCE_TAG)
        super().__init__(command_name, **kwargs)

    def generate_params(self) -> bytes:
        body: bytes = super().generate_params()
        if self.reference and self.reference_tag:
            value = self.reference.encode() + b"\x00"
            body += struct.pack(">HH", self.reference_tag, len(value)) + value
        return body

    def parse_optional_params(self, data: bytes) -> None:
        known, pos = b"", 0
        while pos + 4 <= len(data):
            tag, length = struct.unpack(">HH", data[pos : pos + 4])
            tlv = data[pos : pos + 4 + length]
            if tag == self.reference_tag:
                self.reference = tlv[4:].rstrip(b"\x00").decode(errors="replace")
            else:
                known += tlv
            pos += 4 + length
        if known:
            super().parse_optional_params(known)
