"""Per-gateway send rates: one token bucket per gateway, shared by every worker process.

A gateway's bucket holds up to BURST tokens and gains RATE tokens a second; each SMS takes
one. A send that finds too few takes its tokens ahead (the count goes below zero) and is
told how long to wait for them, so senders are served in the order they asked and none
polls; a send that would wait longer than it may takes nothing and is refused. Over any
span of T seconds at most BURST + RATE x T messages go through the gateway.

The bucket lives in the shared Redis (surveys/gateways/sharedstate.py), changed by one
Lua script so that two workers never take the same token; without Redis each process
keeps its own. `bucket_reserve` is the rule in Python (the per-process store, and the
tests' reading of the script); the script says the same in Lua.
"""

import threading
import time
from dataclasses import dataclass

from django.conf import settings

from surveys.gateways.sharedstate import state_key, state_redis


@dataclass(frozen=True)
class GatewayRate:
    rate: float  # messages per second
    burst: int  # messages that may go at once above the rate: the bucket's size


@dataclass(frozen=True)
class Bucket:
    tokens: float  # below zero: tokens promised to senders still waiting
    at: float  # when `tokens` was counted (seconds on the store's clock)


def gateway_rate(slug: str) -> GatewayRate | None:
    """The gateway's send rate, None for no limit: RATE and BURST in its NPS_GATEWAYS entry,
    else its entry in NPS_GATEWAY_RATES ("rate" or "rate:burst"). BURST defaults to 1.

    Raises ValueError on a value that is not a rate (the registry reports it at start)."""
    config = settings.NPS_GATEWAYS.get(slug, {})
    if config.get("RATE") is not None:
        rate, burst = config["RATE"], config.get("BURST", 1)
    elif slug in settings.NPS_GATEWAY_RATES:
        rate, _, burst = str(settings.NPS_GATEWAY_RATES[slug]).partition(":")
        burst = burst or 1
    else:
        return None
    limit = GatewayRate(rate=float(rate), burst=int(burst))
    if not limit.rate > 0 or limit.burst < 1:
        raise ValueError(f"rate {rate!r} and burst {burst!r}: need a rate above 0, a burst of 1+")
    return limit


def bucket_reserve(
    bucket: Bucket | None, *, limit: GatewayRate, n: int, now: float, max_wait: float
) -> tuple[Bucket | None, float]:
    """Take `n` tokens: (the bucket after, seconds to wait before sending); (None, wait)
    when the wait would be longer than `max_wait` (nothing taken). No bucket is a full one."""
    if bucket is None:
        tokens, at = float(limit.burst), now
    else:
        # A clock read behind the last one (another host's) counts as no time passed.
        at = max(now, bucket.at)
        tokens = min(float(limit.burst), bucket.tokens + (at - bucket.at) * limit.rate)
    wait = max(0.0, (n - tokens) / limit.rate)
    if wait > max_wait:
        return None, wait
    return Bucket(tokens - n, at), wait


# The same rule in Lua, run by Redis as one step. KEYS[1]: the bucket (a hash of tokens and
# at, absent when full). ARGV: rate, burst, n, max_wait, now ("" = Redis's own clock).
# Answers {1 or 0 (refused), wait}: numbers as strings, Redis would truncate them.
RESERVE_LUA = """
local rate, burst = tonumber(ARGV[1]), tonumber(ARGV[2])
local n, max_wait = tonumber(ARGV[3]), tonumber(ARGV[4])
local now
if ARGV[5] ~= '' then
  now = tonumber(ARGV[5])
else
  local t = redis.call('TIME')
  now = tonumber(t[1]) + tonumber(t[2]) / 1000000
end
local kept = redis.call('HMGET', KEYS[1], 'tokens', 'at')
local tokens, at = burst, now
if kept[1] then
  at = math.max(now, tonumber(kept[2]))
  tokens = math.min(burst, tonumber(kept[1]) + (at - tonumber(kept[2])) * rate)
end
local wait = math.max(0, (n - tokens) / rate)
if wait > max_wait then
  return {0, string.format('%.6f', wait)}
end
tokens = tokens - n
redis.call('HSET', KEYS[1], 'tokens', string.format('%.9f', tokens),
  'at', string.format('%.6f', at))
-- Once refilled the bucket is full, as an absent one: the key goes.
redis.call('PEXPIRE', KEYS[1], math.ceil((burst - tokens) / rate * 1000) + 1000)
return {1, string.format('%.6f', wait)}
"""

_local_buckets: dict[str, Bucket] = {}
_local_lock = threading.Lock()


def rate_reserve(
    slug: str, limit: GatewayRate, *, n: int = 1, max_wait: float, now: float | None = None
) -> float | None:
    """Reserve `n` sends through the gateway: the seconds to wait before sending, or None
    when that would be longer than `max_wait` (nothing reserved).

    `now` is for tests; by default the store's clock (Redis's, shared by every worker,
    or this process's monotonic clock). Redis errors are the caller's to answer."""
    client = state_redis()
    if client is None:
        with _local_lock:
            bucket, wait = bucket_reserve(
                _local_buckets.get(slug),
                limit=limit,
                n=n,
                now=time.monotonic() if now is None else now,
                max_wait=max_wait,
            )
            if bucket is not None:
                _local_buckets[slug] = bucket
        return wait if bucket is not None else None
    args: list[float | str] = [
        limit.rate,
        limit.burst,
        n,
        max_wait,
        "" if now is None else repr(now),
    ]
    granted, wait = client.register_script(RESERVE_LUA)(keys=[state_key(slug, "bucket")], args=args)
    return float(wait) if int(granted) else None


def rate_forget() -> None:
    """Drop this process's buckets (tests; the shared ones expire by themselves)."""
    with _local_lock:
        _local_buckets.clear()
