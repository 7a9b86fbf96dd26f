"""The folders of the embedded default (SQLite database, static files, filesystem broker),
created by the processes that use them (manage.py, the WSGI app, the Celery worker and
beat, the test run), never by importing the settings."""

from pathlib import Path

from django.conf import settings


def folders_create() -> list[Path]:
    """Create the local folders the configured settings write to; safe to call again."""
    folders = [Path(settings.VAR_DIR), Path(settings.STATIC_ROOT)]
    if settings.CELERY_BROKER_URL.startswith("filesystem"):
        options = settings.CELERY_BROKER_TRANSPORT_OPTIONS
        folders += [Path(options[key]) for key in ("data_folder_in", "data_folder_out")]
        folders += [Path(options[key]) for key in ("processed_folder", "control_folder")]
    for folder in folders:
        folder.mkdir(parents=True, exist_ok=True)
    return folders
