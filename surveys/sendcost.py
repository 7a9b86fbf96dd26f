"""What an SMS sent costs: its segments (surveys.smslength, the one length rule) and their
price at the gateway's GatewayPrice, recorded with the send by the sending kit.

A gateway's tariff (its price, and for a template gateway its approved wordings) is read
once for a batch of sends (`tariff_read`), then each SMS is priced without a query
(`sms_charge`). No price set means no cost (NULL), never a made-up zero.
"""

import re
from dataclasses import dataclass, field
from decimal import Decimal

from surveys.gateways.base import Composed, Gateway
from surveys.models import GatewayPrice, GatewayTemplate
from surveys.smslength import sms_length

# A template's placeholders as the providers write them: Alibaba names them (${link}),
# Tencent numbers them from 1 ({1}) in the order of GatewayTemplate.parameters.
NAMED_PARAMETER = re.compile(r"\$\{(\w+)\}")
NUMBERED_PARAMETER = re.compile(r"\{(\d+)\}")


@dataclass(frozen=True)
class Tariff:
    """What a gateway charges: its price per segment (None: no price set), and for a template
    gateway the approved wordings its SMS actually carry, by (kind, language)."""

    price_per_segment: Decimal | None
    wordings: dict[tuple[str, str], GatewayTemplate] = field(default_factory=dict)


@dataclass(frozen=True)
class Charge:
    segments: int
    cost: Decimal | None  # None: the gateway has no price


def tariff_read(gateway: Gateway) -> Tariff:
    """The gateway's tariff: one query for its price, and one for its approved wordings when
    it sends templates (read once per batch of sends, never per row)."""
    price = (
        GatewayPrice.objects.filter(gateway=gateway.slug)
        .values_list("price_per_segment", flat=True)
        .first()
    )
    wordings: dict[tuple[str, str], GatewayTemplate] = {}
    if gateway.uses_templates:
        approved = GatewayTemplate.objects.filter(gateway=gateway.slug, approved=True).exclude(
            text=""
        )
        wordings = {(t.kind, t.language): t for t in approved}
    return Tariff(price_per_segment=price, wordings=wordings)


def template_wording(template: GatewayTemplate, values: dict[str, str]) -> str:
    """The approved wording with our values in its placeholders: what the customer reads."""
    names = [str(name) for name in template.parameters]

    def numbered(match: re.Match[str]) -> str:
        index = int(match.group(1)) - 1
        return values.get(names[index], "") if 0 <= index < len(names) else match.group(0)

    text = NAMED_PARAMETER.sub(lambda match: values.get(match.group(1), ""), template.text)
    return NUMBERED_PARAMETER.sub(numbered, text)


def billed_text(tariff: Tariff, composed: Composed) -> str:
    """The text the provider delivers and bills: a template gateway sends its approved
    wording (when the admin recorded it), any other gateway the composed text."""
    template = tariff.wordings.get((composed.kind, composed.language))
    return composed.text if template is None else template_wording(template, composed.values)


def sms_charge(tariff: Tariff, composed: Composed) -> Charge:
    """Segments of the SMS as billed, and their cost at the gateway's price (None without one)."""
    _encoding, _length, segments = sms_length(billed_text(tariff, composed))
    price = tariff.price_per_segment
    return Charge(segments=segments, cost=None if price is None else price * segments)
