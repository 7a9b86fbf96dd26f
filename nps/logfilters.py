"""Logging filters that keep the console about events, not ticks (settings.LOGGING).

- `PeriodicTicksAtDebug`: Celery logs every run of every periodic task three times at
  info (beat sends it, the worker receives it, it succeeded). For the tasks in
  `settings.NPS_QUIET_TASKS` (the periodic ones: the once-a-second outbox relay, the
  ten-second dispatcher, the minute's sweeps) those lines become debug lines, shown
  only with `LOG_LEVEL=DEBUG` (`manage.py up --verbose`). A failure of those tasks is
  an error and stays one.
- `ExpectedForbiddenWithoutTraceback`: a 403 (a user sent to a page their role may not
  see) is an answer, not a fault: one warning line, without Django's traceback.
"""

import logging

from django.conf import settings


class PeriodicTicksAtDebug(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        if record.levelno != logging.INFO:
            return True
        message = record.getMessage()
        if not any(task in message for task in settings.NPS_QUIET_TASKS):
            return True
        record.levelno, record.levelname = logging.DEBUG, "DEBUG"
        return logging.getLogger().isEnabledFor(logging.DEBUG)


class ExpectedForbiddenWithoutTraceback(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        if getattr(record, "status_code", None) == 403:
            record.exc_info, record.exc_text = None, None
        return True
