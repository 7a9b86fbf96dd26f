"""Which gateways are in use, and whether their settings are safe outside development.

One rule (`gateway_setting_problems`) serves the startup guard of the web and worker
processes (`gateways_refuse_unsafe_start`) and `manage.py check --deploy` (surveys/checks.py).
"""

from dataclasses import dataclass

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured


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
    return problems


def gateways_refuse_unsafe_start() -> None:
    """With DEBUG off, no web or worker process starts on unsafe gateway settings."""
    if settings.DEBUG:
        return
    problems = gateway_setting_problems()
    if problems:
        raise ImproperlyConfigured("; ".join(problem.message for problem in problems))
