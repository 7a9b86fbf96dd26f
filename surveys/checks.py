"""System checks: `manage.py check --deploy` refuses unsafe gateway settings and a sending
gateway that lacks an approved template a survey needs; every check warns when a send
rate cannot hold across processes."""

from typing import Any

from django.conf import settings
from django.core import checks
from django.core.checks import Error, Tags, register
from django.db import DatabaseError

from surveys.gateways.ratelimit import gateway_rate
from surveys.gateways.registry import gateway_setting_problems
from surveys.gateways.sharedstate import state_is_shared
from surveys.gatewaytemplates import templates_missing


@register(Tags.security, deploy=True)
def check_gateway_settings(app_configs: Any = None, **kwargs: Any) -> list[Error]:
    return [
        Error(problem.message, hint=f"Set {problem.setting}.", id=problem.check_id)
        for problem in gateway_setting_problems()
    ]


# A deploy check, not one of every command: an error here would also stop `migrate` and the
# admin where staff add the templates. While one is missing the dispatcher waits instead.
@register("gateway_templates", deploy=True)
def check_gateway_templates(app_configs: Any = None, **kwargs: Any) -> list[Error]:
    try:
        missing = templates_missing()
    except DatabaseError:  # not migrated yet: nothing is sent either
        return []
    return [
        Error(
            str(template),
            hint="Add the provider's approved template in the admin (Gateway templates); "
            "until then its surveys and messages wait, unsent.",
            id="surveys.E020",
        )
        for template in missing
    ]


@register()
def check_gateway_state(app_configs: Any = None, **kwargs: Any) -> list[checks.Warning]:
    """A send rate without Redis holds per worker process, not for the gateway."""
    if state_is_shared():
        return []
    limited = []
    for slug in settings.NPS_ENABLED_GATEWAYS:
        try:
            if gateway_rate(slug) is not None:
                limited.append(slug)
        except (TypeError, ValueError):
            limited.append(slug)  # a bad rate is surveys.E012's to report
    if not limited:
        return []
    return [
        checks.Warning(
            f"send rates are set for {', '.join(limited)} but no Redis keeps them "
            f"(NPS_GATEWAY_STATE_URL is empty): each worker process keeps its own, so N "
            f"processes may send N times the rate, and each has its own circuit breakers",
            hint="Set NPS_GATEWAY_STATE_URL (or a redis:// CELERY_BROKER_URL).",
            id="surveys.W010",
        )
    ]
