"""Which gateway sends, and how fast: the one rule the sending kit asks (surveys/sending.py).

- `gateway_for_sending(preferred)`: the gateway for one SMS. Its route is the gateway the
  customer answered on (`preferred`), the sending gateway (NPS_SEND_GATEWAY), the
  secondary (NPS_SEND_GATEWAY_SECONDARY), each when enabled; the first whose circuit
  breaker lets it send takes the SMS, and the last one takes it whatever its breaker
  says (there is nowhere else to go). Without a secondary, nothing fails over.
- `send_permit(slug, n)`: waits until `n` more SMS may go through that gateway at its rate
  (surveys/gateways/ratelimit.py), or raises GatewayError when that would take longer than
  NPS_GATEWAY_RATE_MAX_WAIT: the kit then sends later, as after any retryable failure.
  `send_permits(slug, n)`: the same for a batch's calls in one reservation, each told
  when it may go.
- `send_observed(slug, ok)`: what one call to the gateway came to, for its breaker
  (surveys/gateways/breaker.py). Never raises: the SMS may have gone. `sends_observed`
  for a batch's calls, one store round trip per run of successes.

Rates and breakers are shared by every worker through Redis (surveys/gateways/sharedstate.py).
"""

import logging
import time

from django.conf import settings
from redis import RedisError

from surveys.gateways.base import Gateway, GatewayError, get_gateway, sending_gateway
from surveys.gateways.breaker import breaker_admits, breaker_forget, breaker_observe
from surveys.gateways.ratelimit import gateway_rate, rate_forget, rate_reserve
from surveys.gateways.registry import gateway_is_enabled
from surveys.gateways.sharedstate import state_key_prefix, state_redis

log = logging.getLogger(__name__)


def sending_route(preferred: str = "") -> list[str]:
    """The enabled gateways one SMS may go through, in the order they are tried."""
    route: list[str] = []
    for slug in (preferred, settings.NPS_SEND_GATEWAY, settings.NPS_SEND_GATEWAY_SECONDARY):
        if slug and slug not in route and gateway_is_enabled(slug):
            route.append(slug)
    return route


def gateway_for_sending(preferred: str = "") -> Gateway:
    """The first gateway of the SMS's route whose breaker lets it send, else its last."""
    route = sending_route(preferred)
    for slug in route[:-1]:
        if _admits(slug):
            return get_gateway(slug) or sending_gateway()
    return (get_gateway(route[-1]) if route else None) or sending_gateway()


def gateway_first(preferred: str = "") -> Gateway:
    """The first gateway of the SMS's route, its breaker not asked: the one a send uses
    while all is well, for what must be known before a send (whether its templates are
    there). Asking gateway_for_sending instead would take a half-open breaker's one probe
    for a send that is not made."""
    route = sending_route(preferred)
    return (get_gateway(route[0]) if route else None) or sending_gateway()


def _admits(slug: str) -> bool:
    try:
        return breaker_admits(slug)
    except RedisError as exc:
        # Without the shared state the gateway is taken as healthy: sends go on as
        # they would without fail-over, rather than stop.
        log.warning("gateway %s: breaker unknown (%s), taken as closed", slug, exc)
        return True


def send_permit(slug: str, n: int = 1) -> None:
    """Wait until `n` more SMS may go through the gateway at its rate (no rate: at once)."""
    limit = gateway_rate(slug)
    if limit is None:
        return
    max_wait = settings.NPS_GATEWAY_RATE_MAX_WAIT
    try:
        wait = rate_reserve(slug, limit, n=n, max_wait=max_wait)
    except RedisError as exc:
        # Sending without the shared bucket could exceed the rate by the number of workers.
        raise GatewayError(f"gateway {slug}: its send rate cannot be kept ({exc})") from exc
    if wait is None:
        raise GatewayError(
            f"gateway {slug}: at its rate of {limit.rate:g}/s this SMS would wait more than "
            f"{max_wait:g} s; sent later"
        )
    if wait > 0:
        time.sleep(wait)


def send_permits(slug: str, n: int) -> list[float | None]:
    """send_permit for `n` sends at once, without waiting: when each may go, in seconds
    from now, in order (the tokens of one reservation, one store round trip, each send
    at its own moment, so none goes sooner than one by one). None for a send that would
    wait longer than NPS_GATEWAY_RATE_MAX_WAIT: when the whole reservation would, they
    are reserved one by one and those that fit go. GatewayError: the rate cannot be kept."""
    limit = gateway_rate(slug)
    if limit is None or n == 0:
        return [0.0] * n
    max_wait = settings.NPS_GATEWAY_RATE_MAX_WAIT
    try:
        wait = rate_reserve(slug, limit, n=n, max_wait=max_wait)
        if wait is not None:
            return [max(0.0, wait - (n - 1 - i) / limit.rate) for i in range(n)]
        return [rate_reserve(slug, limit, n=1, max_wait=max_wait) for _ in range(n)]
    except RedisError as exc:
        raise GatewayError(f"gateway {slug}: its send rate cannot be kept ({exc})") from exc


def send_observed(slug: str, *, ok: bool) -> None:
    """Count one call to the gateway for its breaker (ok: answered, or refused the number)."""
    try:
        breaker_observe(slug, ok=ok)
    except Exception:
        # The kit calls this after the gateway took the SMS: an error here would leave the
        # send unrecorded and sent again. A lost count only delays a fail-over.
        log.warning("gateway %s: this send was not counted for its breaker", slug, exc_info=True)


def sends_observed(slug: str, oks: list[bool]) -> None:
    """send_observed for many calls, in the order they came back: a success after a
    success changes nothing, so each run of successes is counted once."""
    for n, ok in enumerate(oks):
        if not (ok and n + 1 < len(oks) and oks[n + 1]):
            send_observed(slug, ok=ok)


def gateway_state_forget() -> None:
    """Drop every rate bucket and breaker, this process's and ours in the shared Redis:
    for tests, which start from a clean slate; nothing in production calls it."""
    breaker_forget()
    rate_forget()
    client = state_redis()
    if client is not None:
        keys = list(client.scan_iter(match=f"{state_key_prefix()}*", count=500))
        if keys:
            client.delete(*keys)
