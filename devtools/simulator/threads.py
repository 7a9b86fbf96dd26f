"""The simulator's messages seen as a phone sees them: one thread per number.

Pure functions over the store's messages (oldest first); the page and its JSON use them.
"""

import re
from typing import Any

Message = dict[str, Any]
# What the customer is being asked, read from our last SMS to them: a score, or why.
TIBETAN_SCORE = r"༠\s*ནས"  # "from 0 (to 10)" in the Tibetan survey question
WHY_PATTERN = re.compile(r"why|reason|原因|为什么|རྒྱུ་མཚན", re.IGNORECASE)
QUESTION = re.compile(r"[?？]|ནམ")  # a question, not "thank you for telling us why."
SCORE_HINT, WHY_HINT, ANY_HINT = "0-10", "why?", "Reply"


def is_outbound(message: Message) -> bool:
    return "reference" in message


def phone_of(message: Message) -> str:
    return str(message["to"] if is_outbound(message) else message["from"])


def sent_at(message: Message) -> str:
    return str(message.get("created_at") or message.get("received_at") or "")


def status_of(message: Message) -> str:
    if is_outbound(message):
        return str(message["status"])
    code = message.get("webhook_status")
    return "webhook: no answer" if code is None else f"webhook {code}"


def threads(messages: list[Message]) -> list[Message]:
    """One entry per number, the most recently active first."""
    last: dict[str, Message] = {}
    counts: dict[str, int] = {}
    for message in messages:
        phone = phone_of(message)
        last.pop(phone, None)  # re-inserted: the dict ends in order of last activity
        last[phone] = message
        counts[phone] = counts.get(phone, 0) + 1
    return [
        {"phone": phone, "last": m["text"], "at": sent_at(m), "count": counts[phone]}
        for phone, m in reversed(last.items())
    ]


def thread(messages: list[Message], phone: str) -> list[Message]:
    """The number's messages, oldest first, as the page shows them."""
    return [
        {
            "id": m.get("id") or m.get("message_id"),
            "direction": "out" if is_outbound(m) else "in",
            "text": m["text"],
            "at": sent_at(m),
            "status": status_of(m),
        }
        for m in messages
        if phone_of(m) == phone
    ]


def reply_hint(messages: list[Message], phone: str, score_pattern: re.Pattern[str]) -> str:
    """What the customer is being asked: "0-10" after a survey or a clarification, "why?"
    after the why-question, else a plain "Reply"."""
    ours = [m for m in messages if is_outbound(m) and phone_of(m) == phone]
    if not ours:
        return ANY_HINT
    text = ours[-1]["text"]
    if score_pattern.search(text) or re.search(TIBETAN_SCORE, text):
        return SCORE_HINT
    if WHY_PATTERN.search(text) and QUESTION.search(text):
        return WHY_HINT
    return ANY_HINT
