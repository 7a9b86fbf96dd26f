"""A system check: report PDFs need headless Chromium (settings.NPS_CHROMIUM)."""

from typing import Any

from django.core.checks import Tags, Warning, register

from nps.reports.chromium import chromium_path


@register(Tags.compatibility)
def check_chromium(app_configs: Any = None, **kwargs: Any) -> list[Warning]:
    if chromium_path() is not None:
        return []
    return [
        Warning(
            "Chromium is missing: reports are made as HTML pages only, without PDFs.",
            hint="apt-get install -y chromium fonts-noto-cjk, or set NPS_CHROMIUM to its path.",
            id="nps.W101",
        )
    ]
