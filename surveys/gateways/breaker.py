"""A circuit breaker per gateway: when it keeps failing, sends go elsewhere for a while.

Closed: the gateway sends. Retryable failures with no success between them (a timeout,
a 5xx, a 429: never a refused number, which says nothing of the gateway) open it after
NPS_FAILOVER_FAILURES of them, or once they have gone on for NPS_FAILOVER_SECONDS.
Open: sends go to the next gateway of the route (surveys/gateways/routing.py) for
NPS_FAILOVER_COOLDOWN_SECONDS. Then half-open: one send, the probe, goes to the gateway;
its success closes the breaker, its failure opens it again for another cool-down. A probe
not heard of within its lease (its worker died) lets another one go.

The state is shared by every worker in the Redis of surveys/gateways/sharedstate.py,
changed by Lua scripts (one step each, so one probe goes however many workers ask);
without Redis each process keeps its own. `breaker_after_send` and `breaker_admit` are
the rule in Python; the scripts say the same in Lua. Every change is logged as a warning.
"""

import logging
import threading
import time
from dataclasses import dataclass, replace
from typing import Any

import redis
from django.conf import settings

from surveys.gateways.sharedstate import state_key, state_redis

log = logging.getLogger(__name__)

CLOSED, OPEN, HALF_OPEN = "closed", "open", "half-open"


@dataclass(frozen=True)
class BreakerPolicy:
    failures: int  # retryable failures in a row that open the breaker ...
    seconds: float  # ... or failing for this long (first failure to a later one)
    cooldown: float  # open this long before a probe
    probe_lease: float  # a probe not heard of for this long: another may go


@dataclass(frozen=True)
class Breaker:
    state: str = CLOSED
    failures: int = 0  # retryable failures since the last success
    failing_since: float = 0.0  # the first of them
    changed_at: float = 0.0  # when it opened (open) or its probe went (half-open)


def breaker_policy() -> BreakerPolicy:
    return BreakerPolicy(
        failures=settings.NPS_FAILOVER_FAILURES,
        seconds=settings.NPS_FAILOVER_SECONDS,
        cooldown=settings.NPS_FAILOVER_COOLDOWN_SECONDS,
        # The probe may wait for its rate, then for the gateway's answer.
        probe_lease=settings.NPS_GATEWAY_RATE_MAX_WAIT + settings.NPS_GATEWAY_TIMEOUT + 5.0,
    )


def breaker_after_send(breaker: Breaker, *, ok: bool, now: float, policy: BreakerPolicy) -> Breaker:
    """What one send through the gateway makes of its breaker: a success closes it; a
    failure counts, opens a closed one past the policy's bounds, reopens a half-open one."""
    if ok:
        return Breaker()
    failures = breaker.failures + 1
    since = breaker.failing_since if breaker.failures else now
    failing = replace(breaker, failures=failures, failing_since=since)
    too_many = failures >= policy.failures
    too_long = failures >= 2 and now - since >= policy.seconds
    if breaker.state == HALF_OPEN or (breaker.state == CLOSED and (too_many or too_long)):
        return replace(failing, state=OPEN, changed_at=now)
    return failing


def breaker_admit(breaker: Breaker, *, now: float, policy: BreakerPolicy) -> tuple[Breaker, bool]:
    """Whether a send may go to the gateway now, and the breaker after: closed, yes; open
    within its cool-down or half-open with a probe out, no; else yes, as the probe."""
    if breaker.state == CLOSED:
        return breaker, True
    waited = now - breaker.changed_at
    if waited < (policy.cooldown if breaker.state == OPEN else policy.probe_lease):
        return breaker, False
    return replace(breaker, state=HALF_OPEN, changed_at=now), True


# The same rules in Lua, each run by Redis as one step. KEYS[1]: the breaker, a hash of
# state, failures, since, changed (absent: closed, no failures). ARGV[1]: now ("" = Redis's
# clock). Both answer {state before, state after, failures, since}; numbers as strings.
_LUA_READ = """
local now
if ARGV[1] ~= '' then
  now = tonumber(ARGV[1])
else
  local t = redis.call('TIME')
  now = tonumber(t[1]) + tonumber(t[2]) / 1000000
end
local kept = redis.call('HMGET', KEYS[1], 'state', 'failures', 'since', 'changed')
local state = kept[1] or 'closed'
local failures, since = tonumber(kept[2] or '0'), tonumber(kept[3] or '0')
local changed = tonumber(kept[4] or '0')
local function answer(new_state)
  return {state, new_state, tostring(failures), string.format('%.6f', since)}
end
"""
AFTER_SEND_LUA = (
    _LUA_READ
    + """
-- ARGV[2]: 1 success, 0 retryable failure; ARGV[3..4]: failures, seconds of the policy
if ARGV[2] == '1' then
  redis.call('DEL', KEYS[1])
  failures, since = 0, 0
  return answer('closed')
end
if failures == 0 then since = now end
failures = failures + 1
local new_state = state
local too_many = failures >= tonumber(ARGV[3])
local too_long = failures >= 2 and now - since >= tonumber(ARGV[4])
if state == 'half-open' or (state == 'closed' and (too_many or too_long)) then
  new_state, changed = 'open', now
end
redis.call('HSET', KEYS[1], 'state', new_state, 'failures', tostring(failures),
  'since', string.format('%.6f', since), 'changed', string.format('%.6f', changed))
return answer(new_state)
"""
)
ADMIT_LUA = (
    _LUA_READ
    + """
-- ARGV[2..3]: cool-down and probe lease of the policy. Answers 'refused' as its
-- state after when the send may not go (the state itself is unchanged).
if state == 'closed' then return answer('closed') end
local bound = tonumber(ARGV[2])
if state == 'half-open' then bound = tonumber(ARGV[3]) end
if now - changed < bound then return answer('refused') end
redis.call('HSET', KEYS[1], 'state', 'half-open', 'changed', string.format('%.6f', now))
return answer('half-open')
"""
)

_local_breakers: dict[str, Breaker] = {}
_local_lock = threading.Lock()


def _now_arg(now: float | None) -> str:
    return "" if now is None else repr(now)


def breaker_observe(slug: str, *, ok: bool, now: float | None = None) -> None:
    """Count one send through the gateway (ok: it answered, or refused the number).
    `now` is for tests; by default the store's clock. Redis errors are the caller's."""
    policy, client = breaker_policy(), state_redis()
    if client is None:
        with _local_lock:
            before = _local_breakers.get(slug, Breaker())
            after = breaker_after_send(before, ok=ok, now=_local_now(now), policy=policy)
            _local_breakers[slug] = after
        _changed(slug, before.state, after, policy)
        return
    args = [_now_arg(now), "1" if ok else "0", policy.failures, policy.seconds]
    state, new_state, failures, since = _scripted(client, AFTER_SEND_LUA, slug, args)
    _changed(slug, state, Breaker(new_state, int(failures), float(since)), policy)


def breaker_admits(slug: str, *, now: float | None = None) -> bool:
    """May a send go to the gateway now (True for the probe of a half-open breaker)?"""
    policy, client = breaker_policy(), state_redis()
    if client is None:
        with _local_lock:
            before = _local_breakers.get(slug, Breaker())
            after, admitted = breaker_admit(before, now=_local_now(now), policy=policy)
            _local_breakers[slug] = after
        _changed(slug, before.state, after, policy)
        return admitted
    args = [_now_arg(now), policy.cooldown, policy.probe_lease]
    state, new_state, failures, since = _scripted(client, ADMIT_LUA, slug, args)
    if new_state == "refused":
        return False
    _changed(slug, state, Breaker(new_state, int(failures), float(since)), policy)
    return True


def breaker_state(slug: str) -> str:
    """The gateway's breaker state as the store has it (closed, open or half-open)."""
    client = state_redis()
    if client is None:
        with _local_lock:
            return _local_breakers.get(slug, Breaker()).state
    state = client.hget(state_key(slug, "breaker"), "state")
    return state.decode() if isinstance(state, bytes) else CLOSED


def breaker_forget() -> None:
    """Drop this process's breakers (tests; the shared ones are keys in Redis)."""
    with _local_lock:
        _local_breakers.clear()


def _local_now(now: float | None) -> float:
    return time.monotonic() if now is None else now


def _scripted(client: redis.Redis, lua: str, slug: str, args: list[Any]) -> list[str]:
    """Run one of the scripts on the gateway's breaker: its answer as strings."""
    answer = client.register_script(lua)(keys=[state_key(slug, "breaker")], args=args)
    return [value.decode() if isinstance(value, bytes) else str(value) for value in answer]


def _changed(slug: str, before: str, after: Breaker, policy: BreakerPolicy) -> None:
    """Log a change of state, as a warning: sends are going elsewhere, or coming back."""
    if after.state == before:
        return
    if after.state == OPEN and before == HALF_OPEN:
        log.warning(
            "gateway %s: breaker open again, its probe failed; sends go elsewhere for %.0f s",
            slug, policy.cooldown,
        )  # fmt: skip
    elif after.state == OPEN:
        log.warning(
            "gateway %s: breaker open after %d failures in a row; sends go elsewhere for %.0f s",
            slug, after.failures, policy.cooldown,
        )  # fmt: skip
    elif after.state == HALF_OPEN:
        log.warning("gateway %s: breaker half-open, one probe send goes to it", slug)
    else:
        log.warning("gateway %s: breaker closed, it sends again", slug)
