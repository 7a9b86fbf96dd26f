"""What a deliver_sm becomes: a delivery receipt or a customer's message, stored first.

The same store-first path as the HTTP webhooks: `receipt_store` and `reply_store` keep the
row (idempotent on gateway and id), the outbox relay hands it to the workers, and only
then does the gateway process answer deliver_sm_resp (surveys/smpp/session.py). A crash
before the row is stored leaves the deliver_sm unanswered, and the SMS centre delivers it
again; the stores make that second delivery a no-op.

A receipt's id is the SMS centre's message id (the receipted_message_id TLV, else the
"id:" of its text); a part of a long SMS reports under the first part's id, the one our
record of the send holds. A customer's message carries no id in SMPP 3.4: we name it
`mo:<digest of sender, recipient and text>:<epoch seconds of its first arrival>`, and a
message with the same digest stored within MO_DEDUPE_SECONDS is taken for a
redelivery of it (the same id, so the store keeps one).
"""

import hashlib
import json
import logging
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from django.utils import timezone

from surveys.gateways.base import InboundSMS, StatusReport, without_nul
from surveys.gateways.statuses import SMPP, status_ours
from surveys.models import InboundMessage
from surveys.receipts import receipt_store
from surveys.replies import reply_store
from surveys.smpp.channel import SubmitChannel
from surveys.smpp.wire import receipt_fields

log = logging.getLogger(__name__)

# SMPP 3.4's message_state TLV (5.3.2.35), as the receipt text's "stat:" words.
MESSAGE_STATES = {
    1: "ENROUTE", 2: "DELIVRD", 3: "EXPIRED", 4: "DELETED",
    5: "UNDELIV", 6: "ACCEPTD", 7: "UNKNOWN", 8: "REJECTD",
}  # fmt: skip
SENT_TTL_SECONDS = 7 * 24 * 3600  # how long a message id's reference and parts are known


@dataclass(frozen=True)
class Delivered:
    """A deliver_sm's fields, decoded by the session: the text is whole (parts joined)."""

    source_addr: str  # as a phone number (surveys.smpp.wire.sender_phone)
    destination_addr: str
    text: str
    receipted_message_id: str = ""
    message_state: int | None = None
    raw: dict[str, Any] | None = None


def receipt_report(
    delivered: Delivered, *, gateway: str, channel: SubmitChannel
) -> StatusReport | None:
    """The receipt worth storing, or None (an interim state, or no message id at all)."""
    fields = receipt_fields(delivered.text)
    message_id = delivered.receipted_message_id or fields.get("id", "")
    word = fields.get("stat", "").upper() or MESSAGE_STATES.get(delivered.message_state or 0, "")
    if not message_id:
        log.warning("%s receipt without a message id: acknowledged, not stored", gateway)
        return None
    status = status_ours(SMPP, word, gateway=gateway)
    if status is None:
        return None
    # A part of a long SMS: the message is known by its first part's id and our reference.
    known = json.loads(channel.recall(f"part:{message_id}") or "{}")
    error = "" if fields.get("err", "000").strip("0") == "" else f"err:{fields['err']}"
    return StatusReport(
        provider_message_id=known.get("message_id", message_id),
        status=status,
        reference=known.get("reference", ""),
        error=f"{word} {error}".strip() if status == "failed" else "",
        raw=without_nul({"part_message_id": message_id, "stat": word, **fields}),
    )


def receipt_deliver(delivered: Delivered, *, gateway: str, channel: SubmitChannel) -> None:
    """Store a delivery receipt (or nothing for an interim one): returns once it is stored."""
    report = receipt_report(delivered, gateway=gateway, channel=channel)
    if report is not None:
        receipt_store(gateway=gateway, report=report)


def reply_deliver(delivered: Delivered, *, gateway: str, dedupe_seconds: int) -> None:
    """Store a customer's message under its stable id: returns once it is stored."""
    message_id = mo_message_id(
        gateway=gateway,
        phone=delivered.source_addr,
        to=delivered.destination_addr,
        text=delivered.text,
        dedupe_seconds=dedupe_seconds,
    )
    sms = InboundSMS(
        message_id=message_id,
        phone=delivered.source_addr,
        text=without_nul(delivered.text),
        raw=without_nul(delivered.raw or {}),
    )
    reply_store(gateway=gateway, sms=sms)


def mo_message_id(*, gateway: str, phone: str, to: str, text: str, dedupe_seconds: int) -> str:
    """The stable id of a customer's message (module docstring): its digest, and the time
    of the first arrival of the same digest within the dedupe window, else now."""
    digest = hashlib.sha256(f"{phone}\x00{to}\x00{text}".encode()).hexdigest()[:32]
    prefix = f"mo:{digest}:"
    since = timezone.now() - timedelta(seconds=dedupe_seconds)
    earlier = (
        InboundMessage.objects.filter(
            gateway=gateway, gateway_message_id__startswith=prefix, received_at__gte=since
        )
        .order_by("-received_at")
        .values_list("gateway_message_id", flat=True)
        .first()
    )
    return earlier or f"{prefix}{int(timezone.now().timestamp())}"
