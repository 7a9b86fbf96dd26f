"""Where headless Chromium is (settings.NPS_CHROMIUM, default /usr/bin/chromium): it prints
the report PDFs. No model imports: the system check loads this with the app config."""

import shutil
from pathlib import Path

from django.conf import settings


def chromium_path() -> str | None:
    """The Chromium binary that prints PDFs, or None when it is not installed."""
    configured = settings.NPS_CHROMIUM
    if not configured:
        return None
    found = shutil.which(configured)
    return found or (configured if Path(configured).is_file() else None)
