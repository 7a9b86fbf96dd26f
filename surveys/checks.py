"""System checks: `manage.py check --deploy` refuses unsafe gateway settings."""

from typing import Any

from django.core.checks import Error, Tags, register

from surveys.gateways.registry import gateway_setting_problems


@register(Tags.security, deploy=True)
def check_gateway_settings(app_configs: Any = None, **kwargs: Any) -> list[Error]:
    return [
        Error(problem.message, hint=f"Set {problem.setting}.", id=problem.check_id)
        for problem in gateway_setting_problems()
    ]
