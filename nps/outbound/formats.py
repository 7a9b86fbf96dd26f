"""What goes over the wire for each kind of subscription: signed JSON, or a group bot's
markdown message in the operator's language. Pure functions of the stored row and the time.

Generic receivers get the event as JSON with four headers:

  X-NPS-Event: response.recorded      X-NPS-Delivery: <event id, the same on every retry>
  X-NPS-Timestamp: <unix seconds>      X-NPS-Signature: sha256=<hex>

where the signature is HMAC-SHA256 with the subscription's secret over
f"{timestamp}.{body}" (the raw body bytes). A receiver recomputes it, compares in
constant time, refuses a timestamp more than five minutes from its clock, and ignores an
event id it has already processed (delivery is at least once).
"""

import base64
import hashlib
import hmac
import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import quote_plus
from zoneinfo import ZoneInfo

from django.conf import settings
from django.utils import translation
from django.utils.translation import gettext as _

from followups.models import Priority
from nps.models import EventType, WebhookKind
from surveys.models import Category, Touchpoint

WECOM_MAX_BYTES = 4096  # WeCom refuses a markdown message longer than this


@dataclass(frozen=True)
class OutboundRequest:
    url: str
    body: bytes
    headers: dict[str, str]


@dataclass(frozen=True)
class Event:
    """One event as the subscriptions see it (the delivery row holds the same)."""

    event_type: str
    event_id: str
    at: datetime
    payload: dict[str, Any]


def generic_signature(*, secret: str, timestamp: str, body: bytes) -> str:
    """ "sha256=" + hex HMAC-SHA256(secret, f"{timestamp}.{body}")."""
    digest = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256)
    return "sha256=" + digest.hexdigest()


def dingtalk_sign(*, secret: str, timestamp_ms: str) -> str:
    """DingTalk's 加签: base64 HMAC-SHA256(secret, f"{timestamp}\\n{secret}"), URL-encoded."""
    digest = hmac.new(
        secret.encode(), f"{timestamp_ms}\n{secret}".encode(), hashlib.sha256
    ).digest()
    return quote_plus(base64.b64encode(digest).decode())


def request_build(
    *, kind: str, url: str, secret: str, event: Event, now: datetime
) -> OutboundRequest:
    """The HTTP request that delivers `event` to a subscription of `kind`, signed at `now`."""
    if kind == WebhookKind.GENERIC:
        envelope = {
            "id": event.event_id,
            "type": event.event_type,
            "occurred_at": event.at.isoformat(),
            "data": event.payload,
        }
        body = json.dumps(envelope, ensure_ascii=False, separators=(",", ":")).encode()
        timestamp = str(int(now.timestamp()))
        headers = {
            "Content-Type": "application/json; charset=utf-8",
            "X-NPS-Event": event.event_type,
            "X-NPS-Delivery": event.event_id,
            "X-NPS-Timestamp": timestamp,
            "X-NPS-Signature": generic_signature(secret=secret, timestamp=timestamp, body=body),
        }
        return OutboundRequest(url, body, headers)
    title, text = message_render(event)
    json_headers = {"Content-Type": "application/json; charset=utf-8"}
    if kind == WebhookKind.WECOM:
        content = _truncate_bytes(text, WECOM_MAX_BYTES)
        message = {"msgtype": "markdown", "markdown": {"content": content}}
        return OutboundRequest(url, _json(message), json_headers)
    timestamp_ms = str(int(now.timestamp() * 1000))
    sign = dingtalk_sign(secret=secret, timestamp_ms=timestamp_ms)
    signed_url = f"{url}{'&' if '?' in url else '?'}timestamp={timestamp_ms}&sign={sign}"
    message = {"msgtype": "markdown", "markdown": {"title": title, "text": text}}
    return OutboundRequest(signed_url, _json(message), json_headers)


def _json(value: Any) -> bytes:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode()


def _truncate_bytes(text: str, limit: int) -> str:
    encoded = text.encode()
    if len(encoded) <= limit:
        return text
    return encoded[: limit - 3].decode(errors="ignore") + "…"


# ---------------------------------------------------------------- the message people read


def _local(value: str | None) -> str:
    if not value:
        return "—"
    zone = ZoneInfo(settings.NPS_REPORTING_TIME_ZONE)
    return datetime.fromisoformat(value).astimezone(zone).strftime("%Y-%m-%d %H:%M")


def _label(choices: Any, value: str) -> str:
    try:
        return str(choices(value).label)
    except ValueError:
        return value or "—"


def _reason_names(reasons: list[dict[str, str]]) -> str:
    language = translation.get_language() or ""
    key = "name_zh" if language.startswith("zh") else "name_en"
    names = [r.get(key) or r.get("name_en") or r.get("code", "") for r in reasons]
    return ", ".join(names) if names else _("none")


def message_render(event: Event) -> tuple[str, str]:
    """(title, markdown text) of `event` in the webhook language (Chinese by default)."""
    language = getattr(settings, "NPS_WEBHOOK_LANGUAGE", "zh-hans")
    with translation.override(language):
        title, lines = _message(event)
        at = _("Time: %(at)s") % {"at": _local(event.at.isoformat())}
    text = "\n\n".join([f"### {title}", *lines, at])
    return title, text


def _message(event: Event) -> tuple[str, list[str]]:
    p = event.payload
    kind = event.event_type
    if kind == EventType.RESPONSE_RECORDED:
        titles = {
            Category.DETRACTOR: _("New detractor answer"),
            Category.PASSIVE: _("New passive answer"),
            Category.PROMOTER: _("New promoter answer"),
        }
        title = titles.get(p.get("category", ""), _("New answer"))
        summary = _("%(title)s: %(touchpoint)s, %(score)s points, reasons: %(reasons)s") % {
            "title": title,
            "touchpoint": _label(Touchpoint, p.get("touchpoint", "")),
            "score": p.get("score"),
            "reasons": _reason_names(p.get("reasons", [])),
        }
        lines = [summary, _("Customer: %(phone)s") % {"phone": p.get("customer_phone", "")}]
        if p.get("comment"):
            lines.append(_("Comment: %(comment)s") % {"comment": p["comment"][:300]})
        return title, lines
    if kind in (EventType.CASE_OPENED, EventType.CASE_ASSIGNED, EventType.CASE_RESOLVED,
                EventType.CASE_CLOSED):  # fmt: skip
        return _case_message(kind, p)
    if kind == EventType.ALERT_RAISED:
        title = _("Alert: %(title)s") % {"title": p.get("title", "")}
        return title, [str(p.get("text", ""))]
    if kind == EventType.PROBLEM_CHANGED:
        title = _("Problem changed: %(title)s") % {"title": p.get("title", "")}
        return title, [str(p.get("text", ""))]
    return _("Test message"), [_("A test message from the NPS system: this webhook works.")]


def _case_message(kind: str, p: dict[str, Any]) -> tuple[str, list[str]]:
    values = {
        "id": p.get("case_id"),
        "priority": _label(Priority, p.get("priority", "")),
        "phone": p.get("customer_phone", ""),
        "due": _local(p.get("first_contact_due_at")),
        "agent": p.get("agent") or _("nobody"),
        "team": p.get("team") or _("no team"),
        "reason": p.get("close_reason") or "—",
    }
    if kind == EventType.CASE_OPENED:
        title = _("Case #%(id)s opened") % values
        summary = _("%(priority)s, customer %(phone)s, first contact due %(due)s") % values
    elif kind == EventType.CASE_ASSIGNED:
        title = _("Case #%(id)s assigned") % values
        summary = _("Assigned to %(agent)s (%(team)s), first contact due %(due)s") % values
    elif kind == EventType.CASE_RESOLVED:
        title = _("Case #%(id)s resolved") % values
        summary = _("Resolved by %(agent)s (%(team)s), customer %(phone)s") % values
    else:
        title = _("Case #%(id)s closed") % values
        summary = _("Closed: %(reason)s") % values
    return title, [summary]
