"""gunicorn settings: `gunicorn -c nps/gunicorn.conf.py nps.wsgi` (Procfile, README).

Its access log (request lines, query strings included: an admin search `?q=13800000002`)
and its error log go through the phone mask of every other log (surveys.phones).
"""

import logging

from surveys.phones import MaskPhonesFilter

accesslog = "-"  # stdout, masked
errorlog = "-"  # stderr, masked


def on_starting(server: object) -> None:
    # On the loggers, not their handlers: whatever handlers gunicorn or a log
    # configuration attaches (file, stream, syslog) gets masked records.
    for name in ("gunicorn.access", "gunicorn.error"):
        logging.getLogger(name).addFilter(MaskPhonesFilter())
