"""How each webhook format's delivery statuses map to ours: one map per format.

Only a status that tells us something new is stored as a receipt (sent, delivered,
failed). Any other word, interim ("queued", "sending") or unknown, is acknowledged with
200 and not stored: answering 4xx would only make the gateway post it again.
"""

import logging

from surveys.models import InvitationStatus as S

log = logging.getLogger(__name__)

# Twilio's MessageStatus (https://www.twilio.com/docs/messaging/api/message-resource);
# "accepted", "scheduled", "queued", "sending", "receiving", "received", "read",
# "canceled" and "partially_delivered" are not delivery outcomes of an SMS we sent.
TWILIO = {"sent": S.SENT, "delivered": S.DELIVERED, "undelivered": S.FAILED, "failed": S.FAILED}

# Vonage's SMS API delivery receipts, field "status"
# (https://developer.vonage.com/en/messaging/sms/guides/delivery-receipts): "accepted" is
# the carrier taking the SMS (as Twilio's "sent"); "expired" and "rejected" end it
# undelivered as "failed" does. "buffered" (the carrier still trying) and "unknown" are not
# outcomes.
VONAGE = {
    "accepted": S.SENT,
    "delivered": S.DELIVERED,
    "expired": S.FAILED,
    "failed": S.FAILED,
    "rejected": S.FAILED,
}

# Our JSON format, spoken by the simulator (devtools/simulator/server.py posts "sent" and
# "delivered"; its messages start "accepted") and the console.
JSON_FORMAT = {
    "sent": S.SENT,
    "delivered": S.DELIVERED,
    "failed": S.FAILED,
    "undelivered": S.FAILED,
}

# SMPP 3.4 delivery receipts' "stat:" word (the specification's Appendix B; the message
# states of its message_state TLV have the same names). "ENROUTE", "ACCEPTD" and
# "UNKNOWN" are no outcome of delivery: acknowledged, not stored.
SMPP = {
    "DELIVRD": S.DELIVERED,
    "EXPIRED": S.FAILED,
    "DELETED": S.FAILED,
    "UNDELIV": S.FAILED,
    "REJECTD": S.FAILED,
}


# Alibaba Cloud SMS's SmsReport push (https://help.aliyun.com/zh/sms/developer-reference/smsreport-2):
# each report's `success` (a JSON boolean, read as "true" or "false") is the final outcome,
# `err_code` says why ("DELIVERED" when it arrived). Alibaba pushes no interim status.
ALIBABA = {"true": S.DELIVERED, "false": S.FAILED}

# Tencent Cloud SMS's status callback (https://www.tencentcloud.com/document/product/382/43547):
# `report_status` is SUCCESS or FAIL, `errmsg` the carrier's code ("DELIVRD" when it arrived).
TENCENT = {"SUCCESS": S.DELIVERED, "FAIL": S.FAILED}


def status_ours(statuses: dict[str, S], word: str, *, gateway: str) -> S | None:
    """Our status for the gateway's word, or None: acknowledged, nothing stored."""
    ours = statuses.get(word)
    if ours is None:
        log.info("%s status %r: acknowledged, not stored", gateway, word[:40])
    return ours
