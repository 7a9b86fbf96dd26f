"""Which gateway sends, and how fast: the one rule the sending kit asks (surveys/sending.py).

- `gateway_for_sending(preferred)`: the gateway for one SMS: the one the customer answered
  on when given and usable, else the configured sending gateway.
- `send_permit(slug, n)`: waits until `n` more SMS may go through that gateway.
- `send_observed(slug, ok)`: what one call to the gateway came to.
"""

from surveys.gateways.base import Gateway, get_gateway, sending_gateway


def gateway_for_sending(preferred: str = "") -> Gateway:
    """The preferred gateway when it is enabled, else the sending gateway."""
    if preferred:
        gateway = get_gateway(preferred)
        if gateway is not None:
            return gateway
    return sending_gateway()


def send_permit(slug: str, n: int = 1) -> None:
    """No rate limit yet: every send may go at once."""


def send_observed(slug: str, *, ok: bool) -> None:
    """Nothing is kept yet."""
