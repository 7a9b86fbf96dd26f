"""The rules of surveys/gateways/routing.py one by one, on a clock the test holds.

The token bucket and the circuit breaker each exist twice: in Python (the per-process
store without Redis) and as a Lua script in the shared Redis. The scenarios below run
on both stores (`store`), each given the time explicitly, so both must say the same.
"""

import logging
import time
from collections.abc import Iterator
from typing import Any

import pytest
from django.core.checks import run_checks
from django.test import override_settings
from hypothesis import given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from surveys.conversation import answered_on
from surveys.gateways.base import GatewayError
from surveys.gateways.breaker import (
    CLOSED,
    HALF_OPEN,
    OPEN,
    Breaker,
    BreakerPolicy,
    breaker_admit,
    breaker_admits,
    breaker_after_send,
    breaker_observe,
    breaker_state,
)
from surveys.gateways.ratelimit import (
    Bucket,
    GatewayRate,
    bucket_reserve,
    gateway_rate,
    rate_reserve,
)
from surveys.gateways.registry import gateway_setting_problems
from surveys.gateways.routing import (
    gateway_for_sending,
    gateway_state_forget,
    send_observed,
    send_permit,
    send_permits,
    sending_route,
    sends_observed,
)
from surveys.models import InboundMessage, Invitation, OutboundKind, OutboundMessage
from tests.factories import CustomerFactory, InteractionFactory
from tests.surveys.gatewaystate import shared_state_url

POLICY = BreakerPolicy(failures=3, seconds=10.0, cooldown=30.0, probe_lease=20.0)
FAILOVER = {
    "NPS_FAILOVER_FAILURES": POLICY.failures,
    "NPS_FAILOVER_SECONDS": POLICY.seconds,
    "NPS_FAILOVER_COOLDOWN_SECONDS": POLICY.cooldown,
    # The probe lease is the rate's wait, the gateway's timeout and 5 s: 20 s here.
    "NPS_GATEWAY_RATE_MAX_WAIT": 10.0,
    "NPS_GATEWAY_TIMEOUT": 5.0,
}
T0 = 1_000_000.0  # the tests' clock starts here (seconds)


@pytest.fixture(params=["per-process", "redis"])
def store(request: pytest.FixtureRequest) -> Iterator[str]:
    """Each scenario on each store: this process's, and the shared Redis."""
    url = "" if request.param == "per-process" else shared_state_url()
    with override_settings(NPS_GATEWAY_STATE_URL=url, **FAILOVER):
        gateway_state_forget()
        yield request.param
        gateway_state_forget()


# ---------------------------------------------------------------- the token bucket


def reserve_all(limit: GatewayRate, times: list[float], max_wait: float = 60.0) -> list[Any]:
    """Reserve one token at each time (pure rule): each wait, or None when refused."""
    bucket: Bucket | None = None
    waits = []
    for now in times:
        after, wait = bucket_reserve(bucket, limit=limit, n=1, now=now, max_wait=max_wait)
        waits.append(None if after is None else round(wait, 6))
        bucket = after or bucket
    return waits


def test_a_full_bucket_lets_its_burst_go_at_once_then_one_per_rate_interval() -> None:
    limit = GatewayRate(rate=10.0, burst=3)
    assert reserve_all(limit, [T0] * 6) == [0, 0, 0, 0.1, 0.2, 0.3]


def test_an_idle_bucket_refills_to_its_burst_and_no_further() -> None:
    limit = GatewayRate(rate=10.0, burst=2)
    waits = reserve_all(limit, [T0, T0, T0 + 60, T0 + 60, T0 + 60])
    assert waits == [0, 0, 0, 0, 0.1]


def test_a_send_that_would_wait_too_long_is_refused_and_takes_nothing() -> None:
    limit = GatewayRate(rate=10.0, burst=1)
    waits = reserve_all(limit, [T0, T0, T0, T0, T0 + 0.1], max_wait=0.15)
    # The third would wait 0.2 s: refused, and so is the fourth (the third took nothing);
    # 0.1 s later the next one waits what the third would have waited less 0.1 s.
    assert waits == [0, 0.1, None, None, 0.1]


@hypothesis_settings(max_examples=60, deadline=None)
@given(
    rate=st.integers(1, 50),
    burst=st.integers(1, 10),
    gaps=st.lists(st.floats(0, 0.5, allow_nan=False), min_size=1, max_size=80),
)
def test_no_span_of_time_carries_more_than_burst_plus_rate_times_its_length(
    rate: int, burst: int, gaps: list[float]
) -> None:
    limit, bucket, now, sends = GatewayRate(float(rate), burst), None, T0, []
    for gap in gaps:
        now += gap
        bucket, wait = bucket_reserve(bucket, limit=limit, n=1, now=now, max_wait=1e9)
        sends.append(now + wait)
    sends.sort()
    for span in (0.0, 0.5, 1.0, 2.0):
        for first, start in enumerate(sends):
            inside = sum(1 for at in sends[first:] if at <= start + span + 1e-9)
            assert inside <= burst + rate * span + 1e-6, (span, start)


def test_the_shared_script_reserves_as_the_rule_says(store: str) -> None:
    limit = GatewayRate(rate=4.0, burst=2)
    times = [T0, T0, T0, T0 + 0.1, T0 + 5, T0 + 5, T0 + 5, T0 + 5]
    waits = [rate_reserve("simulator", limit, max_wait=0.45, now=now) for now in times]
    # Two at once, the third a quarter second later; 0.1 s on, the fourth 0.4 s later
    # (0.25 + 0.25 - 0.1); refilled after 5 s, and the fourth of those would wait 0.5 s.
    expected = [0, 0, 0.25, 0.4, 0, 0, 0.25, None]
    assert [None if w is None else round(w, 6) for w in waits] == expected
    assert reserve_all(limit, times, max_wait=0.45) == expected


@pytest.mark.parametrize(
    ("config", "rates", "expected"),
    [
        ({}, {}, None),
        ({"RATE": 100}, {}, GatewayRate(100.0, 1)),
        ({"RATE": 100, "BURST": 20}, {"simulator": "1:1"}, GatewayRate(100.0, 20)),
        ({}, {"simulator": "2.5"}, GatewayRate(2.5, 1)),
        ({}, {"simulator": "50:10"}, GatewayRate(50.0, 10)),
    ],
)
def test_a_gateway_rate_comes_from_its_entry_else_from_the_rates_setting(
    config: dict[str, Any], rates: dict[str, str], expected: GatewayRate | None
) -> None:
    gateways = {"simulator": {"CLASS": "surveys.gateways.simulator.SimulatorGateway", **config}}
    with override_settings(NPS_GATEWAYS=gateways, NPS_GATEWAY_RATES=rates):
        assert gateway_rate("simulator") == expected


# ---------------------------------------------------------------- the circuit breaker


def after(breaker: Breaker, *outcomes: tuple[float, bool]) -> Breaker:
    for at, ok in outcomes:
        breaker = breaker_after_send(breaker, ok=ok, now=at, policy=POLICY)
    return breaker


def test_failures_in_a_row_open_the_breaker_and_a_success_between_starts_again() -> None:
    assert after(Breaker(), (T0, False), (T0 + 1, False)).state == CLOSED
    assert after(Breaker(), (T0, False), (T0 + 1, False), (T0 + 2, False)).state == OPEN
    between = after(Breaker(), (T0, False), (T0 + 1, False), (T0 + 2, True), (T0 + 3, False))
    assert (between.state, between.failures) == (CLOSED, 1)


def test_failing_for_the_configured_time_opens_the_breaker_but_one_failure_does_not() -> None:
    assert after(Breaker(), (T0, False)).state == CLOSED
    assert after(Breaker(), (T0, False), (T0 + 9.9, False)).state == CLOSED
    opened = after(Breaker(), (T0, False), (T0 + 10, False))
    assert (opened.state, opened.changed_at) == (OPEN, T0 + 10)


def test_an_open_breaker_lets_one_probe_through_after_its_cool_down() -> None:
    opened = after(Breaker(), (T0, False), (T0, False), (T0, False))
    assert breaker_admit(opened, now=T0 + 29, policy=POLICY) == (opened, False)
    probing, admitted = breaker_admit(opened, now=T0 + 30, policy=POLICY)
    assert (probing.state, admitted) == (HALF_OPEN, True)
    assert breaker_admit(probing, now=T0 + 31, policy=POLICY)[1] is False  # one probe
    # A probe not heard of within its lease (its worker died): another may go.
    assert breaker_admit(probing, now=T0 + 50, policy=POLICY)[1] is True
    assert after(probing, (T0 + 32, True)).state == CLOSED
    reopened = after(probing, (T0 + 32, False))
    assert (reopened.state, reopened.changed_at) == (OPEN, T0 + 32)  # a new cool-down


def test_the_shared_breaker_moves_as_the_rule_says(
    store: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="surveys.gateways.breaker")
    for at in (T0, T0 + 1):
        breaker_observe("simulator", ok=False, now=at)
    assert (breaker_state("simulator"), breaker_admits("simulator", now=T0 + 1)) == (CLOSED, True)
    breaker_observe("simulator", ok=False, now=T0 + 2)  # the third in a row
    assert breaker_state("simulator") == OPEN
    assert breaker_admits("simulator", now=T0 + 31) is False  # cooling down until T0 + 32
    assert breaker_admits("simulator", now=T0 + 32) is True  # the probe
    assert breaker_state("simulator") == HALF_OPEN
    assert breaker_admits("simulator", now=T0 + 33) is False  # one probe at a time
    breaker_observe("simulator", ok=False, now=T0 + 34)  # the probe failed
    assert breaker_state("simulator") == OPEN
    assert breaker_admits("simulator", now=T0 + 63) is False  # a new cool-down from T0 + 34
    assert breaker_admits("simulator", now=T0 + 64) is True
    breaker_observe("simulator", ok=True, now=T0 + 65)
    assert breaker_state("simulator") == CLOSED
    changes = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert [m.split(": breaker ")[1].split(",")[0].split(" after")[0] for m in changes] == [
        "open", "half-open", "open again", "half-open", "closed",
    ]  # fmt: skip
    assert "after 3 failures in a row" in changes[0]


def test_the_shared_breaker_opens_on_failing_for_the_configured_time(store: str) -> None:
    breaker_observe("simulator", ok=False, now=T0)
    breaker_observe("simulator", ok=False, now=T0 + 9)
    assert breaker_state("simulator") == CLOSED
    breaker_observe("simulator", ok=False, now=T0 + 10)
    assert breaker_state("simulator") == OPEN


# ---------------------------------------------------------------- the route


TWO_SIMULATORS = {
    "NPS_ENABLED_GATEWAYS": ["simulator", "console", "twilio"],
    "NPS_SEND_GATEWAY": "simulator",
    "NPS_SEND_GATEWAY_SECONDARY": "console",
}


def breaker_opened(slug: str) -> None:
    for _ in range(POLICY.failures):
        breaker_observe(slug, ok=False)


def test_the_route_is_the_answered_gateway_the_sending_one_and_the_secondary() -> None:
    with override_settings(**TWO_SIMULATORS):
        assert sending_route("twilio") == ["twilio", "simulator", "console"]
        assert sending_route("") == ["simulator", "console"]
        assert sending_route("console") == ["console", "simulator"]
        assert sending_route("vonage") == ["simulator", "console"]  # not enabled: left out
    with override_settings(**TWO_SIMULATORS | {"NPS_SEND_GATEWAY_SECONDARY": ""}):
        assert sending_route("twilio") == ["twilio", "simulator"]


def test_an_open_breaker_sends_to_the_next_gateway_of_the_route(store: str) -> None:
    with override_settings(**TWO_SIMULATORS):
        assert gateway_for_sending("").slug == "simulator"
        breaker_opened("simulator")
        assert gateway_for_sending("").slug == "console"
        assert gateway_for_sending("twilio").slug == "twilio"
        breaker_opened("twilio")
        assert gateway_for_sending("twilio").slug == "console"
        breaker_opened("console")  # every one open: the last of the route all the same
        assert gateway_for_sending("twilio").slug == "console"


def test_without_a_secondary_the_sending_gateway_sends_whatever_its_breaker(store: str) -> None:
    with override_settings(**TWO_SIMULATORS | {"NPS_SEND_GATEWAY_SECONDARY": ""}):
        breaker_opened("simulator")
        assert gateway_for_sending("").slug == "simulator"
        breaker_opened("twilio")
        assert gateway_for_sending("twilio").slug == "simulator"


@pytest.mark.django_db
def test_a_conversation_sms_prefers_its_trigger_then_the_latest_reply_then_its_survey() -> None:
    customer = CustomerFactory()
    invitation = Invitation.objects.create(
        interaction=InteractionFactory(customer=customer), customer=customer, gateway="twilio"
    )

    def reply(gateway: str, message_id: str) -> InboundMessage:
        return InboundMessage.objects.create(
            gateway=gateway, gateway_message_id=message_id, phone=customer.phone, text="8",
            payload={}, invitation=invitation,
        )  # fmt: skip

    def message(**fields: Any) -> OutboundMessage:
        return OutboundMessage(customer=customer, kind=OutboundKind.HELP, text="?", **fields)

    assert answered_on(message()) == ""  # neither a reply nor a survey: the sending gateway
    assert answered_on(message(invitation=invitation)) == "twilio"  # no reply yet
    first = reply("console", "MO-1")
    reply("simulator", "MO-2")
    assert answered_on(message(invitation=invitation)) == "simulator"  # the latest reply
    assert answered_on(message(invitation=invitation, trigger=first)) == "console"


# ---------------------------------------------------------------- permits and observations


def test_a_permit_waits_for_the_rate(store: str) -> None:
    gateways = {"simulator": {"CLASS": "surveys.gateways.simulator.SimulatorGateway"}}
    with override_settings(NPS_GATEWAY_RATES={"simulator": "20:1"}, NPS_GATEWAYS=gateways):
        start = time.monotonic()
        for _ in range(5):
            send_permit("simulator")
        assert 4 / 20 - 0.02 <= time.monotonic() - start < 4 / 20 + 0.3  # the first at once


def test_permits_for_a_round_give_each_send_the_moment_it_would_have_one_by_one(
    store: str,
) -> None:
    with override_settings(NPS_GATEWAY_RATES={"simulator": "10:2"}, NPS_GATEWAY_RATE_MAX_WAIT=1.0):
        # The burst at once, then one every 0.1 s: none bunched with the others.
        assert [round(w or 0, 2) for w in send_permits("simulator", 5)] == [0, 0, 0.1, 0.2, 0.3]
        # The bucket owes 0.3 s: of the next 12, those that fit in the second allowed go.
        later = send_permits("simulator", 12)
        assert [w is not None for w in later] == [True] * 7 + [False] * 5
        assert all(0.3 < w <= 1.0 for w in later[:7] if w is not None)
    with override_settings(NPS_GATEWAY_RATES={}):
        assert send_permits("simulator", 3) == [0.0, 0.0, 0.0]  # no rate: all at once


def test_a_round_of_observations_counts_as_the_same_calls_one_by_one(store: str) -> None:
    # Three failures in a row open the breaker (POLICY); a success between them does not.
    sends_observed("simulator", [False, False, True, True, False, False])
    assert breaker_state("simulator") == CLOSED
    sends_observed("simulator", [True, True, False])
    assert breaker_state("simulator") == CLOSED  # two failed before, then the success
    sends_observed("simulator", [False, False])
    assert breaker_state("simulator") == OPEN


def test_a_permit_that_would_wait_too_long_is_a_retryable_gateway_error(store: str) -> None:
    with override_settings(NPS_GATEWAY_RATES={"simulator": "1:1"}, NPS_GATEWAY_RATE_MAX_WAIT=0.5):
        send_permit("simulator")
        with pytest.raises(GatewayError, match=r"would wait more than 0\.5 s") as refused:
            send_permit("simulator")
        assert refused.value.permanent is False


def test_without_redis_a_rate_is_refused_the_breaker_taken_as_closed_and_counts_lost(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.WARNING)
    unreachable = "redis://127.0.0.1:9/0"  # discard port: nothing listens
    with override_settings(
        NPS_GATEWAY_STATE_URL=unreachable, NPS_GATEWAY_RATES={"simulator": "5"}, **TWO_SIMULATORS
    ):
        with pytest.raises(GatewayError, match="send rate cannot be kept"):
            send_permit("simulator")
        assert gateway_for_sending("twilio").slug == "twilio"
        send_observed("simulator", ok=True)  # never raises: the SMS may have gone
    assert "not counted for its breaker" in caplog.text
    assert "breaker unknown" in caplog.text


# ---------------------------------------------------------------- settings


def problems_with(**overrides: Any) -> list[tuple[str, str]]:
    base = {"NPS_ENABLED_GATEWAYS": ["simulator", "console"], "NPS_SEND_GATEWAY": "simulator"}
    with override_settings(**base | overrides):
        return [
            (p.check_id, p.message)
            for p in gateway_setting_problems()
            if p.check_id >= "surveys.E010"
        ]


def test_a_secondary_that_is_not_enabled_is_a_problem_naming_it() -> None:
    problems = problems_with(NPS_SEND_GATEWAY_SECONDARY="twilio")
    assert [check for check, _ in problems] == ["surveys.E010"]
    assert "NPS_SEND_GATEWAY_SECONDARY='twilio' is not one of the enabled" in problems[0][1]
    assert problems_with(NPS_SEND_GATEWAY_SECONDARY="console") == []
    assert [c for c, _ in problems_with(NPS_SEND_GATEWAY_SECONDARY="simulator")] == ["surveys.E011"]


@pytest.mark.parametrize(
    ("overrides", "expected"),
    [
        ({"NPS_GATEWAY_RATES": {"simulator": "fast"}}, ["surveys.E012"]),
        ({"NPS_GATEWAY_RATES": {"simulator": "0"}}, ["surveys.E012"]),
        ({"NPS_GATEWAY_RATES": {"simulator": "5:0"}}, ["surveys.E012"]),
        ({"NPS_GATEWAY_RATES": {"nowhere": "5"}}, ["surveys.E012"]),
        ({"NPS_FAILOVER_SECONDS": 0}, ["surveys.E013"]),
        ({"NPS_FAILOVER_FAILURES": 0, "NPS_GATEWAY_RATE_MAX_WAIT": -1}, ["surveys.E013"] * 2),
        ({"NPS_GATEWAY_RATES": {"simulator": "100:20"}}, []),
    ],
)
def test_rates_and_fail_over_bounds_that_are_not_positive_are_problems(
    overrides: dict[str, Any], expected: list[str]
) -> None:
    assert [check for check, _ in problems_with(**overrides)] == expected


def test_a_rate_kept_per_process_is_warned_about() -> None:
    def warnings() -> list[str]:
        return [m.id for m in run_checks() if m.id == "surveys.W010"]

    with override_settings(NPS_GATEWAY_RATES={"simulator": "5"}, NPS_GATEWAY_STATE_URL=""):
        assert warnings() == ["surveys.W010"]
    with override_settings(NPS_GATEWAY_RATES={"simulator": "5"}, NPS_GATEWAY_STATE_URL="redis://x"):
        assert warnings() == []
    with override_settings(NPS_GATEWAY_RATES={}, NPS_GATEWAY_STATE_URL=""):
        assert warnings() == []
