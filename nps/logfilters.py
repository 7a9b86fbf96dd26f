"""Logging filters that keep the console about events, not ticks (settings.LOGGING).

- `PeriodicTicksAtDebug`: Celery logs every run of every periodic task three times at
  info (beat sends it, the worker receives it, it succeeded). For the tasks in
  `settings.NPS_QUIET_TASKS` (the periodic ones: the once-a-second outbox relay, the
  ten-second dispatcher, the minute's sweeps) those lines become debug lines, shown
  only with `LOG_LEVEL=DEBUG` (`manage.py up --verbose`). A failure of those tasks is
  an error and stays one. So does kombu's warning, at every publish to the embedded
  filesystem broker, that its URL names no host.
- `ExpectedForbiddenWithoutTraceback`: a 403 (a user sent to a page their role may not
  see) is an answer, not a fault: one warning line, without Django's traceback.
"""

import logging

from django.conf import settings

# kombu's filesystem transport (the embedded broker) warns at every publish that its URL
# has no host name: true, and nothing to act on.
NO_HOSTNAME = "No hostname was supplied"


class PeriodicTicksAtDebug(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        periodic = record.levelno == logging.INFO and any(
            task in message for task in settings.NPS_QUIET_TASKS
        )
        no_hostname = record.levelno == logging.WARNING and message.startswith(NO_HOSTNAME)
        if not (periodic or no_hostname):
            return True
        record.levelno, record.levelname = logging.DEBUG, "DEBUG"
        return logging.getLogger().isEnabledFor(logging.DEBUG)


class ExpectedForbiddenWithoutTraceback(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        if getattr(record, "status_code", None) == 403:
            record.exc_info, record.exc_text = None, None
        return True
