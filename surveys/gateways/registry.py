"""Which gateways are in use, and whether their settings are safe outside development.

One rule (`gateway_setting_problems`) serves the startup guard of the web and worker
processes (`gateways_refuse_unsafe_start`) and `manage.py check --deploy` (surveys/checks.py).
"""

from dataclasses import dataclass

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

from surveys.gateways.ratelimit import gateway_rate


@dataclass(frozen=True)
class GatewayProblem:
    check_id: str
    setting: str  # the environment variable to change
    message: str


def gateway_is_enabled(slug: str) -> bool:
    return slug in settings.NPS_ENABLED_GATEWAYS and slug in settings.NPS_GATEWAYS


def gateway_setting_problems() -> list[GatewayProblem]:
    """Unknown gateways named, a send gateway not enabled, enabled ones with a dev/empty secret."""
    problems = [
        GatewayProblem(
            "surveys.E001", "NPS_GATEWAYS", f"NPS_GATEWAYS names {slug!r}, no such gateway"
        )
        for slug in settings.NPS_ENABLED_GATEWAYS
        if slug not in settings.NPS_GATEWAYS
    ]
    if not gateway_is_enabled(settings.NPS_SEND_GATEWAY):
        problems.append(
            GatewayProblem(
                "surveys.E002",
                "NPS_SEND_GATEWAY",
                f"NPS_SEND_GATEWAY={settings.NPS_SEND_GATEWAY!r} is not one of the enabled "
                f"gateways (NPS_GATEWAYS={','.join(settings.NPS_ENABLED_GATEWAYS)!r})",
            )
        )
    for slug in settings.NPS_ENABLED_GATEWAYS:
        config = settings.NPS_GATEWAYS.get(slug, {})
        for key, variable in config.get("SECRETS", {}).items():
            value = config.get(key) or ""
            if not value or value in settings.NPS_GATEWAY_DEV_SECRETS:
                state = "is not set" if not value else "is a development value"
                problems.append(
                    GatewayProblem(
                        "surveys.E003",
                        variable,
                        f"{variable} {state}, and the {slug!r} gateway is enabled (set a "
                        f"real secret, or leave {slug!r} out of NPS_GATEWAYS)",
                    )
                )
    return problems + routing_setting_problems()


def routing_setting_problems() -> list[GatewayProblem]:
    """A secondary that cannot take over, a send rate that is no rate, fail-over bounds
    that are not positive (surveys/gateways/routing.py)."""
    problems = []
    secondary = settings.NPS_SEND_GATEWAY_SECONDARY
    if secondary and not gateway_is_enabled(secondary):
        problems.append(
            GatewayProblem(
                "surveys.E010",
                "NPS_SEND_GATEWAY_SECONDARY",
                f"NPS_SEND_GATEWAY_SECONDARY={secondary!r} is not one of the enabled gateways "
                f"(NPS_GATEWAYS={','.join(settings.NPS_ENABLED_GATEWAYS)!r}): it could not "
                f"take over when the sending gateway fails",
            )
        )
    elif secondary and secondary == settings.NPS_SEND_GATEWAY:
        problems.append(
            GatewayProblem(
                "surveys.E011",
                "NPS_SEND_GATEWAY_SECONDARY",
                f"NPS_SEND_GATEWAY_SECONDARY={secondary!r} is the sending gateway itself: "
                f"name another enabled gateway, or none",
            )
        )
    for slug in sorted(set(settings.NPS_GATEWAYS) | set(settings.NPS_GATEWAY_RATES)):
        if slug not in settings.NPS_GATEWAYS:
            problems.append(
                GatewayProblem(
                    "surveys.E012",
                    "NPS_GATEWAY_RATES",
                    f"NPS_GATEWAY_RATES gives a rate to {slug!r}, no such gateway",
                )
            )
            continue
        try:
            gateway_rate(slug)
        except (TypeError, ValueError) as exc:
            problems.append(
                GatewayProblem(
                    "surveys.E012",
                    "NPS_GATEWAY_RATES",
                    f"the send rate of gateway {slug!r} is not a rate ({exc}): give "
                    f"messages per second above 0, and a burst of 1 or more",
                )
            )
    bounds = ("NPS_FAILOVER_FAILURES", "NPS_FAILOVER_SECONDS", "NPS_FAILOVER_COOLDOWN_SECONDS")
    for name in (*bounds, "NPS_GATEWAY_RATE_MAX_WAIT"):
        if not getattr(settings, name) > 0:
            problems.append(GatewayProblem("surveys.E013", name, f"{name} must be above 0"))
    return problems


def gateways_refuse_unsafe_start() -> None:
    """With DEBUG off, no web or worker process starts on unsafe gateway settings."""
    if settings.DEBUG:
        return
    problems = gateway_setting_problems()
    if problems:
        raise ImproperlyConfigured("; ".join(problem.message for problem in problems))
