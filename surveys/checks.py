"""System checks: `manage.py check --deploy` refuses unsafe gateway settings, and a sending
gateway that lacks an approved template a survey needs."""

from typing import Any

from django.core.checks import Error, Tags, register
from django.db import DatabaseError

from surveys.gateways.registry import gateway_setting_problems
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
            id="surveys.E010",
        )
        for template in missing
    ]
