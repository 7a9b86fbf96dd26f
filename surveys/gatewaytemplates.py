"""The approved template a template gateway sends for a composed SMS (surveys/sending.py)."""

from surveys.gateways.base import Composed, Gateway, PermanentGatewayError, TemplateCall


def template_call(gateway: Gateway, composed: Composed) -> TemplateCall | None:
    """None for a gateway that sends free text; the approved template for one that does not."""
    if not gateway.uses_templates:
        return None
    raise PermanentGatewayError(
        f"no approved template for {composed.kind} ({composed.language}) on {gateway.slug!r}"
    )
